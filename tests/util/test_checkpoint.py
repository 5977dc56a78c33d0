import json

import pytest

from util.checkpoint import check_options_match


def test_options_mismatch_names_the_options(tmp_path):
    (tmp_path / "opt.json").write_text(json.dumps({"crop_size": 256, "latent_dim": 256, "label_nc": 19}))
    with pytest.raises(ValueError, match=r"--crop_size 256 \(checkpoint\) vs 64 \(now\)"):
        check_options_match(
            tmp_path / "opt.json",
            {"crop_size": 64, "latent_dim": 256, "label_nc": 19},
            ["crop_size", "latent_dim", "label_nc"],
        )
    check_options_match(
        tmp_path / "opt.json",
        {"crop_size": 256, "latent_dim": 256, "label_nc": 19},
        ["crop_size", "latent_dim", "label_nc"],
    )

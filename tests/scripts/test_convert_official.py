"""`python -m scripts.convert_official`: the paper's weights become a run that `test.py` reads like a trained one."""

import argparse
import json
from pathlib import Path

import pytest
import torch

from models.networks.official_keys import read_official_keys
from models.shapevae_model import config_from_opt, opt_from_config
from scripts.convert_official import main
from shape_editor.checkpoint import load_shape_vae
from shape_editor.config import ShapeVAEConfig
from shape_editor.official_weights import ours_to_official

KEYS_FILE = Path(__file__).parents[1] / "fixtures" / "semvae_official_keys.txt"


@pytest.fixture(scope="module")
def official_state():
    (section,) = read_official_keys(KEYS_FILE).values()
    generator = torch.Generator().manual_seed(0)
    return {key: torch.randn(shape, generator=generator) for key, shape in section.shapes.items()}


def test_conversion_writes_a_run_that_loads_like_a_trained_one(official_state, tmp_path):
    source = tmp_path / "official.pth"
    torch.save(official_state, source)
    target = main(["--input", str(source), "--name", "semvae", "--checkpoints_dir", str(tmp_path / "checkpoints")])
    assert target == tmp_path / "checkpoints" / "semvae" / "latest_net_G.pth"
    vae = load_shape_vae(target, expect={"label_nc": 19, "crop_size": 256})
    assert vae.config.bg_mode == "heuristic"
    assert all(torch.equal(v, official_state[k]) for k, v in ours_to_official(vae.state_dict()).items())
    opt = json.loads((target.parent / "opt.json").read_text())
    assert opt["model"] == "shapevae" and opt["bg_mode"] == "heuristic" and opt["enc_widths"] == "1024,512,256"
    assert config_from_opt(argparse.Namespace(**opt)) == vae.config


def test_flags_and_config_round_trip():
    config = ShapeVAEConfig(
        crop_size=64,
        enc_size=32,
        enc_widths=(64, 32),
        latent_dim=64,
        use_lstm=False,
        lstm_layers=1,
        bidirectional=False,
        ngf=16,
        weighted_ce=False,
        lambda_kl=0.01,
        bg_mode="heuristic",
    )
    assert config_from_opt(argparse.Namespace(**opt_from_config(config))) == config


def test_a_run_name_that_escapes_is_refused(tmp_path):
    with pytest.raises(ValueError, match="plain folder name"):
        main(["--input", str(tmp_path / "x.pth"), "--name", "../x", "--checkpoints_dir", str(tmp_path)])

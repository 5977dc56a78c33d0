from pathlib import Path

import pytest
import torch

from models.networks import (
    MultiscaleDiscriminator,
    SEANGenerator,
    SEANNorm,
    diff_state_dict,
    read_official_keys,
)

KEYS_FILE = Path(__file__).parents[2] / "fixtures" / "sean_official_keys.txt"  # copy of ../shared/


@pytest.fixture(scope="module")
def official():
    return read_official_keys(KEYS_FILE)


@pytest.fixture(scope="module")
def meta_nets():
    with torch.device("meta"):
        return {"netG": SEANGenerator(19, 64, 256, 512), "netD": MultiscaleDiscriminator(19 + 3, 64, 3, 2)}


def test_parser_reads_sections_shapes_and_totals(tmp_path):
    path = tmp_path / "keys.txt"
    path.write_text("# netA (notes)\na.weight\t(4, 3, 1, 1)\na.count\t()\n\n# netA total 13\n# netB\nb.bias\t(5,)\n")
    keys = read_official_keys(path)
    assert keys["netA"].shapes == {"a.weight": (4, 3, 1, 1), "a.count": ()}
    assert keys["netA"].total == 13
    assert keys["netB"].shapes == {"b.bias": (5,)} and keys["netB"].total is None


def test_parser_rejects_bad_lines_and_missing_file(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("# netA\na.weight (4, 3)\n")
    with pytest.raises(ValueError, match="bad.txt:2"):
        read_official_keys(path)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_official_keys(tmp_path / "nope.txt")


@pytest.mark.parametrize("name", ["netG", "netD"])
def test_state_dict_matches_official_keys_and_shapes(official, meta_nets, name):
    state = meta_nets[name].state_dict()
    diff = diff_state_dict(state, official[name])
    assert diff.missing == [] and diff.unexpected == [] and diff.mismatched == []
    assert sum(v.numel() for v in state.values()) == official[name].total


@pytest.mark.parametrize("name", ["netG", "netD"])
def test_strict_load_of_official_layout(official, meta_nets, name):
    net = meta_nets[name]
    fake_checkpoint = {key: torch.empty(shape, device="meta") for key, shape in official[name].shapes.items()}
    net.load_state_dict(fake_checkpoint, strict=True, assign=True)
    assert diff_state_dict(net.state_dict(), official[name]) == ([], [], [])


def test_official_fc_keys_land_in_the_stacked_per_class_linear():
    torch.manual_seed(0)
    norm = SEANNorm(norm_nc=4, label_nc=3, style_dim=5)
    state = norm.state_dict()
    assert "style_proj.weight" not in state and state["fc_mu2.weight"].shape == (5, 5)
    checkpoint = {key: torch.randn_like(v) if v.is_floating_point() else v + 3 for key, v in state.items()}
    norm.load_state_dict(checkpoint, strict=True)
    torch.testing.assert_close(norm.style_proj.weight[2], checkpoint["fc_mu2.weight"])
    torch.testing.assert_close(norm.style_proj.bias[1], checkpoint["fc_mu1.bias"])
    reloaded = norm.state_dict()
    assert all(torch.equal(reloaded[key], value) for key, value in checkpoint.items())


def test_incomplete_official_fc_keys_fail_a_strict_load():
    norm = SEANNorm(norm_nc=4, label_nc=3, style_dim=5)
    state = norm.state_dict()
    del state["fc_mu1.bias"]
    with pytest.raises(RuntimeError, match="style_proj.weight"):
        norm.load_state_dict(state, strict=True)

import json
from dataclasses import FrozenInstanceError, asdict

import pytest

from shape_editor.config import ShapeVAEConfig


def test_defaults_are_the_paper_model():
    cfg = ShapeVAEConfig()
    assert cfg.num_parts == 18
    assert cfg.seed_size == 16
    assert cfg.num_up_blocks == 4
    assert cfg.decoder_widths == (512, 256, 128, 64, 32)


@pytest.mark.parametrize(
    "kwargs, blocks, widths",
    [
        (dict(crop_size=16, enc_size=16), 0, (512,)),
        (dict(crop_size=32, enc_size=16, ngf=8), 1, (64, 32)),
        (dict(crop_size=64, enc_size=32, ngf=8), 2, (64, 32, 16)),
        (dict(crop_size=32, enc_size=16, latent_dim=64, ngf=8), 2, (64, 32, 16)),
    ],
)
def test_decoder_geometry_follows_crop_and_latent(kwargs, blocks, widths):
    cfg = ShapeVAEConfig(**kwargs)
    assert cfg.num_up_blocks == blocks
    assert cfg.decoder_widths == widths


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(crop_size=48), "crop_size=48"),
        (dict(crop_size=8, enc_size=8), "crop_size=8"),
        (dict(enc_size=512), "enc_size=512"),
        (dict(latent_dim=200), "latent_dim=200"),
        (dict(ngf=1), "ngf=1"),
        (dict(label_nc=1), "label_nc=1"),
        (dict(lstm_layers=0), "lstm_layers=0"),
        (dict(enc_widths=()), "enc_widths=()"),
        (dict(enc_widths=(64, 0)), "enc_widths=(64, 0)"),
        (dict(lambda_kl=-1.0), "lambda_kl=-1.0"),
        (dict(bg_mode="soft"), "bg_mode='soft'"),
    ],
)
def test_invalid_values_raise_naming_the_value(kwargs, name):
    with pytest.raises(ValueError, match=name.replace("(", r"\(").replace(")", r"\)")):
        ShapeVAEConfig(**kwargs)


def test_json_round_trip_rebuilds_an_equal_config():
    cfg = ShapeVAEConfig(crop_size=64, enc_size=32, enc_widths=(64, 32, 32), ngf=8, use_lstm=False)
    rebuilt = ShapeVAEConfig(**json.loads(json.dumps(asdict(cfg))))
    assert rebuilt == cfg
    assert isinstance(rebuilt.enc_widths, tuple)


def test_config_is_frozen():
    with pytest.raises(FrozenInstanceError):
        ShapeVAEConfig().latent_dim = 64

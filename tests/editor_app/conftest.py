"""Runs for the editor tests: a small shape VAE trained for seconds, and an untrained tiny SEAN.

The shape VAE (64 px, no LSTM) is trained just long enough (150 steps) for a generated nose to land
near the nose; the SEAN run only has to render something, so its weights stay at initialisation.
"""

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from data.synthetic_faces import synthetic_face
from editor_app.browser import find_chromium, launch_chromium
from models.networks import SEANGenerator
from shape_editor import ShapeVAE, ShapeVAEConfig
from shape_editor.losses import (
    class_pixel_shares,
    class_weights_from_shares,
    count_class_pixels,
    shape_vae_loss,
)

SIZE, FACES, STEPS = 64, 256, 150
DATA = {
    "load_size": SIZE,
    "crop_size": SIZE,
    "label_nc": 19,
    "dataset_mode": "synthetic",
    "synthetic_size": 16,
    "synthetic_test_size": 6,
}
SEAN_SIZES = {"ngf": 4, "style_dim": 8, "encoder_ngf": 4, "spade_hidden": 8}
SHOTS = Path(__file__).resolve().parents[2] / "results" / "editor_tests"  # screenshots (not committed)


def train_shape_vae() -> ShapeVAE:
    torch.manual_seed(0)
    labels = torch.from_numpy(
        np.stack([synthetic_face(0, i, SIZE, with_image=False).label for i in range(FACES)])
    ).long()[:, None]
    config = ShapeVAEConfig(
        crop_size=SIZE, enc_size=32, enc_widths=(128,), latent_dim=64, use_lstm=False, ngf=8, groups=4
    )
    vae = ShapeVAE(config)
    weights = class_weights_from_shares(class_pixel_shares(count_class_pixels(labels, 19))).float()
    optimizer = torch.optim.Adam(vae.parameters(), lr=2e-3)
    order = torch.Generator().manual_seed(0)
    for _ in range(STEPS):
        batch = labels[torch.randint(0, FACES, (16,), generator=order)]
        losses = shape_vae_loss(vae(batch), batch, weights, config.lambda_kl)
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
    return vae.eval()


@pytest.fixture(scope="session")
def editor_runs(tmp_path_factory):
    """checkpoints/{shape,sean}/ with latest_net_G.pth and opt.json; returns the checkpoints folder."""
    root = tmp_path_factory.mktemp("checkpoints")
    vae = train_shape_vae()
    (root / "shape").mkdir()
    torch.save(
        {"state_dict": vae.state_dict(), "config": asdict(vae.config), "step": STEPS},
        root / "shape" / "latest_net_G.pth",
    )
    (root / "shape" / "opt.json").write_text(json.dumps({"model": "shapevae", **DATA, "no_synthetic_images": True}))
    (root / "sean").mkdir()
    torch.manual_seed(0)
    sean = SEANGenerator(
        19,
        SEAN_SIZES["ngf"],
        SIZE,
        SEAN_SIZES["style_dim"],
        encoder_ngf=SEAN_SIZES["encoder_ngf"],
        spade_hidden=SEAN_SIZES["spade_hidden"],
    )
    torch.save(sean.state_dict(), root / "sean" / "latest_net_G.pth")
    (root / "sean" / "opt.json").write_text(json.dumps({"model": "sean", **DATA, **SEAN_SIZES}))
    return root


def editor_argv(checkpoints, *extra):
    """The editor's flags for the test runs; its caches (attribute directions) go beside them, not into the repo."""
    results = Path(checkpoints).parent / "results"
    return [
        "--shape_name",
        "shape",
        "--checkpoints_dir",
        str(checkpoints),
        "--results_dir",
        str(results),
        "--gpu_ids",
        "-1",
        *extra,
    ]


@pytest.fixture(scope="session")
def browser():
    """The system Chromium driven by Playwright; skips with the reason when either is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    if find_chromium() is None:
        pytest.skip("no Chromium found (apt-get install -y chromium, or set SHAPEVAE_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()

"""Rebuild a trained `ShapeVAE` from its self-describing checkpoint file ({"state_dict", "config", "step"})."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from shape_editor.checkpoint_io import load_checkpoint, load_state_dict_checked
from shape_editor.config import ShapeVAEConfig
from shape_editor.shape_vae import ShapeVAE


def load_shape_vae(
    checkpoint_path: str | Path, device: str | torch.device = "cpu", expect: Mapping[str, Any] | None = None
) -> ShapeVAE:
    """Load `<which>_net_G.pth` (weights only), rebuild the network from its stored config, in eval mode.

    Args:
        checkpoint_path: a file written by `ShapeVAEModel.network_payload`.
        device: where the network goes.
        expect: config values the caller's data needs, e.g. {"label_nc": 19, "crop_size": 64}.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: naming the file when it is not a shape VAE checkpoint, its config is invalid, its
            weights do not fit the config (strict load), or a value in `expect` differs (naming each one).
    """
    path = Path(checkpoint_path)
    payload = load_checkpoint(path, map_location=device)
    if not isinstance(payload, dict) or not {"state_dict", "config"} <= payload.keys():
        raise ValueError(f"{path} is not a shape VAE checkpoint: expected a dict with 'state_dict' and 'config'")
    try:
        config = ShapeVAEConfig(**payload["config"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path} stores a config this code cannot rebuild: {err}") from err
    differing = {k: (getattr(config, k), v) for k, v in (expect or {}).items() if getattr(config, k) != v}
    if differing:
        listed = ", ".join(
            f"{k}={saved} in the checkpoint but {k}={wanted} here" for k, (saved, wanted) in differing.items()
        )
        raise ValueError(f"{path} does not fit the data: {listed}")
    vae = ShapeVAE(config)
    load_state_dict_checked(vae, payload["state_dict"], path)
    return vae.to(device).eval()

"""Load the paper's released Semantic-VAE weights into `ShapeVAE`, and convert them to our checkpoint format.

The official network (`VAE_net` in the paper's repository) and ours compute the same function with
other module names: a shared part MLP `encs` (input: each of the 18 part channels nearest-resized to
128x128), a 3-layer bidirectional LSTM `lstm`, a feed-forward block `decs` plus a linear residual
`resh_lin`, and a conv decoder `decs_conv` whose residual up blocks are guided-diffusion `ResBlock`s
(`in_layers` = GroupNorm, SiLU, conv; `out_layers` = GroupNorm, SiLU, Dropout(0), conv). It predicts the
18 part logits only; background is added by a fixed rule (`shape_editor.background`), which is what
`ShapeVAEConfig(bg_mode="heuristic")` selects.

One difference remains: the official `decode` starts the LSTM from a *random* state drawn at every
call, ours from zeros (deterministic edits, docs/ARCHITECTURE.md), so the official code's own outputs
vary slightly from run to run while ours do not.

`python -m scripts.convert_official` turns an official file into a run folder that `python test.py` reads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Sequence

import torch
from torch import Tensor

from shape_editor.checkpoint_io import load_checkpoint, load_state_dict_checked
from shape_editor.config import ShapeVAEConfig
from shape_editor.shape_vae import ShapeVAE

# (official prefix, our prefix); "{i}" stands for a block index. Every key of either network matches one rule.
KEY_RULES: tuple[tuple[str, str], ...] = (
    ("encs.encs.", "encoder.mlp."),
    ("encs.mu.", "encoder.mu."),
    ("encs.log_var.", "encoder.logvar."),
    ("lstm.", "sequence.lstm."),
    ("decs.decs.", "sequence.feedforward."),
    ("resh_lin.", "sequence.residual."),
    ("decs_conv.in_conv.", "decoder.in_conv."),
    ("decs_conv.decs.{i}.in_layers.0.", "decoder.blocks.{i}.norm_in."),
    ("decs_conv.decs.{i}.in_layers.2.", "decoder.blocks.{i}.conv_in."),
    ("decs_conv.decs.{i}.out_layers.0.", "decoder.blocks.{i}.norm_out."),
    ("decs_conv.decs.{i}.out_layers.3.", "decoder.blocks.{i}.conv_out."),
    ("decs_conv.decs.{i}.skip_connection.", "decoder.blocks.{i}.skip."),
    ("decs_conv.out_conv.", "decoder.out_conv."),
)
_LSTM_LAYER = re.compile(r"^lstm\.weight_ih_l(\d+)$")


def _prefix_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(template).replace(r"\{i\}", r"(?P<i>\d+)"))


def _rename(state: Mapping[str, Tensor], rules: Sequence[tuple[str, str]], source: str) -> dict[str, Tensor]:
    """Rename every key by the first rule whose source prefix matches; ValueError lists unmatched keys."""
    compiled = [(_prefix_pattern(src), dst) for src, dst in rules]
    renamed: dict[str, Tensor] = {}
    unknown: list[str] = []
    for key, value in state.items():
        for pattern, target in compiled:
            match = pattern.match(key)
            if match:
                renamed[target.format(**match.groupdict()) + key[match.end() :]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f"{len(unknown)} keys are not {source} Semantic-VAE keys, e.g. {unknown[:3]}")
    return renamed


def official_to_ours(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Official `VAE_net` state_dict -> `ShapeVAE` state_dict (same tensors, our key names)."""
    return _rename(state, KEY_RULES, "official")


def ours_to_official(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """`ShapeVAE` state_dict -> the official key names (the inverse of `official_to_ours`)."""
    return _rename(state, [(dst, src) for src, dst in KEY_RULES], "our")


def official_config(state: Mapping[str, Tensor]) -> ShapeVAEConfig:
    """The config of an official state_dict: the paper's sizes, heuristic background, its LSTM depth.

    The official code hard-codes every size except the number of LSTM layers (`--lstm_num`), which is
    read off the keys; the encoder input side is read off the first layer (128^2 inputs = 128).
    """
    layers = [int(m.group(1)) for key in state if (m := _LSTM_LAYER.match(key))]
    first = state.get("encs.encs.0.weight")
    if not layers or first is None:
        raise ValueError("not an official Semantic-VAE state_dict: no 'lstm.weight_ih_l*' or 'encs.encs.0.weight' key")
    enc_size = round(first.shape[1] ** 0.5)
    return ShapeVAEConfig(enc_size=enc_size, lstm_layers=max(layers) + 1, bg_mode="heuristic")


def read_official_state_dict(path: str | Path) -> dict[str, Tensor]:
    """The official state_dict in `path` (weights only): a raw state_dict or {'state_dict': ...}."""
    payload = load_checkpoint(path)
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
        payload = payload["state_dict"]
    if not isinstance(payload, dict) or not all(isinstance(v, Tensor) for v in payload.values()):
        raise ValueError(f"{path} holds no state_dict (expected a dict of tensors or {{'state_dict': ...}})")
    return payload


def load_official_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> ShapeVAE:
    """Build a `ShapeVAE(bg_mode="heuristic")` and load the official weights strictly; eval mode.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: naming the file when a key is unknown, missing or of another shape.
    """
    official = read_official_state_dict(path)
    try:
        state = official_to_ours(official)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err
    vae = ShapeVAE(official_config(official))
    load_state_dict_checked(vae, state, path)
    return vae.to(device).eval()

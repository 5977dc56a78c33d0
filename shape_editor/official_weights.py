"""Load the paper's released Semantic-VAE weights into `ShapeVAE`, and convert them to our checkpoint format.

The official network (`VAE_net` in the paper's repository) and ours compute the same function with
other module names: a shared part MLP `encs` (input: each of the 18 part channels nearest-resized to
128x128), a 3-layer bidirectional LSTM `lstm`, a feed-forward block `decs` plus a linear residual
`resh_lin`, and a conv decoder `decs_conv` whose residual up blocks are guided-diffusion `ResBlock`s
(`in_layers` = GroupNorm, SiLU, conv; `out_layers` = GroupNorm, SiLU, Dropout(0), conv). It predicts the
18 part logits only; background is added by a fixed rule (`shape_editor.background`), which is what
`ShapeVAEConfig(bg_mode="heuristic")` selects.

One difference remains: the official `decode` starts the LSTM from a *random* state drawn at every
call, ours from zeros (deterministic edits, DESIGN.md section 5), so the official code's own outputs
vary slightly from run to run while ours do not.

Command line (writes `checkpoints/<name>/latest_net_G.pth` and `opt.json`, so `python test.py --name <name>`
runs the official weights):
    python -m shape_editor.official_weights --input semvae_official.pth --name semvae_official
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor

from shape_editor.cli import ArgumentParser, run_cli
from shape_editor.config import ShapeVAEConfig
from shape_editor.run_dir import RunLock, check_run_name, check_run_start, clear_run_dir
from shape_editor.shape_vae import ShapeVAE
from util.checkpoint import atomic_torch_save, load_checkpoint, load_state_dict_checked
from util.fileio import atomic_write_text
from util.paths import safe_child

logger = logging.getLogger(__name__)

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
                renamed[target.format(**match.groupdict()) + key[match.end():]] = value
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


def run_options(config: ShapeVAEConfig) -> dict[str, Any]:
    """The `--model shapevae` flags that rebuild `config`, as `python test.py` reads them from opt.json."""
    return {
        "model": "shapevae", "label_nc": config.label_nc, "crop_size": config.crop_size,
        "load_size": config.crop_size, "enc_size": config.enc_size,
        "enc_widths": ",".join(str(w) for w in config.enc_widths), "latent_dim": config.latent_dim,
        "lstm_layers": config.lstm_layers, "no_lstm": not config.use_lstm, "no_bidir": not config.bidirectional,
        "ngf": config.ngf, "no_weighted_ce": not config.weighted_ce, "lambda_kl": config.lambda_kl,
        "bg_mode": config.bg_mode,
    }


def convert_official(input_path: str | Path, run_dir: str | Path, overwrite: bool = False) -> Path:
    """Write `<run_dir>/latest_net_G.pth` ({"state_dict", "config", "step": 0}) and `<run_dir>/opt.json`.

    The weights are loaded into a `ShapeVAE` first, so a file that does not fit is refused before anything is
    written. A folder that already holds a run is refused unless `overwrite`, which clears it first: two
    models never share one folder.
    """
    run_dir = Path(run_dir)
    with RunLock(run_dir):
        check_run_start(run_dir, resume=False, overwrite=overwrite, flag="--name")
        vae = load_official_checkpoint(input_path)
        if overwrite:
            clear_run_dir(run_dir)
        return write_run(vae, run_dir, input_path)


def write_run(vae: ShapeVAE, run_dir: Path, input_path: str | Path) -> Path:
    target = run_dir / "latest_net_G.pth"
    atomic_torch_save({"state_dict": vae.state_dict(), "config": asdict(vae.config), "step": 0}, target)
    atomic_write_text(run_dir / "opt.json", json.dumps(run_options(vae.config), indent=2, sort_keys=True))
    logger.info("converted %s into %s", input_path, target)
    return target


def main(argv: Sequence[str] | None = None) -> Path:
    parser = ArgumentParser(prog="python -m shape_editor.official_weights",
                            description="Convert the paper's Semantic-VAE weights into a ShapeVAE run.")
    parser.add_argument("--input", required=True, help="the official VAE checkpoint (e.g. latest_net_G.pth)")
    parser.add_argument("--name", required=True, help="run name: writes <checkpoints_dir>/<name>/latest_net_G.pth")
    parser.add_argument("--checkpoints_dir", default="./checkpoints", help="where runs are stored")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run of that --name (its folder is cleared)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    check_run_name(args.name)
    return convert_official(args.input, safe_child(args.checkpoints_dir, args.name), args.overwrite)


if __name__ == "__main__":
    run_cli(main)

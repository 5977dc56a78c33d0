"""Turn the paper's released Semantic-VAE weights into a run folder that `python test.py --name <name>` reads.

    python -m scripts.convert_official --input semvae_latest_net_G.pth --name semvae_official

Writes `<checkpoints_dir>/<name>/latest_net_G.pth` ({"state_dict", "config", "step": 0}) and `opt.json`
(the `--model shapevae` flags of that config). The key mapping itself is `shape_editor.official_weights`.
"""
from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from models.shapevae_model import opt_from_config
from shape_editor.checkpoint_io import atomic_torch_save
from shape_editor.fileio import atomic_write_text, safe_child
from shape_editor.official_weights import load_official_checkpoint

logger = logging.getLogger("convert_official")


def convert_official(input_path: str | Path, run_dir: str | Path) -> Path:
    """Write `<run_dir>/latest_net_G.pth` and `<run_dir>/opt.json`; returns the network file.

    The weights are loaded into a `ShapeVAE` first, so a file that does not fit is refused before anything is written.
    """
    vae = load_official_checkpoint(input_path)
    run_dir = Path(run_dir)
    target = run_dir / "latest_net_G.pth"
    atomic_torch_save({"state_dict": vae.state_dict(), "config": asdict(vae.config), "step": 0}, target)
    atomic_write_text(run_dir / "opt.json", json.dumps(opt_from_config(vae.config), indent=2, sort_keys=True))
    logger.info("converted %s into %s", input_path, target)
    return target


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description="Convert the paper's Semantic-VAE weights into a ShapeVAE run.")
    parser.add_argument("--input", required=True, help="the official VAE checkpoint (e.g. latest_net_G.pth)")
    parser.add_argument("--name", required=True, help="run name: writes <checkpoints_dir>/<name>/latest_net_G.pth")
    parser.add_argument("--checkpoints_dir", default="./checkpoints", help="where runs are stored")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    return convert_official(args.input, safe_child(args.checkpoints_dir, args.name))


if __name__ == "__main__":
    main()

"""Turn the paper's released Semantic-VAE weights into a run folder that `python test.py --name <name>` reads.

    python -m scripts.convert_official --input semvae_latest_net_G.pth --name semvae_official

Writes `<checkpoints_dir>/<name>/latest_net_G.pth` ({"state_dict", "config", "step": 0}) and `opt.json`
(the `--model shapevae` flags of that config). The key mapping itself is `shape_editor.official_weights`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from models.shapevae_model import opt_from_config
from shape_editor import ShapeVAE
from shape_editor.checkpoint_io import atomic_torch_save
from shape_editor.cli import ArgumentParser, run_cli
from shape_editor.fileio import atomic_write_text, safe_child
from shape_editor.official_weights import load_official_checkpoint
from shape_editor.run_dir import RunLock, check_run_name, check_run_start, clear_run_dir

logger = logging.getLogger("convert_official")


def convert_official(input_path: str | Path, run_dir: str | Path, overwrite: bool = False) -> Path:
    """Write `<run_dir>/latest_net_G.pth` and `<run_dir>/opt.json`; returns the network file.

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
    atomic_write_text(run_dir / "opt.json", json.dumps(opt_from_config(vae.config), indent=2, sort_keys=True))
    logger.info("converted %s into %s", input_path, target)
    return target


def main(argv: Sequence[str] | None = None) -> Path:
    parser = ArgumentParser(
        prog="python -m scripts.convert_official",
        description="Convert the paper's Semantic-VAE weights into a ShapeVAE run.",
    )
    parser.add_argument("--input", required=True, help="the official VAE checkpoint (e.g. latest_net_G.pth)")
    parser.add_argument("--name", required=True, help="run name: writes <checkpoints_dir>/<name>/latest_net_G.pth")
    parser.add_argument("--checkpoints_dir", default="./checkpoints", help="where runs are stored")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the run of that --name (its folder is cleared)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    check_run_name(args.name)
    return convert_official(args.input, safe_child(args.checkpoints_dir, args.name), args.overwrite)


if __name__ == "__main__":
    run_cli(main)

"""Where a test run writes: only under `--results_dir`, one folder per run, mode and part.

`results/<name>/<phase>_<epoch>[_<mode>_<part>]/` (or `--results_name`), built in a temporary folder
and swapped in when the run succeeds, so no stale image of an earlier run survives and a failed run
leaves the previous results intact. Nothing is ever written into the checkpoint folder, which may be
read-only; caches derived from a checkpoint (attribute directions, the latent prior) live in
`results/<name>/cache/`, keyed by its content hash.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shape_editor.fileio import file_sha256, safe_child
from shape_editor.run_dir import check_run_name
from util.image import safe_filename

CACHE_FOLDER = "cache"


def results_folder_name(opt: argparse.Namespace) -> str:
    """`--results_name`, or `<phase>_<epoch>` plus the edit (`_generate_nose`, `_attribute_nose_height`)."""
    if getattr(opt, "results_name", None):
        check_run_name(opt.results_name, "--results_name")
        return opt.results_name
    parts = [opt.phase, opt.which_epoch]
    if getattr(opt, "shape_name", None):
        parts.append(opt.shape_name)
    if opt.edit_mode == "all":
        parts.append("all")
    elif opt.edit_part and opt.edit_mode != "reconstruct":
        parts += [opt.edit_mode, opt.edit_part.replace(",", "-")]
        if opt.edit_mode == "attribute" and opt.attribute:
            parts.append(opt.attribute)
    return safe_filename("_".join(map(str, parts)))


def results_folder(opt: argparse.Namespace) -> Path:
    return safe_child(safe_child(opt.results_dir, opt.name), results_folder_name(opt))


def file_digest(path: str | Path, length: int = 16) -> str:
    """The first `length` hex digits of a file's SHA-256: what a cache derived from it is keyed by."""
    return file_sha256(path)[:length]


def cache_path(opt: argparse.Namespace, run_name: str, checkpoint: str | Path, stem: str) -> Path:
    """`results/<run>/cache/<stem>_<hash>.pth`: a file derived from one checkpoint's content."""
    folder = safe_child(safe_child(opt.results_dir, run_name), CACHE_FOLDER)
    return folder / f"{stem}_{file_digest(checkpoint)}.pth"


def directions_path(opt: argparse.Namespace, run_name: str, checkpoint: str | Path) -> Path:
    """The attribute-directions cache of one checkpoint: `results/<run>/cache/attribute_directions_<hash>.pth`."""
    return cache_path(opt, run_name, checkpoint, "attribute_directions")


def prior_path(opt: argparse.Namespace, run_name: str, checkpoint: str | Path) -> Path:
    """The latent-prior cache of one checkpoint (`--sample_from aggregate`):
    `results/<run>/cache/latent_prior_<hash>.pth`."""
    return cache_path(opt, run_name, checkpoint, "latent_prior")

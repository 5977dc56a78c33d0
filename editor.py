"""The interactive mask editor: `python editor.py --shape_name <shapevae run> [--name <sean run>]`.

Serves a Gradio page on --host:--port (default 127.0.0.1:7860): pick a test face or upload a label map,
generate / perturb / interpolate / swap parts, push them along attribute directions, paint with a brush,
undo and redo, download the masks and, with a SEAN run, see the face rendered in the photo's style.
"""

from __future__ import annotations

import util.huge_pages  # noqa: F401  (first: it must run before torch is imported)

import argparse
import functools
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing leaves this machine

import torch

import data
from editor_app.callbacks import EditorContext
from editor_app.engine import EditEngine
from editor_app.options import EditorOptions
from editor_app.render import RenderWorker, SeanPainter
from models.sean_model import masks_only_message
from shape_editor.attribute_directions import AttributeDirections, load_or_fit_directions
from shape_editor.checkpoint import load_shape_vae
from shape_editor.cli import run_cli
from shape_editor.editor import MaskEditor
from shape_editor.errors import UserError
from shape_editor.fileio import safe_child
from shape_editor.prior_store import load_or_fit_prior
from shape_editor.shape_vae import ShapeVAE
from testers.output import directions_path, prior_path
from util.distributed import select_device

logger = logging.getLogger("editor")


def build_context(opt: argparse.Namespace, device: torch.device) -> tuple[EditorContext, RenderWorker | None]:
    """Load the shape VAE (and SEAN with --name), the test split and the attribute-direction fitter."""
    run_dir = safe_child(opt.checkpoints_dir, opt.shape_name)
    which = opt.shape_which_epoch if opt.sean else opt.which_epoch
    checkpoint = safe_child(run_dir, f"{which}_net_G.pth")
    vae = load_shape_vae(checkpoint, device, expect={"label_nc": opt.label_nc})
    size = vae.config.crop_size
    vae_opt = argparse.Namespace(**{**vars(opt), "load_size": size, "crop_size": size})

    @functools.cache
    def directions(part: int) -> AttributeDirections:
        # keyed by the checkpoint's content, under --results_dir: the checkpoint folder may be read-only
        return load_or_fit_directions(
            directions_path(opt, opt.shape_name, checkpoint),
            vae,
            lambda: data.create_dataset(vae_opt, "train"),
            part,
            opt.attribute_samples,
        )

    dataset = data.create_dataset(opt, phase=opt.phase)
    if len(dataset) < 1:
        raise UserError(
            f"the {opt.phase} split is empty",
            f"--phase {opt.phase}",
            "give a dataset with at least one face to start from",
        )
    renderer = None
    if opt.sean:
        if "image" not in dataset[0]:
            raise ValueError(masks_only_message(opt))
        renderer = RenderWorker(SeanPainter(opt, device))
    downloads = Path(tempfile.mkdtemp(prefix="shapevae-editor-"))
    return EditorContext(
        EditEngine(sampling_editor(opt, vae, checkpoint, vae_opt), directions), dataset, opt, downloads
    ), renderer


def sampling_editor(
    opt: argparse.Namespace, vae: ShapeVAE, checkpoint: Path, vae_opt: argparse.Namespace
) -> MaskEditor:
    """The editor drawing codes as `test.py` does: from the latent prior fitted to the training codes
    (`--sample_from aggregate`, cached under --results_dir like the tester's), or from N(0, I)."""
    if opt.sample_from == "standard" and opt.perturb_scale == "standard":
        return MaskEditor(vae, temperature=opt.sample_temperature)
    prior = load_or_fit_prior(
        prior_path(opt, opt.shape_name, checkpoint),
        checkpoint,
        vae,
        lambda: data.create_dataset(vae_opt, "train"),
        opt.prior_samples,
    )
    return MaskEditor(
        vae,
        prior,
        sample_from=opt.sample_from,
        scale_perturb=opt.perturb_scale == "aggregate",
        temperature=opt.sample_temperature,
    )


def start(argv: Sequence[str], *, block: bool = True) -> tuple[Any, EditorContext, str]:
    """Parse, load and serve the editor; returns (the Gradio app, its context, its address) once it serves.

    With `block` (the command line) this serves until interrupted; without it (tests, benchmarks) it
    returns at once and `app.close()` stops the server.
    """
    opt = EditorOptions().parse(argv)
    context, renderer = build_context(opt, select_device(opt.gpu_ids))
    from editor_app.layout import build_app, launch  # Gradio loads only once the run is known to be good

    app = build_app(context, renderer)
    url = f"http://{opt.host}:{opt.port}/"
    logger.info("editor on %s", url)
    launch(app, opt.host, opt.port, prevent_thread_lock=not block, quiet=not block)
    return app, context, url


def serve(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    start(sys.argv[1:] if argv is None else argv)


def main(argv: Sequence[str] | None = None) -> None:
    """The command line: serve until interrupted; an expected error is one `error: ...` line and status 2."""
    run_cli(serve, argv)


if __name__ == "__main__":
    main()

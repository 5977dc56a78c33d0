"""Fit the aggregate-posterior prior from training masks once, and keep it in a cache file.

The caller names the file: `test.py` keeps it under `--results_dir`, never in the checkpoint folder
(`testers.output.prior_path`: `results/<name>/cache/latent_prior_<hash>.pth`, keyed by the weights'
content hash). The file holds a `LatentPrior` and the full content hash of the weights file it was
fitted from; when those weights change (a later epoch, a retrained run) the stored fit is stale and
is refitted rather than silently reused.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import torch
from torch.utils.data import Dataset

from shape_editor.attribute_directions import encode_dataset
from shape_editor.editor import all_parts
from shape_editor.fast import FastShapeVAE, inference_model
from shape_editor.fileio import file_sha256
from shape_editor.latent_prior import LatentPrior
from shape_editor.shape_vae import ShapeVAE

logger = logging.getLogger(__name__)


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes (hex): identifies the weights a prior was fitted from."""
    return file_sha256(path)


def fit_prior_from_dataset(
    vae: ShapeVAE | FastShapeVAE, dataset: Dataset, max_samples: int | None = None, checkpoint: str = ""
) -> LatentPrior:
    """Encode up to `max_samples` masks and fit each part's Gaussian on the masks that contain it."""
    model = inference_model(vae)
    parts = all_parts(model.config.num_parts)
    mus, attributes = encode_dataset(model, dataset, parts, max_samples)
    present = torch.stack([torch.isfinite(attributes[(p, "area")]) for p in parts], dim=1)  # (N, P); NaN = absent
    prior = LatentPrior.fit(mus, present, checkpoint=checkpoint)
    logger.info(
        "fitted the aggregate-posterior prior on %d masks (shrinkage %.2f-%.2f)",
        mus.shape[0],
        float(prior.shrinkage.min()),
        float(prior.shrinkage.max()),
    )
    return prior


def load_or_fit_prior(
    path: str | Path,
    checkpoint: str | Path,
    vae: ShapeVAE | FastShapeVAE,
    train_set: Callable[[], Dataset],
    max_samples: int | None = None,
) -> LatentPrior:
    """The prior stored at `path` if it was fitted from `checkpoint`'s weights, else a fresh fit (saved).

    Args:
        path: the cache file of this checkpoint's prior (`testers.output.prior_path`).
        checkpoint: the weights file the model was loaded from.
        train_set: builds the training split (only called when a fit is needed).
    """
    path, digest = Path(path), file_digest(checkpoint)
    if path.is_file():
        try:
            return LatentPrior.load(path, checkpoint=digest)
        except ValueError as err:
            logger.warning("%s; refitting", err)
    prior = fit_prior_from_dataset(vae, train_set(), max_samples, checkpoint=digest)
    prior.save(path)
    logger.info("saved the latent prior to %s", path)
    return prior

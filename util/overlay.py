"""The changed-pixels overlay shared by the editor and the result pages: what an edit moved, at a glance."""

from __future__ import annotations

import numpy as np

from shape_editor.labels import colorize

FADE = 0.25  # unchanged pixels keep this much of their colour, the rest is light grey
GREY = 215


def changed_pixels_overlay(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Colour `after` [H, W] ids in the palette where it differs from `before`; fade every other pixel to grey.

    Returns:
        uint8 [H, W, 3].
    """
    if before.shape != after.shape:
        raise ValueError(f"masks of different sizes: {before.shape} and {after.shape}")
    colours = colorize(after).astype(np.float32)
    faded = FADE * colours + (1 - FADE) * GREY
    changed = (np.asarray(before) != np.asarray(after))[..., None]
    return np.where(changed, colours, faded).round().astype(np.uint8)

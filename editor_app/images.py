"""What the page shows and reads: the palette view, the overlay, the legend, uploads and brush strokes.

Masks are uint8 [H, W] standard ids at the data's size; the page shows them scaled up by a whole factor
(nearest) so small masks stay crisp, and brush strokes come back at that scale.
"""

from __future__ import annotations

import argparse
import html
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from shape_editor.labels import LABEL_NAMES, PALETTE, colorize
from data.mask_io import open_image, read_image
from data.transforms import PreprocessConfig, get_params, transform_image
from testers.shapevae_tester import load_target_file
from util.image import tensor_to_image
from util.overlay import changed_pixels_overlay

MIN_VIEW = 256  # masks smaller than this are shown scaled up by a whole factor
ALPHA_PAINTED = 128  # a brush layer pixel this opaque counts as painted


def view_scale(size: int) -> int:
    """Whole factor that shows a mask of side `size` at least MIN_VIEW pixels wide."""
    return max(1, -(-MIN_VIEW // size))


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    return image if factor == 1 else image.repeat(factor, 0).repeat(factor, 1)


def mask_view(mask: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """The mask in the CelebAMask-HQ palette, or the changed-pixels overlay against `previous`; uint8 RGB."""
    image = colorize(mask) if previous is None else changed_pixels_overlay(previous, mask)
    return upscale(image, view_scale(mask.shape[0]))


def legend_html(mask: np.ndarray | None = None) -> str:
    """Swatch, id and name of every class; classes present in `mask` are in bold."""
    present = set(np.unique(mask).tolist()) if mask is not None else set()
    items = []
    for i, name in enumerate(LABEL_NAMES):
        r, g, b = (int(v) for v in PALETTE[i])
        weight = "bold" if i in present else "normal"
        items.append(
            f'<span class="legend-item" style="font-weight:{weight}">'
            f'<span class="swatch" style="background:rgb({r},{g},{b})"></span>{i} {html.escape(name)}</span>'
        )
    return '<div class="legend">' + "".join(items) + "</div>"


def photo_view(photo: np.ndarray) -> np.ndarray:
    """A photo (uint8 [H, W, 3], or float [3, H, W] in [-1, 1]) at least MIN_VIEW wide (bicubic)."""
    image = tensor_to_image(photo) if photo.dtype != np.uint8 else photo
    factor = view_scale(image.shape[1])
    if factor == 1:
        return image
    size = (image.shape[1] * factor, image.shape[0] * factor)
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))


def load_upload(
    label_path: str | Path, photo_path: str | Path | None, opt: argparse.Namespace
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read an uploaded label map (ids, colour or palette PNG; `--label_order`) and an optional photo.

    Both are resized and cropped like the test set, so they match what the editor shows for gallery faces.

    Returns:
        (uint8 [H, W] standard ids, float32 [3, H, W] photo in [-1, 1] or None).

    Raises:
        FileNotFoundError / ValueError: with the loaders' messages, which name the file.
    """
    label = load_target_file(str(label_path), opt)[0, 0].numpy().astype(np.uint8)
    if photo_path is None:
        return label, None
    image = read_image(photo_path)
    (w, h), (label_w, label_h) = image.size, open_image(label_path).size
    if w * label_h != h * label_w:
        raise ValueError(
            f"{photo_path}: photo is {w}x{h} but its label map {Path(label_path).name} is "
            f"{label_w}x{label_h} (another aspect ratio); upload a photo of the same shape"
        )
    params = get_params(PreprocessConfig.from_opt(opt, augment=False), image.size, np.random.default_rng(0))
    return label, transform_image(image, params).numpy()


def painted_mask(mask: np.ndarray, editor_value: dict[str, Any] | None, class_id: int) -> np.ndarray:
    """Apply the brush strokes of a Gradio ImageEditor value to `mask` with class `class_id`.

    The strokes are the layers' opaque pixels, drawn on the scaled-up view; each mask pixel takes the
    class when the centre of its block on the view was painted.
    """
    layers = [] if editor_value is None else [layer for layer in editor_value.get("layers") or [] if layer is not None]
    if not layers:
        return mask
    factor = view_scale(mask.shape[0])
    painted = np.zeros(mask.shape, dtype=bool)
    offset = factor // 2
    for layer in layers:
        layer = np.asarray(layer)
        if layer.ndim != 3 or layer.shape[2] != 4:
            continue
        alpha = layer[offset::factor, offset::factor, 3][: mask.shape[0], : mask.shape[1]]
        painted[: alpha.shape[0], : alpha.shape[1]] |= alpha >= ALPHA_PAINTED
    return np.where(painted, np.uint8(class_id), mask).astype(np.uint8)


def brush_colour(class_id: int) -> str:
    """The class's palette colour as `#rrggbb`, the brush colour for painting that class."""
    return "#" + "".join(f"{int(v):02x}" for v in PALETTE[class_id])

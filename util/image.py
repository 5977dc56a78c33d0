"""Image, label and file-writing helpers shared by the training page and the test result pages.

Tensors come in the layouts the models use (`image: [3, H, W]` in [-1, 1], `label: [1, H, W]` ids or
`[C, H, W]` one-hot / logits) and leave as uint8 `[H, W, 3]` arrays ready to save. Every file is
written atomically (temp file in the same folder, then `os.replace`) so an interrupted run never
leaves a half-written PNG or page that a browser or a resumed run would choke on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image
from torch import Tensor

from shape_editor.fileio import atomic_output
from shape_editor.labels import colorize

IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def safe_filename(name: str, max_bytes: int = 100) -> str:
    """Turn any display name into one path component that cannot leave its folder.

    Keeps (unicode) letters, digits, `.`, `-` and `_`; every other run of characters becomes `_`;
    leading dots are dropped (no `..`, no hidden files) and the UTF-8 length is capped.
    """
    text = re.sub(r"[^\w.-]+", "_", str(name)).lstrip(".")
    text = text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    return text or "_"


def unique_stems(stems: Iterable[str]) -> list[str]:
    """Make file stems distinct (case-insensitively, for macOS/Windows) by appending `_2`, `_3`, ..."""
    seen: set[str] = set()
    unique: list[str] = []
    for stem in stems:
        candidate, count = stem, 1
        while candidate.casefold() in seen:
            count += 1
            candidate = f"{stem}_{count}"
        seen.add(candidate.casefold())
        unique.append(candidate)
    return unique


def to_numpy(value: Tensor | np.ndarray) -> np.ndarray:
    """Detached CPU numpy copy of a tensor (floating tensors become float32); arrays pass through."""
    if isinstance(value, Tensor):
        value = value.detach().cpu()
        if value.is_floating_point():
            value = value.float()  # numpy has no bfloat16
        return value.numpy()
    return np.asarray(value)


def _is_float(array: np.ndarray) -> bool:
    return np.issubdtype(array.dtype, np.floating)


def tensor_to_label_image(label: Tensor | np.ndarray) -> np.ndarray:
    """Colourise a label map in the CelebAMask-HQ palette.

    Args:
        label: ids `[H, W]` or `[1, H, W]` (integer, or float holding whole numbers as SPADE's
            loader does), or one-hot / logits `[C, H, W]` with C > 1 (argmax over C).

    Returns:
        uint8 `[H, W, 3]`; ids outside the palette are white.
    """
    array = to_numpy(label)
    if array.ndim == 3 and array.shape[0] > 1:
        array = array.argmax(axis=0)
    elif array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f"label must be [H, W], [1, H, W] or [C, H, W], got shape {tuple(array.shape)}")
    if _is_float(array):
        array = np.rint(np.nan_to_num(array))
    return colorize(array.astype(np.int64))


def tensor_to_image(image: Tensor | np.ndarray) -> np.ndarray:
    """Map an image `[3, H, W]` (or grayscale `[1, H, W]`) in [-1, 1] to uint8 `[H, W, 3]`.

    -1 maps to 0 and 1 to 255; values outside the range are clipped, NaN becomes 0 (grey).
    """
    array = to_numpy(image).astype(np.float32)
    if array.ndim != 3 or array.shape[0] not in (1, 3):
        raise ValueError(f"image must be [3, H, W] or [1, H, W], got shape {tuple(array.shape)}")
    array = np.repeat(array, 3 // array.shape[0], axis=0)
    scaled = (np.nan_to_num(array).transpose(1, 2, 0) + 1.0) * 127.5
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def to_visual(value: Tensor | np.ndarray) -> np.ndarray:
    """Turn one sample of any visual into uint8 `[H, W, 3]`.

    Dispatch: uint8 `[H, W, 3]` passes through; integer/bool arrays are label ids (colourised);
    float `[3, H, W]` is an image in [-1, 1]; float `[1, H, W]` / `[H, W]` are ids; float
    `[C, H, W]` with C not 3 is one-hot / logits (argmax, colourised).
    """
    array = to_numpy(value)
    if array.dtype == np.uint8 and array.ndim == 3 and array.shape[-1] == 3:
        return array
    if _is_float(array) and array.ndim == 3 and array.shape[0] == 3:
        return tensor_to_image(array)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    return tensor_to_label_image(array)


def save_image(array: np.ndarray, path: str | Path) -> None:
    """Save uint8 `[H, W, 3]` (or `[H, W]` grayscale) as PNG or JPEG (chosen by suffix), atomically."""
    path = Path(path)
    fmt = IMAGE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"unsupported image suffix {path.suffix!r} in {path}; use one of {sorted(IMAGE_FORMATS)}")
    array = np.asarray(array)
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)):
        raise ValueError(f"expected uint8 [H, W, 3] or [H, W], got {array.dtype} {tuple(array.shape)} for {path}")
    with atomic_output(path) as tmp:
        Image.fromarray(array).save(tmp, format=fmt)


def save_label_png(ids: Tensor | np.ndarray, path: str | Path) -> None:
    """Save ids `[H, W]` / `[1, H, W]` as an 8-bit grayscale PNG whose pixel values are the class ids.

    PNG only: JPEG compression would change ids.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"label maps must be saved as .png (lossless), got {path}")
    array = to_numpy(ids)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f"ids must be [H, W] or [1, H, W], got shape {tuple(array.shape)} for {path}")
    if _is_float(array) and not np.array_equal(array, np.rint(array)):
        raise ValueError(f"ids for {path} are not whole numbers")
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(f"ids for {path} must lie in [0, 255], got [{array.min()}, {array.max()}]")
    save_image(array.astype(np.uint8), path)

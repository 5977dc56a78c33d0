"""Reading label maps and images from disk, with errors that name the file.

`read_label` auto-detects the label format of each file:

* grayscale id PNG (mode L / I / I;16 / 1): the value is the class id;
* palette PNG (mode P): decoded by colour when every colour it uses is a CelebAMask-HQ colour (a colour
  mask saved quantised), else the palette *indices* are the ids;
* colour-coded RGB(A) PNG: decoded with the CelebAMask-HQ palette (`shape_editor.labels.color_to_ids`, both
  colours of id 7); an RGB file whose three channels are equal everywhere is a grayscale id map.

Ids read from id-valued formats are converted from `label_order` to the standard order; colour masks
are already standard (the palette is defined on standard ids). The format is read from the file's
bytes, not its name: lossy JPEG data is refused whatever the file is called (it changes ids at edges).

The raw CelebAMask-HQ release stores one binary PNG per part, `<k>/<id:05d>_<part>.png`; those are
combined in painter's order (`shape_editor.labels.RAW_PART_ORDER`, id = position + 1, later parts win).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Mapping

import numpy as np
from PIL import Image

from shape_editor.labels import LABEL_ORDERS, NUM_CLASSES, RAW_PART_ORDER, color_to_ids, convert_order

logger = logging.getLogger(__name__)

RAW_ANNO_DIRS: tuple[str, ...] = ("CelebAMask-HQ-mask-anno", "CelebAMaskHQ-mask-anno")
RAW_IMAGE_DIR = "CelebA-HQ-img"
NUM_TRAIN_IDS = 28000  # ids 0-27999 train, 28000-29999 test (the common CelebAMask-HQ split)
_RAW_NAME = re.compile(r"^(\d+)_(" + "|".join(RAW_PART_ORDER) + r")\.png$")
_ID_MODES = ("L", "I", "I;16", "I;16L", "I;16B", "1", "P", "LA")
_WIDE_MODES = ("I", "I;16", "I;16L", "I;16B")  # 16-bit (or wider) grayscale photos
_LOSSY_FORMATS = ("JPEG", "MPO")
_SHOWN = 10


def open_image(path: str | Path) -> Image.Image:
    """Open and fully decode an image, turning PIL's errors into ones that name the file.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a readable image (corrupt, truncated, unknown format).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            copy = img.copy()
            copy.format = img.format  # what the bytes are, whatever the file name says
            return copy
    except Image.DecompressionBombError as err:
        raise ValueError(
            f"cannot read image {path}: it is too large to decode safely (a decompression bomb?): {err}"
        ) from None
    except (OSError, SyntaxError) as err:  # UnidentifiedImageError is an OSError
        raise ValueError(f"cannot read image {path}: {err}") from err


def read_image(path: str | Path) -> Image.Image:
    """Read a photo as 8-bit RGB (grayscale, 16-bit and RGBA photos are converted, keeping their range)."""
    img = open_image(path)
    if img.mode in _WIDE_MODES:
        values = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or values.max() > 255 else 255.0
        img = Image.fromarray(np.clip(np.rint(values * 255.0 / top), 0, 255).astype(np.uint8), mode="L")
    return img.convert("RGB")


def check_label_values(label: np.ndarray, label_nc: int, source: str) -> None:
    """Fail when a label map holds ids outside [0, label_nc).

    Raises:
        ValueError: naming `source` and the offending values.
    """
    bad = np.unique(label[(label < 0) | (label >= label_nc)])
    if bad.size:
        raise ValueError(
            f"{source}: label values {bad[:_SHOWN].tolist()} are outside [0, {label_nc}) "
            f"(--label_nc {label_nc}); check --label_nc and the label format"
        )


def _decode_colors(img: Image.Image, path: Path) -> tuple[np.ndarray, bool]:
    """Colour mask -> (ids, False); an RGB file with R == G == B is a grayscale id map -> (ids, True)."""
    rgb = np.asarray(img.convert("RGB"))
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
        return rgb[..., 0], True
    ids, unknown = color_to_ids(rgb)
    if unknown.any():
        colors = np.unique(rgb[unknown], axis=0)
        shown = ", ".join(str(tuple(int(v) for v in c)) for c in colors[:5])
        raise ValueError(
            f"{path}: {int(unknown.sum())} pixels have colours outside the CelebAMask-HQ palette, e.g. {shown}"
        )
    return ids, False


def is_colour_palette(img: Image.Image) -> bool:
    """True for a palette image decoded by its CelebAMask-HQ colours rather than by its indices."""
    return img.mode == "P" and _palette_colour_ids(img) is not None


def _palette_colour_ids(img: Image.Image) -> np.ndarray | None:
    """Ids of a palette image decoded by colour, when every colour it uses is a CelebAMask-HQ colour.

    A colour mask saved as a quantised palette PNG stores arbitrary indices; its colours name the classes.
    Returns None for other palettes (their indices are the ids).
    """
    palette = img.getpalette()
    if not palette:
        return None
    indices = np.asarray(img)
    colours = np.zeros((256, 3), dtype=np.uint8)
    colours[: len(palette) // 3] = np.asarray(palette[: len(palette) // 3 * 3], dtype=np.uint8).reshape(-1, 3)
    used = np.unique(indices)
    ids, unknown = color_to_ids(colours[used][None])
    if unknown.any():
        return None
    lut = np.zeros(256, dtype=np.uint8)
    lut[used] = ids[0]
    return lut[indices]


def read_label(path: str | Path, label_nc: int, label_order: str = "standard") -> np.ndarray:
    """Read one label map in any supported format (see module docstring).

    Args:
        path: the label file.
        label_nc: number of classes; every id must be < label_nc.
        label_order: order of the ids stored in id-valued files, `standard` or `bisenet`.

    Returns:
        uint8 [H, W] standard ids.

    Raises:
        FileNotFoundError / ValueError: naming the file and the problem.
    """
    return decode_label(open_image(path), Path(path), label_nc, label_order)


def decode_label(img: Image.Image, path: Path, label_nc: int, label_order: str = "standard") -> np.ndarray:
    """`read_label` for an image already opened with `open_image` (`path` names it in errors)."""
    if label_order not in LABEL_ORDERS:
        raise ValueError(f"unknown label order {label_order!r}; choose one of {LABEL_ORDERS}")
    if label_order != "standard" and label_nc != NUM_CLASSES:
        raise ValueError(f"--label_order {label_order} needs --label_nc {NUM_CLASSES}, got {label_nc}")
    if img.format in _LOSSY_FORMATS:
        raise ValueError(
            f"{path}: holds {img.format} data, a lossy format that changes ids at the edges of "
            "regions; save label maps as PNG"
        )
    palette_ids = _palette_colour_ids(img) if img.mode == "P" else None
    if palette_ids is not None:
        values, is_ids = palette_ids, False
    elif img.mode in ("RGB", "RGBA"):
        values, is_ids = _decode_colors(img, path)
    elif img.mode in _ID_MODES:
        values = np.asarray(img.getchannel(0) if img.mode == "LA" else img)
        is_ids = True
    else:
        raise ValueError(f"{path}: unsupported label image mode {img.mode!r}")
    values = values.astype(np.int64)
    check_label_values(values, label_nc, str(path))
    label = values.astype(np.uint8)
    return convert_order(label, label_order, "standard") if is_ids else label


def find_raw_anno_dir(root: str | Path) -> Path | None:
    """The raw release's per-part mask folder inside `root` (either spelling), or None."""
    for name in RAW_ANNO_DIRS:
        if (Path(root) / name).is_dir():
            return Path(root) / name
    return None


def raw_split(index: int) -> str:
    """`train` for ids below 28000, else `test`."""
    return "train" if index < NUM_TRAIN_IDS else "test"


def index_raw_parts(anno_dir: str | Path) -> dict[int, dict[str, Path]]:
    """Map every id of the raw release to its part files: `{id: {part_name: path}}`.

    Looks in `anno_dir` and its sub-folders (`0`, `1`, ... = id // 2000); other files are skipped and
    counted in a warning.
    """
    anno_dir = Path(anno_dir)
    folders = [anno_dir] + sorted(p for p in anno_dir.iterdir() if p.is_dir())
    index: dict[int, dict[str, Path]] = {}
    skipped: list[str] = []
    for folder in folders:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.is_file():
                    continue
                match = _RAW_NAME.match(entry.name)
                if match is None:
                    skipped.append(entry.name)
                    continue
                index.setdefault(int(match[1]), {})[match[2]] = Path(entry.path)
    if skipped:
        logger.warning(
            "%s: skipped %d files not named <id>_<part>.png, e.g. %s", anno_dir, len(skipped), sorted(skipped)[:3]
        )
    return dict(sorted(index.items()))


def read_part_mask(path: str | Path) -> np.ndarray:
    """One binary part file -> bool [H, W] (non-zero = part; palette files by index)."""
    img = open_image(path)
    values = np.asarray(img if img.mode == "P" else img.convert("L"))
    return values != 0


def combine_parts(parts: Mapping[str, str | Path]) -> np.ndarray:
    """Paint the raw release's part files of one face into one id map.

    Args:
        parts: `{part_name: path}` for the parts present (names from `RAW_PART_ORDER`).

    Returns:
        uint8 [H, W] standard ids: the last part in painter's order covering a pixel wins.

    Raises:
        ValueError: no parts, an unknown part name, an unreadable file or parts of different sizes.
    """
    if not parts:
        raise ValueError("no part files to combine")
    unknown = sorted(set(parts) - set(RAW_PART_ORDER))
    if unknown:
        raise ValueError(f"unknown part names {unknown}; valid: {', '.join(RAW_PART_ORDER)}")
    masks = {name: read_part_mask(path) for name, path in parts.items()}
    shape = next(iter(masks.values())).shape
    for name, mask in masks.items():
        if mask.shape != shape:
            raise ValueError(f"{parts[name]}: size {mask.shape[::-1]} differs from the other parts' {shape[::-1]}")
    stack = np.zeros((len(RAW_PART_ORDER), *shape), dtype=bool)  # [P, H, W] in painter's order
    for name, mask in masks.items():
        stack[RAW_PART_ORDER.index(name)] = mask
    last = len(RAW_PART_ORDER) - 1 - stack[::-1].argmax(axis=0)  # index of the last part covering
    return np.where(stack.any(axis=0), last + 1, 0).astype(np.uint8)

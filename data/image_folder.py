"""File listing and label/image pairing for folder-based datasets.

Labels are paired with images by file stem (`12.png` <-> `12.jpg`), the way SEAN lays out
CelebAMask-HQ. Listings are sorted naturally (`2` before `10`) so that numeric ids come out in order.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Sequence

logger = logging.getLogger(__name__)

# Labels must be lossless: JPEG artefacts would invent class ids.
LABEL_EXTENSIONS: tuple[str, ...] = (".png", ".bmp", ".tif", ".tiff")
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_SHOWN = 10  # unpaired stems named in an error message


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders digit runs by value: `2 < 10`, `img2 < img10`."""
    return tuple((0, int(tok)) if tok.isdigit() else (1, tok) for tok in re.findall(r"\d+|\D+", text))


def list_files(folder: str | Path, extensions: Sequence[str]) -> list[Path]:
    """Files directly inside `folder` whose suffix (case-insensitive) is in `extensions`, sorted naturally.

    Raises:
        FileNotFoundError: `folder` does not exist or is not a directory.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder not found: {folder}")
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in extensions]
    return sorted(files, key=lambda p: natural_key(p.name))


def _stem_table(images: Sequence[Path]) -> dict[str, Path]:
    table: dict[str, Path] = {}
    for path in images:
        if path.stem in table:
            raise ValueError(f"two images share the stem {path.stem!r}: {table[path.stem]} and {path}")
        table[path.stem] = path
    return table


def _describe(stems: Sequence[str]) -> str:
    shown = ", ".join(sorted(stems, key=natural_key)[:_SHOWN])
    more = f" (and {len(stems) - _SHOWN} more)" if len(stems) > _SHOWN else ""
    return f"{len(stems)}: {shown}{more}"


def pair_by_stem(
    label_stems: Sequence[str], images: Sequence[Path], *, check: bool = True, where: str = ""
) -> list[Path]:
    """Find the image of every label.

    Args:
        label_stems: the labels' stems, in dataset order.
        images: image files.
        check: pair by stem and fail on any unpaired stem. With `check=False` (`--no_pairing_check`) the
            naturally sorted lists are paired by position, as SPADE does, for datasets whose label and image
            names differ; the counts must still agree.
        where: folders to name in error messages.

    Returns:
        One image path per label stem, same order.

    Raises:
        ValueError: naming the unpaired stems (or the two counts) and the bypass flag.
    """
    if not check:
        if len(label_stems) != len(images):
            raise ValueError(f"cannot pair {len(label_stems)} labels with {len(images)} images by position{where}")
        return sorted(images, key=lambda p: natural_key(p.name))
    table = _stem_table(images)
    no_image = [s for s in label_stems if s not in table]
    no_label = sorted(set(table) - set(label_stems), key=natural_key)
    if no_image or no_label:
        parts = []
        if no_image:
            parts.append(f"labels without an image {_describe(no_image)}")
        if no_label:
            parts.append(f"images without a label {_describe(no_label)}")
        raise ValueError(
            f"labels and images do not pair up by file stem{where}: {'; '.join(parts)}. "
            "Fix the file names, or pass --no_pairing_check to pair the sorted lists by position."
        )
    return [table[s] for s in label_stems]

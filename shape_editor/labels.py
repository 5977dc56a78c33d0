"""The CelebAMask-HQ label table: names, ids, palette, left/right pairs and label orders.

Everything that needs to know what a class id means imports it from here, so the table exists once.
Ids follow the *standard* order used by SEAN and MaskGAN. The face-parsing / BiSeNet order is a
second, convertible order (`to_standard`, `from_standard`).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

LABEL_NAMES: tuple[str, ...] = (
    "background",
    "skin",
    "nose",
    "eye_g",
    "l_eye",
    "r_eye",
    "l_brow",
    "r_brow",
    "l_ear",
    "r_ear",
    "mouth",
    "u_lip",
    "l_lip",
    "hair",
    "hat",
    "ear_r",
    "neck_l",
    "neck",
    "cloth",
)
NUM_CLASSES = len(LABEL_NAMES)
BACKGROUND = 0

PALETTE = np.array(
    [
        (0, 0, 0),
        (204, 0, 0),
        (76, 153, 0),
        (204, 204, 0),
        (51, 51, 255),
        (204, 0, 204),
        (0, 255, 255),
        (51, 255, 255),
        (102, 51, 0),
        (255, 0, 0),
        (102, 204, 0),
        (255, 255, 0),
        (0, 0, 153),
        (0, 0, 204),
        (255, 51, 153),
        (0, 204, 204),
        (0, 51, 0),
        (255, 153, 51),
        (0, 204, 0),
    ],
    dtype=np.uint8,
)
# An older CelebAMask-HQ script paints r_brow (id 7) in this colour; decoders accept both.
ALTERNATE_COLORS: dict[tuple[int, int, int], int] = {(255, 204, 204): 7}

# "l_*" is the person's left, i.e. the image's right. A horizontal flip must swap each pair.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = ((4, 5), (6, 7), (8, 9))


def _flip_permutation() -> tuple[int, ...]:
    perm = list(range(NUM_CLASSES))
    for left, right in LEFT_RIGHT_PAIRS:
        perm[left], perm[right] = right, left
    return tuple(perm)


# new_id = FLIP_PERMUTATION[old_id] after mirroring an image horizontally.
FLIP_PERMUTATION: tuple[int, ...] = _flip_permutation()

# Painter's order of the raw release's per-part files: id = position + 1, later parts overwrite earlier.
RAW_PART_ORDER: tuple[str, ...] = LABEL_NAMES[1:]

# BiSeNet / face-parsing order, by name: position = id in that order.
BISENET_NAMES: tuple[str, ...] = (
    "background",
    "skin",
    "l_brow",
    "r_brow",
    "l_eye",
    "r_eye",
    "eye_g",
    "l_ear",
    "r_ear",
    "ear_r",
    "nose",
    "mouth",
    "u_lip",
    "l_lip",
    "neck",
    "neck_l",
    "cloth",
    "hair",
    "hat",
)
LABEL_ORDERS = ("standard", "bisenet")
# BISENET_TO_STANDARD[bisenet_id] = standard_id, and the inverse.
BISENET_TO_STANDARD = np.array([LABEL_NAMES.index(n) for n in BISENET_NAMES], dtype=np.uint8)
STANDARD_TO_BISENET = np.argsort(BISENET_TO_STANDARD).astype(np.uint8)


def part_id(part: str | int) -> int:
    """Return the standard id of a part given by name (`"nose"`) or id (`2`, `"2"`).

    Raises:
        ValueError: naming the unknown part and listing the valid names.
    """
    text = str(part).strip().lower()
    if text.isdigit() and int(text) < NUM_CLASSES:
        return int(text)
    if text in LABEL_NAMES:
        return LABEL_NAMES.index(text)
    valid = ", ".join(f"{i}={n}" for i, n in enumerate(LABEL_NAMES))
    raise ValueError(f"unknown part {part!r}; valid parts are: {valid}")


def parse_parts(spec: str | Iterable[str | int]) -> list[int]:
    """Parse a part list such as `"nose,mouth"`, `"2"` or `["nose", 10]` into unique standard ids.

    The special name `all` expands to every foreground part (ids 1..18).
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    ids: list[int] = []
    for item in items:
        if str(item).strip().lower() == "all":
            ids.extend(range(1, NUM_CLASSES))
        elif str(item).strip():
            ids.append(part_id(item))
    if not ids:
        raise ValueError(f"no part given in {spec!r}")
    return sorted(set(ids))


def flip_labels(label_map: np.ndarray) -> np.ndarray:
    """Mirror a label map horizontally (last axis) and swap the left/right classes."""
    lut = np.arange(256, dtype=label_map.dtype)
    lut[:NUM_CLASSES] = FLIP_PERMUTATION
    return lut[label_map[..., ::-1]]


def convert_order(label_map: np.ndarray, source: str, target: str) -> np.ndarray:
    """Convert an id map between label orders (`standard`, `bisenet`); ids >= 19 are left as they are."""
    for order in (source, target):
        if order not in LABEL_ORDERS:
            raise ValueError(f"unknown label order {order!r}; choose one of {LABEL_ORDERS}")
    if source == target:
        return label_map
    table = BISENET_TO_STANDARD if source == "bisenet" else STANDARD_TO_BISENET
    lut = np.arange(256, dtype=np.uint8)
    lut[:NUM_CLASSES] = table
    return lut[label_map.astype(np.uint8)]


def colorize(label_map: np.ndarray, palette: np.ndarray = PALETTE) -> np.ndarray:
    """Paint an id map [..., H, W] in the CelebAMask-HQ palette -> uint8 [..., H, W, 3].

    Ids outside the palette are painted white so that they stand out.
    """
    ids = np.asarray(label_map).astype(np.int64)
    lut = np.full((256, 3), 255, dtype=np.uint8)
    lut[: len(palette)] = palette
    return lut[np.clip(ids, 0, 255)]


def color_to_ids(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decode a colour-coded mask [H, W, 3] into ids [H, W] (uint8).

    Returns:
        (ids, unknown) where `unknown` is a boolean map of pixels whose colour is not in the palette
        (their id is 0); the caller decides whether that is an error.
    """
    rgb = np.asarray(rgb, dtype=np.uint8)[..., :3]
    code = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    colors = [tuple(int(v) for v in c) for c in PALETTE] + list(ALTERNATE_COLORS)
    ids = list(range(NUM_CLASSES)) + list(ALTERNATE_COLORS.values())
    keys = np.array([(r << 16) | (g << 8) | b for r, g, b in colors], dtype=np.int64)
    order = np.argsort(keys)
    keys, values = keys[order], np.array(ids, dtype=np.uint8)[order]
    pos = np.clip(np.searchsorted(keys, code), 0, len(keys) - 1)
    known = keys[pos] == code
    return np.where(known, values[pos], 0).astype(np.uint8), ~known

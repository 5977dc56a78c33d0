"""Fixtures for the dataset tests: options parsed by the real parser at test sizes, and PNG writers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from PIL import Image

from options.test_options import TestOptions
from options.train_options import TrainOptions

# Test-sized values of base flags; `check_dataset` off so that bad files surface when they are loaded.
TEST_FLAGS: dict[str, Any] = dict(phase="train", load_size=32, crop_size=32, nThreads=0, check_dataset="off")


def build_opt(dataset_mode: str = "synthetic", isTrain: bool = True, **flags: Any) -> argparse.Namespace:
    """Options as `train.py` (or `test.py` with `isTrain=False`) parses `--dataset_mode X --flag value ...`."""
    argv = ["--dataset_mode", dataset_mode] + ([] if isTrain else ["--no_opt_file"])
    for key, value in {**TEST_FLAGS, **flags}.items():
        if value is True:
            argv.append(f"--{key}")
        elif value is not False and value is not None:
            argv += [f"--{key}", str(value)]
    options = TrainOptions() if isTrain else TestOptions()
    return options.parse(argv, save=False)


@pytest.fixture
def make_opt() -> Callable[..., argparse.Namespace]:
    return build_opt


def save_png(path: Path, array: np.ndarray) -> Path:
    """Write `array` (uint8 [H, W] or [H, W, 3]) as an image, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def write_png() -> Callable[..., Path]:
    return save_png


RAW_SIZE = 8
# One raw-release face as part boxes (row0, row1, col0, col1); hair overlaps skin, nose sits on skin.
RAW_FACE = {"skin": (1, 6, 1, 7), "hair": (0, 2, 0, 8), "nose": (3, 5, 3, 5), "neck": (6, 8, 2, 6)}
# RAW_FACE painted in painter's order: skin (1), nose (2), hair (13), neck (17).
RAW_FACE_IDS = np.array(
    [
        [13, 13, 13, 13, 13, 13, 13, 13],
        [13, 13, 13, 13, 13, 13, 13, 13],
        [0, 1, 1, 1, 1, 1, 1, 0],
        [0, 1, 1, 2, 2, 1, 1, 0],
        [0, 1, 1, 2, 2, 1, 1, 0],
        [0, 1, 1, 1, 1, 1, 1, 0],
        [0, 0, 17, 17, 17, 17, 0, 0],
        [0, 0, 17, 17, 17, 17, 0, 0],
    ],
    dtype=np.uint8,
)


def write_raw_release(
    root: Path,
    faces: dict[int, dict[str, tuple[int, int, int, int]]],
    photos: dict[int, int] | None = None,
    anno_name: str = "CelebAMask-HQ-mask-anno",
) -> Path:
    """A tiny raw release: per-part masks `(row0, row1, col0, col1)` boxes, photos of one grey level."""
    for index, parts in faces.items():
        for name, (r0, r1, c0, c1) in parts.items():
            mask = np.zeros((RAW_SIZE, RAW_SIZE), dtype=np.uint8)
            mask[r0:r1, c0:c1] = 255
            save_png(root / anno_name / str(index // 2000) / f"{index:05d}_{name}.png", mask)
    for index, grey in (photos or {}).items():
        (root / "CelebA-HQ-img").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (2 * RAW_SIZE, 2 * RAW_SIZE), (grey,) * 3).save(root / "CelebA-HQ-img" / f"{index}.jpg")
    return root


@pytest.fixture
def raw_release() -> Callable[..., Path]:
    return write_raw_release

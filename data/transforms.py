"""Geometric preprocessing shared by the label and the image of a sample (SPADE's `--preprocess_mode`).

Every mode is "resize to a target size, then maybe crop, then maybe flip". The target size is computed
from the *label's* size, and the image is resized straight to it, so a 1024 px photo paired with a
512 px mask (the SEAN layout) lands on the same pixel grid. Labels resize with NEAREST (no new ids),
images with BICUBIC. A flip swaps the left/right classes (`shape_editor.labels.flip_labels`).

Randomness: crop offsets and flips come from a `numpy.random.Generator` the caller passes, drawn once
per sample and shared by label and image. Datasets seed it from (seed, epoch, index), so augmentation
does not depend on worker count or order and a resumed run repeats it exactly. Random crops and flips
happen only when augmenting (training split of a training run); otherwise crops are centred and
nothing is flipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from shape_editor.labels import flip_labels

PREPROCESS_MODES: tuple[str, ...] = (
    "resize_and_crop",
    "crop",
    "scale_width",
    "scale_width_and_crop",
    "scale_shortside_and_crop",
    "fixed",
    "none",
)
_SIZE_BASE = 32  # `none` rounds sides to a multiple of this so that the generator's strides fit


@dataclass(frozen=True)
class PreprocessConfig:
    """The preprocessing options of one dataset split.

    Args:
        mode: one of PREPROCESS_MODES.
        load_size: side length the resize modes scale to.
        crop_size: side length of the square crop; the width of `fixed`.
        aspect_ratio: width / height for `fixed`.
        augment: random crop offsets and flips (training split only).
        flip: allow horizontal flips when augmenting (False = `--no_flip`).
    """

    mode: str
    load_size: int
    crop_size: int
    aspect_ratio: float = 1.0
    augment: bool = False
    flip: bool = True

    def __post_init__(self) -> None:
        if self.mode not in PREPROCESS_MODES:
            raise ValueError(f"unknown --preprocess_mode {self.mode!r}; choose one of {PREPROCESS_MODES}")
        if self.load_size < 1 or self.crop_size < 1 or self.aspect_ratio <= 0:
            raise ValueError(
                f"sizes must be positive: load_size={self.load_size}, "
                f"crop_size={self.crop_size}, aspect_ratio={self.aspect_ratio}"
            )

    @classmethod
    def from_opt(cls, opt: Any, augment: bool) -> PreprocessConfig:
        """Read `preprocess_mode`, `load_size`, `crop_size`, `aspect_ratio`, `no_flip` from options."""
        return cls(opt.preprocess_mode, opt.load_size, opt.crop_size, opt.aspect_ratio, augment, not opt.no_flip)


class TransformParams(NamedTuple):
    """What to do to one sample; computed once and applied to label and image alike."""

    size: tuple[int, int]  # (W, H) after the resize
    crop: tuple[int, int, int, int] | None  # (left, top, right, bottom) box, or None
    flip: bool


def resized_size(cfg: PreprocessConfig, size: tuple[int, int]) -> tuple[int, int]:
    """(W, H) of a (W, H) input after the resize step of `cfg.mode`."""
    w, h = size
    if cfg.mode == "resize_and_crop":
        return cfg.load_size, cfg.load_size
    if cfg.mode.startswith("scale_width"):
        return cfg.load_size, max(1, round(cfg.load_size * h / w))
    if cfg.mode == "scale_shortside_and_crop":
        scale = cfg.load_size / min(w, h)
        return max(1, round(w * scale)), max(1, round(h * scale))
    if cfg.mode == "fixed":
        return cfg.crop_size, max(1, round(cfg.crop_size / cfg.aspect_ratio))
    if cfg.mode == "none":
        return tuple(max(_SIZE_BASE, round(s / _SIZE_BASE) * _SIZE_BASE) for s in (w, h))
    return w, h  # crop


def squashes(cfg: PreprocessConfig, size: tuple[int, int]) -> bool:
    """True when the resize of `cfg.mode` would change the shape of a (W, H) input (by more than a pixel).

    `resize_and_crop` and `fixed` resize to a fixed shape whatever the input's; a single file read that way
    (a `--target`, an upload in the editor) would be squashed without a word.
    """
    w, h = size
    target_w, target_h = resized_size(cfg, size)
    return abs(target_w * h / w - target_h) > 1


def get_params(cfg: PreprocessConfig, size: tuple[int, int], rng: np.random.Generator) -> TransformParams:
    """Draw the resize / crop / flip of one sample whose label is `size` = (W, H).

    Raises:
        ValueError: the crop is larger than the resized sample.
    """
    w, h = resized_size(cfg, size)
    crop = None
    if "crop" in cfg.mode:
        if w < cfg.crop_size or h < cfg.crop_size:
            raise ValueError(
                f"--crop_size {cfg.crop_size} is larger than the {w}x{h} sample after "
                f"--preprocess_mode {cfg.mode} (--load_size {cfg.load_size})"
            )
        room_x, room_y = w - cfg.crop_size, h - cfg.crop_size
        left, top = (
            (int(rng.integers(0, room_x + 1)), int(rng.integers(0, room_y + 1)))
            if cfg.augment
            else (room_x // 2, room_y // 2)
        )
        crop = (left, top, left + cfg.crop_size, top + cfg.crop_size)
    flip = cfg.augment and cfg.flip and bool(rng.random() < 0.5)
    return TransformParams((w, h), crop, flip)


def _geometry(img: Image.Image, params: TransformParams, resample: Image.Resampling) -> Image.Image:
    if img.size != params.size:
        img = img.resize(params.size, resample)
    return img.crop(params.crop) if params.crop is not None else img


def transform_label(label: np.ndarray, params: TransformParams) -> Tensor:
    """Resize (NEAREST), crop and flip an id map.

    Args:
        label: uint8 [H, W] standard ids.

    Returns:
        int64 [1, H', W'].
    """
    out = np.asarray(_geometry(Image.fromarray(label), params, Image.Resampling.NEAREST))
    if params.flip:
        out = flip_labels(out)
    return torch.from_numpy(out.astype(np.int64))[None]


def transform_image(image: Image.Image, params: TransformParams) -> Tensor:
    """Resize (BICUBIC), crop and flip an RGB photo.

    Returns:
        float32 [3, H', W'] in [-1, 1].
    """
    out = np.array(_geometry(image.convert("RGB"), params, Image.Resampling.BICUBIC))  # uint8 [H, W, 3]
    if params.flip:
        out = out[:, ::-1]
    # Make it channels-first in numpy, in uint8: maths on a strided torch view is much slower here.
    chw = np.ascontiguousarray(out.transpose(2, 0, 1))
    return torch.from_numpy(chw).float().div_(127.5).sub_(1.0)

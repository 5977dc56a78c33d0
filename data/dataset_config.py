"""`DatasetConfig`: what a dataset reads, built from the options once, at the edge (`from_opt`).

Datasets never see `opt`. Each dataset class names its config class (`config_class`); a subclass of
`DatasetConfig` adds the dataset's own fields, named like its flags, whose defaults are also the flags'
defaults.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, TypeVar

from data.transforms import PreprocessConfig
from util.config import config_from_flags

ConfigT = TypeVar("ConfigT", bound="DatasetConfig")


@dataclass(frozen=True, kw_only=True)
class DatasetConfig:
    """The fields every dataset reads.

    Args:
        phase: the split to load (`train` or `test`).
        label_nc: number of classes C; label ids must be below it.
        preprocess: resize/crop/flip of every sample (augmentation only for the train split of a training run).
        max_dataset_size: use at most this many samples.
        seed: seeds the per-sample augmentation, with the epoch and the index.
        workers: processes that may decode files in parallel (the disk label cache).
        check_dataset: `--check_dataset` mode of the up-front scan (`data.validation`).
        skip_bad_files: drop the samples the scan finds bad instead of refusing to start.
    """

    phase: str = "train"
    label_nc: int = 19
    preprocess: PreprocessConfig = PreprocessConfig("resize_and_crop", 256, 256)
    max_dataset_size: int = sys.maxsize
    seed: int = 0
    workers: int = 0
    check_dataset: str = "off"
    skip_bad_files: bool = False

    @classmethod
    def from_opt(cls: type[ConfigT], opt: Any, phase: str | None = None) -> ConfigT:
        """The config of split `phase` (default `opt.phase`) from parsed options; a subclass's own fields
        are read from the flags of the same name."""
        phase = opt.phase if phase is None else phase
        augment = bool(opt.isTrain) and phase == "train"
        return config_from_flags(
            cls, opt, phase=phase, preprocess=PreprocessConfig.from_opt(opt, augment=augment), workers=opt.nThreads
        )

"""Dataset base classes: the item format and the label/image folder logic shared by datasets.

Every dataset returns, per item, a dict with
* `label`: int64 [1, H, W] standard class ids;
* `image`: float32 [3, H, W] in [-1, 1], only when the dataset has photos;
* `path`: str, the label file (or a name that identifies the sample);
* any extras of the dataset (e.g. the synthetic dataset's `params`).

A dataset class only lists its samples and loads one raw `Sample`; `BaseDataset.__getitem__` applies
the shared transform (`data.transforms`). Random crops/flips are drawn from a generator seeded with
(seed, epoch, index), so they repeat exactly for any worker count and after a resume; the training
loop moves to the next epoch's augmentation with `set_epoch`.
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from data.dataset_config import DatasetConfig
from data.image_folder import IMAGE_EXTENSIONS, LABEL_EXTENSIONS, list_files, pair_by_stem
from data.label_cache import CACHE_MODES, LabelCache, open_label_cache
from data.mask_io import read_image, read_label
from data.transforms import get_params, resized_size, transform_image, transform_label
from data.validation import validate_dataset
from shape_editor.labels import LABEL_ORDERS


class Sample(NamedTuple):
    """One sample as loaded, before the transform."""

    label: np.ndarray  # uint8 [H, W] standard ids
    image: Image.Image | None
    path: str
    image_path: str = ""
    extras: dict[str, Any] = {}
    source_size: tuple[int, int] | None = None  # (W, H) as stored when `label` comes resized (label cache)


class BaseDataset(Dataset, ABC):
    """A split (`config.phase`) of a dataset; subclasses implement `num_samples` and `load_sample`.

    Args:
        config: an instance of the class's `config_class` (`DatasetConfig.from_opt` builds it from flags).
    """

    config_class: type[DatasetConfig] = DatasetConfig

    def __init__(self, config: DatasetConfig) -> None:
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} takes a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self.phase = config.phase
        self.preprocess = config.preprocess
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Pick the epoch whose augmentation `__getitem__` draws (called by `data.loader.start_epoch`)."""
        self.epoch = epoch

    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        """Add the dataset's own flags (none here)."""
        return parser

    @abstractmethod
    def num_samples(self) -> int:
        """Number of samples in the split before `--max_dataset_size`."""

    @abstractmethod
    def load_sample(self, index: int) -> Sample:
        """Load sample `index` as stored (any size)."""

    def __len__(self) -> int:
        return min(self.num_samples(), self.config.max_dataset_size)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} samples")
        sample = self.load_sample(index)
        w, h = sample.source_size or sample.label.shape[::-1]
        rng = np.random.default_rng([self.config.seed % 2**32, self.epoch, index])
        params = get_params(self.preprocess, (w, h), rng)
        item: dict[str, Any] = {"label": transform_label(sample.label, params), "path": sample.path}
        if sample.image is not None:
            iw, ih = sample.image.size
            if iw * h != ih * w:  # different resolutions are fine (SEAN: 512 masks, 1024 photos)
                raise ValueError(
                    f"image {sample.image_path} ({iw}x{ih}) does not match the shape of label {sample.path} ({w}x{h})"
                )
            item["image"] = transform_image(sample.image, params)
        item.update(sample.extras)
        return item


@dataclass(frozen=True, kw_only=True)
class LabelFolderConfig(DatasetConfig):
    """The label-file flags of `LabelFolderDataset` (see its `modify_commandline_options`)."""

    label_order: str = "standard"
    no_pairing_check: bool = False
    label_cache: str = "none"
    label_cache_dir: str = "./checkpoints/label_cache"


class LabelFolderDataset(BaseDataset):
    """Label files in one folder, optional photos in another, paired by file stem."""

    config_class: type[DatasetConfig] = LabelFolderConfig
    config: LabelFolderConfig

    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        """Add `--label_order`, `--no_pairing_check` and the label cache flags."""
        parser.add_argument(
            "--label_order",
            type=str,
            default=LabelFolderConfig.label_order,
            choices=LABEL_ORDERS,
            help="order of the ids stored in grayscale/palette label files; converted "
            "to the standard order on load (colour masks are always standard)",
        )
        parser.add_argument(
            "--no_pairing_check",
            action="store_true",
            help="pair labels and images by sorted position instead of requiring equal file stems",
        )
        parser.add_argument(
            "--label_cache",
            type=str,
            default=LabelFolderConfig.label_cache,
            choices=CACHE_MODES,
            help="decode and resize every label file once: keep the maps in memory, or in "
            "a memory-mapped file under --label_cache_dir that later runs reuse",
        )
        parser.add_argument(
            "--label_cache_dir",
            type=str,
            default=LabelFolderConfig.label_cache_dir,
            help="folder of the --label_cache disk files",
        )
        return parser

    def __init__(self, config: DatasetConfig) -> None:
        super().__init__(config)
        self.label_paths: list[Path] = []
        self.image_paths: list[Path] | None = None
        self.label_cache: LabelCache | None = None

    def set_files(self, label_dir: Path, image_dir: Path | None) -> None:
        """List `label_dir` and pair it with `image_dir` (None: masks only).

        Raises:
            FileNotFoundError: a folder does not exist.
            ValueError: no label files, or labels and images do not pair up.
        """
        labels = list_files(label_dir, LABEL_EXTENSIONS)
        if not labels:
            raise ValueError(f"no label files ({', '.join(LABEL_EXTENSIONS)}) in {label_dir}")
        self.set_pairs(labels, [p.stem for p in labels], image_dir)

    def set_pairs(
        self, label_paths: list[Path], stems: Sequence[str], image_dir: Path | None, images: list[Path] | None = None
    ) -> None:
        """Store the labels and pair them with `images` (default: every image in `image_dir`)."""
        self.label_paths = label_paths
        self.image_paths = None
        if image_dir is not None:
            images = list_files(image_dir, IMAGE_EXTENSIONS) if images is None else images
            where = f" ({len(label_paths)} labels, {len(images)} images in {image_dir})"
            self.image_paths = pair_by_stem(stems, images, check=not self.config.no_pairing_check, where=where)
        # --check_dataset: before the cache, so that it holds only good samples
        keep = validate_dataset(self, self.config.check_dataset, self.config.skip_bad_files)
        if keep is not None:
            self.keep_samples(keep)
        self.label_cache = self.open_label_cache()

    def keep_samples(self, indices: Sequence[int]) -> None:
        """Keep only the samples `indices`, in that order (`--skip_bad_files` drops the others)."""
        self.label_paths = [self.label_paths[i] for i in indices]
        if self.image_paths is not None:
            self.image_paths = [self.image_paths[i] for i in indices]

    def label_files(self, index: int) -> list[Path]:
        """The file(s) label `index` is read from (they key the disk label cache)."""
        return [self.label_paths[index]]

    def open_label_cache(self) -> LabelCache | None:
        """The `--label_cache` of this split's first `len(self)` labels (None without one)."""
        config = self.config
        if config.label_cache == "none":
            return None
        cfg = self.preprocess  # only the resize shapes the cached maps; crops and flips stay per item
        settings = {
            "dataset": type(self).__name__,
            "label_nc": config.label_nc,
            "label_order": config.label_order,
            "resize": (cfg.mode, cfg.load_size, cfg.crop_size, cfg.aspect_ratio),
        }
        return open_label_cache(
            config.label_cache,
            self.read_label_map,
            len(self),
            [f for i in range(len(self)) for f in self.label_files(i)],
            lambda size: resized_size(self.preprocess, size),
            settings,
            config.label_cache_dir,
            workers=config.workers,
        )

    def num_samples(self) -> int:
        return len(self.label_paths)

    def read_label_map(self, index: int) -> np.ndarray:
        """uint8 [H, W] standard ids of sample `index`."""
        return read_label(self.label_paths[index], self.config.label_nc, self.config.label_order)

    def load_sample(self, index: int) -> Sample:
        source_size = None
        if self.label_cache is None:
            label = self.read_label_map(index)
        else:
            label, source_size = self.label_cache.get(index)
        path = str(self.label_paths[index])
        if self.image_paths is None:
            return Sample(label, None, path, source_size=source_size)
        image_path = self.image_paths[index]
        return Sample(label, read_image(image_path), path, str(image_path), source_size=source_size)

"""CelebAMask-HQ, in either of its two on-disk layouts.

* SEAN layout: `<dataroot>/<phase>/labels/*.png` (+ optional `<dataroot>/<phase>/images/*.jpg`), any
  label format `data.mask_io.read_label` understands. No `images` folder: masks only.
* Raw release: `<dataroot>/CelebAMask-HQ-mask-anno/<k>/<id:05d>_<part>.png` (or `CelebAMaskHQ-mask-anno`)
  painted together on the fly, photos from `<dataroot>/CelebA-HQ-img/<id>.jpg` when that folder exists.
  Ids 0-27999 are `train`, 28000-29999 `test`. Converting once with `python -m data.prepare_celebamaskhq`
  makes loading much faster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from data.base_dataset import LabelFolderConfig, LabelFolderDataset
from data.dataset_config import DatasetConfig
from data.image_folder import IMAGE_EXTENSIONS, list_files
from data.mask_io import RAW_IMAGE_DIR, check_label_values, combine_parts, find_raw_anno_dir, index_raw_parts, raw_split

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class CelebAMaskHQConfig(LabelFolderConfig):
    dataroot: str | None = None  # required: the dataset folder, in either layout


class CelebAMaskHQDataset(LabelFolderDataset):
    """CelebAMask-HQ faces: 19-class masks and optional 1024 px photos."""

    config_class: type[DatasetConfig] = CelebAMaskHQConfig
    config: CelebAMaskHQConfig

    def __init__(self, config: DatasetConfig) -> None:
        super().__init__(config)
        phase = self.phase
        if self.config.dataroot is None:
            raise ValueError("--dataroot is required for --dataset_mode celebamaskhq")
        root = Path(self.config.dataroot)
        if not root.is_dir():
            raise FileNotFoundError(f"--dataroot {root} does not exist")
        self.raw_parts: list[dict[str, Path]] | None = None
        anno_dir = find_raw_anno_dir(root)
        if anno_dir is not None:
            self._set_raw(anno_dir, root / RAW_IMAGE_DIR)
            return
        label_dir, image_dir = root / phase / "labels", root / phase / "images"
        if not label_dir.is_dir():
            raise FileNotFoundError(
                f"{label_dir} not found: --dataroot must hold {phase}/labels/*.png (SEAN layout) or the raw "
                f"release folder CelebAMask-HQ-mask-anno"
            )
        self.set_files(label_dir, image_dir if image_dir.is_dir() else None)

    def _set_raw(self, anno_dir: Path, image_dir: Path) -> None:
        """Index the raw release's part files of this split and pair them with `CelebA-HQ-img`."""
        index = {i: parts for i, parts in index_raw_parts(anno_dir).items() if raw_split(i) == self.phase}
        if not index:
            raise ValueError(
                f"no part files of the {self.phase} split (ids 0-27999 train, 28000-29999 test) in {anno_dir}"
            )
        self.raw_parts = list(index.values())
        # A virtual path per id: its part files are <k>/<id:05d>_<part>.png.
        paths = [anno_dir / str(i // 2000) / f"{i:05d}" for i in index]
        images = None
        if image_dir.is_dir():
            images = [
                p
                for p in list_files(image_dir, IMAGE_EXTENSIONS)
                if p.stem.isdigit() and raw_split(int(p.stem)) == self.phase
            ]
        self.set_pairs(paths, [str(i) for i in index], image_dir if images is not None else None, images)
        logger.info("raw CelebAMask-HQ release in %s: %d ids in the %s split", anno_dir, len(paths), self.phase)

    def label_files(self, index: int) -> list[Path]:
        if self.raw_parts is None:
            return super().label_files(index)
        return list(self.raw_parts[index].values())

    def keep_samples(self, indices: Sequence[int]) -> None:
        super().keep_samples(indices)
        if self.raw_parts is not None:
            self.raw_parts = [self.raw_parts[i] for i in indices]

    def read_label_map(self, index: int) -> np.ndarray:
        if self.raw_parts is None:
            return super().read_label_map(index)
        label = combine_parts(self.raw_parts[index])
        check_label_values(label, self.config.label_nc, str(self.label_paths[index]))
        return label

"""Procedural faces (`data.synthetic_faces`): the embedded default dataset, no download needed.

Sample `i` of the train split is face `(synthetic_seed, i)`; the test split draws indices from
`TEST_INDEX_OFFSET` on, so the two splits never share a face whatever their sizes. Faces are drawn at
`--load_size` and then go through the shared crop/flip transform.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from PIL import Image

from data.base_dataset import BaseDataset, Sample
from data.dataset_config import DatasetConfig
from data.synthetic_faces import synthetic_face
from shape_editor.labels import NUM_CLASSES

TEST_INDEX_OFFSET = 1_000_000_000
PHASES = ("train", "test")


@dataclass(frozen=True, kw_only=True)
class SyntheticConfig(DatasetConfig):
    synthetic_size: int = 2000  # faces in the train split
    synthetic_test_size: int = 200  # faces in the test split
    synthetic_seed: int = 0
    no_synthetic_images: bool = False  # masks only


class SyntheticDataset(BaseDataset):
    """`--synthetic_size` (train) or `--synthetic_test_size` (test) seeded procedural faces."""

    config_class: type[DatasetConfig] = SyntheticConfig
    config: SyntheticConfig

    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        """Add the split sizes, the seed and the masks-only switch."""
        parser.add_argument(
            "--synthetic_size", type=int, default=SyntheticConfig.synthetic_size, help="faces in the train split"
        )
        parser.add_argument(
            "--synthetic_test_size",
            type=int,
            default=SyntheticConfig.synthetic_test_size,
            help="faces in the test split",
        )
        parser.add_argument(
            "--synthetic_seed", type=int, default=SyntheticConfig.synthetic_seed, help="seed of the synthetic faces"
        )
        parser.add_argument(
            "--no_synthetic_images", action="store_true", help="masks only: skip drawing the photos (faster)"
        )
        return parser

    def __init__(self, config: DatasetConfig) -> None:
        super().__init__(config)
        phase = self.phase
        if phase not in PHASES:
            raise ValueError(f"synthetic dataset has no phase {phase!r}; choose one of {PHASES}")
        if self.config.label_nc != NUM_CLASSES:
            raise ValueError(f"synthetic faces have {NUM_CLASSES} classes; got --label_nc {self.config.label_nc}")
        self.size = self.config.synthetic_size if phase == "train" else self.config.synthetic_test_size
        if not 0 <= self.size <= TEST_INDEX_OFFSET:
            raise ValueError(f"synthetic {phase} size must be in [0, {TEST_INDEX_OFFSET}], got {self.size}")
        self.first_index = 0 if phase == "train" else TEST_INDEX_OFFSET

    def num_samples(self) -> int:
        return self.size

    def load_sample(self, index: int) -> Sample:
        seed, face_index = self.config.synthetic_seed, self.first_index + index
        with_image = not self.config.no_synthetic_images
        face = synthetic_face(seed, face_index, size=self.preprocess.load_size, with_image=with_image)
        image = Image.fromarray(face.image) if with_image else None
        return Sample(face.label, image, f"synthetic/{seed}/{face_index}", extras={"params": face.params.as_dict()})

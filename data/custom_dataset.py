"""Any label set: `--label_dir` with id/colour/palette masks, optional `--image_dir` paired by stem.

As in SPADE, the folders are given directly, so `--phase` does not pick a split: point the folders at
the split you want.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from data.base_dataset import LabelFolderConfig, LabelFolderDataset
from data.dataset_config import DatasetConfig


@dataclass(frozen=True, kw_only=True)
class CustomConfig(LabelFolderConfig):
    label_dir: str | None = None  # required
    image_dir: str | None = None


class CustomDataset(LabelFolderDataset):
    """Labels for any `--label_nc` from `--label_dir`, photos from `--image_dir` (optional)."""

    config_class: type[DatasetConfig] = CustomConfig
    config: CustomConfig

    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        """Add `--label_dir`, `--image_dir` and the label-file flags."""
        parser = LabelFolderDataset.modify_commandline_options(parser, is_train)
        parser.add_argument("--label_dir", type=str, default=None, help="folder of label maps (required)")
        parser.add_argument(
            "--image_dir",
            type=str,
            default=None,
            help="folder of photos paired with the labels by file stem (optional)",
        )
        return parser

    def __init__(self, config: DatasetConfig) -> None:
        super().__init__(config)
        label_dir, image_dir = self.config.label_dir, self.config.image_dir
        if label_dir is None:
            raise ValueError("--label_dir is required for --dataset_mode custom")
        self.set_files(Path(label_dir), Path(image_dir) if image_dir is not None else None)

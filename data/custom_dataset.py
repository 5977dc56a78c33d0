"""Any label set: `--label_dir` with id/colour/palette masks, optional `--image_dir` paired by stem.

As in SPADE, the folders are given directly, so `--phase` does not pick a split: point the folders at
the split you want.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from data.base_dataset import LabelFolderDataset


class CustomDataset(LabelFolderDataset):
    """Labels for any `--label_nc` from `--label_dir`, photos from `--image_dir` (optional)."""

    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        """Add `--label_dir`, `--image_dir` and the label-file flags."""
        parser = LabelFolderDataset.modify_commandline_options(parser, is_train)
        parser.add_argument("--label_dir", type=str, default=None, help="folder of label maps (required)")
        parser.add_argument("--image_dir", type=str, default=None,
                            help="folder of photos paired with the labels by file stem (optional)")
        return parser

    def __init__(self, opt: Any, phase: str) -> None:
        super().__init__(opt, phase)
        if opt.label_dir is None:
            raise ValueError("--label_dir is required for --dataset_mode custom")
        self.set_files(Path(opt.label_dir), Path(opt.image_dir) if opt.image_dir is not None else None)

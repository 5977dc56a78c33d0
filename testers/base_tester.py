"""What a test run provides: load the trained networks, run over the test split, write a results page."""
from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from pathlib import Path

import torch

from shape_editor.fileio import safe_child


class BaseTester(ABC):
    def __init__(self, opt: argparse.Namespace, device: torch.device) -> None:
        self.opt, self.device = opt, device

    @property
    def web_dir(self) -> Path:
        """results/<name>/<phase>_<epoch>/ (the SPADE layout), guarded against `..` in the name."""
        return safe_child(safe_child(self.opt.results_dir, self.opt.name), f"{self.opt.phase}_{self.opt.which_epoch}")

    @abstractmethod
    def run(self) -> Path:
        """Run the test and return the path of the results page."""

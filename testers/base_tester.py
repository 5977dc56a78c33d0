"""What a test run provides: load the trained networks, run over the test split, write a results page."""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from pathlib import Path

import torch

from testers.output import results_folder


class BaseTester(ABC):
    def __init__(self, opt: argparse.Namespace, device: torch.device) -> None:
        self.opt, self.device = opt, device
        # results/<name>/<phase>_<epoch>[_<mode>_<part>]/; test.py points it at a staging folder while running
        self.web_dir: Path = results_folder(opt)

    @abstractmethod
    def run(self) -> Path:
        """Run the test and return the path of the results page."""

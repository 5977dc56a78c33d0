"""Tester registry: `python test.py --model X` runs `testers/X_tester.py`'s class `XTester` (any case)."""

from __future__ import annotations

import argparse

import torch

from testers.base_tester import BaseTester
from util.registry import find_class


def create_tester(opt: argparse.Namespace, device: torch.device) -> BaseTester:
    return find_class("testers", "tester", opt.model, BaseTester)(opt, device)

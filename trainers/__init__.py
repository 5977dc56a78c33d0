"""Trainer registry: `--model X` trains with `trainers/X_trainer.py`'s class `XTrainer` (any case)."""

from __future__ import annotations

import argparse

import torch

from models.base_model import BaseModel
from trainers.base_trainer import BaseTrainer
from util.distributed import DistInfo
from util.registry import find_class


def create_trainer(
    opt: argparse.Namespace, model: BaseModel, device: torch.device, dist_info: DistInfo, steps_per_epoch: int = 0
) -> BaseTrainer:
    """The `opt.model` trainer; the options end here (it gets its `config_class.from_opt(opt)`)."""
    cls = find_class("trainers", "trainer", opt.model, BaseTrainer)
    return cls(cls.config_class.from_opt(opt), model, device, dist_info, steps_per_epoch=steps_per_epoch)

"""`TrainerConfig`: the training flags a trainer reads, built from the options once (`from_opt`).

Trainers never see `opt`. A trainer's own flags go in a subclass, named like the flags, and the trainer
class names it in `config_class`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from util.config import config_from_flags

ConfigT = TypeVar("ConfigT", bound="TrainerConfig")


@dataclass(frozen=True, kw_only=True)
class TrainerConfig:
    """Schedule, optimiser, numerics and speed settings shared by every trainer (see options/train_options.py)."""

    niter: int = 50  # epochs at the initial learning rate
    niter_decay: int = 0  # epochs of linear decay to zero after that
    lr: float = 0.0002
    beta1: float = 0.5
    beta2: float = 0.999
    grad_clip: float = 0.0  # clip the gradient norm to this (0: off)
    max_bad_steps: int = 10  # abort after this many non-finite losses in a row
    amp: str = "none"  # autocast precision: none | bf16
    compile: bool = False  # torch.compile the networks

    @classmethod
    def from_opt(cls: type[ConfigT], opt: Any) -> ConfigT:
        """Every field from the flag of the same name."""
        return config_from_flags(cls, opt)

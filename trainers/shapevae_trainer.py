"""Optimisation of the shape VAE: one Adam over all its weights, the recipe's losses and learning-rate schedule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from shape_editor.recipe import lr_factor
from trainers.base_trainer import BaseTrainer
from trainers.trainer_config import TrainerConfig


@dataclass(frozen=True, kw_only=True)
class ShapeVAETrainerConfig(TrainerConfig):
    """The shape VAE's schedule flags on top of the shared ones (their defaults come from `--recipe`)."""

    lr_warmup_steps: int = 0
    lr_schedule: str = "constant"


class ShapeVAETrainer(BaseTrainer):
    config_class = ShapeVAETrainerConfig
    config: ShapeVAETrainerConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.net = self.wrap(self.model)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.config
        # The fused kernel updates all 25 M weights in one pass instead of a dozen foreach passes.
        fused = self.device.type in ("cpu", "cuda")
        return {
            "G": torch.optim.Adam(self.model.vae.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=fused)
        }

    def run_step(self, batch: dict[str, Any]) -> dict[str, float]:
        self.apply_step_schedule()
        with self.autocast():
            losses = self.net(batch)[0]  # the output is not kept: its 40 MB of logits are freed before backward
        return self.optimize("G", losses, self.model.vae.parameters())

    def apply_step_schedule(self) -> None:
        """Learning rate of this step: the per-epoch schedule's, times the recipe's warm-up and cosine factor.

        A pure function of the step, so a resumed run sets the same rates as an uninterrupted one.
        """
        cfg = self.config
        factor = lr_factor(self.progress.total_steps, self.planned_steps, cfg.lr_warmup_steps, cfg.lr_schedule)
        epoch_lr = self.schedulers["G"].get_last_lr()[0]
        for group in self.optimizers["G"].param_groups:
            group["lr"] = epoch_lr * factor

"""Optimisation of the shape VAE: one Adam over all its weights, weighted CE + KL."""
from __future__ import annotations

from typing import Any

import torch

from trainers.base_trainer import BaseTrainer


class ShapeVAETrainer(BaseTrainer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.net = self.wrap(self.model)

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.config
        # The fused kernel updates all 25 M weights in one pass instead of a dozen foreach passes.
        fused = self.device.type in ("cpu", "cuda")
        return {"G": torch.optim.Adam(self.model.vae.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=fused)}

    def run_step(self, batch: dict[str, Any]) -> dict[str, float]:
        with self.autocast():
            losses = self.net(batch)[0]  # the output is not kept: its 40 MB of logits are freed before backward
        return self.optimize("G", losses, self.model.vae.parameters())

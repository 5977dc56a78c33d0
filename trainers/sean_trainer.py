"""Optimisation of SEAN (SPADE's pix2pix trainer conventions): a generator step, then a discriminator step.

Losses: hinge GAN, discriminator feature matching (`--lambda_feat`) and VGG19 perceptual (`--lambda_vgg`,
only with local `--vgg_weights`). With TTUR (the default) G learns at lr/2 and D at 2*lr, both with
Adam betas (0, 0.9); `--no_TTUR` uses `--lr`, `--beta1`, `--beta2` for both. The generator steps once
every `--D_steps_per_G` iterations; the discriminator every iteration.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from models.networks import build_vgg_loss, feature_matching_loss, hinge_loss_d, hinge_loss_g
from models.sean_model import PhotoReconstructor
from trainers.base_trainer import BaseTrainer
from trainers.trainer_config import TrainerConfig

logger = logging.getLogger(__name__)

TTUR_BETAS = (0.0, 0.9)


def split_halves(outputs: list[list[Tensor]]) -> tuple[list[list[Tensor]], list[list[Tensor]]]:
    """Split discriminator outputs of a [fake; real] batch into the fake and the real halves."""
    fake = [[t[: t.shape[0] // 2] for t in scale] for scale in outputs]
    real = [[t[t.shape[0] // 2 :] for t in scale] for scale in outputs]
    return fake, real


@dataclass(frozen=True, kw_only=True)
class SEANTrainerConfig(TrainerConfig):
    """SEAN's own training flags (added by `SEANModel.modify_commandline_options`)."""

    no_TTUR: bool
    D_steps_per_G: int
    lambda_feat: float
    lambda_vgg: float
    vgg_weights: str | None

    def __post_init__(self) -> None:
        if self.D_steps_per_G < 1:
            raise ValueError(f"--D_steps_per_G must be >= 1, got {self.D_steps_per_G}")


class SEANTrainer(BaseTrainer):
    config_class = SEANTrainerConfig
    config: SEANTrainerConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.dist_info.world_size > 1 and self.device.type == "cuda":  # SyncBatchNorm has no CPU kernel
            nn.SyncBatchNorm.convert_sync_batchnorm(self.model.netG)  # in place: the children are swapped
        self.G = self.wrap(PhotoReconstructor(self.model.netG))
        self.D = self.wrap(self.model.netD)
        self.vgg = build_vgg_loss(self.config.vgg_weights) if self.config.lambda_vgg > 0 else None
        if self.vgg is not None:
            self.vgg.to(self.device)
        self.last_g_losses: dict[str, float] = {}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.config
        if cfg.no_TTUR:
            lr_g, lr_d, betas = cfg.lr, cfg.lr, (cfg.beta1, cfg.beta2)
        else:
            lr_g, lr_d, betas = cfg.lr / 2, cfg.lr * 2, TTUR_BETAS
        return {
            "G": torch.optim.Adam(self.model.netG.parameters(), lr=lr_g, betas=betas),
            "D": torch.optim.Adam(self.model.netD.parameters(), lr=lr_d, betas=betas),
        }

    def discriminate(self, masks: Tensor, fake: Tensor, real: Tensor) -> tuple[list[list[Tensor]], list[list[Tensor]]]:
        """D on fake and real photos in one batch (same mask): outputs for the fake half and the real half."""
        pairs = torch.cat([self.model.discriminator_input(masks, fake), self.model.discriminator_input(masks, real)])
        return split_halves(self.D(pairs))

    def generator_losses(self, masks: Tensor, real: Tensor) -> dict[str, Tensor]:
        """{"GAN", "GAN_Feat", "VGG"} (the last two only when on), already weighted."""
        fake = self.G(masks, real)
        pred_fake, pred_real = self.discriminate(masks, fake, real)
        losses = {"GAN": hinge_loss_g(pred_fake)}
        if self.config.lambda_feat > 0:
            losses["GAN_Feat"] = feature_matching_loss(pred_real, pred_fake, self.config.lambda_feat)
        if self.vgg is not None:
            losses["VGG"] = self.config.lambda_vgg * self.vgg(fake, real)
        return losses

    def discriminator_losses(self, masks: Tensor, real: Tensor) -> dict[str, Tensor]:
        """{"D"}: the hinge loss on real photos and (detached) synthesised ones."""
        with torch.no_grad():
            fake = self.G(masks, real)
        pred_fake, pred_real = self.discriminate(masks, fake, real)
        return {"D": hinge_loss_d(pred_real, pred_fake)}

    def run_step(self, batch: dict[str, Any]) -> dict[str, float]:
        masks, real = self.model.inputs(batch)
        if self.progress.total_steps % self.config.D_steps_per_G == 0:
            with self.autocast():
                g_losses = self.generator_losses(masks, real)
            self.last_g_losses = self.optimize("G", g_losses, self.model.netG.parameters())
        with self.autocast():
            d_losses = self.discriminator_losses(masks, real)
        return {**self.last_g_losses, **self.optimize("D", d_losses, self.model.netD.parameters())}

"""ShapeVAE: part encoder -> (sample) -> sequence block -> mask decoder (DESIGN.md section 5).

Vocabulary used by every method:
- *codes* are the per-part latents [B, P, D] in label order (mu, a sample, or an edited code);
  edits act on codes.
- `decode(codes)` = `mix` (sequence block) then the conv decoder, so edited codes go in unmixed.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import torch
from torch import Tensor, nn

from shape_editor.config import ShapeVAEConfig
from shape_editor.mask_decoder import MaskDecoder, group_norm
from shape_editor.part_encoder import PartEncoder, sample_latents
from shape_editor.part_sequence import PartSequence


class ShapeVAEOutput(NamedTuple):
    """What one forward pass returns (no state is kept on the module)."""

    logits: Tensor  # [B, C, H, W] class logits, background included
    mu: Tensor  # [B, P, D] posterior means
    logvar: Tensor  # [B, P, D] posterior log-variances
    codes: Tensor  # [B, P, D] the codes that were decoded (a sample in training, mu in eval)


class ShapeVAE(nn.Module):
    """Shape VAE over the P = C - 1 foreground parts of a one-hot face mask.

    Args:
        config: sizes and ablation switches; kept as `self.config` so a checkpoint can rebuild the model.
    """

    def __init__(self, config: ShapeVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = PartEncoder(config.enc_size, config.enc_widths, config.latent_dim)
        self.sequence: nn.Module = (
            PartSequence(config.latent_dim, config.lstm_hidden, config.lstm_layers, config.bidirectional, config.ff_hidden)
            if config.use_lstm
            else nn.Identity()  # "w/o LSTM block" ablation
        )
        self.decoder = MaskDecoder(
            config.num_parts, config.label_nc, config.decoder_widths, partial(group_norm, groups=config.groups)
        )

    def encode(self, onehot: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior of every part.

        Args:
            onehot: [B, C, crop, crop] one-hot mask, float; channel 0 is background and is not encoded.

        Returns:
            (mu, logvar), each [B, P, D].
        """
        B, C, H, W = onehot.shape
        size = self.config.crop_size
        if (C, H, W) != (self.config.label_nc, size, size):
            raise ValueError(
                f"mask of shape {tuple(onehot.shape)} does not match label_nc={self.config.label_nc}, "
                f"crop_size={size}: expected [B, {self.config.label_nc}, {size}, {size}]"
            )
        return self.encoder(onehot[:, 1:])

    def mix(self, codes: Tensor) -> Tensor:
        """Sequence block only (identity without LSTM): [B, P, D] -> [B, P, D]."""
        return self.sequence(codes)

    def decode(self, codes: Tensor) -> Tensor:
        """Unmixed part codes [B, P, D] -> class logits [B, C, crop, crop] (applies `mix`, then the conv decoder)."""
        return self.decoder(self.mix(codes))

    def forward(self, onehot: Tensor, generator: torch.Generator | None = None) -> ShapeVAEOutput:
        """Encode, sample (training) or take mu (eval), decode.

        Args:
            onehot: [B, C, crop, crop] one-hot mask, float.
            generator: RNG for the training-time sample, for exact reproducibility.
        """
        mu, logvar = self.encode(onehot)
        codes = sample_latents(mu, logvar, generator) if self.training else mu
        return ShapeVAEOutput(self.decode(codes), mu, logvar, codes)

    @torch.no_grad()
    def reconstruct(self, onehot: Tensor) -> Tensor:
        """Deterministic reconstruction decode(mu) whatever the train/eval mode: [B, C, H, W] -> logits."""
        return self.decode(self.encode(onehot)[0])

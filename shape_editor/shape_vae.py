"""ShapeVAE: part encoder -> (sample) -> sequence block -> mask decoder (docs/ARCHITECTURE.md).

Vocabulary used by every method:
- *codes* are the per-part latents [B, P, D] in label order (mu, a sample, or an edited code);
  edits act on codes.
- `decode(codes)` = `mix` (sequence block) then the conv decoder, so edited codes go in unmixed.

This is the plain network (it defines the state_dict keys and is the reference of every fast path);
`shape_editor.fast.compile_for_inference(vae)` builds the fast inference object from it.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from shape_editor.background import HeuristicBackground
from shape_editor.config import ShapeVAEConfig
from shape_editor.mask_decoder import MaskDecoder, group_norm
from shape_editor.masks import check_label_range, labels_to_onehot, resize_labels
from shape_editor.part_encoder import PartEncoder, sample_latents
from shape_editor.part_sequence import PartSequence


def check_onehot_masks(config: ShapeVAEConfig, masks: Tensor) -> None:
    """Raise ValueError unless `masks` is a float one-hot batch [B, C, crop, crop] of this config."""
    B, C, H, W = masks.shape
    classes, size = config.label_nc, config.crop_size
    if (C, H, W) != (classes, size, size):
        raise ValueError(
            f"mask of shape {tuple(masks.shape)} does not match label_nc={classes}, "
            f"crop_size={size}: expected [B, {classes}, {size}, {size}]"
        )


def encoder_ids(config: ShapeVAEConfig, labels: Tensor) -> Tensor:
    """Checked label maps [B, 1, crop, crop] or [B, crop, crop] -> ids nearest-resized to [B, enc, enc] int64.

    The resize picks exactly the pixels that resizing the one-hot would (`masks.resize_labels`), so the
    one-hot of the result equals the encoder's input for the full-size one-hot.
    """
    size = config.crop_size
    if labels.shape[-2:] != (size, size):
        raise ValueError(f"label map of shape {tuple(labels.shape)} does not match crop_size={size}")
    check_label_range(labels, config.label_nc)
    return resize_labels(labels, config.enc_size)


def build_sequence(config: ShapeVAEConfig) -> nn.Module:
    """The sequence block of `config`: a `PartSequence`, or the identity for the "w/o LSTM block" ablation."""
    if not config.use_lstm:
        return nn.Identity()
    return PartSequence(
        config.latent_dim, config.lstm_hidden, config.lstm_layers, config.bidirectional, config.ff_hidden
    )


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
        self.sequence = build_sequence(config)
        self.decoder = MaskDecoder(
            config.num_parts,
            config.decoder_channels,
            config.decoder_widths,
            partial(group_norm, groups=config.groups),
        )
        # "heuristic": the decoder predicts the parts only and a fixed rule without weights adds background.
        self.background = HeuristicBackground() if config.bg_mode == "heuristic" else None

    def encode(self, masks: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior of every part.

        Args:
            masks: [B, C, crop, crop] one-hot float (channel 0 is background and is not encoded), or the
                same masks as integer ids [B, 1, crop, crop] / [B, crop, crop]. Ids are cheaper: they are
                nearest-resized to enc_size first, so the one-hot is only built there (same result).

        Returns:
            (mu, logvar), each [B, P, D].
        """
        if not masks.is_floating_point():
            return self.encode_labels(masks)
        check_onehot_masks(self.config, masks)
        return self.encoder(masks[:, 1:])

    def encode_labels(self, labels: Tensor) -> tuple[Tensor, Tensor]:
        """`encode` of integer ids [B, 1, crop, crop] or [B, crop, crop]: resize the ids, then one-hot at enc_size."""
        small = encoder_ids(self.config, labels)  # (B, enc, enc)
        return self.encoder(labels_to_onehot(small, self.config.label_nc, self.encoder.mu.weight.dtype)[:, 1:])

    def mix(self, codes: Tensor) -> Tensor:
        """Sequence block only (identity without LSTM): [B, P, D] -> [B, P, D]."""
        return self.sequence(codes)

    def decode(self, codes: Tensor) -> Tensor:
        """Unmixed part codes [B, P, D] -> class logits [B, C, crop, crop] (applies `mix`, then the conv decoder)."""
        logits = self.decoder(self.mix(codes))
        return logits if self.background is None else self.background(logits)

    def forward(self, masks: Tensor, generator: torch.Generator | None = None) -> ShapeVAEOutput:
        """Encode, sample (training) or take mu (eval), decode.

        Args:
            masks: [B, C, crop, crop] one-hot float, or [B, 1, crop, crop] integer ids (cheaper, see `encode`).
            generator: RNG for the training-time sample, for exact reproducibility.
        """
        mu, logvar = self.encode(masks)
        codes = sample_latents(mu, logvar, generator) if self.training else mu
        return ShapeVAEOutput(self.decode(codes), mu, logvar, codes)

    def compile(self, *args: Any, **kwargs: Any) -> None:
        """`torch.compile` the encoder, sequence block and decoder in place (state_dict keys do not change).

        The input checks stay eager: they branch on the data, which would break one whole-model graph.
        """
        for module in (self.encoder, self.sequence, self.decoder):
            module.compile(*args, **kwargs)

    @torch.no_grad()
    def reconstruct(self, masks: Tensor) -> Tensor:
        """Deterministic decode(mu) whatever the train/eval mode: one-hot [B, C, H, W] or ids -> logits."""
        return self.decode(self.encode(masks)[0])

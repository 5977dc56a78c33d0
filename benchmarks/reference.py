"""The plain eager fp32 path of the shape VAE: the same weights and math, none of the speed-ups.

`PlainShapeVAE` is a `ShapeVAE` (same modules, same state_dict keys, so it loads any checkpoint) whose
encoder gets the full-size float one-hot and whose decoder upsamples explicitly, then runs the 3x3 conv,
in the contiguous layout. The benchmark reports every figure as a ratio to this path, and the tests check
that the optimised path computes the same thing.
"""
from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

from shape_editor.mask_decoder import MaskDecoder, UpBlock
from shape_editor.masks import labels_to_onehot
from shape_editor.shape_vae import ShapeVAE


def upsample2x(x: Tensor) -> Tensor:
    """Nearest 2x upsampling, materialised: [B, C, H, W] -> [B, C, 2H, 2W]."""
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def plain_up_block(block: UpBlock, x: Tensor) -> Tensor:
    """The residual up block as written in the design: [B, c_in, H, W] -> [B, c_out, 2H, 2W]."""
    h = block.conv_in(upsample2x(F.silu(block.norm_in(x))))
    h = block.conv_out(F.silu(block.norm_out(h)))
    return h + block.skip(upsample2x(x))


def plain_decode_masks(decoder: MaskDecoder, codes: Tensor) -> Tensor:
    """Mixed codes [B, P, D] -> logits [B, C, H, W], contiguous layout throughout."""
    B, P, D = codes.shape
    side = math.isqrt(D)
    x = decoder.in_conv(codes.reshape(B, P, side, side))  # (B, widths[0], S, S)
    for block in decoder.blocks:
        x = plain_up_block(block, x)
    return decoder.out_conv(x)


class PlainShapeVAE(ShapeVAE):
    """`ShapeVAE` with the plain decoder and full-size one-hot input (the benchmark's reference)."""

    def encode(self, masks: Tensor) -> tuple[Tensor, Tensor]:
        """One-hot [B, C, H, W] float (integer ids are one-hot encoded at full size first) -> (mu, logvar)."""
        if not masks.is_floating_point():
            masks = labels_to_onehot(masks, self.config.label_nc)
        return super().encode(masks)

    def decode(self, codes: Tensor) -> Tensor:
        """Unmixed codes [B, P, D] -> logits [B, C, H, W] through the plain decoder."""
        return plain_decode_masks(self.decoder, self.mix(codes))

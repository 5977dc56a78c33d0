"""Mask decoder: turns the P mixed part codes into C class logits at full resolution.

Each code is reshaped to a square map (16x16 for D = 256) and the P maps are stacked as channels.
A 1x1 conv widens them, residual up blocks double the resolution until it reaches crop_size, and a
final 1x1 conv predicts C logits, background included (background has its own learned logit).

This is the paper's network written plainly; it defines the state_dict keys. `shape_editor/fast.py`
computes the same function faster (for inference and, behind a trainer flag, for training) and is
tested against this file (docs/ARCHITECTURE.md, "Model and fast path").
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

NormLayer = Callable[[int], nn.Module]


def group_norm(channels: int, groups: int = 32) -> nn.GroupNorm:
    """GroupNorm with gcd(groups, channels) groups, so that narrow test widths are valid too."""
    return nn.GroupNorm(math.gcd(groups, channels), channels)


def upsample2x(x: Tensor) -> Tensor:
    """Nearest-neighbour 2x upsampling: [B, C, H, W] -> [B, C, 2H, 2W]."""
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class UpBlock(nn.Module):
    """Residual block that doubles the resolution and changes the width from c_in to c_out.

    main: GroupNorm -> SiLU -> nearest 2x up -> 3x3 conv -> GroupNorm -> SiLU -> 3x3 conv (zero-initialised)
    skip: nearest 2x up -> 1x1 conv
    The last conv starts at zero (as in the ADM / guided-diffusion blocks), so at initialisation the
    block is its skip path and the signal passes through cleanly.
    """

    def __init__(self, c_in: int, c_out: int, norm_layer: NormLayer) -> None:
        super().__init__()
        self.norm_in = norm_layer(c_in)
        self.conv_in = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm_out = norm_layer(c_out)
        self.conv_out = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1)
        for param in self.conv_out.parameters():
            nn.init.zeros_(param)

    def forward(self, x: Tensor) -> Tensor:
        """x: [B, c_in, H, W] -> [B, c_out, 2H, 2W]."""
        h = self.conv_in(upsample2x(F.silu(self.norm_in(x))))  # (B, c_out, 2H, 2W)
        h = self.conv_out(F.silu(self.norm_out(h)))  # (B, c_out, 2H, 2W)
        return h + self.skip(upsample2x(x))


class MaskDecoder(nn.Module):
    """P part codes [B, P, D] -> class logits [B, C, S * 2**n, S * 2**n], S = sqrt(D), n = len(widths) - 1.

    Args:
        num_parts: P, foreground parts (input channels after the reshape).
        num_classes: C, output logits, background included.
        widths: widths before and after each up block, e.g. (512, 256, 128, 64, 32) = 4 blocks.
        norm_layer: builds the normalisation for a given width (default: GroupNorm(32)).
    """

    def __init__(
        self, num_parts: int, num_classes: int, widths: Sequence[int], norm_layer: NormLayer = group_norm
    ) -> None:
        super().__init__()
        self.in_conv = nn.Conv2d(num_parts, widths[0], 1)
        self.blocks = nn.Sequential(*(UpBlock(a, b, norm_layer) for a, b in zip(widths[:-1], widths[1:])))
        self.out_conv = nn.Conv2d(widths[-1], num_classes, 1)

    def forward(self, codes: Tensor) -> Tensor:
        """codes: [B, P, D] -> logits [B, C, H, W]."""
        B, P, D = codes.shape
        side = math.isqrt(D)
        x = self.in_conv(codes.reshape(B, P, side, side))  # (B, widths[0], S, S)
        x = self.blocks(x)  # (B, widths[-1], S * 2**n, S * 2**n)
        return self.out_conv(x)  # (B, C, S * 2**n, S * 2**n)

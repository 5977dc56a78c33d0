"""Mask decoder: turns the P mixed part codes into C class logits at full resolution.

Each code is reshaped to a square map (16x16 for D = 256), the P maps are stacked as channels, and
residual 2x up blocks (GroupNorm -> SiLU -> nearest up -> conv3x3 -> GroupNorm -> SiLU -> conv3x3)
grow them to crop_size. The last conv of every block starts at zero, so at initialisation a block is
its (upsampled, 1x1-projected) skip path and the signal passes through cleanly.
The final 1x1 conv predicts C logits, background included: background has its own learned logit.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NormLayer = Callable[[int], nn.Module]


def group_norm(channels: int, groups: int = 32) -> nn.GroupNorm:
    """GroupNorm with gcd(groups, channels) groups, so that narrow test widths are valid too."""
    return nn.GroupNorm(math.gcd(groups, channels), channels)


def upsample_conv3x3(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """conv3x3(nearest_up2x(x), padding=1) computed at low resolution, without the upsampled copy.

    Output pixel (2i+a, 2j+b) only sees low-res rows {i-1+a, i+a} and columns {j-1+b, j+b}, so each of the
    four phases (a, b) is a 2x2 conv whose taps are sums of the 3x3 taps (sub-pixel convolution).
    That is 4 instead of 9 multiply-adds per output, and the same result up to float rounding.

    Args:
        x: [B, C_in, H, W]; weight: [C_out, C_in, 3, 3]; bias: [C_out] or None.

    Returns:
        [B, C_out, 2H, 2W].
    """
    B, _, H, W = x.shape
    c_out = weight.shape[0]
    # taps[a, i, k] = 1 if 3x3 row k of phase a lands on 2x2 row i
    taps = torch.tensor([[[1, 0, 0], [0, 1, 1]], [[1, 1, 0], [0, 0, 1]]], dtype=weight.dtype, device=weight.device)
    phase_weight = torch.einsum("aik,bjl,ockl->abocij", taps, taps, weight).reshape(4 * c_out, -1, 2, 2)
    phase_bias = None if bias is None else bias.repeat(4)
    y = F.conv2d(F.pad(x, (1, 1, 1, 1)), phase_weight, phase_bias)  # (B, 4*C_out, H+1, W+1)
    y = y.view(B, 2, 2, c_out, H + 1, W + 1)  # (B, a, b, C_out, H+1, W+1)
    out = x.new_empty(B, c_out, H, 2, W, 2)
    for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)):  # the 4 phases, not a loop over batch or classes
        out[:, :, :, a, :, b] = y[:, a, b, :, a : a + H, b : b + W]
    return out.view(B, c_out, 2 * H, 2 * W)


def add_upsampled(x: Tensor, low: Tensor) -> Tensor:
    """x + nearest_up2x(low) by broadcasting, without materialising the upsampled tensor.

    Args:
        x: [B, C, 2H, 2W]; low: [B, C, H, W].
    """
    B, C, H, W = low.shape
    return (x.reshape(B, C, H, 2, W, 2) + low[:, :, :, None, :, None]).view(B, C, 2 * H, 2 * W)


class UpBlock(nn.Module):
    """Residual block that doubles the resolution and changes the width from c_in to c_out."""

    def __init__(self, c_in: int, c_out: int, norm_layer: NormLayer) -> None:
        super().__init__()
        self.norm_in = norm_layer(c_in)
        self.conv_in = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm_out = norm_layer(c_out)
        self.conv_out = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1)
        # Zero-initialised last conv: the block starts as its skip path (as in the ADM / guided-diffusion blocks).
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: Tensor) -> Tensor:
        """x: [B, c_in, H, W] -> [B, c_out, 2H, 2W]."""
        h = upsample_conv3x3(F.silu(self.norm_in(x)), self.conv_in.weight, self.conv_in.bias)  # (B, c_out, 2H, 2W)
        h = self.conv_out(F.silu(self.norm_out(h)))
        # A 1x1 conv commutes with nearest upsampling: project at low resolution, then add upsampled.
        return add_upsampled(h, self.skip(x))


class MaskDecoder(nn.Module):
    """P part codes [B, P, D] -> class logits [B, C, S * 2**n, S * 2**n], S = sqrt(D).

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
        return self.out_conv(self.blocks(x))  # (B, C, S * 2**n, S * 2**n)

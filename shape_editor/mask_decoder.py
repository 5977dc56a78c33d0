"""Mask decoder: turns the P mixed part codes into C class logits at full resolution.

Each code is reshaped to a square map (16x16 for D = 256), the P maps are stacked as channels, and
residual 2x up blocks (GroupNorm -> SiLU -> nearest up -> conv3x3 -> GroupNorm -> SiLU -> conv3x3)
grow them to crop_size. The last conv of every block starts at zero, so at initialisation a block is
its (upsampled, 1x1-projected) skip path and the signal passes through cleanly.
The final 1x1 conv predicts C logits, background included: background has its own learned logit.
It is linear, so it is folded into the last block's 3x3 conv and skip conv (`compose_1x1`): the last,
largest block then writes C channels instead of its width, and no width-channel map exists at full size.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from shape_editor.derived_cache import CachesDerivedWeights, DerivedCache

NormLayer = Callable[[int], nn.Module]


def group_norm(channels: int, groups: int = 32) -> nn.GroupNorm:
    """GroupNorm with gcd(groups, channels) groups, so that narrow test widths are valid too."""
    return nn.GroupNorm(math.gcd(groups, channels), channels)


# UP_TAPS[k, r] = 1 when row r of a 3x3 kernel lands on row k of the equivalent stride-2 4x4 kernel.
UP_TAPS = ((0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (1.0, 1.0, 0.0), (1.0, 0.0, 0.0))


def subpixel_weight(weight: Tensor) -> Tensor:
    """The 4x4 stride-2 transposed-conv weight [C_in, C_out, 4, 4] equal to a 3x3 conv after nearest 2x up.

    Output row 2i+a only sees low-res rows {i-1+a, i+a}, so the pair is a 4x4, stride-2, padding-1
    transposed conv whose taps are sums of the 3x3 taps (sub-pixel convolution): 4 instead of 9
    multiply-adds per output, no 4x larger input, the same result up to float rounding.

    Args:
        weight: [C_out, C_in, 3, 3].
    """
    c_out, c_in = weight.shape[:2]
    taps = torch.tensor(UP_TAPS, dtype=weight.dtype, device=weight.device)
    kron = torch.kron(taps, taps)  # (16, 9): 4x4 tap (k, l) <- 3x3 tap (r, s); one matmul beats an einsum 4x
    up_weight = (weight.reshape(c_out * c_in, 9) @ kron.t()).view(c_out, c_in, 4, 4)
    return up_weight.transpose(0, 1).contiguous()  # the layout conv_transpose2d takes


def compose_1x1(project: nn.Conv2d, weight: Tensor, bias: Tensor | None, with_project_bias: bool = True
                ) -> tuple[Tensor, Tensor | None]:
    """(weight, bias) of the conv `project(conv(x; weight, bias))`: a 1x1 conv after any conv is one conv.

    A 1x1 conv is the same matrix P at every pixel, so P (W * x + b) + p = (P W) * x + (P b + p). Composing
    the weights is differentiable: gradients reach `project`, `weight` and `bias` exactly as through two convs.

    Args:
        project: the 1x1 conv [C_p, C, 1, 1] applied second.
        weight: [C, C_in, k, k]; bias: [C] or None.
        with_project_bias: add project's bias (False when another branch that is summed adds it).

    Returns:
        weight [C_p, C_in, k, k] and bias [C_p] (None when there is no bias at all).
    """
    matrix = project.weight.flatten(1)  # (C_p, C)
    composed = (matrix @ weight.flatten(1)).view(matrix.shape[0], *weight.shape[1:])
    composed_bias = None if bias is None else matrix @ bias
    if with_project_bias and project.bias is not None:
        composed_bias = project.bias if composed_bias is None else composed_bias + project.bias
    return composed, composed_bias


def add_upsampled_(x: Tensor, low: Tensor) -> Tensor:
    """x += nearest_up2x(low), in place, returning x.

    In place saves a full-size allocation; it is safe under autograd where x is an output that no backward
    needs (a conv's: conv backward keeps its input, not its output). Upsampling a copy is faster than a
    broadcast add over a [B, C, H, 2, W, 2] view, whose backward is a strided sum several times slower on CPU.

    Args:
        x: [B, C, 2H, 2W]; low: [B, C, H, W].
    """
    return x.add_(F.interpolate(low, scale_factor=2.0, mode="nearest"))


def _silu_of_norm(norm: nn.Module, x: Tensor) -> Tensor:
    return F.silu(norm(x), inplace=not torch.is_grad_enabled())  # in place: one full-size allocation fewer


def norm_silu(norm: nn.Module, x: Tensor) -> Tensor:
    """SiLU(norm(x)). With autograd the normalised tensor is recomputed in backward instead of stored.

    That is one activation fewer per norm (about 130 MB of a 256 px batch-8 training step, which keeps
    its peak under 2 GB), for a GroupNorm + SiLU recomputation too cheap to show in the step time.
    """
    if torch.is_grad_enabled():
        return checkpoint(_silu_of_norm, norm, x, use_reentrant=False)
    return _silu_of_norm(norm, x)


def block_layout() -> torch.memory_format:
    """Memory format of the up blocks: channels-last without autograd, contiguous with it.

    Measured on a 2-core AVX2 CPU (oneDNN): channels-last runs the blocks' forward 15-25 % faster,
    but its GroupNorm backward is about 4x slower, so a training step is 20-30 % faster contiguous.
    """
    return torch.contiguous_format if torch.is_grad_enabled() else torch.channels_last


class BlockWeights(NamedTuple):
    """The weights an `UpBlock` runs with: the sub-pixel conv_in, and conv_out / skip (projected, if asked)."""

    up: Tensor  # [C_in, C_out, 4, 4], `subpixel_weight` of conv_in
    up_bias: Tensor
    out: Tensor  # [C, C_out, 3, 3]: conv_out, or project after conv_out
    out_bias: Tensor
    skip: Tensor  # [C, C_in, 1, 1]: skip, or project after skip
    skip_bias: Tensor


class UpBlock(CachesDerivedWeights):
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
        self.derived: DerivedCache[BlockWeights] = DerivedCache()

    def block_weights(self, project: nn.Conv2d | None) -> BlockWeights:
        """Derive the weights the forward pass runs with (cached between inference calls, see `DerivedCache`)."""
        def derive() -> BlockWeights:
            out = (self.conv_out.weight, self.conv_out.bias)
            skip = (self.skip.weight, self.skip.bias)
            if project is not None:
                out = compose_1x1(project, *out)
                skip = compose_1x1(project, *skip, with_project_bias=False)
            weights = BlockWeights(subpixel_weight(self.conv_in.weight), self.conv_in.bias, *out, *skip)
            # The blocks' layout (channels-last at inference): oneDNN would otherwise convert them every call.
            return BlockWeights(*(w.contiguous(memory_format=block_layout()) if w.dim() == 4 else w for w in weights))

        sources = [*self.parameters(), *(project.parameters() if project is not None else ())]
        return self.derived.get(sources, derive, training=self.training)

    def forward(self, x: Tensor, project: nn.Conv2d | None = None) -> Tensor:
        """x: [B, c_in, H, W] -> [B, c_out, 2H, 2W], or project(block(x)) [B, C_p, 2H, 2W] with a 1x1 `project`.

        `project` is folded into conv_out and skip (`compose_1x1`) rather than run on the c_out-wide output.
        """
        w = self.block_weights(project)
        h = F.conv_transpose2d(norm_silu(self.norm_in, x), w.up, w.up_bias, stride=2, padding=1)  # (B, c_out, 2H, 2W)
        h = F.conv2d(norm_silu(self.norm_out, h), w.out, w.out_bias, padding=1)
        # A 1x1 conv commutes with nearest upsampling: project at low resolution, then add upsampled.
        return add_upsampled_(h, F.conv2d(x, w.skip, w.skip_bias))


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
        if not self.blocks:
            return self.out_conv(x)
        x = x.contiguous(memory_format=block_layout())
        *body, last = self.blocks
        for block in body:
            x = block(x)  # (B, widths[i + 1], 2x, 2x)
        # (B, C, S * 2**n, S * 2**n); channels-last without autograd, where argmax over C is then 5x faster
        return last(x, project=self.out_conv)

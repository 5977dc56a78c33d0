"""SEAN's style encoder ("Zencoder"): one style code per semantic class, averaged over the class region."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def pool_regions(feats: Tensor, masks: Tensor) -> Tensor:
    """Average features over each class region.

    Args:
        feats: [B, F, H, W] feature map.
        masks: [B, C, H, W] one-hot class masks at the same size (soft masks give weighted means).

    Returns:
        [B, C, F]; classes with no pixels get zeros.
    """
    masks = masks.to(feats.dtype)
    area = masks.sum((2, 3)).clamp_min(1)[..., None]  # [B, C, 1]
    return torch.einsum("bfhw,bchw->bcf", feats, masks) / area


class StyleEncoder(nn.Module):
    """Image -> per-class style codes; SEAN's Zencoder.

    A small encoder-decoder (reflect-pad 3x3 conv, two stride-2 convs, one stride-2 transposed conv,
    reflect-pad 3x3 conv, tanh; instance norm without affine + LeakyReLU(0.2) in between) gives features at
    half the input size, which are averaged per class. The Sequential keeps the official layer indices
    (`model.1`, `model.4`, `model.7`, `model.10`, `model.14`), so official weights load unchanged.

    Args:
        style_dim: size of each class code.
        ngf: width of the first conv; later widths are 2x, 4x, 8x.
    """

    def __init__(self, style_dim: int = 512, ngf: int = 32) -> None:
        super().__init__()
        widths = (ngf, 2 * ngf, 4 * ngf, 8 * ngf)
        self.model = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(3, widths[0], 3),
            *_norm_act(widths[0]),
            nn.Conv2d(widths[0], widths[1], 3, stride=2, padding=1),
            *_norm_act(widths[1]),
            nn.Conv2d(widths[1], widths[2], 3, stride=2, padding=1),
            *_norm_act(widths[2]),
            nn.ConvTranspose2d(widths[2], widths[3], 3, stride=2, padding=1, output_padding=1),
            *_norm_act(widths[3]),
            nn.ReflectionPad2d(1),
            nn.Conv2d(widths[3], style_dim, 3),
            nn.Tanh(),
        )

    def forward(self, image: Tensor, masks: Tensor) -> Tensor:
        """image: [B, 3, H, W] in [-1, 1] (H, W divisible by 4); masks: [B, C, H', W'] one-hot -> [B, C, style_dim]."""
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"StyleEncoder expects image [B, 3, H, W], got {tuple(image.shape)}")
        feats = self.model(image)  # [B, style_dim, H/2, W/2]
        masks = F.interpolate(masks, size=feats.shape[-2:], mode="nearest")
        return pool_regions(feats, masks)


def _norm_act(channels: int) -> tuple[nn.Module, nn.Module]:
    """Instance norm without affine (no state_dict keys) + LeakyReLU(0.2), two Sequential slots as in SEAN."""
    return nn.InstanceNorm2d(channels, affine=False), nn.LeakyReLU(0.2)

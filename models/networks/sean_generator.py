"""SEAN generator: mask + per-class style codes -> image."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.networks.sean_blocks import SEANResBlock, init_xavier_
from models.networks.style_encoder import StyleEncoder

NUM_UPSAMPLINGS = 5  # SEAN's "normal" setting: crop/32 -> crop


class SEANGenerator(nn.Module):
    """SEAN generator ("SPADEGenerator" with SEAN blocks in the official code).

    The mask, resized to crop/32, goes through a 3x3 conv (`fc`) to 16*ngf channels, then seven residual
    blocks: head_0, G_middle_0, G_middle_1 (16*ngf), up_0..up_3 (8, 4, 2, 1 * ngf), with a nearest 2x
    upsampling before G_middle_0 and before each up_* block; `conv_img` + tanh gives the image. The last
    block uses SPADE only. Attribute names follow the official checkpoints, so their state dicts load
    with `strict=True`. Weights start with SPADE's xavier(0.02) init.

    Args:
        label_nc: C, number of mask channels.
        ngf: base width.
        crop_size: output size (square), a multiple of 32.
        style_dim: size of a class style code.
        encoder_ngf: first width of the style encoder.
        spade_hidden: width of SPADE's shared conv.
    """

    def __init__(
        self,
        label_nc: int = 19,
        ngf: int = 64,
        crop_size: int = 256,
        style_dim: int = 512,
        *,
        encoder_ngf: int = 32,
        spade_hidden: int = 128,
    ) -> None:
        super().__init__()
        if crop_size <= 0 or crop_size % 2**NUM_UPSAMPLINGS:
            raise ValueError(f"crop_size must be a positive multiple of {2**NUM_UPSAMPLINGS}, got {crop_size}")
        self.label_nc = label_nc
        self.style_dim = style_dim
        self.latent_size = crop_size // 2**NUM_UPSAMPLINGS

        def block(fin: int, fout: int, use_style: bool = True) -> SEANResBlock:
            return SEANResBlock(fin, fout, label_nc, style_dim, use_style=use_style, spade_hidden=spade_hidden)

        self.Zencoder = StyleEncoder(style_dim, encoder_ngf)
        self.fc = nn.Conv2d(label_nc, 16 * ngf, 3, padding=1)
        self.head_0 = block(16 * ngf, 16 * ngf)
        self.G_middle_0 = block(16 * ngf, 16 * ngf)
        self.G_middle_1 = block(16 * ngf, 16 * ngf)
        self.up_0 = block(16 * ngf, 8 * ngf)
        self.up_1 = block(8 * ngf, 4 * ngf)
        self.up_2 = block(4 * ngf, 2 * ngf)
        self.up_3 = block(2 * ngf, ngf, use_style=False)
        self.conv_img = nn.Conv2d(ngf, 3, 3, padding=1)
        init_xavier_(self)

    def encode_style(self, image: Tensor, masks: Tensor) -> Tensor:
        """image: [B, 3, H, W] in [-1, 1]; masks: [B, C, H, W] one-hot -> style codes [B, C, style_dim]."""
        return self.Zencoder(image, masks)

    def forward(self, masks: Tensor, style_codes: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Synthesise an image.

        Args:
            masks: [B, C, H, W] one-hot float (any H, W; resized inside).
            style_codes: [B, C, style_dim], e.g. from `encode_style` (possibly of another image or mask).
            generator: optional RNG for the per-pixel noise of every norm layer.

        Returns:
            [B, 3, crop_size, crop_size] in [-1, 1].
        """
        B = masks.shape[0]
        if masks.ndim != 4 or masks.shape[1] != self.label_nc:
            raise ValueError(f"masks must be [B, {self.label_nc}, H, W], got {tuple(masks.shape)}")
        if tuple(style_codes.shape) != (B, self.label_nc, self.style_dim):
            raise ValueError(
                f"style_codes must be [{B}, {self.label_nc}, {self.style_dim}], got {tuple(style_codes.shape)}"
            )
        x = self.fc(F.interpolate(masks, size=(self.latent_size, self.latent_size), mode="nearest"))
        x = self.head_0(x, masks, style_codes, generator)
        x = self.G_middle_0(_upsample(x), masks, style_codes, generator)
        x = self.G_middle_1(x, masks, style_codes, generator)
        for block in (self.up_0, self.up_1, self.up_2, self.up_3):
            x = block(_upsample(x), masks, style_codes, generator)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


def _upsample(x: Tensor) -> Tensor:
    """Nearest 2x upsampling, [B, F, H, W] -> [B, F, 2H, 2W]."""
    return F.interpolate(x, scale_factor=2, mode="nearest")

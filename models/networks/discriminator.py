"""Multiscale PatchGAN discriminator (pix2pixHD/SPADE), input = mask channels + image."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import spectral_norm

from models.networks.sean_blocks import init_xavier_

KERNEL = 4
PADDING = 2  # ceil((KERNEL - 1) / 2), as in pix2pixHD


class PatchDiscriminator(nn.Module):
    """PatchGAN with `n_layers` strided 4x4 convs before the 1-channel output conv.

    Layer 0 is a plain conv with bias; middle layers are spectral-norm convs without bias followed by
    instance norm (no affine); the last middle layer has stride 1. Children are named model0..model{n_layers}
    as in official checkpoints (`model1.0.0.weight_orig`).

    Args:
        input_nc: input channels (label_nc + 3).
        ndf: width of the first layer; doubled per layer up to 512.
        n_layers: number of layers before the output conv (>= 1).
    """

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        self.model0 = nn.Sequential(nn.Conv2d(input_nc, ndf, KERNEL, stride=2, padding=PADDING), nn.LeakyReLU(0.2))
        nf = ndf
        for n in range(1, n_layers):
            nf_prev, nf = nf, min(2 * nf, 512)
            conv = nn.Conv2d(nf_prev, nf, KERNEL, stride=1 if n == n_layers - 1 else 2, padding=PADDING, bias=False)
            norm_conv = nn.Sequential(spectral_norm(conv), nn.InstanceNorm2d(nf, affine=False))
            self.add_module(f"model{n}", nn.Sequential(norm_conv, nn.LeakyReLU(0.2)))
        self.add_module(f"model{n_layers}", nn.Sequential(nn.Conv2d(nf, 1, KERNEL, padding=PADDING)))

    def forward(self, x: Tensor) -> list[Tensor]:
        """x: [B, input_nc, H, W] -> every layer's output; the last, [B, 1, h, w], is the patch prediction."""
        feats = []
        for layer in self.children():
            x = layer(x)
            feats.append(x)
        return feats


class MultiscaleDiscriminator(nn.Module):
    """`num_d` PatchGANs, each on the input average-pooled once more than the previous one.

    Args:
        input_nc: input channels (label_nc + 3).
        ndf: width of each PatchGAN's first layer.
        n_layers: layers per PatchGAN before the output conv.
        num_d: number of scales (>= 1).
    """

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3, num_d: int = 2) -> None:
        super().__init__()
        if num_d < 1:
            raise ValueError(f"num_d must be >= 1, got {num_d}")
        for i in range(num_d):
            self.add_module(f"discriminator_{i}", PatchDiscriminator(input_nc, ndf, n_layers))
        init_xavier_(self)

    def forward(self, x: Tensor) -> list[list[Tensor]]:
        """x: [B, input_nc, H, W] (mask + image) -> per scale, the list of layer outputs (last = prediction)."""
        outputs = []
        for discriminator in self.children():
            outputs.append(discriminator(x))
            x = F.avg_pool2d(x, kernel_size=3, stride=2, padding=1, count_include_pad=False)
        return outputs

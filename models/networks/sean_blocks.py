"""SEAN residual block, and the weight init SPADE/SEAN apply to their generator and discriminator."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import spectral_norm

from models.networks.sean_norm import PerClassLinear, SEANNorm


class SEANResBlock(nn.Module):
    """Residual block: (SEANNorm -> LeakyReLU -> spectral-norm 3x3 conv) x 2, plus a shortcut.

    The shortcut is learned (SEANNorm -> spectral-norm 1x1 conv without bias) when the channel count changes.
    The spectral norm is torch.nn.utils.spectral_norm, whose `weight_orig/_u/_v` keys official checkpoints use.

    Args:
        fin: input channels.
        fout: output channels.
        label_nc: C, number of mask channels.
        style_dim: size of a class style code.
        use_style: give the norms a style branch (False for SEAN's last block).
        spade_hidden: width of SPADE's shared conv.
    """

    def __init__(
        self,
        fin: int,
        fout: int,
        label_nc: int,
        style_dim: int = 512,
        *,
        use_style: bool = True,
        spade_hidden: int = 128,
    ) -> None:
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        self.conv_0 = spectral_norm(nn.Conv2d(fin, fmiddle, 3, padding=1))
        self.conv_1 = spectral_norm(nn.Conv2d(fmiddle, fout, 3, padding=1))
        if self.learned_shortcut:
            self.conv_s = spectral_norm(nn.Conv2d(fin, fout, 1, bias=False))

        def norm(channels: int) -> SEANNorm:
            return SEANNorm(channels, label_nc, style_dim, use_style=use_style, spade_hidden=spade_hidden)

        self.ace_0 = norm(fin)
        self.ace_1 = norm(fmiddle)
        if self.learned_shortcut:
            self.ace_s = norm(fin)

    def forward(
        self, x: Tensor, masks: Tensor, style_codes: Tensor | None, generator: torch.Generator | None = None
    ) -> Tensor:
        """x: [B, fin, H, W]; masks: [B, C, H', W']; style_codes: [B, C, style_dim] -> [B, fout, H, W]."""
        x_s = self.conv_s(self.ace_s(x, masks, style_codes, generator)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.ace_0(x, masks, style_codes, generator), 0.2))
        dx = self.conv_1(F.leaky_relu(self.ace_1(dx, masks, style_codes, generator), 0.2))
        return x_s + dx


def init_xavier_(module: nn.Module, gain: float = 0.02) -> None:
    """SPADE's default init (`--init_type xavier --init_variance 0.02`): xavier-normal weights, zero biases.

    Applies to every conv, transposed conv, Linear and PerClassLinear inside `module`; for spectral-norm
    layers it initialises `weight_orig`. Norm layers here have no affine weights, so they are untouched.
    """
    for m in module.modules():
        if isinstance(m, PerClassLinear):
            m.reset_parameters(gain)
        elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_normal_(getattr(m, "weight_orig", m.weight), gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

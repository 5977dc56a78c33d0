"""SEAN normalisation ("ACE" in the official code): per-class style codes and the mask modulate activations.

Einsum axis letters: b batch, c class, d style-code input, e style-code output, h/w pixels.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

OFFICIAL_FC_PREFIX = "fc_mu"  # official checkpoints store one nn.Linear per class: fc_mu0 ... fc_mu18


class PerClassLinear(nn.Module):
    """One Linear(in_features, out_features) per class, applied to all classes in one einsum.

    Args:
        num_classes: C, number of semantic classes.
        in_features: D, input code size.
        out_features: E, output code size.
    """

    def __init__(self, num_classes: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, out_features, in_features))  # [C, E, D], nn.Linear layout
        self.bias = nn.Parameter(torch.empty(num_classes, out_features))  # [C, E]
        self.reset_parameters()

    def reset_parameters(self, gain: float = 1.0) -> None:
        """Xavier-normal per class (fans are those of one Linear), zero bias."""
        num_out, num_in = self.weight.shape[1:]
        nn.init.normal_(self.weight, 0.0, gain * math.sqrt(2.0 / (num_in + num_out)))
        nn.init.zeros_(self.bias)

    def forward(self, codes: Tensor) -> Tensor:
        """codes: [B, C, D] -> [B, C, E], class c goes through its own linear map."""
        return torch.einsum("bcd,ced->bce", codes, self.weight) + self.bias


def broadcast_styles(styles: Tensor, masks: Tensor) -> Tensor:
    """Paint each class's style vector over that class's pixels.

    Args:
        styles: [B, C, E] one vector per class.
        masks: [B, C, H, W] one-hot (soft masks blend the vectors of overlapping classes).

    Returns:
        [B, E, H, W]; pixels that belong to no class are zero.
    """
    return torch.einsum("bce,bchw->behw", styles, masks.to(styles.dtype))


class SPADE(nn.Module):
    """SPADE's gamma/beta predicted from the mask alone (shared 3x3 conv + ReLU, then two 3x3 convs).

    `param_free_norm` is never used in `forward`; official SEAN checkpoints carry its running statistics,
    so it exists only to keep those checkpoints loadable with `strict=True`.
    """

    def __init__(self, norm_nc: int, label_nc: int, hidden: int = 128) -> None:
        super().__init__()
        self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, hidden, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, norm_nc, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, norm_nc, 3, padding=1)

    def forward(self, masks: Tensor) -> tuple[Tensor, Tensor]:
        """masks: [B, label_nc, H, W] at the activation's size -> (gamma, beta), each [B, norm_nc, H, W]."""
        hidden = self.mlp_shared(masks)
        return self.mlp_gamma(hidden), self.mlp_beta(hidden)


class SEANNorm(nn.Module):
    """Noise + BatchNorm (no affine), then a modulation that blends per-class styles with SPADE.

    The style branch turns each class code into a style map (per-class Linear + ReLU painted over the class
    region), and 3x3 convs turn it into gamma/beta. These are blended with SPADE's gamma/beta by
    sigmoid(blending_*), 0.5 at init. With `use_style=False` (SEAN's last block) only SPADE modulates;
    the blending scalars are then unused but kept, because official checkpoints contain them.

    Args:
        norm_nc: channels of the normalised activation.
        label_nc: C, number of mask channels.
        style_dim: size of a class style code.
        use_style: add the style branch.
        spade_hidden: width of SPADE's shared conv.
    """

    def __init__(
        self, norm_nc: int, label_nc: int, style_dim: int = 512, *, use_style: bool = True, spade_hidden: int = 128
    ) -> None:
        super().__init__()
        self.use_style = use_style
        self.blending_gamma = nn.Parameter(torch.zeros(1))
        self.blending_beta = nn.Parameter(torch.zeros(1))
        self.noise_var = nn.Parameter(torch.zeros(norm_nc))  # per-channel scale of the per-pixel noise
        self.Spade = SPADE(norm_nc, label_nc, spade_hidden)
        self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
        if use_style:
            self.style_proj = PerClassLinear(label_nc, style_dim, style_dim)
            self.conv_gamma = nn.Conv2d(style_dim, norm_nc, 3, padding=1)
            self.conv_beta = nn.Conv2d(style_dim, norm_nc, 3, padding=1)
            self.register_state_dict_post_hook(_split_style_proj)
            self.register_load_state_dict_pre_hook(_stack_style_proj)

    def forward(
        self, x: Tensor, masks: Tensor, style_codes: Tensor | None, generator: torch.Generator | None = None
    ) -> Tensor:
        """Modulate x.

        Args:
            x: [B, norm_nc, H, W] activation.
            masks: [B, C, H', W'] one-hot; resized (nearest) to H x W here.
            style_codes: [B, C, style_dim]; ignored (may be None) when `use_style` is False.
            generator: optional RNG for the noise (must live on x's device).

        Returns:
            [B, norm_nc, H, W].
        """
        B, C, H, W = x.shape
        noise = torch.randn(B, 1, H, W, generator=generator, device=x.device, dtype=x.dtype)
        normalized = self.param_free_norm(x + noise * self.noise_var.view(1, C, 1, 1))
        masks = F.interpolate(masks, size=(H, W), mode="nearest")
        gamma, beta = self.Spade(masks)
        if self.use_style:
            if style_codes is None:
                raise ValueError("SEANNorm with use_style=True needs style_codes [B, C, style_dim], got None")
            style_map = broadcast_styles(F.relu(self.style_proj(style_codes)), masks)  # [B, style_dim, H, W]
            alpha_gamma, alpha_beta = torch.sigmoid(self.blending_gamma), torch.sigmoid(self.blending_beta)
            gamma = alpha_gamma * self.conv_gamma(style_map) + (1 - alpha_gamma) * gamma
            beta = alpha_beta * self.conv_beta(style_map) + (1 - alpha_beta) * beta
        return normalized * (1 + gamma) + beta


def _split_style_proj(module: nn.Module, state_dict: dict[str, Any], prefix: str, local_metadata: Any) -> None:
    """state_dict post-hook: write the stacked per-class Linear as official `fc_mu{c}.weight/bias` keys."""
    weight = state_dict.pop(f"{prefix}style_proj.weight")
    bias = state_dict.pop(f"{prefix}style_proj.bias")
    for c in range(weight.shape[0]):
        state_dict[f"{prefix}{OFFICIAL_FC_PREFIX}{c}.weight"] = weight[c]
        state_dict[f"{prefix}{OFFICIAL_FC_PREFIX}{c}.bias"] = bias[c]


def _stack_style_proj(module: nn.Module, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """load_state_dict pre-hook: stack official `fc_mu{c}` keys into `style_proj`.

    Incomplete sets are left alone, so a strict load reports them as unexpected and `style_proj` as missing.
    """
    names = [f"{prefix}{OFFICIAL_FC_PREFIX}{c}" for c in range(module.style_proj.weight.shape[0])]
    if not all(f"{n}.weight" in state_dict and f"{n}.bias" in state_dict for n in names):
        return
    for part in ("weight", "bias"):
        state_dict[f"{prefix}style_proj.{part}"] = torch.stack([state_dict.pop(f"{n}.{part}") for n in names])

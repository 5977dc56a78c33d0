"""SEAN's training losses: hinge GAN, discriminator feature matching, VGG19 perceptual loss.

Discriminator outputs are nested lists as returned by `MultiscaleDiscriminator`: per scale, the list of
layer outputs whose last entry is the patch prediction.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

logger = logging.getLogger(__name__)

VGG_SLICE_ENDS = (2, 7, 12, 21, 30)  # relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 in vgg19.features
VGG_LAYER_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)

MultiscaleOutputs = Sequence[Sequence[Tensor]]


def hinge_loss_d(real_outputs: MultiscaleOutputs, fake_outputs: MultiscaleOutputs) -> Tensor:
    """Discriminator hinge loss, mean(relu(1 - real)) + mean(relu(1 + fake)), each averaged over scales."""
    real = _mean_over_scales(real_outputs, lambda p: F.relu(1 - p).mean())
    fake = _mean_over_scales(fake_outputs, lambda p: F.relu(1 + p).mean())
    return real + fake


def hinge_loss_g(fake_outputs: MultiscaleOutputs) -> Tensor:
    """Generator hinge loss, -mean(fake), averaged over scales."""
    return _mean_over_scales(fake_outputs, lambda p: -p.mean())


def _mean_over_scales(outputs: MultiscaleOutputs, loss_fn: Callable[[Tensor], Tensor]) -> Tensor:
    """Mean over scales of `loss_fn(prediction)`; the prediction is each scale's last output."""
    if len(outputs) == 0:
        raise ValueError("discriminator outputs are empty")
    return torch.stack([loss_fn(scale[-1]) for scale in outputs]).mean()


def feature_matching_loss(
    real_outputs: MultiscaleOutputs, fake_outputs: MultiscaleOutputs, weight: float = 10.0
) -> Tensor:
    """pix2pixHD feature matching: L1 between fake and (detached) real intermediate discriminator features.

    Summed over intermediate layers (the prediction is excluded), averaged over scales, times `weight`.
    """
    if len(real_outputs) != len(fake_outputs) or len(real_outputs) == 0:
        raise ValueError(f"need the same non-zero number of scales, got {len(real_outputs)} and {len(fake_outputs)}")
    per_scale = [
        sum(F.l1_loss(fake, real.detach()) for real, fake in zip(real_scale[:-1], fake_scale[:-1], strict=True))
        for real_scale, fake_scale in zip(real_outputs, fake_outputs)
    ]
    return weight * torch.stack(per_scale).mean()


class VGGPerceptualLoss(nn.Module):
    """Weighted L1 between VGG19 features (relu1_1 ... relu5_1) of a fake and a real image.

    Weights come only from a local file (a torchvision `vgg19` state dict, e.g. vgg19-dcbb9e9d.pth; only
    `features.0` .. `features.29` are used). Nothing is downloaded. As in SPADE/SEAN, images in [-1, 1] go in
    without ImageNet normalisation. The VGG is frozen.

    Args:
        weights_path: path of the state dict file.
    """

    def __init__(self, weights_path: str | os.PathLike[str]) -> None:
        super().__init__()
        path = Path(weights_path)
        if not path.is_file():
            raise FileNotFoundError(f"VGG19 weights file not found: {path}")
        state = torch.load(path, map_location="cpu", weights_only=True)
        features = {
            key.removeprefix("features."): value
            for key, value in state.items()
            if key.startswith("features.") and int(key.split(".")[1]) < VGG_SLICE_ENDS[-1]
        }
        with torch.device("meta"):  # skip the random init of 140M parameters that are replaced right away
            layers = torchvision.models.vgg19(weights=None).features[: VGG_SLICE_ENDS[-1]]
        try:
            layers.load_state_dict(features, assign=True)
        except RuntimeError as err:
            raise ValueError(f"{path} is not a torchvision vgg19 state dict: {err}") from err
        self.slices = nn.ModuleList(layers[start:end] for start, end in pairwise((0, *VGG_SLICE_ENDS)))
        self.requires_grad_(False)
        self.eval()

    def extract(self, image: Tensor) -> list[Tensor]:
        """image: [B, 3, H, W] -> the five feature maps."""
        feats = []
        for vgg_slice in self.slices:
            image = vgg_slice(image)
            feats.append(image)
        return feats

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        """fake, real: [B, 3, H, W] in [-1, 1] -> scalar; gradients flow to `fake` only."""
        with torch.no_grad():
            real_feats = self.extract(real)
        fake_feats = self.extract(fake)
        return sum(w * F.l1_loss(f, r) for w, f, r in zip(VGG_LAYER_WEIGHTS, fake_feats, real_feats, strict=True))


def build_vgg_loss(weights_path: str | os.PathLike[str] | None) -> VGGPerceptualLoss | None:
    """VGGPerceptualLoss from a local file, or None (one warning) when no path is given or the file is absent."""
    if weights_path is None or not Path(weights_path).is_file():
        logger.warning("VGG19 weights not found at %s: VGG perceptual loss is off", weights_path)
        return None
    return VGGPerceptualLoss(weights_path)

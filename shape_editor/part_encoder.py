"""Part encoder: one shared MLP maps every part channel, on its own, to a Gaussian posterior.

Sharing the MLP across parts is what lets any part be re-sampled, swapped or interpolated on its own:
each part's shape lives in its own code. Parts are folded into the batch, so all P parts of all B
masks go through the MLP in one matmul. (`shape_editor/fast.py` runs the first layer from label ids
without building the one-hot; it is tested against this module.)
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class PartEncoder(nn.Module):
    """Shared per-part MLP: resize to enc_size^2 -> (Linear -> ReLU) per width -> heads mu, logvar.

    Args:
        enc_size: each part channel is nearest-resized to enc_size x enc_size (identity if already that size).
        widths: hidden widths of the MLP, e.g. (1024, 512, 256).
        latent_dim: D, size of each part code.
    """

    def __init__(self, enc_size: int, widths: Sequence[int], latent_dim: int) -> None:
        super().__init__()
        self.enc_size = enc_size
        dims = (enc_size * enc_size, *widths)
        layers: list[nn.Module] = []
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(d_in, d_out), nn.ReLU(inplace=True)]
        self.mlp = nn.Sequential(*layers)
        self.mu = nn.Linear(dims[-1], latent_dim)
        self.logvar = nn.Linear(dims[-1], latent_dim)

    def forward(self, parts: Tensor) -> tuple[Tensor, Tensor]:
        """Encode every part channel independently.

        Args:
            parts: [B, P, H, W] binary part masks (the one-hot mask without background), float.

        Returns:
            (mu, logvar), each [B, P, D].
        """
        B, P, H, W = parts.shape
        if (H, W) != (self.enc_size, self.enc_size):
            parts = F.interpolate(parts, size=(self.enc_size, self.enc_size), mode="nearest")
        h = self.mlp(parts.reshape(B * P, self.enc_size * self.enc_size))  # (B*P, widths[-1])
        return self.mu(h).view(B, P, -1), self.logvar(h).view(B, P, -1)  # (B, P, D) each


def sample_latents(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Reparameterised sample z = mu + eps * exp(logvar / 2), eps ~ N(0, I), differentiable in mu and logvar.

    Args:
        mu, logvar: [..., D] posterior parameters.
        generator: optional RNG (on mu's device) so a sample can be reproduced exactly.

    Returns:
        z: same shape, device and dtype as mu.
    """
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return torch.addcmul(mu, eps, torch.exp(0.5 * logvar))

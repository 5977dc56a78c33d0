"""Part encoder: one shared MLP maps every part channel, on its own, to a Gaussian posterior.

Sharing the MLP across parts is what lets any part be re-sampled, swapped or interpolated on its own:
each part's shape lives in its own code. Parts are folded into the batch, so all P parts of all B
masks go through the MLP in one matmul.

At inference from label ids (`encode_ids`), the first layer skips the matmul: a binary part channel
times the weight is the sum of the weight columns of the part's pixels, and the parts split the pixels,
so all P parts together read each column at most once instead of P times (`F.embedding_bag`).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from shape_editor.derived_cache import CachesDerivedWeights, DerivedCache, caching_allowed
from shape_editor.masks import labels_to_onehot


class PartEncoder(CachesDerivedWeights):
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
        self.pixel_rows: DerivedCache[Tensor] = DerivedCache()  # first weight as [pixels, widths[0]], inference

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

    def encode_ids(self, ids: Tensor, num_parts: int) -> tuple[Tensor, Tensor]:
        """`forward` of the one-hot parts 1..P of a label map, without building the one-hot.

        Equal to `forward(one_hot(ids)[:, 1:])` up to float summation order. In eval mode without autograd
        the first layer gathers weight columns (see the module docstring); otherwise it runs the dense path.

        Args:
            ids: [B, enc_size, enc_size] integer ids in [0, num_parts] (0 is background and is not encoded).
            num_parts: P.

        Returns:
            (mu, logvar), each [B, P, D].
        """
        if not caching_allowed(self.training):  # the gather pays off only with the transposed weight cached
            return self(labels_to_onehot(ids, num_parts + 1, self.mu.weight.dtype)[:, 1:])
        B = ids.shape[0]
        first, rest = self.mlp[0], self.mlp[1:]
        flat = ids.reshape(B, -1).long()  # (B, pixels)
        foreground = flat > 0
        bags = (torch.arange(B, device=ids.device)[:, None] * num_parts + flat - 1)[foreground]  # (b, part) per pixel
        pixels = torch.arange(flat.shape[1], device=ids.device).expand(B, -1)[foreground]
        bags, order = torch.sort(bags, stable=True)
        counts = torch.bincount(bags, minlength=B * num_parts)
        rows = self.pixel_rows.get([first.weight], lambda: first.weight.t().contiguous(), training=self.training)
        h = F.embedding_bag(pixels[order], rows, torch.cumsum(counts, 0) - counts, mode="sum") + first.bias
        h = rest(h)  # (B*P, widths[-1])
        return self.mu(h).view(B, num_parts, -1), self.logvar(h).view(B, num_parts, -1)


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

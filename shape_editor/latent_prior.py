"""The aggregate posterior of the part codes as a per-part Gaussian, and how far it is from N(0, I).

Trained with a small KL weight, the posterior means mu_p of the training masks do not fill N(0, I):
a code drawn from N(0, I) can lie where the decoder has never been, and `generate` then draws an
invalid part. `LatentPrior.fit` fits, per part, a Gaussian N(m_p, S_p) to the mu_p of the masks that
contain the part; `generate` can draw from it instead (eps ~ N(0, I), z = m_p + L_p eps with
L_p L_p^T = S_p, so the same seed gives the same eps under either prior).

S_p is the sample covariance shrunk towards its diagonal, S = (1 - a) C + a diag(C), with the
intensity a estimated from the data (Schafer & Strimmer 2005, target "D"): with ~1-2k masks and
D = 256 the plain sample covariance is noisy and, below D masks, singular; the shrunk one is always
positive definite. `diagonal=True` keeps only the variances (a = 1).

Saved as plain tensors (`torch.load(weights_only=True)`), with the content hash of the checkpoint it
was fitted from, so that a fit of other weights is refused. Shapes: N masks, P parts, D latent size.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor

from shape_editor.checkpoint_io import atomic_torch_save, load_checkpoint

FORMAT_VERSION = 1
MIN_PRESENT = 8  # a part present in fewer masks is fitted on every mask's code
JITTER = 1e-6  # relative diagonal jitter, so a dimension with zero variance stays invertible
FIELDS = ("mean", "scale_tril", "shrinkage", "samples", "norm_mean", "norm_std")


def shrinkage_intensity(x: Tensor) -> Tensor:
    """Schafer-Strimmer estimate of a in (1 - a) C + a diag(C): x [N, D] -> scalar in [0, 1] (float64).

    a = sum_{i != j} Var(r_ij) / sum_{i != j} r_ij^2 over the correlations r of the standardised data;
    Var(r_ij) comes from the products w_kij = x_ki x_kj, whose second moments are one matmul.
    """
    N = x.shape[0]
    std = x.std(0).clamp_min(1e-12)
    xs = (x - x.mean(0)) / std  # (N, D) standardised
    w_mean = xs.T @ xs / N  # (D, D) mean of w_kij
    r = w_mean * N / (N - 1)  # (D, D) correlations
    var_r = N / (N - 1) ** 3 * ((xs.square().T @ xs.square()) - N * w_mean.square())
    off = ~torch.eye(x.shape[1], dtype=torch.bool, device=x.device)
    denominator = r[off].square().sum()
    if denominator == 0:
        return torch.ones((), dtype=x.dtype)
    return (var_r[off].sum() / denominator).clamp(0, 1)


def shrunk_covariance(x: Tensor, diagonal: bool = False) -> tuple[Tensor, Tensor]:
    """(covariance [D, D], intensity a) of x [N, D], shrunk towards the diagonal (float64)."""
    cov = torch.cov(x.T).reshape(x.shape[1], x.shape[1])
    a = torch.ones((), dtype=x.dtype) if diagonal else shrinkage_intensity(x)
    diag = torch.diag(cov.diagonal())
    shrunk = (1 - a) * cov + a * diag
    jitter = JITTER * cov.diagonal().mean().clamp_min(1e-12)
    return shrunk + jitter * torch.eye(x.shape[1], dtype=x.dtype), a


class LatentPrior(NamedTuple):
    """Per-part Gaussians N(mean_p, scale_tril_p scale_tril_p^T) fitted to training codes (on the CPU, float32).

    Row p of every tensor belongs to code index p (standard part id p + 1).
    """

    mean: Tensor  # [P, D]
    scale_tril: Tensor  # [P, D, D] lower Cholesky factor of the covariance
    shrinkage: Tensor  # [P] intensity a of the shrinkage towards the diagonal (1 = diagonal)
    samples: Tensor  # [P] masks whose codes were fitted
    norm_mean: Tensor  # [P] mean |mu_p| over those masks
    norm_std: Tensor  # [P] standard deviation of |mu_p|
    checkpoint: str = ""  # content hash of the weights the codes came from

    @classmethod
    def fit(
        cls, mus: Tensor, present: Tensor | None = None, *, diagonal: bool = False, checkpoint: str = ""
    ) -> LatentPrior:
        """Fit every part's Gaussian to its codes.

        Args:
            mus: [N, P, D] posterior means of N training masks.
            present: [N, P] bool, the part is in the mask; a part is fitted on the masks that contain it
                (on all N when fewer than MIN_PRESENT do). None: every code counts.
            diagonal: variances only, no correlations.
            checkpoint: `file_digest` of the weights, stored to refuse a stale fit later.
        """
        N, P, D = mus.shape
        if N < 2:
            raise ValueError(f"a latent prior needs the codes of at least 2 masks, got {N}")
        present = torch.ones(N, P, dtype=torch.bool) if present is None else present.cpu().bool()
        mus = mus.detach().cpu().double()
        rows = []
        for p in range(P):  # one D x D fit per part
            use = present[:, p] if int(present[:, p].sum()) >= MIN_PRESENT else torch.ones(N, dtype=torch.bool)
            x = mus[use, p]  # (n, D)
            cov, a = shrunk_covariance(x, diagonal)
            norms = x.norm(dim=1)
            rows.append(
                (x.mean(0), torch.linalg.cholesky(cov), a, torch.tensor(float(x.shape[0])), norms.mean(), norms.std())
            )
        mean, tril, a, samples, norm_mean, norm_std = (torch.stack(column).float() for column in zip(*rows))
        return cls(mean, tril, a, samples.long(), norm_mean, norm_std, checkpoint)

    @property
    def latent_dim(self) -> int:
        return self.mean.shape[1]

    def std(self) -> Tensor:
        """[P, D] standard deviation of every code dimension (the unit of `--perturb_scale aggregate`)."""
        return self.scale_tril.square().sum(-1).sqrt()

    def transform(self, eps: Tensor, index: list[int]) -> Tensor:
        """Map standard noise to the fitted Gaussians: eps [..., Q, D] for code indices `index` -> z, same shape."""
        mean = self.mean[index].to(eps)  # (Q, D)
        tril = self.scale_tril[index].to(eps)  # (Q, D, D)
        return mean + torch.einsum("qde,...qe->...qd", tril, eps)

    def sample(self, part: int, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n codes of standard part id `part` (1..P) drawn from its Gaussian: [n, D] on the CPU."""
        if not 1 <= part <= self.mean.shape[0]:
            raise ValueError(f"part id {part} is outside 1..{self.mean.shape[0]}")
        eps = torch.randn((n, 1, self.latent_dim), generator=generator)
        return self.transform(eps, [part - 1])[:, 0]

    def state_dict(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "checkpoint": self.checkpoint, **{f: getattr(self, f) for f in FIELDS}}

    def save(self, path: str | Path) -> Path:
        atomic_torch_save(self.state_dict(), path)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, checkpoint: str | None = None) -> LatentPrior:
        """Read a file written by `save` (weights only).

        Raises:
            ValueError: not a latent-prior file, another format version, or fitted from another
                checkpoint than `checkpoint` (a content hash; None accepts any).
        """
        state = load_checkpoint(path)
        if not isinstance(state, dict) or state.get("version") != FORMAT_VERSION or "scale_tril" not in state:
            raise ValueError(f"{path} is not a latent-prior file of format {FORMAT_VERSION}")
        if checkpoint is not None and state["checkpoint"] != checkpoint:
            raise ValueError(
                f"{path} was fitted from other weights (checkpoint {state['checkpoint'][:12]}, "
                f"not {checkpoint[:12]}): refit it"
            )
        return cls(**{f: state[f] for f in FIELDS}, checkpoint=str(state["checkpoint"]))


def kl_to_standard(mean: Tensor, cov: Tensor) -> Tensor:
    """KL(N(mean, cov) || N(0, I)) in nats, batched: mean [..., D], cov [..., D, D] -> [...].

    0.5 * (tr cov + |mean|^2 - D - log det cov).
    """
    D = mean.shape[-1]
    logdet = 2 * torch.linalg.cholesky(cov).diagonal(dim1=-2, dim2=-1).log().sum(-1)
    return 0.5 * (cov.diagonal(dim1=-2, dim2=-1).sum(-1) + mean.square().sum(-1) - D - logdet)


def prior_mismatch(prior: LatentPrior) -> dict[str, Tensor | float]:
    """How far the aggregate posterior is from N(0, I), per part ([P] each).

    `kl_to_standard`: KL of the fitted Gaussian from N(0, I) in nats (0 when they agree);
    `code_norm_mean` / `code_norm_std`: |mu_p| over the fitting set, against `sqrt_latent_dim`, the
    norm of a typical N(0, I) draw (its std is about 0.7).
    """
    tril = prior.scale_tril.double()
    cov = tril @ tril.transpose(-1, -2)  # (P, D, D)
    return {
        "kl_to_standard": kl_to_standard(prior.mean.double(), cov).float(),
        "code_norm_mean": prior.norm_mean,
        "code_norm_std": prior.norm_std,
        "sqrt_latent_dim": math.sqrt(prior.latent_dim),
    }

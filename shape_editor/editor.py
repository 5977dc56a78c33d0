"""Part edits on a trained shape VAE (docs/ARCHITECTURE.md, "Edits"), usable from Python without any options object.

Every edit works on the *unmixed* part codes (the posterior means mu, [B, P, D]); `ShapeVAE.decode`
then applies the LSTM mixing and the conv decoder, so the neighbours of an edited part can adapt.
Parts are given by standard id (1..P); part p has code index p - 1. Background (id 0) has no code.

Shapes: B inputs, K variants per input (samples or interpolation steps), P parts, D latent size,
C classes, H x W pixels. The `*_codes` functions are pure (codes in, codes out) so that "only the
requested parts change" can be checked on the codes themselves; `MaskEditor` encodes, edits and
decodes all B x K variants as one batch.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch import Tensor

from shape_editor.fast import FastShapeVAE, inference_model
from shape_editor.latent_prior import LatentPrior
from shape_editor.masks import logits_to_labels
from shape_editor.shape_vae import ShapeVAE

EDIT_MODES = ("reconstruct", "generate", "perturb", "interpolate", "swap", "all")
SAMPLE_FROM = ("standard", "aggregate")  # N(0, I) as in the paper, or the fitted aggregate posterior


class EditOutput(NamedTuple):
    """What an edit returns: the decoded codes, their logits and argmax masks, and the alphas if any."""

    codes: Tensor  # [B, K, P, D] unmixed codes that were decoded
    logits: Tensor  # [B, K, C, H, W]
    masks: Tensor  # [B, K, H, W] int64 class ids (argmax over C)
    alphas: Tensor | None = None  # [K] interpolation weights (interpolate / swap), else None


def part_indices(parts: Sequence[int], num_parts: int) -> list[int]:
    """Standard part ids (1..P) -> sorted unique code indices (0..P-1).

    Raises:
        ValueError: no part, background (id 0), or an id outside 1..P; the message names the ids.
    """
    ids = [int(p) for p in parts]
    if not ids:
        raise ValueError("no part to edit: give at least one part id in 1..P")
    if 0 in ids:
        raise ValueError(
            "background (id 0) is not an editable part: it has no code (it is what no part covers); "
            f"choose part ids 1..{num_parts}"
        )
    bad = sorted({p for p in ids if not 1 <= p <= num_parts})
    if bad:
        raise ValueError(f"part ids {bad} are outside 1..{num_parts}")
    return sorted({p - 1 for p in ids})


def all_parts(num_parts: int) -> list[int]:
    """Every editable part id, 1..P."""
    return list(range(1, num_parts + 1))


def interpolation_alphas(n_steps: int) -> Tensor:
    """`n_steps` evenly spaced alphas from 0 to 1 inclusive (float32 [n_steps])."""
    if n_steps < 2:
        raise ValueError(f"n_steps={n_steps}: interpolation needs at least 2 steps (alpha 0 and 1)")
    return torch.linspace(0.0, 1.0, n_steps)


def _noise(mu: Tensor, n_samples: int, num: int, generator: torch.Generator | None) -> Tensor:
    """eps ~ N(0, I) of shape [B, K, num, D], on mu's device and dtype."""
    if n_samples < 1:
        raise ValueError(f"n_samples={n_samples} must be at least 1")
    B, _, D = mu.shape
    return torch.randn((B, n_samples, num, D), generator=generator, device=mu.device, dtype=mu.dtype)


def generate_codes(
    mu: Tensor,
    parts: Sequence[int],
    n_samples: int = 1,
    generator: torch.Generator | None = None,
    prior: LatentPrior | None = None,
    temperature: float = 1.0,
) -> Tensor:
    """Replace the codes of `parts` by z ~ N(0, I), or by z ~ `prior` when given, K times: [B, P, D] -> [B, K, P, D].

    Both priors map the same eps, so a seed draws corresponding samples under either. `temperature` scales
    eps (the spread around the prior's mean): below 1 trades diversity for validity, 0 draws the mean.
    """
    index = part_indices(parts, mu.shape[1])
    codes = mu[:, None].repeat(1, n_samples, 1, 1)  # (B, K, P, D)
    eps = temperature * _noise(mu, n_samples, len(index), generator)  # (B, K, Q, D)
    codes[:, :, index] = eps if prior is None else prior.transform(eps, index)
    return codes


def perturb_codes(
    mu: Tensor,
    parts: Sequence[int],
    strength: float,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
    scale: Tensor | None = None,
) -> Tensor:
    """mu_p + strength * scale_p * eps for the parts p in `parts`, K times: [B, P, D] -> [B, K, P, D].

    Args:
        scale: [P, D] per-dimension unit of the strength (e.g. `LatentPrior.std()`, the spread of the
            training codes); None: 1, the unit of N(0, I).
    """
    index = part_indices(parts, mu.shape[1])
    codes = mu[:, None].repeat(1, n_samples, 1, 1)  # (B, K, P, D)
    eps = _noise(mu, n_samples, len(index), generator)  # (B, K, Q, D)
    codes[:, :, index] += strength * (eps if scale is None else scale[index].to(eps) * eps)
    return codes


def interpolate_codes(mu: Tensor, target_mu: Tensor, parts: Sequence[int], alphas: Tensor) -> Tensor:
    """alpha * code_p(target) + (1 - alpha) * code_p(source) for p in `parts`, one variant per alpha.

    Exact at the ends for finite codes: alpha = 0 gives the source codes, alpha = 1 the target's.

    Args:
        mu: [B, P, D] source codes.
        target_mu: [B, P, D] (or [1, P, D], shared) target codes.
        alphas: [S] weights in [0, 1].

    Returns:
        [B, S, P, D].
    """
    if target_mu.shape[1:] != mu.shape[1:] or target_mu.shape[0] not in (1, mu.shape[0]):
        raise ValueError(f"target codes {tuple(target_mu.shape)} do not match source codes {tuple(mu.shape)}")
    if alphas.dim() != 1 or alphas.min() < 0 or alphas.max() > 1:
        raise ValueError(f"alphas must be a 1-d tensor in [0, 1], got {alphas.tolist()}")
    index = part_indices(parts, mu.shape[1])
    edited = torch.zeros(mu.shape[1], dtype=torch.bool, device=mu.device)
    edited[index] = True
    a = alphas.to(mu)[None, :, None, None]  # (1, S, 1, 1)
    mixed = a * target_mu[:, None] + (1 - a) * mu[:, None]  # (B, S, P, D)
    return torch.where(edited[None, None, :, None], mixed, mu[:, None].expand_as(mixed))


def swap_codes(mu: Tensor, target_mu: Tensor, parts: Sequence[int]) -> Tensor:
    """Take the codes of `parts` from the target (interpolation at alpha = 1): [B, P, D] -> [B, 1, P, D]."""
    return interpolate_codes(mu, target_mu, parts, torch.ones(1))


class MaskEditor:
    """Encode label maps, edit their part codes, decode every variant in one batch (inference only).

    Args:
        model: a trained `ShapeVAE` (its fast inference object is built here, `compile_for_inference`;
            the model itself is neither kept nor changed) or an already built `FastShapeVAE`. Inputs are
            moved to its device.
        prior: the aggregate posterior of the training codes (`LatentPrior.fit`); None keeps N(0, I).
        sample_from: "aggregate" draws `generate` / `sample` codes from `prior`, "standard" from N(0, I).
        scale_perturb: `perturb` strengths are in units of the prior's per-dimension std, not of N(0, I).
        temperature: scale of the noise of `generate` / `sample` draws (`generate_codes`).
    """

    def __init__(
        self,
        model: ShapeVAE | FastShapeVAE,
        prior: LatentPrior | None = None,
        *,
        sample_from: str = "standard",
        scale_perturb: bool = False,
        temperature: float = 1.0,
    ) -> None:
        if sample_from not in SAMPLE_FROM:
            raise ValueError(f"sample_from={sample_from!r} is invalid; choose one of {SAMPLE_FROM}")
        if not temperature >= 0:
            raise ValueError(f"temperature={temperature} must be >= 0")
        if prior is None and (sample_from == "aggregate" or scale_perturb):
            raise ValueError("sampling from the aggregate posterior or scaling perturb by it needs a fitted prior")
        self.model = inference_model(model)
        self.sample_prior = prior if sample_from == "aggregate" else None
        self.perturb_scale = prior.std() if prior is not None and scale_perturb else None
        self.temperature = temperature

    @property
    def num_parts(self) -> int:
        return self.model.config.num_parts

    @property
    def device(self) -> torch.device:
        return self.model.device

    @torch.inference_mode()
    def encode(self, labels: Tensor) -> Tensor:
        """Posterior means: labels [B, 1, H, W] or [B, H, W] ids -> mu [B, P, D]."""
        return self.model.encode(labels.to(self.device))[0]  # ids: one-hot-free at the encoder size

    @torch.inference_mode()
    def decode(self, codes: Tensor, alphas: Tensor | None = None) -> EditOutput:
        """Decode [B, K, P, D] codes as one batch of B*K masks."""
        B, K, P, D = codes.shape
        logits = self.model.decode(codes.reshape(B * K, P, D))  # (B*K, C, H, W)
        masks = logits_to_labels(logits)  # (B*K, H, W)
        return EditOutput(codes, logits.view(B, K, *logits.shape[1:]), masks.view(B, K, *masks.shape[1:]), alphas)

    @torch.inference_mode()
    def reconstruct(self, labels: Tensor) -> EditOutput:
        """decode(mu) of every input, K = 1."""
        return self.decode(self.encode(labels)[:, None])

    @torch.inference_mode()
    def generate(
        self, labels: Tensor, parts: Sequence[int], n_samples: int = 1, generator: torch.Generator | None = None
    ) -> EditOutput:
        """Redraw `parts` from the sampling prior (N(0, I) or the aggregate posterior), `n_samples` times per input."""
        return self.decode(
            generate_codes(self.encode(labels), parts, n_samples, generator, self.sample_prior, self.temperature)
        )

    @torch.inference_mode()
    def perturb(
        self,
        labels: Tensor,
        parts: Sequence[int],
        strength: float = 1.0,
        n_samples: int = 1,
        generator: torch.Generator | None = None,
    ) -> EditOutput:
        """Move `parts` to mu + strength * eps (eps scaled per dimension if so built), `n_samples` times per input."""
        return self.decode(
            perturb_codes(self.encode(labels), parts, strength, n_samples, generator, self.perturb_scale)
        )

    @torch.inference_mode()
    def interpolate(self, labels: Tensor, target_labels: Tensor, parts: Sequence[int], n_steps: int = 5) -> EditOutput:
        """The alpha strip 0..1 (`n_steps` values) from each input's parts to the target's, decoded at once."""
        alphas = interpolation_alphas(n_steps)
        codes = interpolate_codes(self.encode(labels), self.encode(target_labels), parts, alphas)
        return self.decode(codes, alphas)

    @torch.inference_mode()
    def swap(self, labels: Tensor, target_labels: Tensor, parts: Sequence[int]) -> EditOutput:
        """Put the target's `parts` into each input (alpha = 1)."""
        return self.decode(swap_codes(self.encode(labels), self.encode(target_labels), parts), torch.ones(1))

    @torch.inference_mode()
    def sample(self, num_masks: int, n_samples: int = 1, generator: torch.Generator | None = None) -> EditOutput:
        """Whole masks from noise (mode `all`): every part's code from the sampling prior; [num_masks, K, ...] outputs."""
        mu = torch.zeros(
            num_masks, self.num_parts, self.model.config.latent_dim, device=self.device, dtype=self.model.dtype
        )
        return self.decode(
            generate_codes(mu, all_parts(self.num_parts), n_samples, generator, self.sample_prior, self.temperature)
        )

    @torch.inference_mode()
    def edit(
        self,
        mode: str,
        labels: Tensor,
        parts: Sequence[int] = (),
        *,
        target_labels: Tensor | None = None,
        n_samples: int = 1,
        n_steps: int = 5,
        strength: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> EditOutput:
        """Run the edit named `mode` (one of EDIT_MODES) with the arguments that mode uses."""
        if mode not in EDIT_MODES:
            raise ValueError(f"edit mode {mode!r} is invalid; choose one of {EDIT_MODES}")
        if mode in ("interpolate", "swap"):
            if target_labels is None:
                raise ValueError(f"edit mode {mode!r} needs target_labels")
            if mode == "interpolate":
                return self.interpolate(labels, target_labels, parts, n_steps)
            return self.swap(labels, target_labels, parts)
        if mode == "reconstruct":
            return self.reconstruct(labels)
        if mode == "generate":
            return self.generate(labels, parts, n_samples, generator)
        if mode == "perturb":
            return self.perturb(labels, parts, strength, n_samples, generator)
        return self.sample(labels.shape[0], n_samples, generator)

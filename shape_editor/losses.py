"""Training losses of the shape VAE: class-weighted cross-entropy (paper Eq. 1) and the Gaussian KL term.

All functions are pure: tensors in, tensors out, an explicit `reduction`, no state.
Class weights come from the data: accumulate `count_class_pixels` over the training set, then
`class_weights_from_shares(class_pixel_shares(counts))`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from shape_editor.masks import check_label_range

if TYPE_CHECKING:
    from shape_editor.shape_vae import ShapeVAEOutput

CE_REDUCTIONS = ("mean", "sum", "none")
KL_REDUCTIONS = ("batchmean", "sum", "none")


def _check_reduction(reduction: str, allowed: tuple[str, ...]) -> None:
    if reduction not in allowed:
        raise ValueError(f"reduction={reduction!r} is invalid; choose one of {allowed}")


def count_class_pixels(labels: Tensor, num_classes: int) -> Tensor:
    """Pixels of each class in a batch of label maps; sum it over batches to cover a dataset.

    Args:
        labels: integer class ids of any shape (e.g. [B, 1, H, W]), in [0, num_classes).

    Returns:
        [C] int64 counts.
    """
    check_label_range(labels, num_classes)
    return torch.bincount(labels.reshape(-1).long(), minlength=num_classes)


def class_pixel_shares(counts: Tensor) -> Tensor:
    """Pixel share of every class, [C] counts -> [C] float64 shares summing to 1."""
    total = counts.sum()
    if total <= 0:
        raise ValueError(f"class pixel counts sum to {total.item()}; count some labels first")
    return counts.double() / total


def class_weights_from_shares(shares: Tensor) -> Tensor:
    """Paper Eq. 1: w_c = 1 - share_c, so rare classes (eyes, lips) weigh more than hair or background.

    Args:
        shares: [C] pixel share of every class over the training set, in [0, 1].

    Returns:
        [C] weights, same dtype as shares.
    """
    if shares.min() < 0 or shares.max() > 1:
        raise ValueError(f"shares must lie in [0, 1], got min {shares.min().item()}, max {shares.max().item()}")
    return 1.0 - shares


def weighted_cross_entropy(
    logits: Tensor, labels: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """Pixel-wise cross-entropy with optional class weights.

    With `reduction="mean"` this is PyTorch's weighted mean, sum_n w[y_n] * nll_n / sum_n w[y_n]
    (the normaliser is the total weight of the target pixels, not the pixel count), so plain CE is the
    special case w = 1 and the loss scale does not depend on how rare the classes of a batch are.

    Args:
        logits: [B, C, H, W] class logits.
        labels: [B, H, W] or [B, 1, H, W] integer class ids.
        weight: [C] class weights (e.g. `class_weights_from_shares`) or None for plain CE.
        reduction: "mean" (weighted mean, above), "sum" (sum_n w[y_n] * nll_n) or "none" ([B, H, W]).
    """
    _check_reduction(reduction, CE_REDUCTIONS)
    if labels.dim() == 4:
        labels = labels[:, 0]
    if weight is not None and weight.shape != (logits.shape[1],):
        raise ValueError(f"weight of shape {tuple(weight.shape)} does not match {logits.shape[1]} classes")
    weight = None if weight is None else weight.to(logits.dtype)
    return F.cross_entropy(logits, labels.long(), weight=weight, reduction=reduction)


def kl_divergence(mu: Tensor, logvar: Tensor, reduction: str = "batchmean") -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over every dim but the batch (parts and latent dims).

    Per element: 0.5 * (mu^2 + exp(logvar) - 1 - logvar).

    Args:
        mu, logvar: [B, P, D] (any [B, ...] works).
        reduction: "batchmean" (sum / B), "sum" (over the batch too) or "none" ([B]).
    """
    _check_reduction(reduction, KL_REDUCTIONS)
    per_sample = 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).flatten(1).sum(1)  # (B,)
    if reduction == "none":
        return per_sample
    return per_sample.sum() if reduction == "sum" else per_sample.mean()


def shape_vae_loss(
    output: ShapeVAEOutput, labels: Tensor, class_weights: Tensor | None, lambda_kl: float
) -> dict[str, Tensor]:
    """The training losses as a dict the trainer sums (SPADE style).

    Args:
        output: `ShapeVAE.forward` result (logits [B, C, H, W], mu and logvar [B, P, D]).
        labels: [B, H, W] or [B, 1, H, W] target ids.
        class_weights: [C] Eq. 1 weights, or None for plain CE (the `weighted_ce=False` ablation).
        lambda_kl: KL weight.

    Returns:
        {"CE": weighted-mean CE, "KL": lambda_kl * batch-mean KL}; KL is already scaled by lambda_kl.
    """
    return {
        "CE": weighted_cross_entropy(output.logits, labels, class_weights),
        "KL": lambda_kl * kl_divergence(output.mu, output.logvar),
    }

"""Training losses of the shape VAE: class-weighted cross-entropy, the Gaussian KL term, and soft Dice.

The paper trains with cross-entropy weighted by Eq. 1 (w_c = 1 - pixel share) plus lambda_kl * KL. Eq. 1 is
nearly uniform (0.7-1.0), so parts under 1 % of the pixels (eyes, brows, lips) carry almost no loss; the
other weightings and the Dice term are ours, for the `ours` training recipe (`shape_editor.recipe`).

All functions are pure: tensors in, tensors out, an explicit `reduction`, no state.
Class weights come from the data: accumulate `count_class_pixels` over the training set, then
`class_weights(class_pixel_shares(counts), scheme)`.
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
CLASS_WEIGHTINGS = ("eq1", "inverse_power", "median", "uniform")
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


def class_weights(shares: Tensor, scheme: str = "eq1", power: float = 0.5) -> Tensor:
    """[C] class weights from [C] pixel shares (`class_pixel_shares`).

    - "eq1": the paper's Eq. 1, 1 - share.
    - "inverse_power" (ours): share^-power, scaled so that the average pixel weighs 1 (sum_c share_c w_c = 1);
      power 0.5 lifts a part of 0.25 % of the pixels about 10x above hair or background.
    - "median" (ours): median-frequency balancing, median share of the present classes / share.
    - "uniform": 1 for every class (plain cross-entropy).
    Classes absent from the data (share 0) get the largest weight of a present class, so that a rare class
    missing from a small training set is not given an infinite weight.
    """
    if scheme not in CLASS_WEIGHTINGS:
        raise ValueError(f"class weighting {scheme!r} is unknown; choose one of {CLASS_WEIGHTINGS}")
    if scheme == "eq1":
        return class_weights_from_shares(shares)
    if scheme == "uniform":
        return torch.ones_like(shares)
    present = shares > 0
    if not present.any():
        raise ValueError("every class has pixel share 0; count some labels first")
    if scheme == "median":
        weights = shares[present].median() / shares.clamp_min(torch.finfo(shares.dtype).tiny)
    else:
        weights = shares.clamp_min(torch.finfo(shares.dtype).tiny) ** -power
        weights = weights / (weights * shares).sum()
    return torch.where(present, weights, weights[present].max())


def soft_dice_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """1 - mean soft Dice over the classes present in the batch's targets (ours, not the paper's).

    Dice_c = 2 sum_n p_nc y_nc / (sum_n p_nc + sum_n y_nc), with p the softmax and y the one-hot target, summed
    over every pixel of the batch. Each present class counts the same however few pixels it has, which is what
    thin parts (brows, eyes, lips) need; classes absent from the batch are left out rather than rewarded for
    predicting nothing.

    Args:
        logits: [B, C, H, W]; labels: [B, H, W] or [B, 1, H, W] integer ids.

    Returns:
        scalar loss in [0, 1].
    """
    if labels.dim() == 4:
        labels = labels[:, 0]
    labels = labels.long()
    num_classes = logits.shape[1]
    probs = logits.float().softmax(1)  # (B, C, H, W)
    target_probs = probs.gather(1, labels[:, None]).flatten()  # (B*H*W,) probability of each pixel's class
    overlap = torch.zeros(num_classes, device=logits.device).index_add(0, labels.flatten(), target_probs)
    target_pixels = torch.bincount(labels.flatten(), minlength=num_classes).to(probs.dtype)
    predicted = probs.sum((0, 2, 3))
    present = target_pixels > 0
    dice = 2 * overlap[present] / (predicted[present] + target_pixels[present])
    return 1 - dice.mean()


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
    output: ShapeVAEOutput, labels: Tensor, class_weights: Tensor | None, lambda_kl: float, lambda_dice: float = 0.0
) -> dict[str, Tensor]:
    """The training losses as a dict the trainer sums (SPADE style).

    Args:
        output: `ShapeVAE.forward` result (logits [B, C, H, W], mu and logvar [B, P, D]).
        labels: [B, H, W] or [B, 1, H, W] target ids.
        class_weights: [C] class weights (`class_weights`), or None for plain CE.
        lambda_kl: KL weight.
        lambda_dice: weight of `soft_dice_loss` (0, the paper's training, leaves it out).

    Returns:
        {"CE": weighted-mean CE, "KL": lambda_kl * batch-mean KL} and, with lambda_dice > 0, "Dice": lambda_dice *
        soft Dice; every term is already scaled by its weight.
    """
    losses = {
        "CE": weighted_cross_entropy(output.logits, labels, class_weights),
        "KL": lambda_kl * kl_divergence(output.mu, output.logvar),
    }
    if lambda_dice > 0:
        losses["Dice"] = lambda_dice * soft_dice_loss(output.logits, labels)
    return losses

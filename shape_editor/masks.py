"""Conversions between label maps (one class id per pixel) and the one-hot / logit masks the VAE uses."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def check_label_range(labels: Tensor, num_classes: int) -> None:
    """Raise ValueError naming the ids of `labels` that are not in [0, num_classes)."""
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"labels must be an integer tensor of class ids, got dtype {labels.dtype}")
    if labels.numel() == 0:
        return
    low, high = torch.aminmax(labels)  # one pass; the offending ids are only gathered on failure
    if low < 0 or high >= num_classes:
        values = torch.unique(labels[(labels < 0) | (labels >= num_classes)]).tolist()
        raise ValueError(f"label ids {values} are outside [0, {num_classes}) for num_classes={num_classes}")


def labels_to_onehot(labels: Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """One-hot encode a batch of label maps.

    Args:
        labels: [B, 1, H, W] or [B, H, W] integer class ids in [0, num_classes).
        num_classes: C.
        dtype: floating dtype of the result.

    Returns:
        [B, C, H, W] one-hot mask (contiguous, on labels' device).

    Raises:
        ValueError: if an id is out of range (the message lists the offending ids) or the shape is wrong.
    """
    if labels.dim() == 4 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.dim() != 3:
        raise ValueError(f"labels must be [B, 1, H, W] or [B, H, W], got shape {tuple(labels.shape)}")
    check_label_range(labels, num_classes)
    B, H, W = labels.shape
    onehot = torch.zeros(B, num_classes, H, W, dtype=dtype, device=labels.device)
    return onehot.scatter_(1, labels[:, None].long(), 1.0)


def resize_labels(labels: Tensor, size: int) -> Tensor:
    """Nearest-resize label maps to size x size with exactly the pixels `F.interpolate(mode="nearest")` picks.

    So `labels_to_onehot(resize_labels(ids, s), C)` equals `F.interpolate(labels_to_onehot(ids, C), size=s)`,
    at a fraction of the cost: the one-hot is only built at the small size.

    Args:
        labels: [B, 1, H, W] or [B, H, W] integer class ids.
        size: output side.

    Returns:
        [B, size, size] int64 (the input itself, as int64, when it is already that size).
    """
    if labels.dim() == 4 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.dim() != 3:
        raise ValueError(f"labels must be [B, 1, H, W] or [B, H, W], got shape {tuple(labels.shape)}")
    if labels.shape[-2:] == (size, size):
        return labels.long()
    # float32 holds every id exactly, and the same kernel guarantees the same source pixels.
    small = F.interpolate(labels[:, None].float(), size=(size, size), mode="nearest")
    return small[:, 0].long()


def logits_to_labels(scores: Tensor) -> Tensor:
    """Argmax over classes: [B, C, H, W] logits, probabilities or one-hot -> [B, H, W] int64 label map."""
    return scores.argmax(dim=1)


# The inverse of `labels_to_onehot` is the same argmax.
onehot_to_labels = logits_to_labels

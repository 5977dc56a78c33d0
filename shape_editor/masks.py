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


def labels_to_onehot(
    labels: Tensor, num_classes: int, dtype: torch.dtype = torch.float32, out: Tensor | None = None
) -> Tensor:
    """One-hot encode a batch of label maps.

    Args:
        labels: [B, 1, H, W] or [B, H, W] integer class ids in [0, num_classes).
        num_classes: C.
        dtype: floating dtype of the result.
        out: optional [B, C, H, W] tensor of that dtype to write into and return. Reusing one across
            batches is much faster on CPU: most of the cost of a fresh one-hot is the kernel zero-filling
            its new pages (40 MB for a batch of 8 at 256 px and 19 classes).

    Returns:
        [B, C, H, W] one-hot mask (contiguous, on labels' device).

    Raises:
        ValueError: if an id is out of range (the message lists the offending ids), the shape is wrong,
            or `out` does not fit.
    """
    if labels.dim() == 4 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.dim() != 3:
        raise ValueError(f"labels must be [B, 1, H, W] or [B, H, W], got shape {tuple(labels.shape)}")
    check_label_range(labels, num_classes)
    B, H, W = labels.shape
    if out is None:
        out = torch.empty(B, num_classes, H, W, dtype=dtype, device=labels.device)
    elif (out.shape, out.dtype, out.device) != (
        (B, num_classes, H, W),
        dtype,
        labels.device,
    ) or not out.is_contiguous():
        raise ValueError(
            f"out of shape {tuple(out.shape)}, {out.dtype} on {out.device} does not fit one-hot "
            f"[{B}, {num_classes}, {H}, {W}], {dtype} on {labels.device} (contiguous)"
        )
    return out.zero_().scatter_(1, labels[:, None].long(), 1.0)


class OneHotEncoder:
    """`labels_to_onehot` into one buffer that every call reuses (a new one only when the shape changes).

    For loops that one-hot a batch, use it and drop it before the next batch (a data loader feeding a
    network): the result of a call is overwritten by the next call.
    """

    def __init__(self, num_classes: int, dtype: torch.dtype = torch.float32) -> None:
        self.num_classes, self.dtype = num_classes, dtype
        self.buffer: Tensor | None = None

    def __call__(self, labels: Tensor) -> Tensor:
        B, H, W = labels.shape[0], *labels.shape[-2:]
        shape = (B, self.num_classes, H, W)
        if self.buffer is None or (self.buffer.shape, self.buffer.device) != (shape, labels.device):
            self.buffer = torch.empty(shape, dtype=self.dtype, device=labels.device)
        return labels_to_onehot(labels, self.num_classes, self.dtype, out=self.buffer)


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

"""Reconstruction metrics (mIoU, pixel accuracy) from a class confusion matrix.

Accumulate `confusion_matrix` over the whole test set (sum the [C, C] matrices), then read the
metrics off the total: dataset-level IoU, as in semantic segmentation benchmarks. All pure and vectorised.
"""

from __future__ import annotations

import torch
from torch import Tensor

from shape_editor.masks import check_label_range


def confusion_matrix(pred: Tensor, target: Tensor, num_classes: int) -> Tensor:
    """Count pixels by (true class, predicted class).

    Args:
        pred: integer predicted ids, any shape (e.g. [B, H, W]).
        target: integer true ids, same shape as pred.
        num_classes: C.

    Returns:
        [C, C] int64, rows = target class, columns = predicted class.
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred shape {tuple(pred.shape)} differs from target shape {tuple(target.shape)}")
    check_label_range(pred, num_classes)
    check_label_range(target, num_classes)
    index = target.reshape(-1).long() * num_classes + pred.reshape(-1).long()
    return torch.bincount(index, minlength=num_classes * num_classes).view(num_classes, num_classes)


def pixel_accuracy(conf: Tensor) -> Tensor:
    """Share of correctly labelled pixels: trace / total, a float64 scalar (NaN for an empty matrix)."""
    conf = conf.double()
    return conf.diagonal().sum() / conf.sum()


def per_class_iou(conf: Tensor) -> Tensor:
    """IoU of every class, [C, C] -> [C] float64; NaN for a class absent from both prediction and target."""
    conf = conf.double()
    intersection = conf.diagonal()
    union = conf.sum(0) + conf.sum(1) - intersection
    return intersection / union  # 0 / 0 = NaN exactly where the class never occurs


def mean_iou(conf: Tensor) -> Tensor:
    """Mean IoU over the classes that occur in prediction or target (NaN classes skipped), float64 scalar."""
    return per_class_iou(conf).nanmean()

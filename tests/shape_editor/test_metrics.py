import math

import pytest
import torch

from shape_editor.metrics import confusion_matrix, mean_iou, per_class_iou, pixel_accuracy


def test_crafted_masks_by_hand():
    target = torch.tensor([[[0, 0], [1, 1]]])
    pred = torch.tensor([[[0, 1], [1, 1]]])
    conf = confusion_matrix(pred, target, 3)
    assert conf.dtype == torch.int64
    assert torch.equal(conf, torch.tensor([[1, 1, 0], [0, 2, 0], [0, 0, 0]]))
    assert pixel_accuracy(conf).item() == pytest.approx(3 / 4)
    iou = per_class_iou(conf)
    assert iou[0].item() == pytest.approx(1 / 2)  # 1 / (2 + 1 - 1)
    assert iou[1].item() == pytest.approx(2 / 3)  # 2 / (2 + 3 - 2)
    assert math.isnan(iou[2].item())  # class 2 absent from both: excluded from the mean
    assert mean_iou(conf).item() == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_class_only_predicted_counts_as_zero():
    conf = confusion_matrix(torch.tensor([0, 2]), torch.tensor([0, 0]), 3)
    iou = per_class_iou(conf)
    assert iou[0].item() == pytest.approx(1 / 2) and iou[2].item() == 0.0 and math.isnan(iou[1].item())
    assert mean_iou(conf).item() == pytest.approx(1 / 4)


def test_perfect_prediction():
    labels = torch.randint(0, 5, (2, 8, 8), generator=torch.Generator().manual_seed(0))
    conf = confusion_matrix(labels, labels, 19)
    assert pixel_accuracy(conf).item() == 1.0
    assert mean_iou(conf).item() == 1.0
    assert per_class_iou(conf)[5:].isnan().all()


def test_confusion_matrices_accumulate_over_batches():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randint(0, 4, (6, 5, 5), generator=g), torch.randint(0, 4, (6, 5, 5), generator=g)
    split = confusion_matrix(pred[:2], target[:2], 4) + confusion_matrix(pred[2:], target[2:], 4)
    assert torch.equal(split, confusion_matrix(pred, target, 4))
    assert split.sum() == 150


def test_input_errors():
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        confusion_matrix(torch.zeros(2, 2, dtype=torch.int64), torch.zeros(4, dtype=torch.int64), 3)
    with pytest.raises(ValueError, match=r"\[3\]"):
        confusion_matrix(torch.tensor([3]), torch.tensor([0]), 3)

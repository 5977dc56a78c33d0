import pytest
import torch

from shape_editor.masks import labels_to_onehot, logits_to_labels, onehot_to_labels


def test_labels_to_onehot_exact_values():
    labels = torch.tensor([[[0, 2, 1], [2, 2, 0]]])
    expected = torch.tensor(
        [[[[1, 0, 0], [0, 0, 1]], [[0, 0, 1], [0, 0, 0]], [[0, 1, 0], [1, 1, 0]]]], dtype=torch.float32
    )
    onehot = labels_to_onehot(labels, 3)
    assert onehot.dtype == torch.float32 and onehot.is_contiguous()
    assert torch.equal(onehot, expected)
    assert torch.equal(labels_to_onehot(labels[:, None], 3), expected)
    assert labels_to_onehot(labels.to(torch.uint8), 4, dtype=torch.float64).shape == (1, 4, 2, 3)


def test_round_trip():
    labels = torch.randint(0, 19, (3, 8, 8), generator=torch.Generator().manual_seed(0))
    assert torch.equal(onehot_to_labels(labels_to_onehot(labels, 19)), labels)


def test_logits_to_labels_is_the_argmax():
    logits = torch.tensor([[[[0.1]], [[2.0]], [[-1.0]]], [[[5.0]], [[0.0]], [[4.9]]]])
    labels = logits_to_labels(logits)
    assert labels.dtype == torch.int64
    assert torch.equal(labels, torch.tensor([[[1]], [[0]]]))


@pytest.mark.parametrize("bad", [[19, 25], [-1]])
def test_out_of_range_ids_are_named(bad):
    labels = torch.zeros(1, 4, 4, dtype=torch.int64)
    labels[0, 0, : len(bad)] = torch.tensor(bad)
    with pytest.raises(ValueError, match=rf"label ids \[{', '.join(map(str, bad))}\].*num_classes=19"):
        labels_to_onehot(labels, 19)


def test_bad_dtype_and_shape_are_rejected():
    with pytest.raises(ValueError, match="float32"):
        labels_to_onehot(torch.zeros(1, 4, 4), 19)
    with pytest.raises(ValueError, match=r"\(1, 2, 4, 4\)"):
        labels_to_onehot(torch.zeros(1, 2, 4, 4, dtype=torch.int64), 19)


@pytest.mark.parametrize("side, size", [(32, 16), (40, 16), (24, 24), (9, 4)])
def test_resize_labels_picks_the_pixels_of_nearest_one_hot_resizing(side, size):
    import torch.nn.functional as F

    from shape_editor.masks import resize_labels

    labels = torch.randint(0, 19, (2, 1, side, side), generator=torch.Generator().manual_seed(side))
    small = resize_labels(labels.to(torch.uint8), size)
    assert small.shape == (2, size, size) and small.dtype == torch.int64
    expected = F.interpolate(labels_to_onehot(labels, 19), size=(size, size), mode="nearest")
    assert torch.equal(labels_to_onehot(small, 19), expected)

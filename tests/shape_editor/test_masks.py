import pytest
import torch

from shape_editor.masks import OneHotEncoder, labels_to_onehot, logits_to_labels, onehot_to_labels


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


def test_labels_to_onehot_overwrites_a_reused_buffer():
    first = torch.randint(0, 5, (2, 6, 7), generator=torch.Generator().manual_seed(0))
    second = torch.randint(0, 5, (2, 6, 7), generator=torch.Generator().manual_seed(1))
    buffer = torch.empty(2, 5, 6, 7)
    assert labels_to_onehot(first, 5, out=buffer) is buffer
    assert torch.equal(labels_to_onehot(second, 5, out=buffer), labels_to_onehot(second, 5))  # no stale ones


@pytest.mark.parametrize(
    "buffer",
    [torch.empty(2, 4, 6, 7), torch.empty(2, 5, 6, 7, dtype=torch.float64), torch.empty(2, 5, 7, 6).transpose(2, 3)],
)
def test_labels_to_onehot_refuses_a_buffer_that_does_not_fit(buffer):
    with pytest.raises(ValueError, match=r"does not fit one-hot \[2, 5, 6, 7\]"):
        labels_to_onehot(torch.zeros(2, 6, 7, dtype=torch.int64), 5, out=buffer)


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


def test_one_hot_encoder_reuses_its_buffer_while_the_shape_holds():
    encode = OneHotEncoder(4)
    labels = torch.randint(0, 4, (2, 1, 5, 5), generator=torch.Generator().manual_seed(0))
    first = encode(labels)
    assert torch.equal(first, labels_to_onehot(labels, 4))
    assert encode(labels.flip(-1)) is first and torch.equal(first, labels_to_onehot(labels.flip(-1), 4))
    assert encode(labels[:1]).shape == (1, 4, 5, 5)  # a smaller last batch gets its own buffer

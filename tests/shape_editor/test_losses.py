import math

import pytest
import torch

from shape_editor.losses import class_pixel_shares, class_weights, class_weights_from_shares, count_class_pixels
from shape_editor.losses import kl_divergence, shape_vae_loss, soft_dice_loss, weighted_cross_entropy
from shape_editor.shape_vae import ShapeVAEOutput


def test_class_weights_follow_eq1_on_a_known_label_set():
    batches = [torch.tensor([[[0, 0], [1, 2]]]), torch.tensor([[[0, 0], [0, 2]]])]  # 5x class 0, 1x 1, 2x 2
    counts = sum(count_class_pixels(b, 4) for b in batches)
    assert torch.equal(counts, torch.tensor([5, 1, 2, 0]))
    shares = class_pixel_shares(counts)
    torch.testing.assert_close(shares, torch.tensor([5 / 8, 1 / 8, 2 / 8, 0.0], dtype=torch.float64))
    weights = class_weights_from_shares(shares)
    torch.testing.assert_close(weights, torch.tensor([3 / 8, 7 / 8, 6 / 8, 1.0], dtype=torch.float64))


def test_count_and_share_errors():
    with pytest.raises(ValueError, match=r"\[7\]"):
        count_class_pixels(torch.tensor([1, 7]), 4)
    with pytest.raises(ValueError, match="sum to 0"):
        class_pixel_shares(torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="max 1.5"):
        class_weights_from_shares(torch.tensor([1.5, 0.0]))


def tiny_case():
    """2x2 image, 3 classes; logits chosen so that softmax probabilities are simple fractions."""
    ln = math.log
    logits = torch.tensor([[[0.0, ln(2)], [0.0, 0.0]], [[0.0, 0.0], [ln(3), 0.0]], [[0.0, 0.0], [0.0, ln(7)]]])[None]
    labels = torch.tensor([[[0, 0], [1, 2]]])
    # p(target): 1/3, 2/4, 3/5, 7/9
    nll = [ln(3), ln(2), ln(5 / 3), ln(9 / 7)]
    return logits, labels, nll


def test_weighted_cross_entropy_by_hand():
    logits, labels, nll = tiny_case()
    weight = torch.tensor([0.5, 1.0, 2.0])
    w = [0.5, 0.5, 1.0, 2.0]  # weight of each pixel's target class
    weighted_sum = sum(a * b for a, b in zip(w, nll))
    torch.testing.assert_close(weighted_cross_entropy(logits, labels, weight), torch.tensor(weighted_sum / sum(w)))
    torch.testing.assert_close(weighted_cross_entropy(logits, labels, weight, "sum"), torch.tensor(weighted_sum))
    per_pixel = weighted_cross_entropy(logits, labels[:, None], weight, "none")
    torch.testing.assert_close(
        per_pixel, torch.tensor([[[w[0] * nll[0], w[1] * nll[1]], [w[2] * nll[2], w[3] * nll[3]]]])
    )
    torch.testing.assert_close(weighted_cross_entropy(logits, labels), torch.tensor(sum(nll) / 4))


def test_cross_entropy_argument_errors():
    logits, labels, _ = tiny_case()
    with pytest.raises(ValueError, match="'avg'"):
        weighted_cross_entropy(logits, labels, reduction="avg")
    with pytest.raises(ValueError, match=r"\(2,\)"):
        weighted_cross_entropy(logits, labels, torch.ones(2))


def test_kl_divergence_closed_form():
    mu = torch.tensor([[[1.0, 0.0]], [[0.0, 0.0]]])  # [B=2, P=1, D=2]
    logvar = torch.tensor([[[0.0, math.log(2.0)]], [[0.0, 0.0]]])
    # sample 0: 0.5 * (1 + 1 - 1 - 0) + 0.5 * (0 + 2 - 1 - ln 2); sample 1 is N(0, I): 0
    first = 0.5 + 0.5 * (1.0 - math.log(2.0))
    torch.testing.assert_close(kl_divergence(mu, logvar, "none"), torch.tensor([first, 0.0]))
    torch.testing.assert_close(kl_divergence(mu, logvar), torch.tensor(first / 2))
    torch.testing.assert_close(kl_divergence(mu, logvar, "sum"), torch.tensor(first))
    with pytest.raises(ValueError, match="'mean'"):
        kl_divergence(mu, logvar, "mean")


def test_shape_vae_loss_dict_scales_kl():
    logits, labels, nll = tiny_case()
    mu = torch.tensor([[[1.0, 0.0]]])
    logvar = torch.zeros(1, 1, 2)
    output = ShapeVAEOutput(logits, mu, logvar, mu)
    losses = shape_vae_loss(output, labels, None, lambda_kl=0.1)
    assert set(losses) == {"CE", "KL"}
    torch.testing.assert_close(losses["CE"], torch.tensor(sum(nll) / 4))
    torch.testing.assert_close(losses["KL"], torch.tensor(0.1 * 0.5))
    weighted = shape_vae_loss(output, labels, torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64), lambda_kl=0.1)
    torch.testing.assert_close(weighted["CE"], weighted_cross_entropy(logits, labels, torch.tensor([0.5, 1.0, 2.0])))


SHARES = torch.tensor([0.5, 0.25, 0.25, 0.0], dtype=torch.float64)


def test_inverse_power_weights_by_hand():
    # share^-1/2 = sqrt(2), 2, 2; the pixel-weighted mean 0.5 sqrt(2) + 0.25 * 2 + 0.25 * 2 is scaled to 1
    mean = 0.5 * math.sqrt(2) + 1.0
    expected = torch.tensor([math.sqrt(2) / mean, 2 / mean, 2 / mean, 2 / mean], dtype=torch.float64)
    weights = class_weights(SHARES, "inverse_power", power=0.5)
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close((weights * SHARES).sum(), torch.tensor(1.0, dtype=torch.float64))


def test_median_uniform_and_eq1_weights_by_hand():
    torch.testing.assert_close(class_weights(SHARES, "median"), torch.tensor([0.5, 1.0, 1.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(class_weights(SHARES, "uniform"), torch.ones(4, dtype=torch.float64))
    torch.testing.assert_close(class_weights(SHARES, "eq1"), 1 - SHARES)
    with pytest.raises(ValueError, match="'focal'"):
        class_weights(SHARES, "focal")


def test_soft_dice_by_hand():
    logits, labels, _ = tiny_case()
    # softmax per pixel: (1/3, 1/3, 1/3), (1/2, 1/4, 1/4), (1/5, 3/5, 1/5), (1/9, 1/9, 7/9); targets 0, 0, 1, 2
    dice = [150 / 283, 216 / 413, 280 / 461]  # 2 * overlap / (predicted + target pixels), per class
    torch.testing.assert_close(soft_dice_loss(logits, labels), torch.tensor(1 - sum(dice) / 3))
    torch.testing.assert_close(soft_dice_loss(logits, labels[:, None]), torch.tensor(1 - sum(dice) / 3))


def test_soft_dice_leaves_out_absent_classes_and_reaches_zero():
    labels = torch.zeros(1, 2, 2, dtype=torch.long)
    confident = torch.tensor([20.0, -20.0, -20.0])[None, :, None, None].expand(1, 3, 2, 2)
    assert soft_dice_loss(confident, labels) < 1e-6  # classes 1 and 2 are absent: not averaged in


def test_shape_vae_loss_adds_scaled_dice_only_when_asked():
    logits, labels, _ = tiny_case()
    mu = torch.zeros(1, 1, 2)
    output = ShapeVAEOutput(logits, mu, torch.zeros(1, 1, 2), mu)
    assert "Dice" not in shape_vae_loss(output, labels, None, lambda_kl=0.1)
    losses = shape_vae_loss(output, labels, None, lambda_kl=0.1, lambda_dice=2.0)
    torch.testing.assert_close(losses["Dice"], 2.0 * soft_dice_loss(logits, labels))

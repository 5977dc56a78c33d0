import logging

import pytest
import torch
import torchvision

from models.networks import VGGPerceptualLoss, build_vgg_loss, feature_matching_loss, hinge_loss_d, hinge_loss_g


def as_outputs(*predictions):
    """Nested discriminator outputs whose only entry per scale is the prediction."""
    return [[torch.tensor(p)] for p in predictions]


def test_hinge_d_hand_computed():
    real = as_outputs([2.0, 0.5], [-1.0, 1.0])  # relu(1 - x): [0, 0.5] -> 0.25; [2, 0] -> 1.0; mean 0.625
    fake = as_outputs([-2.0, 0.0], [1.0, 3.0])  # relu(1 + x): [0, 1] -> 0.5; [2, 4] -> 3.0; mean 1.75
    torch.testing.assert_close(hinge_loss_d(real, fake), torch.tensor(2.375))


def test_hinge_g_hand_computed_uses_last_entry_per_scale():
    fake = [[torch.tensor([100.0]), torch.tensor([1.0, 3.0])], [torch.tensor([-100.0]), torch.tensor([-4.0])]]
    torch.testing.assert_close(hinge_loss_g(fake), torch.tensor(((-2.0) + 4.0) / 2))


def test_feature_matching_hand_computed_and_detached():
    real_feature = torch.tensor([1.0, 1.0], requires_grad=True)
    fake_feature = torch.tensor([2.0, 4.0], requires_grad=True)
    real = [[real_feature, torch.tensor([9.0])], [torch.tensor([0.0]), torch.tensor([9.0])]]
    fake = [[fake_feature, torch.tensor([0.0])], [torch.tensor([-3.0]), torch.tensor([0.0])]]
    loss = feature_matching_loss(real, fake, weight=10)  # scale 0: (1 + 3) / 2 = 2; scale 1: 3; predictions skipped
    torch.testing.assert_close(loss, torch.tensor(10 * (2 + 3) / 2))
    loss.backward()
    assert real_feature.grad is None and fake_feature.grad is not None


def test_losses_reject_mismatched_or_empty_outputs():
    with pytest.raises(ValueError):
        hinge_loss_g([])
    with pytest.raises(ValueError):
        feature_matching_loss(as_outputs([1.0]), as_outputs([1.0], [2.0]))


def test_vgg_loss_is_off_without_weights(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert build_vgg_loss(tmp_path / "vgg19.pth") is None
        assert build_vgg_loss(None) is None
    assert "vgg19.pth" in caplog.text
    with pytest.raises(FileNotFoundError, match="vgg19.pth"):
        VGGPerceptualLoss(tmp_path / "vgg19.pth")


@pytest.fixture(scope="module")
def vgg_features(tmp_path_factory):
    """Random vgg19 `features` weights in torchvision key format, saved to a local file."""
    torch.manual_seed(0)
    with torch.device("meta"):
        features = torchvision.models.vgg19(weights=None).features
    features = features.to_empty(device="cpu")
    for p in features.parameters():
        torch.nn.init.normal_(p, std=0.05)
    path = tmp_path_factory.mktemp("vgg") / "vgg19.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    return features, path


def test_vgg_loss_matches_weighted_l1_of_relu_features(vgg_features):
    features, path = vgg_features

    def relus(image):
        """Outputs of relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (vgg19.features indices 1, 6, 11, 20, 29)."""
        outputs = []
        for index, layer in enumerate(features[:30]):
            image = layer(image)
            if index in (1, 6, 11, 20, 29):
                outputs.append(image)
        return outputs

    loss_fn = build_vgg_loss(path)
    assert isinstance(loss_fn, VGGPerceptualLoss)
    assert not any(p.requires_grad for p in loss_fn.parameters())
    fake = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_()
    real = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        expected = sum(
            w * (f - r).abs().mean() for w, f, r in zip((1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0), relus(fake), relus(real))
        )
    loss = loss_fn(fake, real)
    torch.testing.assert_close(loss, expected)
    assert loss_fn(real, real) == 0
    loss.backward()
    assert fake.grad.abs().sum() > 0


def test_vgg_loss_rejects_a_file_that_is_not_vgg19(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"features.0.weight": torch.zeros(2, 3, 3, 3)}, path)
    with pytest.raises(ValueError, match="other.pth"):
        VGGPerceptualLoss(path)

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from models.networks import StyleEncoder, pool_regions


def sean_pool_loop(feats, masks):
    """SEAN's Zencoder loop: masked_select the class pixels of each sample and average them."""
    B, Fdim = feats.shape[:2]
    C = masks.shape[1]
    out = torch.zeros(B, C, Fdim)
    for b in range(B):
        for c in range(C):
            region = masks[b, c].bool()
            area = int(region.sum())
            if area > 0:
                out[b, c] = feats[b].masked_select(region).reshape(Fdim, area).mean(1)
    return out


def test_pool_regions_matches_sean_loop_and_zeroes_absent_classes():
    torch.manual_seed(0)
    feats = torch.randn(3, 5, 6, 6)
    masks = F.one_hot(torch.randint(0, 4, (3, 6, 6)), 6).permute(0, 3, 1, 2).float()  # classes 4, 5 absent
    pooled = pool_regions(feats, masks)
    torch.testing.assert_close(pooled, sean_pool_loop(feats, masks))
    assert torch.count_nonzero(pooled[:, 4:]) == 0


def test_pool_regions_hand_example():
    feats = torch.tensor([[[[1.0, 2.0], [3.0, 10.0]]]])  # [1, 1, 2, 2]
    masks = torch.tensor([[[[1.0, 1.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]]])  # [1, 2, 2, 2]
    torch.testing.assert_close(pool_regions(feats, masks), torch.tensor([[[2.0], [10.0]]]))


def test_encoder_layer_positions_shapes_and_range():
    torch.manual_seed(0)
    encoder = StyleEncoder(style_dim=12, ngf=4)
    convs = {i: type(m) for i, m in enumerate(encoder.model) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))}
    assert convs == {1: nn.Conv2d, 4: nn.Conv2d, 7: nn.Conv2d, 10: nn.ConvTranspose2d, 14: nn.Conv2d}
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    masks = F.one_hot(torch.randint(0, 3, (2, 32, 32)), 5).permute(0, 3, 1, 2).float()
    codes = encoder(image, masks)
    assert codes.shape == (2, 5, 12)
    assert codes.abs().max() <= 1  # means of tanh features
    assert torch.count_nonzero(codes[:, 3:]) == 0
    assert encoder.model[:13](image).shape == (2, 8 * 4, 16, 16)  # features at half resolution


def test_encoder_rejects_non_rgb_input():
    with pytest.raises(ValueError, match=r"\(2, 1, 8, 8\)"):
        StyleEncoder(style_dim=4, ngf=2)(torch.zeros(2, 1, 8, 8), torch.zeros(2, 3, 8, 8))

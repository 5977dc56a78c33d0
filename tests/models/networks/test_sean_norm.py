import pytest
import torch
import torch.nn.functional as F

from models.networks import PerClassLinear, SEANNorm, broadcast_styles


def one_hot_masks(batch: int, classes: int, size: int, present: int) -> torch.Tensor:
    """Random one-hot masks that use only the first `present` classes (the others are absent)."""
    labels = torch.randint(0, present, (batch, size, size))
    return F.one_hot(labels, classes).permute(0, 3, 1, 2).float()


def sean_style_map_loop(codes, masks, weight, bias):
    """SEAN's ACE loop: per sample and present class, relu(fc_mu_c(code)) scattered over the class pixels."""
    B, C, H, W = masks.shape
    out = torch.zeros(B, weight.shape[1], H, W)
    for b in range(B):
        for c in range(C):
            region = masks[b, c].bool()
            area = int(region.sum())
            if area > 0:
                mu = F.relu(F.linear(codes[b, c], weight[c], bias[c]))
                out[b].masked_scatter_(region, mu[:, None].expand(-1, area))
    return out


def test_per_class_linear_and_broadcast_match_sean_loop():
    torch.manual_seed(0)
    proj = PerClassLinear(num_classes=5, in_features=6, out_features=7)
    torch.nn.init.normal_(proj.bias)
    codes, masks = torch.randn(2, 5, 6), one_hot_masks(2, 5, 8, present=4)
    ours = broadcast_styles(F.relu(proj(codes)), masks)
    reference = sean_style_map_loop(codes, masks, proj.weight.detach(), proj.bias.detach())
    assert ours.shape == (2, 7, 8, 8)
    torch.testing.assert_close(ours, reference)


def test_per_class_linear_init_is_xavier_with_zero_bias():
    torch.manual_seed(0)
    proj = PerClassLinear(num_classes=19, in_features=64, out_features=64)
    proj.reset_parameters(gain=0.02)
    assert torch.count_nonzero(proj.bias) == 0
    assert proj.weight.std().item() == pytest.approx(0.02 * (2 / 128) ** 0.5, rel=0.05)


def test_blend_is_half_style_half_spade_at_init():
    torch.manual_seed(0)
    norm = SEANNorm(norm_nc=4, label_nc=3, style_dim=5, spade_hidden=6).eval()
    x, masks, codes = torch.randn(2, 4, 8, 8), one_hot_masks(2, 3, 16, present=3), torch.randn(2, 3, 5)
    small = F.interpolate(masks, size=(8, 8), mode="nearest")
    style_map = broadcast_styles(F.relu(norm.style_proj(codes)), small)
    spade_gamma, spade_beta = norm.Spade(small)
    gamma = 0.5 * norm.conv_gamma(style_map) + 0.5 * spade_gamma
    beta = 0.5 * norm.conv_beta(style_map) + 0.5 * spade_beta
    normalized = x / (1 + norm.param_free_norm.eps) ** 0.5  # eval BN with fresh stats: mean 0, var 1
    torch.testing.assert_close(norm(x, masks, codes), normalized * (1 + gamma) + beta)


def test_spade_only_norm_ignores_style_codes_and_has_no_style_keys():
    torch.manual_seed(0)
    norm = SEANNorm(norm_nc=4, label_nc=3, style_dim=5, use_style=False).eval()
    x, masks = torch.randn(1, 4, 8, 8), one_hot_masks(1, 3, 8, present=3)
    torch.testing.assert_close(norm(x, masks, None), norm(x, masks, torch.randn(1, 3, 5)))
    assert not any(k.startswith(("fc_mu", "conv_gamma", "conv_beta")) for k in norm.state_dict())


def test_style_norm_without_codes_raises():
    norm = SEANNorm(norm_nc=4, label_nc=3, style_dim=5)
    with pytest.raises(ValueError, match="style_codes"):
        norm(torch.randn(1, 4, 8, 8), one_hot_masks(1, 3, 8, present=3), None)


def test_noise_is_per_pixel_scaled_per_channel_and_reproducible():
    torch.manual_seed(0)
    norm = SEANNorm(norm_nc=3, label_nc=2, use_style=False).eval()
    with torch.no_grad():
        norm.noise_var.copy_(torch.tensor([0.0, 1.0, 2.0]))
    x, masks = torch.zeros(1, 3, 4, 4), one_hot_masks(1, 2, 4, present=2)
    gamma, beta = norm.Spade(masks)

    def run():
        return norm(x, masks, None, generator=torch.Generator().manual_seed(7))

    noise = torch.randn(1, 1, 4, 4, generator=torch.Generator().manual_seed(7))
    expected = noise * torch.tensor([0.0, 1.0, 2.0]).view(1, 3, 1, 1) / (1 + 1e-5) ** 0.5 * (1 + gamma) + beta
    torch.testing.assert_close(run(), expected)
    torch.testing.assert_close(run(), run())

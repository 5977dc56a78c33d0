import pytest
import torch

from shape_editor.part_encoder import PartEncoder, sample_latents


@pytest.fixture
def encoder():
    torch.manual_seed(0)
    return PartEncoder(enc_size=16, widths=(64, 32, 32), latent_dim=256)


def random_parts(batch=2, parts=5, size=32):
    return (torch.rand(batch, parts, size, size) > 0.5).float()


def test_output_shapes(encoder):
    mu, logvar = encoder(random_parts())
    assert mu.shape == logvar.shape == (2, 5, 256)


def test_resize_is_nearest_subsampling(encoder):
    parts = random_parts()
    mu_full, logvar_full = encoder(parts)
    mu_half, logvar_half = encoder(parts[..., ::2, ::2].contiguous())  # already enc_size: no resize
    torch.testing.assert_close(mu_full, mu_half)
    torch.testing.assert_close(logvar_full, logvar_half)


def test_each_part_is_encoded_on_its_own(encoder):
    parts = random_parts()
    mu, _ = encoder(parts)
    changed = parts.clone()
    changed[:, 3] = 1.0 - changed[:, 3]
    mu_changed, _ = encoder(changed)
    others = [0, 1, 2, 4]
    torch.testing.assert_close(mu_changed[:, others], mu[:, others])
    assert not torch.allclose(mu_changed[:, 3], mu[:, 3])


def test_shared_mlp_swapping_parts_swaps_codes(encoder):
    parts = random_parts()
    mu, _ = encoder(parts)
    mu_swapped, _ = encoder(parts[:, [1, 0, 2, 3, 4]])
    torch.testing.assert_close(mu_swapped, mu[:, [1, 0, 2, 3, 4]])


def test_paper_sized_first_layer_and_counts():
    with torch.device("meta"):
        enc = PartEncoder(enc_size=128, widths=(1024, 512, 256), latent_dim=256)
    assert enc.mlp[0].weight.shape == (1024, 16384)
    counts = {name: sum(p.numel() for p in module.parameters()) for name, module in enc.named_children()}
    assert counts == {
        "mlp": (16384 * 1024 + 1024) + (1024 * 512 + 512) + (512 * 256 + 256),
        "mu": 256 * 256 + 256,
        "logvar": 256 * 256 + 256,
    }


def test_sample_latents_formula_and_reproducibility():
    mu = torch.tensor([[0.5, -1.0, 2.0]])
    logvar = torch.tensor([[0.0, 2.0 * torch.log(torch.tensor(3.0)).item(), -4.0]])
    z = sample_latents(mu, logvar, torch.Generator().manual_seed(7))
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(z, mu + eps * torch.tensor([[1.0, 3.0, torch.exp(torch.tensor(-2.0)).item()]]))
    torch.testing.assert_close(sample_latents(mu, logvar, torch.Generator().manual_seed(7)), z)
    assert not torch.equal(sample_latents(mu, logvar, torch.Generator().manual_seed(8)), z)


def test_sample_latents_is_differentiable():
    mu = torch.zeros(2, 3, 4, requires_grad=True)
    logvar = torch.zeros(2, 3, 4, requires_grad=True)
    sample_latents(mu, logvar).sum().backward()
    assert torch.equal(mu.grad, torch.ones_like(mu))
    assert logvar.grad.abs().sum() > 0

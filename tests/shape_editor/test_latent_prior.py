"""The aggregate-posterior prior: fit and sample statistics, shrinkage, KL by hand, storage and staleness."""

import math

import pytest
import torch

from shape_editor.editor import MaskEditor, generate_codes, perturb_codes
from shape_editor.latent_prior import LatentPrior, kl_to_standard, prior_mismatch, shrinkage_intensity
from shape_editor.prior_store import file_digest, load_or_fit_prior
from tests.shape_editor.test_editor import NOSE, MOUTH, changed_parts, random_labels, tiny_vae


def correlated_codes(n, parts=3, dim=6, seed=0):
    """n codes per part from known Gaussians: (codes [n, P, D], means [P, D], covariances [P, D, D])."""
    g = torch.Generator().manual_seed(seed)
    means = 3 * torch.randn(parts, dim, generator=g)
    mixing = torch.randn(parts, dim, dim, generator=g) / math.sqrt(dim) + 0.5 * torch.eye(dim)
    covs = mixing @ mixing.transpose(1, 2)
    codes = means + torch.einsum("pde,npe->npd", mixing, torch.randn(n, parts, dim, generator=g))
    return codes, means, covs


def test_fit_recovers_the_mean_and_covariance_and_samples_reproduce_them():
    codes, means, covs = correlated_codes(20000)
    prior = LatentPrior.fit(codes)
    assert prior.mean.shape == (3, 6) and prior.scale_tril.shape == (3, 6, 6) and prior.samples.tolist() == [20000] * 3
    assert prior.shrinkage.max() < 0.01  # plenty of samples for D = 6: almost no shrinkage
    torch.testing.assert_close(prior.mean, means, atol=0.05, rtol=0)
    fitted = prior.scale_tril @ prior.scale_tril.transpose(1, 2)
    torch.testing.assert_close(fitted, covs, atol=0.03, rtol=0.05)
    for part in (1, 3):
        drawn = prior.sample(part, 40000, torch.Generator().manual_seed(1)).double()
        assert drawn.shape == (40000, 6)
        torch.testing.assert_close(drawn.mean(0), prior.mean[part - 1].double(), atol=0.03, rtol=0)
        torch.testing.assert_close(torch.cov(drawn.T), fitted[part - 1].double(), atol=0.03, rtol=0.05)
    torch.testing.assert_close(prior.std(), fitted.diagonal(dim1=1, dim2=2).sqrt())


def test_few_samples_shrink_towards_the_diagonal_and_stay_positive_definite():
    codes, _, _ = correlated_codes(20, dim=64)  # fewer masks than dimensions: the sample covariance is singular
    prior = LatentPrior.fit(codes)
    assert (prior.shrinkage > 0.05).all() and (prior.shrinkage <= 1).all()
    assert torch.isfinite(prior.scale_tril).all()
    diagonal = LatentPrior.fit(codes, diagonal=True)
    tril = diagonal.scale_tril
    assert torch.equal(tril, torch.diag_embed(tril.diagonal(dim1=1, dim2=2))) and (diagonal.shrinkage == 1).all()
    independent = torch.randn(5000, 4, generator=torch.Generator().manual_seed(0))
    assert shrinkage_intensity(independent.double()) > 0.5  # no correlation to keep: shrink nearly all of it


def test_a_part_is_fitted_on_the_masks_that_contain_it():
    codes, _, _ = correlated_codes(200, parts=2)
    present = torch.ones(200, 2, dtype=torch.bool)
    present[:100, 0] = False
    codes[:100, 0] = 50.0  # what the encoder gives for an absent part must not count
    prior = LatentPrior.fit(codes, present)
    assert prior.samples.tolist() == [100, 200]
    torch.testing.assert_close(prior.mean[0], codes[100:, 0].mean(0))
    present[:, 1] = False
    present[0, 1] = True  # present in 1 mask: too few, fitted on all of them
    assert LatentPrior.fit(codes, present).samples.tolist() == [100, 200]
    with pytest.raises(ValueError, match="at least 2"):
        LatentPrior.fit(codes[:1])


def test_kl_to_standard_matches_a_hand_computed_diagonal_gaussian():
    mean, var = torch.tensor([1.0, 2.0]), torch.tensor([4.0, 0.25])
    # 0.5 * (tr + |m|^2 - D - log det) = 0.5 * (4.25 + 5 - 2 - log 1) = 3.625
    assert kl_to_standard(mean.double(), torch.diag(var).double()).item() == pytest.approx(3.625)
    assert kl_to_standard(torch.zeros(3, 5), torch.eye(5).expand(3, 5, 5)).abs().max() < 1e-6


def test_prior_mismatch_reports_kl_and_code_norms_per_part():
    codes = torch.randn(4000, 2, 16, generator=torch.Generator().manual_seed(0))
    codes[:, 1] = 0.1 * codes[:, 1] + 2  # the second part: shrunk and shifted, far from N(0, I)
    report = prior_mismatch(LatentPrior.fit(codes, diagonal=True))
    kl = report["kl_to_standard"]
    assert kl.shape == (2,) and kl[0] < 0.05 < 20 < kl[1]
    assert report["sqrt_latent_dim"] == 4.0
    assert abs(float(report["code_norm_mean"][0]) - 4.0) < 0.2
    assert abs(float(report["code_norm_mean"][1]) - 8.0) < 0.1 and float(report["code_norm_std"][1]) < 0.2


def test_save_load_round_trip_and_a_fit_of_other_weights_is_refused(tmp_path):
    prior = LatentPrior.fit(correlated_codes(100)[0], checkpoint="abc123")
    path = prior.save(tmp_path / "latent_prior.pth")
    loaded = LatentPrior.load(path, checkpoint="abc123")
    assert loaded.checkpoint == "abc123"
    for name in ("mean", "scale_tril", "shrinkage", "samples", "norm_mean", "norm_std"):
        assert torch.equal(getattr(loaded, name), getattr(prior, name)), name
    with pytest.raises(ValueError, match="other weights"):
        LatentPrior.load(path, checkpoint="def456")
    torch.save({"steps": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not a latent-prior file"):
        LatentPrior.load(tmp_path / "other.pth")


def test_the_prior_is_fitted_once_per_checkpoint_and_refitted_when_the_weights_change(tmp_path):
    vae, weights = tiny_vae(), tmp_path / "latest_net_G.pth"
    torch.save(vae.state_dict(), weights)
    calls = []

    def train_set():
        calls.append(1)
        return [{"label": label} for label in random_labels(12)]

    path = tmp_path / "latent_prior.pth"
    first = load_or_fit_prior(path, weights, vae, train_set, max_samples=10)
    assert calls == [1] and path.is_file() and first.checkpoint == file_digest(weights)
    assert first.mean.shape == (18, 16) and first.samples.max() <= 10
    again = load_or_fit_prior(path, weights, vae, train_set)
    assert calls == [1] and torch.equal(again.scale_tril, first.scale_tril)
    torch.save(tiny_vae(seed=1).state_dict(), weights)  # retrained: the stored fit is stale
    load_or_fit_prior(path, weights, tiny_vae(seed=1), train_set)
    assert calls == [1, 1] and LatentPrior.load(path).checkpoint == file_digest(weights)


def test_aggregate_generate_changes_only_the_requested_codes_and_repeats_with_a_seed():
    mu = torch.randn(2, 18, 16)
    prior = LatentPrior.fit(10 + torch.randn(50, 18, 16))
    codes = generate_codes(mu, [NOSE, MOUTH], 3, torch.Generator().manual_seed(0), prior)
    assert changed_parts(codes, mu) == [1, 9]
    assert torch.equal(codes, generate_codes(mu, [NOSE, MOUTH], 3, torch.Generator().manual_seed(0), prior))
    assert (codes[:, :, [1, 9]].mean() - 10).abs() < 1  # drawn around the fitted mean, not around 0
    standard = generate_codes(mu, [NOSE, MOUTH], 3, torch.Generator().manual_seed(0))
    torch.testing.assert_close(codes[:, :, [1, 9]], prior.transform(standard[:, :, [1, 9]], [1, 9]))


def test_the_temperature_scales_the_draw_around_the_prior_mean():
    mu = torch.randn(2, 18, 16)
    prior = LatentPrior.fit(10 + torch.randn(50, 18, 16))
    draws = {t: generate_codes(mu, [NOSE], 3, torch.Generator().manual_seed(0), prior, t)[:, :, 1] for t in (0, 1, 2.5)}
    torch.testing.assert_close(draws[0], prior.mean[1].expand_as(draws[0]))  # temperature 0: the mean itself
    torch.testing.assert_close(draws[2.5] - prior.mean[1], 2.5 * (draws[1] - prior.mean[1]))
    vae, labels = tiny_vae(), random_labels(2)
    editor = MaskEditor(vae, prior, sample_from="aggregate", temperature=0)
    out = editor.generate(labels, [NOSE], 2, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out.codes[:, :, 1], prior.mean[1].expand(2, 2, 16))
    with pytest.raises(ValueError, match="temperature=-1 must be >= 0"):
        MaskEditor(vae, prior, temperature=-1)


def test_perturb_scaled_by_the_aggregate_std():
    mu, scale = torch.randn(1, 18, 16), torch.rand(18, 16)
    plain = perturb_codes(mu, [NOSE], 2.0, 2, torch.Generator().manual_seed(0))
    scaled = perturb_codes(mu, [NOSE], 2.0, 2, torch.Generator().manual_seed(0), scale)
    assert changed_parts(scaled, mu) == [1]
    torch.testing.assert_close(scaled[:, :, 1] - mu[:, None, 1], scale[1] * (plain[:, :, 1] - mu[:, None, 1]))


def test_editor_uses_the_prior_it_was_given_and_refuses_aggregate_without_one():
    vae, labels = tiny_vae(), random_labels(2)
    prior = LatentPrior.fit(5 + torch.randn(40, 18, 16))
    editor = MaskEditor(vae, prior, sample_from="aggregate")
    out = editor.generate(labels, [NOSE], 2, torch.Generator().manual_seed(0))
    mu = editor.encode(labels)
    assert changed_parts(out.codes, mu) == [1] and out.codes[:, :, 1].mean() > 3
    assert MaskEditor(vae, prior).sample(3, 2, torch.Generator().manual_seed(0)).codes.abs().mean() < 2  # standard
    with pytest.raises(ValueError, match="needs a fitted prior"):
        MaskEditor(vae, sample_from="aggregate")
    with pytest.raises(ValueError, match="invalid"):
        MaskEditor(vae, prior, sample_from="posterior")

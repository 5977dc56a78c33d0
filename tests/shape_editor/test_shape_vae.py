import pytest
import torch
from torch import nn

from shape_editor.config import ShapeVAEConfig
from shape_editor.losses import shape_vae_loss
from shape_editor.masks import labels_to_onehot
from shape_editor.shape_vae import ShapeVAE


def tiny_config(**overrides):
    sizes = dict(crop_size=32, enc_size=16, enc_widths=(64, 32, 32), lstm_hidden=16, ff_hidden=32, ngf=8, groups=4)
    return ShapeVAEConfig(**{**sizes, **overrides})


def random_masks(cfg, batch=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, cfg.label_nc, (batch, cfg.crop_size, cfg.crop_size), generator=generator)
    return labels, labels_to_onehot(labels, cfg.label_nc)


ABLATIONS = [
    dict(),
    dict(use_lstm=False),
    dict(lstm_layers=1, bidirectional=False, weighted_ce=False),
    dict(lstm_layers=3, bidirectional=False, weighted_ce=False),
    dict(lstm_layers=3, bidirectional=False),
    dict(lstm_layers=3, weighted_ce=False),
]


@pytest.mark.parametrize("ablation", ABLATIONS)
@pytest.mark.parametrize(
    "sizes", [dict(crop_size=32, enc_size=16), dict(crop_size=64, enc_size=32), dict(latent_dim=64)]
)
def test_output_shapes(ablation, sizes):
    torch.manual_seed(0)
    cfg = tiny_config(**sizes, **ablation)
    _, onehot = random_masks(cfg)
    out = ShapeVAE(cfg)(onehot)
    assert out.logits.shape == (2, 19, cfg.crop_size, cfg.crop_size)
    for t in (out.mu, out.logvar, out.codes):
        assert t.shape == (2, 18, cfg.latent_dim)


def test_without_lstm_mix_is_the_identity():
    model = ShapeVAE(tiny_config(use_lstm=False))
    assert isinstance(model.sequence, nn.Identity)
    codes = torch.randn(2, 18, 256)
    assert model.mix(codes) is codes


def test_paper_sized_parameter_counts():
    with torch.device("meta"):
        model = ShapeVAE(ShapeVAEConfig())
    counts = {name: sum(p.numel() for p in m.parameters()) for name, m in model.named_children()}
    encoder = (16384 * 1024 + 1024) + (1024 * 512 + 512) + (512 * 256 + 256) + 2 * (256 * 256 + 256)
    lstm = 2 * ((1024 * 512 + 2048) + 2 * (1024 * 768 + 2048))
    sequence = lstm + (512 * 1024 + 1024) + (1024 * 256 + 256) + (512 * 256 + 256)
    assert counts == {"encoder": encoder, "sequence": sequence, "decoder": 2_538_835}
    assert counts == {"encoder": 17_565_952, "sequence": 5_125_632, "decoder": 2_538_835}
    assert sum(counts.values()) == 25_230_419
    assert model.encoder.mlp[0].weight.shape == (1024, 16384)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    cfg = tiny_config()
    model = ShapeVAE(cfg).train()
    for block in model.decoder.blocks:  # zero-initialised convs block the gradient of the layers before them
        nn.init.normal_(block.conv_out.weight, std=0.1)
    labels, onehot = random_masks(cfg)
    out = model(onehot, torch.Generator().manual_seed(0))
    sum(shape_vae_loss(out, labels, torch.rand(19), cfg.lambda_kl).values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_second_convs_are_zero_at_init():
    model = ShapeVAE(tiny_config(crop_size=64, enc_size=32))
    assert len(model.decoder.blocks) == 2
    for block in model.decoder.blocks:
        assert torch.count_nonzero(block.conv_out.weight) == 0 and torch.count_nonzero(block.conv_out.bias) == 0


def test_eval_uses_mu_and_is_deterministic():
    torch.manual_seed(0)
    cfg = tiny_config()
    model = ShapeVAE(cfg).eval()
    _, onehot = random_masks(cfg)
    first, second = model(onehot), model(onehot)
    assert torch.equal(first.codes, first.mu)
    assert torch.equal(first.logits, second.logits)
    torch.testing.assert_close(model.reconstruct(onehot), first.logits)


def test_training_sample_is_reproducible_with_a_generator():
    torch.manual_seed(0)
    cfg = tiny_config()
    model = ShapeVAE(cfg).train()
    _, onehot = random_masks(cfg)
    first = model(onehot, torch.Generator().manual_seed(3))
    again = model(onehot, torch.Generator().manual_seed(3))
    other = model(onehot, torch.Generator().manual_seed(4))
    assert torch.equal(first.logits, again.logits) and torch.equal(first.codes, again.codes)
    assert not torch.equal(first.codes, other.codes)
    assert not torch.equal(first.codes, first.mu)


def test_reconstruct_uses_mu_in_training_mode_without_grad():
    torch.manual_seed(0)
    cfg = tiny_config()
    model = ShapeVAE(cfg).train()
    _, onehot = random_masks(cfg)
    logits = model.reconstruct(onehot)
    assert not logits.requires_grad
    torch.testing.assert_close(logits, model.decode(model.encode(onehot)[0]))


def test_class_probabilities_sum_to_one():
    torch.manual_seed(0)
    cfg = tiny_config()
    _, onehot = random_masks(cfg)
    probs = ShapeVAE(cfg).eval()(onehot).logits.softmax(dim=1)
    torch.testing.assert_close(probs.sum(1), torch.ones(2, cfg.crop_size, cfg.crop_size))


@pytest.mark.parametrize("shape", [(2, 18, 32, 32), (2, 19, 64, 64), (2, 19, 32, 16)])
def test_encode_rejects_masks_of_the_wrong_shape(shape):
    with pytest.raises(ValueError, match=r"\[B, 19, 32, 32\]"):
        ShapeVAE(tiny_config()).encode(torch.zeros(shape))


def test_integer_ids_encode_like_their_one_hot():
    torch.manual_seed(0)
    cfg = tiny_config()
    model = ShapeVAE(cfg).eval()
    labels, onehot = random_masks(cfg)
    for ids in (labels, labels[:, None], labels.to(torch.uint8)):
        assert torch.equal(model.encode(ids)[0], model.encode(onehot)[0])
    torch.testing.assert_close(model(labels[:, None]).logits, model(onehot).logits)


@pytest.mark.parametrize("shape", [(2, 1, 16, 16), (2, 32, 16)])
def test_encode_rejects_label_maps_of_the_wrong_size(shape):
    with pytest.raises(ValueError, match="crop_size=32"):
        ShapeVAE(tiny_config()).encode(torch.zeros(shape, dtype=torch.int64))


def test_encode_names_out_of_range_ids():
    labels = torch.zeros(1, 32, 32, dtype=torch.int64)
    labels[0, 3, 5] = 23
    with pytest.raises(ValueError, match=r"label ids \[23\]"):
        ShapeVAE(tiny_config()).encode(labels)

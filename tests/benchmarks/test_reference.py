"""The optimised network computes what the plain reference computes (fp32: allclose; bf16: same argmax)."""
import pytest
import torch
from torch import nn

from benchmarks.reference import PlainShapeVAE
from benchmarks.tasks import face_labels
from shape_editor import ShapeVAE, ShapeVAEConfig, labels_to_onehot, shape_vae_loss

SIZES = [dict(crop_size=32, enc_size=16), dict(crop_size=64, enc_size=32, ngf=16)]


def twin_networks(**size):
    """(optimised, plain) networks with the same weights and a non-zero decoder."""
    torch.manual_seed(0)
    cfg = ShapeVAEConfig(**{**dict(crop_size=32, enc_size=16, enc_widths=(64, 32), ngf=8, groups=8), **size})
    fast = ShapeVAE(cfg)
    for block in fast.decoder.blocks:
        nn.init.normal_(block.conv_out.weight, std=0.1)
    plain = PlainShapeVAE(cfg)
    plain.load_state_dict(fast.state_dict())
    return fast, plain


def test_plain_network_has_the_same_state_dict_keys():
    fast, plain = twin_networks()
    assert list(fast.state_dict()) == list(plain.state_dict())


@pytest.mark.parametrize("size", SIZES)
def test_inference_matches_the_plain_path(size, one_thread):
    fast, plain = twin_networks(**size)
    labels = face_labels(3, size["crop_size"])
    with torch.no_grad():
        expected = plain.eval()(labels_to_onehot(labels, 19))
    with torch.inference_mode():  # the fast path takes ids and runs its blocks channels-last here
        got = fast.eval()(labels)
    torch.testing.assert_close(got.mu, expected.mu)
    torch.testing.assert_close(got.logits, expected.logits, atol=1e-4, rtol=1e-4)
    assert torch.equal(got.logits.argmax(1), expected.logits.argmax(1))


@pytest.mark.parametrize("size", SIZES)
def test_training_step_gradients_match_the_plain_path(size, one_thread):
    fast, plain = twin_networks(**size)
    labels = face_labels(2, size["crop_size"])
    weights = torch.rand(19, generator=torch.Generator().manual_seed(1))
    grads = []
    for net, masks in ((fast, labels), (plain, labels_to_onehot(labels, 19))):
        out = net.train()(masks, torch.Generator().manual_seed(5))
        sum(shape_vae_loss(out, labels, weights, 0.0005).values()).backward()
        grads.append({name: p.grad for name, p in net.named_parameters()})
    for name, grad in grads[1].items():
        torch.testing.assert_close(grads[0][name], grad, atol=1e-5, rtol=1e-4, msg=name)


def test_ids_and_one_hot_inputs_give_identical_codes():
    fast, _ = twin_networks()
    labels = face_labels(2, 32)
    mu_ids, logvar_ids = fast.encode(labels)
    mu_onehot, logvar_onehot = fast.encode(labels_to_onehot(labels, 19))
    assert torch.equal(mu_ids, mu_onehot) and torch.equal(logvar_ids, logvar_onehot)


def overfit(net: ShapeVAE, labels: torch.Tensor, steps: int) -> None:
    """A few Adam steps so the logits have the margins of a trained model (a random net's are tiny)."""
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for step in range(steps):
        out = net.train()(labels, torch.Generator().manual_seed(step))
        optimizer.zero_grad()
        sum(shape_vae_loss(out, labels, None, 0.0005).values()).backward()
        optimizer.step()


def test_bf16_autocast_masks_agree_with_the_fp32_plain_path(one_thread):
    fast, _ = twin_networks()
    labels = face_labels(4, 32)
    overfit(fast, labels, steps=30)
    plain = PlainShapeVAE(fast.config)
    plain.load_state_dict(fast.state_dict())
    with torch.no_grad():
        expected = plain.eval()(labels_to_onehot(labels, 19)).logits.argmax(1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = fast.eval()(labels).logits
    assert logits.dtype == torch.bfloat16
    assert (logits.argmax(1) == expected).float().mean() >= 0.99

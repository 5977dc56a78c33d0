"""The product's training step (trainer, fused Adam, fast decoder) equals the plain loop; flag and --compile wiring."""

import logging

import pytest
import torch

import trainers.base_trainer as base_trainer
from benchmarks.tasks import Spec, face_labels, network_config, product_trainer
from shape_editor import ShapeVAE, labels_to_onehot, shape_vae_loss
from tests.conftest import TINY_SHAPEVAE

TINY = dict(crop_size=32, enc_size=16, enc_widths=[64, 32], ngf=8)


def test_trainer_step_equals_the_plain_step(one_thread):
    spec = Spec(task="train", batch=2, size=TINY)
    trainer = product_trainer(spec, network_config(spec.size))
    assert trainer.optimizers["G"].defaults["fused"]
    vae = trainer.model.vae
    forward = trainer.model.training_forward
    assert forward.fast_decoder and forward.checkpoint_activations  # the defaults
    plain = ShapeVAE(vae.config)  # the plain modules, on the full-size one-hot
    plain.load_state_dict(vae.state_dict())
    weights = torch.rand(19, generator=torch.Generator().manual_seed(0))
    trainer.model.class_weights.copy_(weights)
    labels = face_labels(2, 32)

    torch.manual_seed(3)  # the training-time sample of both paths
    losses = trainer.run_step({"label": labels})
    torch.manual_seed(3)
    expected = shape_vae_loss(
        plain.train()(labels_to_onehot(labels, 19)),
        labels,
        weights,
        vae.config.lambda_kl,
        trainer.model.recipe.lambda_dice,
    )
    sum(expected.values()).backward()
    assert losses["CE"] == pytest.approx(expected["CE"].item(), rel=1e-5)
    assert losses["KL"] == pytest.approx(expected["KL"].item(), rel=1e-5)
    for (name, got), want in zip(vae.named_parameters(), plain.parameters()):
        torch.testing.assert_close(got.grad, want.grad, atol=1e-5, rtol=1e-4, msg=name)

    # The fused Adam step equals the plain one on the same gradients (Adam's first step is about
    # lr * sign(grad), so rounding-level gradient differences must not be compared through it).
    group = trainer.optimizers["G"].param_groups[0]
    optimizer = torch.optim.Adam(plain.parameters(), lr=group["lr"], betas=group["betas"], foreach=False)
    for got, want in zip(vae.parameters(), plain.parameters()):
        want.grad = got.grad.clone()
    optimizer.step()
    for (name, got), want in zip(vae.named_parameters(), plain.parameters()):
        torch.testing.assert_close(got, want, msg=name)


@pytest.mark.parametrize(
    "flags, fast_decoder, checkpoint_activations",
    [
        ([], True, True),
        (["--no-fast_decoder"], False, True),
        (["--no-checkpoint_activations"], True, False),
        (["--no-fast_decoder", "--no-checkpoint_activations"], False, False),
    ],
)
def test_training_path_flags_select_the_forward(flags, fast_decoder, checkpoint_activations, tmp_path):
    import models
    from options.train_options import TrainOptions

    argv = [*TINY_SHAPEVAE, "--checkpoints_dir", str(tmp_path), *flags]
    forward = models.create_model(TrainOptions().parse(argv, save=False)).training_forward
    assert (forward.fast_decoder, forward.checkpoint_activations) == (fast_decoder, checkpoint_activations)
    assert forward.plain == (not fast_decoder and not checkpoint_activations)


def test_compile_flag_compiles_every_network_in_place(monkeypatch):
    compiled = []
    monkeypatch.setattr(ShapeVAE, "compile", lambda self: compiled.append(type(self).__name__))
    product_trainer(Spec(task="train", batch=2, size=TINY, compile=True), network_config(TINY))
    assert compiled == ["ShapeVAE"]


def test_shape_vae_compile_keeps_checks_eager_and_state_dict_keys():
    vae = ShapeVAE(network_config(TINY))
    keys = list(vae.state_dict())
    vae.compile()  # lazy: nothing is compiled before the first call
    assert list(vae.state_dict()) == keys
    assert vae._compiled_call_impl is None
    assert all(m._compiled_call_impl is not None for m in (vae.encoder, vae.sequence, vae.decoder))


def test_emulated_bf16_is_reported(monkeypatch, caplog):
    monkeypatch.setattr(base_trainer, "cpu_has_native_bf16", lambda: False)
    with caplog.at_level(logging.WARNING):
        base_trainer.configure_device(torch.device("cpu"), "bf16")
        base_trainer.configure_device(torch.device("cpu"), "none")
    assert len(caplog.records) == 1 and "no native bf16" in caplog.records[0].message

"""SEAN's trainer: TTUR optimisers, G/D step schedule, learning on a fixed batch, and exact resume."""

import math

import pytest
import torch

import data
import models
import trainers
from models.sean_model import reconstruction_metrics
from tests.models.test_sean_model import tiny_train_opt
from util.distributed import DistInfo


def make_trainer(opt):
    return trainers.create_trainer(opt, models.create_model(opt), torch.device("cpu"), DistInfo(0, 1, 0))


def fixed_batch(opt, size):
    dataset = data.create_dataset(opt)
    return torch.utils.data.default_collate([dataset[i] for i in range(size)])


def adam_steps(optimizer):
    return {int(state["step"]) for state in optimizer.state.values()}


@pytest.mark.parametrize(
    "ttur, lrs, betas",
    [
        (True, (0.0005, 0.002), (0.0, 0.9)),  # SPADE's TTUR: lr/2 for G, 2*lr for D, betas (0, 0.9)
        (False, (0.001, 0.001), (0.5, 0.99)),
    ],
)
def test_ttur_learning_rates_and_betas(tmp_path, ttur, lrs, betas):
    flags = ["--lr", "0.001", "--beta1", "0.5", "--beta2", "0.99", *([] if ttur else ["--no_TTUR"])]
    trainer = make_trainer(tiny_train_opt(tmp_path, *flags))
    groups = {name: o.param_groups[0] for name, o in trainer.optimizers.items()}
    assert (groups["G"]["lr"], groups["D"]["lr"]) == pytest.approx(lrs)
    assert groups["G"]["betas"] == groups["D"]["betas"] == betas
    model = trainer.model
    assert {id(p) for p in groups["G"]["params"]} == {id(p) for p in model.netG.parameters()}
    assert {id(p) for p in groups["D"]["params"]} == {id(p) for p in model.netD.parameters()}


def test_generator_steps_every_d_steps_per_g(tmp_path):
    torch.manual_seed(0)
    opt = tiny_train_opt(tmp_path, "--D_steps_per_G", "2", "--synthetic_size", "2")
    trainer, batch = make_trainer(opt), fixed_batch(opt, 2)
    for _ in range(3):
        losses = trainer.run_step(batch)
        trainer.progress.total_steps += 1
    assert adam_steps(trainer.optimizers["G"]) == {2} and adam_steps(trainer.optimizers["D"]) == {3}
    assert set(losses) == {"GAN", "GAN_Feat", "D"}  # the last G losses are still reported
    # DDP needs a gradient for every trainable weight: only the unused blending scalars of up_3 are frozen
    for net in (trainer.model.netG, trainer.model.netD):
        assert [n for n, p in net.named_parameters() if p.requires_grad and p.grad is None] == []
    frozen = [n for n, p in trainer.model.netG.named_parameters() if not p.requires_grad]
    norms = ("ace_0", "ace_1", "ace_s")
    assert sorted(frozen) == [f"up_3.{norm}.blending_{x}" for norm in norms for x in ("beta", "gamma")]


def test_training_reconstructs_better_with_finite_losses(tmp_path):
    """30 steps on one batch: the re-synthesis error falls and the discriminator learns.

    The error is measured in training mode (batch statistics), so that it reflects learned weights rather
    than BatchNorm running statistics catching up.
    """
    torch.manual_seed(0)
    opt = tiny_train_opt(tmp_path, "--synthetic_size", "2")
    trainer, batch = make_trainer(opt), fixed_batch(opt, 2)
    masks, real = trainer.model.inputs(batch)

    def l1() -> float:
        with torch.no_grad():
            return float(reconstruction_metrics(trainer.G(masks, real), real)["L1"].mean())

    before = l1()  # about 0.51 (seeds 0-2); about 0.43-0.46 after 30 steps
    history = [trainer.run_step(batch) for _ in range(30)]
    assert all(math.isfinite(v) for losses in history for v in losses.values())
    assert l1() < before - 0.03
    assert sum(h["D"] for h in history[-5:]) / 5 < history[0]["D"] - 0.3  # hinge loss starts at 2, about 1.4 here


def test_resume_restores_both_optimizers(tmp_path):
    torch.manual_seed(0)
    opt = tiny_train_opt(tmp_path, "--name", "resume", "--synthetic_size", "2")
    trainer, batch = make_trainer(opt), fixed_batch(opt, 2)
    for _ in range(2):
        trainer.run_step(batch)
        trainer.progress.total_steps += 1
    trainer.update_learning_rate()
    trainer.save("latest")

    resumed = make_trainer(tiny_train_opt(tmp_path, "--name", "resume", "--synthetic_size", "2", "--continue_train"))
    resumed.load_resume()
    assert resumed.progress.total_steps == 2
    for name in ("G", "D"):
        saved, loaded = trainer.optimizers[name].state_dict(), resumed.optimizers[name].state_dict()
        assert loaded["param_groups"] == saved["param_groups"] and adam_steps(resumed.optimizers[name]) == {2}
        for index, state in saved["state"].items():
            for key in ("exp_avg", "exp_avg_sq"):
                torch.testing.assert_close(loaded["state"][index][key], state[key], rtol=0, atol=0)
        assert resumed.schedulers[name].state_dict() == trainer.schedulers[name].state_dict()
    for (key, value), loaded in zip(trainer.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(loaded, value, rtol=0, atol=0, msg=key)
    assert resumed.run_step(batch).keys() == {"GAN", "GAN_Feat", "D"}

"""Numerics: a non-finite loss skips the step (weights and optimiser untouched), N in a row abort with
a clear message, and `--grad_clip` bounds the gradient norm (a non-finite norm skips the step too)."""

from __future__ import annotations

import copy
import logging

import pytest
import torch
from torch import Tensor, nn

import data
import models
import train
import trainers
from models.base_model import BaseModel
from options.train_options import TrainOptions
from tests.reliability.conftest import LIGHT_SHAPEVAE
from trainers.base_trainer import BaseTrainer, NonFiniteLossError
from trainers.trainer_config import TrainerConfig
from util.distributed import DistInfo

SINGLE = DistInfo(rank=0, world_size=1, local_rank=0)


class TwoLayers(BaseModel):
    network_names = {"G": "g", "D": "d"}

    def __init__(self) -> None:
        super().__init__("unused")
        self.g, self.d = nn.Linear(3, 2), nn.Linear(2, 1)


class ToyTrainer(BaseTrainer):
    """Adam for G (it has state to compare) and SGD(lr=1) for D (so a step moves D by exactly -gradient)."""

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            "G": torch.optim.Adam(self.model.g.parameters(), lr=0.1),
            "D": torch.optim.SGD(self.model.d.parameters(), lr=1.0),
        }

    def run_step(self, batch: dict[str, Tensor]) -> dict[str, float]:
        losses = self.optimize("G", {"loss": self.model.g(batch["x"]).square().mean()}, self.model.g.parameters())
        d_loss = {"D": self.model.d(batch["y"]).square().mean()}
        return {**losses, **self.optimize("D", d_loss, self.model.d.parameters())}


def toy(grad_clip: float = 0.0, max_bad_steps: int = 3) -> ToyTrainer:
    torch.manual_seed(0)
    config = TrainerConfig(niter=1, grad_clip=grad_clip, max_bad_steps=max_bad_steps)
    return ToyTrainer(config, TwoLayers(), torch.device("cpu"), SINGLE)


GOOD = {"x": torch.ones(4, 3), "y": torch.ones(4, 2)}
NAN = {"x": torch.full((4, 3), float("nan")), "y": torch.ones(4, 2)}


def snapshot(trainer: ToyTrainer) -> tuple[dict, dict]:
    return copy.deepcopy(trainer.model.g.state_dict()), copy.deepcopy(trainer.optimizers["G"].state_dict())


def assert_same(a: dict, b: dict) -> None:
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_nan_batch_is_skipped_and_leaves_weights_and_adam_state_alone(caplog):
    trainer = toy()
    trainer.run_step(GOOD)  # Adam now has moments and a step count
    weights, state = snapshot(trainer)
    with caplog.at_level(logging.WARNING, logger="trainers.base_trainer"):
        losses = trainer.run_step(NAN)
    assert losses["loss"] != losses["loss"]  # NaN is still reported
    assert_same(trainer.model.g.state_dict(), weights)
    assert_same(trainer.optimizers["G"].state_dict(), state)
    assert trainer.bad_steps == {"G": 1, "D": 0}
    assert "non-finite loss at step 1 (loss=nan); step G skipped (1 in a row)" in caplog.text
    trainer.run_step(GOOD)
    assert trainer.bad_steps["G"] == 0
    assert not torch.equal(trainer.model.g.weight, weights["weight"])


def test_max_bad_steps_in_a_row_abort_even_when_another_optimiser_succeeds():
    trainer = toy(max_bad_steps=3)
    trainer.run_step(NAN)
    trainer.run_step(NAN)
    with pytest.raises(
        NonFiniteLossError,
        match=r"^3 non-finite losses in a row \(optimiser G, last at step 1: "
        r"loss=nan\) \(--lr\): lower --lr, set --grad_clip, or check the data$",
    ):
        trainer.run_step(NAN)


def test_grad_clip_bounds_the_norm_of_the_step():
    big = {"x": torch.full((4, 3), 100.0), "y": torch.full((4, 2), 100.0)}
    free, clipped = toy(), toy(grad_clip=0.5)
    d_before = [p.detach().clone() for p in clipped.model.d.parameters()]
    free.run_step(big)
    clipped.run_step(big)

    def norm(module: nn.Module) -> Tensor:
        return torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in module.parameters()]))

    assert norm(free.model.d) > 100 and norm(free.model.g) > 100  # what clipping has to bring down
    torch.testing.assert_close(norm(clipped.model.d), torch.tensor(0.5))
    torch.testing.assert_close(norm(clipped.model.g), torch.tensor(0.5))
    moved = torch.cat([(p - b).flatten() for p, b in zip(clipped.model.d.parameters(), d_before)])
    torch.testing.assert_close(torch.linalg.vector_norm(moved), torch.tensor(0.5))  # SGD(lr=1) took the clipped step


def test_finite_loss_with_overflowing_gradient_is_skipped_when_clipping():
    trainer = toy(grad_clip=1.0)
    with torch.no_grad():
        trainer.model.d.weight.zero_()
        trainer.model.d.bias.zero_()
    before = copy.deepcopy(trainer.model.d.state_dict())
    # d(y) = 0 everywhere, so sqrt(d(y)) is a finite loss whose gradient is infinite
    losses = trainer.optimize("D", {"D": trainer.model.d(GOOD["y"]).sqrt().mean()}, trainer.model.d.parameters())
    assert losses == {"D": 0.0} and trainer.bad_steps["D"] == 1
    assert_same(trainer.model.d.state_dict(), before)
    assert all(p.grad is None for p in trainer.model.d.parameters())


def test_shape_vae_trainer_skips_a_nan_batch_without_touching_the_network(tmp_path):
    opt = TrainOptions().parse(
        [
            *LIGHT_SHAPEVAE,
            "--checkpoints_dir",
            str(tmp_path),
            "--no_synthetic_images",
            "--synthetic_size",
            "2",
            "--batchSize",
            "2",
        ],
        save=False,
    )
    model = models.create_model(opt)
    trainer = trainers.create_trainer(opt, model, torch.device("cpu"), SINGLE)
    batch = next(iter(torch.utils.data.DataLoader(data.create_dataset(opt), batch_size=2)))
    model.class_weights.fill_(float("nan"))  # a poisoned class weight makes the CE term NaN
    weights = copy.deepcopy(model.vae.state_dict())
    losses = trainer.run_step(batch)
    assert losses["CE"] != losses["CE"] and trainer.bad_steps == {"G": 1}
    assert_same(model.vae.state_dict(), weights)
    assert trainer.optimizers["G"].state_dict()["state"] == {}


def test_train_py_aborts_a_diverging_run_with_a_clear_message(tmp_path, caplog):
    args = [
        *LIGHT_SHAPEVAE,
        "--checkpoints_dir",
        str(tmp_path),
        "--name",
        "diverge",
        "--no_synthetic_images",
        "--synthetic_size",
        "8",
        "--batchSize",
        "2",
        "--niter",
        "3",
        "--lr",
        "1e30",
        "--max_bad_steps",
        "3",
        "--print_freq",
        "1",
        "--eval_freq",
        "0",
    ]
    with (
        caplog.at_level(logging.WARNING),
        pytest.raises(
            NonFiniteLossError,
            match=r"^3 non-finite losses in a row "
            r"\(optimiser G, last at step 4",
        ),
    ):
        train.main(args)
    assert "step G skipped (1 in a row)" in caplog.text and "step G skipped (2 in a row)" in caplog.text
    lines = (tmp_path / "diverge" / "loss_log.txt").read_text().splitlines()
    assert ["CE: nan KL: nan" in line for line in lines if line.startswith("(epoch")] == [False, True, True]

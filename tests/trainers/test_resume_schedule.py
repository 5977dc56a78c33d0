"""`--continue_train` with a longer schedule trains on at the rates the new flags describe, not at 0."""

from __future__ import annotations

import pytest
import torch

import train
from shape_editor.recipe import lr_factor
from tests.reliability.conftest import LIGHT_SHAPEVAE
from trainers.shapevae_trainer import ShapeVAETrainer
from shape_editor.checkpoint_io import load_checkpoint


def test_extending_a_finished_run_continues_its_schedule(tmp_path, monkeypatch):
    common = [
        *LIGHT_SHAPEVAE,
        "--checkpoints_dir",
        str(tmp_path),
        "--name",
        "run",
        "--synthetic_size",
        "2",
        "--batchSize",
        "2",
        "--no_synthetic_images",
        "--eval_freq",
        "0",
        "--lr",
        "0.001",
    ]
    train.main([*common, "--niter", "1", "--niter_decay", "1"])  # 2 epochs: rates 0.001, 0.0005, then 0
    before = load_checkpoint(tmp_path / "run" / "latest_net_G.pth")["state_dict"]
    rates = []
    original = ShapeVAETrainer.run_step

    def record_rate(self, batch):
        rates.append(self.optimizers["G"].param_groups[0]["lr"])
        return original(self, batch)

    monkeypatch.setattr(ShapeVAETrainer, "run_step", record_rate)
    train.main([*common, "--continue_train", "--niter", "3", "--niter_decay", "1"])
    # epochs 3 and 4 of a 3 + 1 schedule: the full rate, then the first decay step
    assert rates == pytest.approx([0.001, 0.0005])
    after = load_checkpoint(tmp_path / "run" / "latest_net_G.pth")["state_dict"]
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_a_resumed_run_applies_the_per_step_schedule_on_top_of_the_epoch_rate(tmp_path, monkeypatch):
    """The recipe's warm-up and cosine factor multiply the restored epoch schedule's rate, step by step."""
    common = [
        *LIGHT_SHAPEVAE,
        "--checkpoints_dir",
        str(tmp_path),
        "--name",
        "run",
        "--synthetic_size",
        "2",
        "--batchSize",
        "2",
        "--no_synthetic_images",
        "--eval_freq",
        "0",
        "--recipe",
        "ours",
        "--lr",
        "0.001",
        "--lr_warmup_steps",
        "3",
        "--lr_schedule",
        "cosine",
    ]
    train.main([*common, "--niter", "1", "--niter_decay", "1"])  # steps 0 and 1 (one step an epoch)
    rates = []
    original = ShapeVAETrainer.apply_step_schedule

    def record_rate(self):
        original(self)
        rates.append(self.optimizers["G"].param_groups[0]["lr"])

    monkeypatch.setattr(ShapeVAETrainer, "apply_step_schedule", record_rate)
    train.main([*common, "--continue_train", "--niter", "3", "--niter_decay", "1"])
    # steps 2 and 3 of 4: epoch rates 0.001 and 0.0005 (as above), times the per-step factor of those steps
    expected = [0.001 * lr_factor(2, 4, 3, "cosine"), 0.0005 * lr_factor(3, 4, 3, "cosine")]
    assert rates == pytest.approx(expected) and all(rate > 0 for rate in rates)

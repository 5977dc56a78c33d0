"""End-to-end: train.py runs, writes what SPADE users expect, and resumes exactly."""

import json

import pytest
import torch

import train
from shape_editor.checkpoint_io import load_checkpoint
from trainers.shapevae_trainer import ShapeVAETrainer


def run_args(tiny_shapevae_args, *extra):
    return [
        *tiny_shapevae_args,
        "--name",
        "smoke",
        "--synthetic_size",
        "4",
        "--synthetic_test_size",
        "4",
        "--batchSize",
        "2",
        "--niter",
        "1",
        "--display_freq",
        "1",
        "--print_freq",
        "1",
        *extra,
    ]


def test_two_iterations_leave_checkpoint_log_and_page(tiny_shapevae_args, tmp_path):
    train.main(run_args(tiny_shapevae_args))
    run_dir = tmp_path / "checkpoints" / "smoke"
    for name in (
        "opt.txt",
        "opt.json",
        "loss_log.txt",
        "latest_net_G.pth",
        "1_net_G.pth",
        "latest_resume.pth",
        "class_weights.json",
        "web/index.html",
    ):
        assert (run_dir / name).is_file(), name
    payload = load_checkpoint(run_dir / "latest_net_G.pth")
    assert payload["step"] == 2 and payload["config"]["crop_size"] == 32
    assert len([line for line in (run_dir / "loss_log.txt").read_text().splitlines() if "CE:" in line]) == 2
    weights = json.loads((run_dir / "class_weights.json").read_text())
    assert abs(sum(weights["shares"]) - 1) < 1e-6


class Crash(RuntimeError):
    pass


def final_weights(run_dir):
    return load_checkpoint(run_dir / "latest_net_G.pth")["state_dict"]


def test_resumed_run_equals_uninterrupted_run(tiny_shapevae_args, tmp_path, monkeypatch):
    common = [
        *tiny_shapevae_args,
        "--synthetic_size",
        "6",
        "--synthetic_test_size",
        "2",
        "--batchSize",
        "2",
        "--niter",
        "1",
        "--niter_decay",
        "1",
        "--save_latest_freq",
        "2",
        "--display_freq",
        "100",
        "--seed",
        "3",
    ]
    train.main([*common, "--name", "straight"])

    original_step = ShapeVAETrainer.run_step

    def crash_after_four_steps(self, batch):
        if self.progress.total_steps == 5:  # step 6 never happens; the last save was after step 4
            raise Crash
        return original_step(self, batch)

    monkeypatch.setattr(ShapeVAETrainer, "run_step", crash_after_four_steps)
    with pytest.raises(Crash):
        train.main([*common, "--name", "resumed"])
    monkeypatch.setattr(ShapeVAETrainer, "run_step", original_step)
    resumed_dir = tmp_path / "checkpoints" / "resumed"
    assert load_checkpoint(resumed_dir / "latest_net_G.pth")["step"] == 4
    train.main([*common, "--name", "resumed", "--continue_train"])

    straight, resumed = final_weights(tmp_path / "checkpoints" / "straight"), final_weights(resumed_dir)
    assert straight.keys() == resumed.keys()
    for key in straight:
        torch.testing.assert_close(resumed[key], straight[key], rtol=0, atol=1e-6, msg=key)

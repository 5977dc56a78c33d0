"""Writes that lose no data: logs never follow links; a network and its resume state move together."""

from __future__ import annotations

import errno
import json
import os
import pickle

import pytest
import torch

import train
from shape_editor.cli import error_line, is_expected
from tests.reliability.conftest import LIGHT_SHAPEVAE
from shape_editor import checkpoint_io as checkpoint
from shape_editor.checkpoint_io import atomic_torch_save_all, load_checkpoint
from shape_editor.fileio import append_no_follow, atomic_write_json
from util.visualizer import Visualizer


def test_logs_refuse_a_symlink_in_their_place(tmp_path):
    target = tmp_path / "victim.txt"
    target.write_text("precious\n")
    (tmp_path / "loss_log.txt").symlink_to(target)
    with pytest.raises(OSError) as err:
        with append_no_follow(tmp_path / "loss_log.txt") as log:
            log.write("a loss line\n")
    assert target.read_text() == "precious\n"
    assert is_expected(err.value) and "loss_log.txt" in error_line(err.value)


def test_a_failed_save_moves_none_of_the_files(tmp_path):
    first, second = tmp_path / "latest_net_G.pth", tmp_path / "latest_resume.pth"
    atomic_torch_save_all({first: {"step": 1}, second: {"step": 1}})
    with pytest.raises((pickle.PicklingError, AttributeError)):
        atomic_torch_save_all({first: {"step": 2}, second: {"step": 2, "bad": lambda: None}})  # cannot be pickled
    assert load_checkpoint(first)["step"] == load_checkpoint(second)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest_net_G.pth", "latest_resume.pth"]


def test_a_full_disk_during_the_resume_save_keeps_the_latest_pair_in_step(tmp_path, monkeypatch):
    real_save = torch.save
    saves = {"resume": 0}

    def disk_fills_on_the_second_resume_save(obj, path, *args, **kwargs):
        if "latest_resume" in os.fspath(path):
            saves["resume"] += 1
            if saves["resume"] == 2:
                raise OSError(errno.ENOSPC, "No space left on device", os.fspath(path))
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(checkpoint.torch, "save", disk_fills_on_the_second_resume_save)
    with pytest.raises(OSError, match="No space left"):
        train.main(
            [
                *LIGHT_SHAPEVAE,
                "--checkpoints_dir",
                str(tmp_path),
                "--name",
                "run",
                "--synthetic_size",
                "4",
                "--batchSize",
                "2",
                "--niter",
                "1",
                "--save_latest_freq",
                "1",
                "--no_synthetic_images",
                "--eval_freq",
                "0",
            ]
        )
    run_dir = tmp_path / "run"
    network, resume = load_checkpoint(run_dir / "latest_net_G.pth"), load_checkpoint(run_dir / "latest_resume.pth")
    assert network["step"] == resume["progress"]["total_steps"] == 1


def strict_load(text: str):
    """A reader that rejects NaN and Infinity, as strict JSON parsers in other languages do."""

    def refuse(name):
        raise ValueError(f"bare {name} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_files_hold_null_for_undefined_numbers(tmp_path):
    atomic_write_json(tmp_path / "metrics.json", {"mIoU": float("nan"), "per_class": [1.0, float("inf")], "n": 3})
    assert strict_load((tmp_path / "metrics.json").read_text()) == {"mIoU": None, "per_class": [1.0, None], "n": 3}
    visualizer = Visualizer(str(tmp_path), "run", use_html=False)
    visualizer.add_metrics(1, {"mIoU": float("nan"), "accuracy": 50.0})
    strict_load((tmp_path / "run" / "val_metrics.json").read_text())

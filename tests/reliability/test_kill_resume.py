"""Crash safety: `kill -9` a real `python train.py` at several moments, resume, and end where an
uninterrupted run ends (same seed, same weights), with nothing half-written left behind."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from shape_editor.checkpoint_io import load_checkpoint
from tests.reliability.conftest import LIGHT_SHAPEVAE

REPO = Path(__file__).resolve().parents[2]
# 8 masks of 16 px, batch 2: 4 steps an epoch, 3 epochs; every step saves the latest checkpoint.
TRAIN = [
    *LIGHT_SHAPEVAE,
    "--no_synthetic_images",
    "--synthetic_size",
    "8",
    "--batchSize",
    "2",
    "--niter",
    "2",
    "--niter_decay",
    "1",
    "--save_latest_freq",
    "1",
    "--print_freq",
    "1",
    "--display_freq",
    "5",
    "--eval_freq",
    "0",
    "--seed",
    "5",
]
TOTAL_STEPS = 12
POLL = 0.01


def launch(checkpoints: Path, name: str, *extra: str) -> subprocess.Popen:
    """Start train.py; its output goes to `<checkpoints>/../<name>.log` (a pipe nobody reads could fill up)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # same maths in every process
    command = [sys.executable, "train.py", *TRAIN, "--checkpoints_dir", str(checkpoints), "--name", name, *extra]
    with (checkpoints.parent / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    proc.log = checkpoints.parent / f"{name}.log"
    return proc


def output(proc: subprocess.Popen) -> str:
    return proc.log.read_text(errors="replace")[-3000:]


def loss_lines(run_dir: Path) -> int:
    log = run_dir / "loss_log.txt"
    return sum(line.startswith("(epoch") for line in log.read_text().splitlines()) if log.exists() else 0


def wait_for_lines(proc: subprocess.Popen, run_dir: Path, count: int) -> None:
    """Block until loss_log.txt has `count` loss lines; the process must still be running."""
    deadline = time.monotonic() + 120
    while loss_lines(run_dir) < count:
        assert proc.poll() is None, f"train.py ended before loss line {count}: {output(proc)}"
        assert time.monotonic() < deadline, "train.py made no progress for 120 s"
        time.sleep(POLL)


def kill(proc: subprocess.Popen) -> None:
    proc.kill()  # SIGKILL: no cleanup handler of any kind runs
    proc.wait()


def finish(proc: subprocess.Popen) -> None:
    assert proc.wait(timeout=120) == 0, output(proc)


def temp_files(run_dir: Path) -> list[Path]:
    return sorted(run_dir.rglob("*.tmp"))


def plant_stale_temp_files(run_dir: Path) -> None:
    """What a kill in the middle of an atomic save leaves (the kill may or may not have left real ones)."""
    for stale in (run_dir / ".latest_net_G.pth.k1ll3d.tmp", run_dir / "web" / ".index.html.k1ll3d.tmp"):
        stale.parent.mkdir(parents=True, exist_ok=True)
        stale.write_bytes(b"half a file")


def assert_latest_intact(run_dir: Path, lines_seen: int) -> int:
    """After a kill, the latest network and resume files load and agree with the log; returns the step."""
    network = load_checkpoint(run_dir / "latest_net_G.pth")
    resume = load_checkpoint(run_dir / "latest_resume.pth")
    assert 1 <= resume["progress"]["total_steps"] <= network["step"] <= lines_seen
    return network["step"]


@pytest.mark.slow
def test_sigkill_at_several_moments_then_resume_matches_uninterrupted(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    straight = launch(checkpoints, "straight")  # runs alongside the interrupted one (2 cores)
    run_dir = checkpoints / "killed"
    rng = random.Random(0)
    # After the 2nd loss line, 3 lines into the first resume, then at a random moment of the second resume.
    moments = [(2, 0.0), (3, 0.0), (rng.randint(1, 3), rng.uniform(0.0, 0.05))]
    proc = launch(checkpoints, "killed")
    steps = []
    for new_lines, delay in moments:
        wait_for_lines(proc, run_dir, loss_lines(run_dir) + new_lines)
        time.sleep(delay)
        kill(proc)
        steps.append(assert_latest_intact(run_dir, loss_lines(run_dir)))
        plant_stale_temp_files(run_dir)
        proc = launch(checkpoints, "killed", "--continue_train")
    finish(proc)
    finish(straight)

    assert steps == sorted(steps) and steps[-1] < TOTAL_STEPS, steps
    assert temp_files(run_dir) == [] and temp_files(checkpoints / "straight") == []
    expected = load_checkpoint(checkpoints / "straight" / "latest_net_G.pth")
    resumed = load_checkpoint(run_dir / "latest_net_G.pth")
    assert resumed["step"] == expected["step"] == TOTAL_STEPS
    assert resumed["state_dict"].keys() == expected["state_dict"].keys()
    for key, value in expected["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][key], value, rtol=1e-5, atol=1e-6, msg=key)
    for which in ("3_net_G.pth", "latest_resume.pth", "web/index.html"):
        assert (run_dir / which).is_file(), which

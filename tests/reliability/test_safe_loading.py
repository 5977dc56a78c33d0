"""Untrusted checkpoints: every `torch.load` in the product is `weights_only=True`, and a crafted network
or resume file in a run folder is refused by `test.py` and `train.py --continue_train` without running."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
import torch

import test as test_entry
import train
from options.train_options import TrainOptions
from tests.conftest import TINY_SHAPEVAE

REPO = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {"tests", "checkpoints", "results", "venv", ".venv", "node_modules", "__pycache__"}


def unsafe_torch_loads(source: str) -> list[int]:
    """Line numbers of `torch.load(...)` calls without a literal `weights_only=True`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "load"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "torch"
        ):
            continue
        safe = any(
            k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
            for k in node.keywords
        )
        if not safe:
            lines.append(node.lineno)
    return lines


def product_files() -> list[Path]:
    files = []
    for folder, dirs, names in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        files += [Path(folder) / n for n in names if n.endswith(".py")]
    return files


def test_the_scanner_finds_unsafe_calls():
    source = (
        "import torch\na = torch.load(p)\nb = torch.load(p, weights_only=False)\n"
        "c = torch.load(p, map_location='cpu', weights_only=True)\nd = torch.load(p, **kw)\n"
    )
    assert unsafe_torch_loads(source) == [2, 3, 5]


def test_every_torch_load_in_the_product_is_weights_only():
    files = product_files()
    assert len(files) > 30 and REPO / "util" / "checkpoint.py" in files
    unsafe = {str(f.relative_to(REPO)): lines for f in files if (lines := unsafe_torch_loads(f.read_text()))}
    assert unsafe == {}, f"torch.load without weights_only=True: {unsafe}"
    # pickle in any other form is no better: options and metadata are JSON
    pickled = [
        str(f.relative_to(REPO)) for f in files if "import pickle" in f.read_text() and "pickle.load" in f.read_text()
    ]
    assert pickled == []


class Payload:
    """Unpickling this would create the marker file: a stand-in for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


@pytest.fixture
def crafted_run(tmp_path):
    """A run folder with real opt files but a network file and a resume file that carry a payload."""
    checkpoints = tmp_path / "checkpoints"
    TrainOptions().parse([*TINY_SHAPEVAE, "--checkpoints_dir", str(checkpoints), "--name", "run"], save=True)
    marker = tmp_path / "payload_ran"
    evil = {"state_dict": {"w": torch.zeros(1)}, "config": {}, "step": 0, "extra": Payload(marker)}
    for name in ("latest_net_G.pth", "latest_resume.pth"):
        torch.save(evil, checkpoints / "run" / name)
    return checkpoints, marker


def test_test_py_refuses_a_crafted_network_file(crafted_run, tmp_path):
    checkpoints, marker = crafted_run
    with pytest.raises(ValueError, match=r"refusing to load it: it carries code.*GLOBAL.*latest_net_G\.pth"):
        test_entry.main(
            [
                "--checkpoints_dir",
                str(checkpoints),
                "--name",
                "run",
                "--gpu_ids",
                "-1",
                "--results_dir",
                str(tmp_path / "results"),
                "--synthetic_test_size",
                "2",
            ]
        )
    assert not marker.exists()
    assert not (tmp_path / "results").exists()


def test_continue_train_refuses_a_crafted_resume_file(crafted_run):
    checkpoints, marker = crafted_run
    with pytest.raises(ValueError, match=r"refusing to load it: it carries code.*GLOBAL.*latest_resume\.pth"):
        train.main(
            [
                *TINY_SHAPEVAE,
                "--checkpoints_dir",
                str(checkpoints),
                "--name",
                "run",
                "--continue_train",
                "--synthetic_size",
                "2",
                "--synthetic_test_size",
                "2",
                "--batchSize",
                "2",
            ]
        )
    assert not marker.exists()
    assert not (checkpoints / "run" / "loss_log.txt").exists()

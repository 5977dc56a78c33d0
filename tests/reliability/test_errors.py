"""One clear line for every error: `error: <what> (<file or flag>): <fix>` on stderr, exit status 2.

Expected errors (UserError, this project's deliberate ValueErrors, file errors) print no traceback
unless `--debug` or SHAPEVAE_DEBUG=1; unexpected exceptions keep theirs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import test as test_entry
import train
from data import label_tools, prepare_celebamaskhq
from scripts import table1
from scripts import convert_official
from shape_editor.cli import run_cli
from shape_editor.errors import UserError
from tests.reliability.conftest import LIGHT_SHAPEVAE
from tests.reliability.helpers import one_error_line, run_entry
from shape_editor.checkpoint_io import load_checkpoint

REPO = Path(__file__).resolve().parents[2]


class Payload:
    """Unpickling this would call a function: what a code-carrying checkpoint does."""

    def __reduce__(self):
        return (os.getcwd, ())


def fails_with(err: Exception):
    def main(argv):
        raise err

    return main


def test_user_error_is_one_line_with_what_where_fix(capsys):
    status, stderr = run_entry(
        fails_with(UserError("no such part 'nose2'", "--edit_part", "give a name such as nose")), [], capsys
    )
    assert status == 2
    assert one_error_line(stderr) == "error: no such part 'nose2' (--edit_part): give a name such as nose"


def test_debug_flag_and_environment_show_the_traceback(capsys, monkeypatch):
    status, stderr = run_entry(fails_with(UserError("bad", "x", "fix")), ["--debug"], capsys)
    assert status == 2 and "Traceback" in stderr and stderr.rstrip().endswith("error: bad (x): fix")
    monkeypatch.setenv("SHAPEVAE_DEBUG", "1")
    assert "Traceback" in run_entry(fails_with(UserError("bad")), [], capsys)[1]


def test_unexpected_exceptions_keep_their_traceback():
    with pytest.raises(KeyError):
        run_cli(fails_with(KeyError("bug")), [])

    def torch_bug(argv):
        torch.zeros(2).view(3)  # a RuntimeError from inside torch: a bug, not the user's input

    with pytest.raises(RuntimeError):
        run_cli(torch_bug, [])

    def numpy_value_error(argv):
        import numpy as np

        np.zeros(2).reshape(3)  # ValueError raised by numpy, not by this project

    with pytest.raises(ValueError):
        run_cli(numpy_value_error, [])


def test_main_results_become_the_exit_status(capsys):
    assert run_entry(lambda argv: 1, [], capsys)[0] == 1
    assert run_entry(lambda argv: Path("page.html"), [], capsys)[0] == 0


@pytest.mark.parametrize(
    "main, argv, expected",
    [
        (train.main, ["--model", "nosuchmodel"], "unknown --model 'nosuchmodel'"),
        (train.main, ["--dataset_mode", "nosuch"], "unknown --dataset_mode 'nosuch'"),
        (train.main, ["--print_freq", "0"], "error: 0 is out of range (--print_freq): give an integer >= 1"),
        (train.main, ["--niter", "two"], "invalid int value: 'two' (--niter)"),
        (test_entry.main, ["--name", "never_trained"], "no saved options"),
        (label_tools.main, ["histogram", "/nonexistent/labels"], "/nonexistent/labels"),
        (prepare_celebamaskhq.main, ["--raw_root", "/nonexistent", "--out_root", "/tmp/x"], "/nonexistent"),
        (convert_official.main, ["--input", "/nonexistent.pth", "--name", "."], "'.' is not a plain folder name"),
        (table1.main, ["--budget_steps", "0"], "--budget_steps"),
    ],
)
def test_every_entry_point_ends_expected_errors_with_one_line(main, argv, expected, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, stderr = run_entry(main, argv, capsys)
    assert status == 2
    assert expected in one_error_line(stderr)
    assert not list(tmp_path.iterdir())  # nothing written by a refused command


def test_missing_part_and_bad_dataroot_name_the_flag(tmp_path, capsys):
    run = ["--checkpoints_dir", str(tmp_path / "ck"), "--results_dir", str(tmp_path / "res")]
    status, stderr = run_entry(train.main, [*LIGHT_SHAPEVAE, *run, "--dataroot", str(tmp_path / "missing")], capsys)
    assert status == 2 and "missing" in one_error_line(stderr)


def test_corrupt_and_code_carrying_checkpoints_are_told_apart(tmp_path):
    random_bytes = tmp_path / "random.pth"
    random_bytes.write_bytes(os.urandom(4096))
    truncated = tmp_path / "truncated.pth"
    torch.save({"w": torch.ones(3)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    garbled = []  # bytes the unpickler rejects with IndexError / KeyError rather than UnpicklingError
    for i, data in enumerate((b"a", b"h\x05")):
        garbled.append(tmp_path / f"garbled{i}.pth")
        garbled[-1].write_bytes(data)
    for path in (random_bytes, truncated, *garbled):
        with pytest.raises(UserError, match=r"corrupt or not a PyTorch checkpoint \(.*\.pth\): restore it"):
            load_checkpoint(path)
    carrying = tmp_path / "code.pth"
    torch.save({"w": Payload()}, carrying)
    with pytest.raises(UserError, match=r"carries code.*GLOBAL.*getcwd") as err:
        load_checkpoint(carrying)
    assert "is corrupt" not in str(err.value)


def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path):
    from shape_editor.checkpoint_io import load_state_dict_checked

    net = torch.nn.Linear(2, 2)
    state = {"weight": torch.full((2, 2), float("nan")), "bias": torch.zeros(2)}
    with pytest.raises(UserError, match=r"tensor weight holds NaN or infinite values \(net\.pth\)"):
        load_state_dict_checked(net, state, "net.pth")


def test_command_line_exit_status_and_single_line(tmp_path):
    """As the shell sees it: `python train.py --print_freq 0` and `python -m scripts.convert_official`."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("SHAPEVAE_DEBUG", None)
    for command in (
        [sys.executable, "train.py", "--print_freq", "0", "--checkpoints_dir", str(tmp_path)],
        [
            sys.executable,
            "-m",
            "scripts.convert_official",
            "--input",
            str(tmp_path / "no.pth"),
            "--name",
            "run",
            "--checkpoints_dir",
            str(tmp_path),
        ],
    ):
        result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        one_error_line(result.stderr)


def test_an_error_with_details_lists_them_first_and_ends_with_its_line(capsys):
    status, stderr = run_entry(fails_with(UserError("2 bad files:\n  a.png: truncated\n  b.png: empty")), [], capsys)
    assert status == 2 and stderr.splitlines() == ["  a.png: truncated", "  b.png: empty", "error: 2 bad files"]

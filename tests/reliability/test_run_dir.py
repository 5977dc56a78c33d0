"""Run folders are never betrayed: no silent overwrite, one process per run, no foreign cleanup.

Every refusal ends with one error line and exit status 2, and leaves the existing run byte-identical.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import data
import models
import train
from options.train_options import TrainOptions
from scripts import convert_official
from shape_editor.run_dir import RunLock, remove_own_temp_files
from tests.reliability.conftest import LIGHT_SHAPEVAE, ONE_TINY_EPOCH
from tests.reliability.helpers import folder_digest, one_error_line, run_entry


def args(checkpoints: Path, name: str, *extra: str) -> list[str]:
    return [*LIGHT_SHAPEVAE, *ONE_TINY_EPOCH, "--checkpoints_dir", str(checkpoints), "--name", name, *extra]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished one-step run `good` (shared: tests copy nothing into it without checking it after)."""
    checkpoints = tmp_path_factory.mktemp("runs")
    train.main(args(checkpoints, "good"))
    return checkpoints


def test_fresh_run_into_an_existing_run_is_refused_and_changes_nothing(trained, capsys):
    before = folder_digest(trained)
    status, stderr = run_entry(train.main, args(trained, "good"), capsys)
    line = one_error_line(stderr)
    assert status == 2 and "the run folder already holds a run" in line
    assert "--name good" in line and "--continue_train" in line and "--overwrite" in line
    assert folder_digest(trained) == before


def test_a_run_that_fails_while_building_leaves_the_old_run_intact(trained, capsys):
    """Options are written only once model and data are built, even with --overwrite."""
    before = folder_digest(trained)
    status, stderr = run_entry(train.main, args(trained, "good", "--overwrite", "--enc_size", "64"), capsys)
    assert status == 2 and "enc_size" in one_error_line(stderr)
    assert folder_digest(trained) == before


def test_overwrite_clears_the_folder_first(tmp_path):
    train.main(args(tmp_path, "run"))
    (tmp_path / "run" / "7_net_G.pth").write_bytes(b"an old epoch of another model")
    train.main(args(tmp_path, "run", "--overwrite"))
    assert not (tmp_path / "run" / "7_net_G.pth").exists()
    assert (tmp_path / "run" / "latest_net_G.pth").is_file() and not (tmp_path / "run" / ".lock").exists()


def test_resume_and_overwrite_together_are_refused(trained, capsys):
    status, stderr = run_entry(train.main, args(trained, "good", "--continue_train", "--overwrite"), capsys)
    assert status == 2 and "contradict" in one_error_line(stderr)


def test_a_live_run_is_locked_naming_its_pid_and_its_temp_files_survive(trained, capsys):
    run_dir = trained / "good"
    with RunLock(run_dir):
        live_temp = run_dir / ".latest_net_G.pth.live.tmp"
        live_temp.write_bytes(b"a save in progress")
        before = folder_digest(trained)
        for extra in ([], ["--continue_train"], ["--overwrite"]):
            status, stderr = run_entry(train.main, args(trained, "good", *extra), capsys)
            line = one_error_line(stderr)
            assert status == 2 and f"in use by process {os.getpid()}" in line
        assert folder_digest(trained) == before
        live_temp.unlink()
    assert not (run_dir / ".lock").exists()


@pytest.mark.parametrize("name", [".", "..", "a/b", "../good", ""])
def test_names_that_are_not_one_folder_are_refused(trained, name, capsys):
    (trained / ".other_run_save.tmp").write_bytes(b"another run's temporary file")
    before = folder_digest(trained)
    status, stderr = run_entry(train.main, args(trained, name, "--continue_train"), capsys)
    assert status == 2 and "not a plain folder name (--name)" in one_error_line(stderr)
    assert folder_digest(trained) == before
    (trained / ".other_run_save.tmp").unlink()


def test_temp_cleanup_stays_in_the_run_folder(tmp_path):
    run_dir, outside = tmp_path / "run", tmp_path / "elsewhere"
    (run_dir / "web").mkdir(parents=True)
    outside.mkdir()
    (outside / ".keep.tmp").write_bytes(b"not ours")
    (run_dir / "linked").symlink_to(outside)
    (run_dir / "web" / ".index.html.x.tmp").write_bytes(b"ours")
    assert remove_own_temp_files(run_dir) == [run_dir / "web" / ".index.html.x.tmp"]
    assert (outside / ".keep.tmp").exists()


def test_class_weights_are_keyed_by_the_dataset(tmp_path):
    opt = TrainOptions().parse(args(tmp_path, "run"))
    model = models.create_model(opt)
    model.setup(data.create_dataset(opt))
    path = tmp_path / "run" / "class_weights.json"
    first = json.loads(path.read_text())
    opt.synthetic_size, opt.synthetic_seed = 3, 1  # other data, same run folder
    model.setup(data.create_dataset(opt))
    second = json.loads(path.read_text())
    assert second["dataset"] != first["dataset"] and second["samples"] == 3 and second["shares"] != first["shares"]


def test_official_weights_refuse_an_existing_run(trained, tmp_path, capsys):
    before = folder_digest(trained)
    base = ["--input", str(tmp_path / "official.pth"), "--checkpoints_dir", str(trained), "--name", "good"]
    status, stderr = run_entry(convert_official.main, base, capsys)
    assert status == 2 and "already holds a run" in one_error_line(stderr)
    status, stderr = run_entry(convert_official.main, [*base, "--overwrite"], capsys)  # input missing: no clearing
    assert status == 2 and "official.pth" in one_error_line(stderr)
    assert folder_digest(trained) == before


def test_resuming_a_run_that_does_not_exist_is_refused_and_leaves_no_folder(tmp_path, capsys):
    status, stderr = run_entry(train.main, args(tmp_path, "never_trained", "--continue_train"), capsys)
    assert status == 2 and "there is no run to resume" in one_error_line(stderr)
    assert list(tmp_path.iterdir()) == []

"""test.py writes only under --results_dir: one folder per mode and part, replaced whole, never a mix."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import test as test_entry
import train
from tests.reliability.conftest import LIGHT_SHAPEVAE, ONE_TINY_EPOCH
from tests.reliability.helpers import folder_digest, one_error_line, run_entry
from testers.output import directions_path, prior_path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("ck")
    train.main(
        [
            *LIGHT_SHAPEVAE,
            "--checkpoints_dir",
            str(root),
            "--name",
            "run",
            *ONE_TINY_EPOCH,
        ]
    )
    return root


def run_test(checkpoints: Path, results: Path, *extra: str) -> Path:
    return test_entry.main(
        [
            "--checkpoints_dir",
            str(checkpoints),
            "--name",
            "run",
            "--results_dir",
            str(results),
            "--synthetic_test_size",
            "2",
            "--n_samples",
            "2",
            *extra,
        ]
    )


def test_results_go_only_under_results_dir_one_folder_per_edit(checkpoints, tmp_path):
    before = folder_digest(checkpoints)
    results = tmp_path / "results"
    pages = [
        run_test(checkpoints, results),
        run_test(checkpoints, results, "--edit_part", "nose"),
        run_test(checkpoints, results, "--edit_part", "nose,mouth", "--edit_mode", "perturb"),
        run_test(checkpoints, results, "--results_name", "mine", "--edit_part", "nose"),
    ]
    assert [p.parent.name for p in pages] == [
        "test_latest",
        "test_latest_generate_nose",
        "test_latest_perturb_nose-mouth",
        "mine",
    ]
    assert all(p.is_file() and p.parent.parent == results / "run" for p in pages)
    assert (pages[0].parent / "opt_test.json").is_file()
    assert folder_digest(checkpoints) == before  # the checkpoint folder may be read-only


def test_a_rerun_replaces_the_folder_and_a_failed_run_keeps_it(checkpoints, tmp_path, capsys):
    results = tmp_path / "results"
    page = run_test(checkpoints, results, "--edit_part", "nose")
    stale = page.parent / "images" / "stale_from_an_older_run.png"
    stale.write_bytes(b"old")
    run_test(checkpoints, results, "--edit_part", "nose")
    assert not stale.exists()
    before = folder_digest(results)
    argv = [
        "--checkpoints_dir",
        str(checkpoints),
        "--name",
        "run",
        "--results_dir",
        str(results),
        "--edit_part",
        "nose",
        "--which_epoch",
        "9",
    ]
    status, stderr = run_entry(test_entry.main, argv, capsys)
    assert status == 2 and "9_net_G.pth" in one_error_line(stderr)
    assert folder_digest(results) == before and not list(results.glob("run/.*"))


def test_attribute_directions_are_keyed_by_the_checkpoint_content(tmp_path):
    first, second = tmp_path / "1_net_G.pth", tmp_path / "2_net_G.pth"
    first.write_bytes(b"epoch one")
    second.write_bytes(b"epoch two")
    opt = SimpleNamespace(results_dir=str(tmp_path))
    paths = {directions_path(opt, "run", p) for p in (first, second)}
    assert len(paths) == 2 and all(p.parent == tmp_path / "run" / "cache" for p in paths)


def test_the_latent_prior_is_cached_beside_the_directions_keyed_by_the_checkpoint_content(tmp_path):
    first, second = tmp_path / "1_net_G.pth", tmp_path / "2_net_G.pth"
    first.write_bytes(b"epoch one")
    second.write_bytes(b"epoch two")
    opt = SimpleNamespace(results_dir=str(tmp_path))
    paths = {prior_path(opt, "run", p) for p in (first, second)}
    assert len(paths) == 2 and all(p.parent == tmp_path / "run" / "cache" for p in paths)
    assert all(p.name.startswith("latent_prior_") for p in paths)
    assert paths.isdisjoint({directions_path(opt, "run", p) for p in (first, second)})


def test_an_export_is_one_transaction(checkpoints, tmp_path, capsys):
    export = tmp_path / "augmented"
    run_test(checkpoints, tmp_path / "results", "--edit_part", "nose", "--export_dir", str(export), "--how_many", "2")
    first = folder_digest(export)
    assert "manifest.csv" in first and len([k for k in first if k.startswith("labels/")]) == 4
    (export / "labels" / "stale_unlisted.png").write_bytes(b"from an older, larger export")
    run_test(checkpoints, tmp_path / "results", "--edit_part", "nose", "--export_dir", str(export), "--how_many", "1")
    second = folder_digest(export)
    assert "labels/stale_unlisted.png" not in second and len([k for k in second if k.startswith("labels/")]) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_an_export_never_replaces_data_or_foreign_folders(checkpoints, tmp_path, capsys):
    foreign = tmp_path / "my_photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"irreplaceable")
    before = folder_digest(tmp_path)
    argv = [
        "--checkpoints_dir",
        str(checkpoints),
        "--name",
        "run",
        "--results_dir",
        str(tmp_path / "results"),
        "--edit_part",
        "nose",
        "--export_dir",
        str(foreign),
    ]
    status, stderr = run_entry(test_entry.main, argv, capsys)
    assert status == 2 and "no manifest.csv" in one_error_line(stderr)
    data_root = tmp_path / "faces"
    status, stderr = run_entry(
        test_entry.main,
        [
            *argv[:-1],
            str(data_root / "test"),
            "--dataset_mode",
            "custom",
            "--label_dir",
            str(data_root / "test" / "labels"),
        ],
        capsys,
    )
    assert status == 2 and "mix with the data being read" in one_error_line(stderr)
    assert folder_digest(tmp_path) == before


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--edit_part", "nosee"], "valid parts are: 0=background, 1=skin, 2=nose"),
        (["--dataroot", "/nonexistent/faces"], "/nonexistent/faces"),
    ],
)
def test_unknown_parts_and_missing_data_end_with_one_line(checkpoints, tmp_path, capsys, extra, expected):
    argv = ["--checkpoints_dir", str(checkpoints), "--name", "run", "--results_dir", str(tmp_path / "results"), *extra]
    status, stderr = run_entry(test_entry.main, argv, capsys)
    assert status == 2 and expected in one_error_line(stderr)
    assert not (tmp_path / "results").exists()

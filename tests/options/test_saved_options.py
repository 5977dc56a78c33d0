"""opt.json sets only typed architecture and data options; the command line always wins and is checked."""

from __future__ import annotations

import json

import pytest

import test as test_entry
from options.test_options import TestOptions
from options.train_options import TrainOptions
from shape_editor.errors import UserError
from tests.reliability.conftest import LIGHT_SHAPEVAE
from tests.reliability.helpers import one_error_line, run_entry


@pytest.fixture
def run(tmp_path):
    """checkpoints/run/opt.json of a light shape VAE (crop 16, latent 16), and a function to rewrite it."""
    TrainOptions().parse([*LIGHT_SHAPEVAE, "--checkpoints_dir", str(tmp_path), "--name", "run"], save=True)
    path = tmp_path / "run" / "opt.json"

    def edit(**changes):
        path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))

    return tmp_path, edit


def parse_test(checkpoints, *extra):
    return TestOptions().parse(["--checkpoints_dir", str(checkpoints), "--name", "run", *extra])


def test_a_crafted_file_cannot_choose_where_to_write_or_what_to_load(run, tmp_path):
    checkpoints, edit = run
    edit(
        export_dir="/tmp/evil_export",
        target="/etc/passwd",
        load_official="/tmp/evil.pth",
        results_dir="/tmp/evil",
        how_many=1,
        checkpoints_dir="/tmp/evil",
        name="evil",
        phase="../evil",
    )
    opt = parse_test(checkpoints, "--results_dir", str(tmp_path / "results"), "--how_many", "3")
    assert opt.export_dir is None and opt.target is None and opt.load_official is None
    assert opt.results_dir == str(tmp_path / "results") and opt.how_many == 3
    assert opt.checkpoints_dir == str(checkpoints) and opt.name == "run" and opt.phase == "test"
    assert (opt.crop_size, opt.latent_dim, opt.no_lstm) == (16, 16, True)  # architecture does come from the file


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"__dict__": {"x": 1}}, "keys that are not option names: '__dict__'"),
        ({"__class__": "x"}, "'__class__'"),
        ({"no_such_option": 1}, "unknown options no_such_option"),
        ({"latent_dim": "32"}, 'latent_dim is "32", not an integer'),
        ({"no_lstm": "yes"}, 'no_lstm is "yes", not true or false'),
        ({"aspect_ratio": 1e999}, "aspect_ratio is Infinity, not a finite number"),
        ({"bg_mode": "other"}, "not one of learned, heuristic"),
    ],
)
def test_bad_keys_and_values_are_refused_naming_key_and_file(run, changes, message):
    checkpoints, edit = run
    edit(**changes)
    with pytest.raises(UserError, match="opt.json") as err:
        parse_test(checkpoints)
    assert message in str(err.value)


def test_an_architecture_flag_that_differs_from_the_checkpoint_is_an_error(run, capsys):
    checkpoints, _ = run
    status, stderr = run_entry(
        test_entry.main,
        ["--checkpoints_dir", str(checkpoints), "--name", "run", "--latent_dim", "128", "--ngf", "4"],
        capsys,
    )
    line = one_error_line(stderr)
    assert status == 2 and "--latent_dim 16 (checkpoint) vs 128 (now)" in line and "ngf" not in line


def test_an_explicit_dataroot_selects_that_data(run, tmp_path):
    checkpoints, _ = run
    assert parse_test(checkpoints).dataset_mode == "synthetic"
    opt = parse_test(checkpoints, "--dataroot", str(tmp_path / "faces"))
    assert opt.dataset_mode == "celebamaskhq" and opt.dataroot == str(tmp_path / "faces")
    custom = parse_test(checkpoints, "--dataroot", str(tmp_path), "--dataset_mode", "custom", "--label_dir", "x")
    assert custom.dataset_mode == "custom"

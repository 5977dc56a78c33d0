"""`--continue_train` with other architecture flags fails before anything is overwritten, naming the flags."""

from __future__ import annotations

import pytest

import train
from options.base_options import architecture_options
from options.train_options import TrainOptions
from tests.conftest import TINY_SHAPEVAE


def parse(checkpoints, *extra: str, save: bool = False):
    argv = [*TINY_SHAPEVAE, "--checkpoints_dir", str(checkpoints), "--name", "run", *extra]
    return TrainOptions().parse(argv, save=save)


@pytest.fixture
def saved_run(tmp_path):
    """A run folder whose opt.json/opt.txt hold the tiny architecture."""
    parse(tmp_path, save=True)
    run_dir = tmp_path / "run"
    return run_dir, {name: (run_dir / name).read_bytes() for name in ("opt.json", "opt.txt")}


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--crop_size", "64", "--load_size", "64"], [r"--crop_size 32 \(checkpoint\) vs 64 \(now\)"]),
        (["--label_nc", "12"], [r"--label_nc 19 \(checkpoint\) vs 12 \(now\)"]),
        (
            ["--latent_dim", "64", "--enc_widths", "64,16"],
            [r"--enc_widths 64,32 \(checkpoint\) vs 64,16 \(now\)", r"--latent_dim 256 \(checkpoint\) vs 64 \(now\)"],
        ),
        (
            ["--no_lstm", "--ngf", "8"],
            [r"--no_lstm False \(checkpoint\) vs True \(now\)", r"--ngf 4 \(checkpoint\) vs 8"],
        ),
        (
            ["--lstm_layers", "1", "--no_bidir", "--no_weighted_ce"],
            [r"--lstm_layers 3 \(checkpoint\) vs 1", r"--no_bidir False", r"--no_weighted_ce False"],
        ),
    ],
)
def test_continue_with_other_architecture_names_flags_and_keeps_opt_files(saved_run, tmp_path, flags, named):
    run_dir, before = saved_run
    refused = "--continue_train: the checkpoint in .*run was trained with other options"
    with pytest.raises(ValueError, match=refused) as err:
        parse(tmp_path, "--continue_train", *flags)
    for pattern in named:
        assert err.match(pattern)
    assert "size mismatch" not in str(err.value) and "--load_from_opt_file" in str(err.value)
    assert {name: (run_dir / name).read_bytes() for name in before} == before


def test_train_entry_point_refuses_before_touching_the_run(saved_run, tmp_path):
    run_dir, before = saved_run
    with pytest.raises(ValueError, match=r"--enc_size 16 \(checkpoint\) vs 8 \(now\)"):
        train.main(
            [*TINY_SHAPEVAE, "--checkpoints_dir", str(tmp_path), "--name", "run", "--continue_train", "--enc_size", "8"]
        )
    assert sorted(p.name for p in run_dir.iterdir()) == ["opt.json", "opt.txt"]
    assert {name: (run_dir / name).read_bytes() for name in before} == before


def test_same_architecture_or_other_training_flags_may_resume(saved_run, tmp_path):
    opt = parse(tmp_path, "--continue_train", "--lr", "0.01", "--batchSize", "3", "--niter", "7")
    assert opt.lr == 0.01 and opt.continue_train
    opt = TrainOptions().parse(
        ["--checkpoints_dir", str(tmp_path), "--name", "run", "--continue_train", "--load_from_opt_file"]
    )
    assert (opt.crop_size, opt.enc_widths, opt.ngf) == (32, "64,32", 4)  # every option from opt.json
    with pytest.raises(ValueError, match="crop_size"):  # the command line wins over opt.json, and is checked
        parse(tmp_path, "--continue_train", "--crop_size", "64", "--load_from_opt_file")


def test_new_run_without_opt_json_is_not_checked(tmp_path):
    assert parse(tmp_path / "fresh", "--continue_train").continue_train


def test_architecture_options_of_the_shape_vae(tmp_path):
    keys = architecture_options(parse(tmp_path))
    assert {
        "model",
        "label_nc",
        "crop_size",
        "enc_size",
        "enc_widths",
        "latent_dim",
        "lstm_layers",
        "no_lstm",
        "no_bidir",
        "ngf",
        "no_weighted_ce",
        "recipe",
    } <= set(keys)
    assert "lr" not in keys and "batchSize" not in keys


def test_resuming_takes_the_runs_recipe_with_its_defaults_or_refuses_another(tmp_path):
    """A `--recipe paper` run resumed without the flag must not quietly continue under `ours`."""
    parse(tmp_path, "--recipe", "paper", save=True)
    with pytest.raises(ValueError, match=r"--recipe paper \(checkpoint\) vs ours \(now\)"):
        parse(tmp_path, "--continue_train")
    opt = parse(tmp_path, "--continue_train", "--load_from_opt_file")
    assert (opt.recipe, opt.lr, opt.lambda_kl, opt.class_weighting) == ("paper", 1e-4, 0.0005, "eq1")
    opt = parse(tmp_path, "--continue_train", "--load_from_opt_file", "--lr", "0.003")
    assert (opt.recipe, opt.lr) == ("paper", 0.003)  # a flag given still wins over the recipe's default

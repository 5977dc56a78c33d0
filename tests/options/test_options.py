import json

import pytest

from options.base_options import parse_gpu_ids
from options.test_options import TestOptions
from options.train_options import TrainOptions


def parse_train(tmp_path, *args):
    return TrainOptions().parse(["--checkpoints_dir", str(tmp_path), *args], save=True)


def test_defaults_are_paper_sized_and_synthetic(tmp_path):
    opt = parse_train(tmp_path)
    assert opt.model == "shapevae" and opt.name == "shapevae"
    assert opt.dataset_mode == "synthetic" and opt.dataroot is None
    assert (opt.crop_size, opt.label_nc, opt.latent_dim, opt.enc_size, opt.lstm_layers) == (256, 19, 256, 128, 3)
    assert opt.recipe == "ours" and opt.lambda_kl == 1e-5 and opt.isTrain


def test_recipe_sets_the_training_defaults_and_flags_override_them(tmp_path):
    paper = parse_train(tmp_path, "--recipe", "paper")
    assert (paper.lambda_kl, paper.class_weighting, paper.lambda_dice, paper.lr, paper.beta1) == (
        0.0005,
        "eq1",
        0.0,
        1e-4,
        0.9,
    )
    assert (paper.vae_init, paper.lr_schedule, paper.lr_warmup_steps) == ("pytorch", "constant", 0)
    ours = parse_train(tmp_path, "--recipe", "ours", "--lambda_dice", "0", "--lr", "0.01")
    assert (ours.class_weighting, ours.lambda_dice, ours.lr, ours.lr_schedule) == ("inverse_power", 0.0, 0.01, "cosine")


def test_dataroot_selects_celebamaskhq(tmp_path):
    opt = parse_train(tmp_path, "--dataroot", str(tmp_path))
    assert opt.dataset_mode == "celebamaskhq"


def test_model_flags_are_added_in_second_pass(tmp_path):
    opt = parse_train(tmp_path, "--no_lstm", "--lstm_layers", "1", "--no_bidir", "--no_weighted_ce")
    assert opt.no_lstm and opt.lstm_layers == 1 and opt.no_bidir and opt.no_weighted_ce


def test_opt_txt_marks_non_defaults_and_opt_json_round_trips(tmp_path):
    opt = parse_train(tmp_path, "--name", "run1", "--crop_size", "64", "--gpu_ids", "-1")
    text = (tmp_path / "run1" / "opt.txt").read_text()
    crop_line = next(line for line in text.splitlines() if line.strip().startswith("crop_size:"))
    assert "[default: 256]" in crop_line
    label_line = next(line for line in text.splitlines() if line.strip().startswith("label_nc:"))
    assert "[default" not in label_line
    saved = json.loads((tmp_path / "run1" / "opt.json").read_text())
    assert saved["crop_size"] == 64 and saved["gpu_ids"] == [] and saved["name"] == "run1"
    assert opt.gpu_ids == []


def test_load_from_opt_file_keeps_saved_values_but_command_line_wins(tmp_path):
    parse_train(tmp_path, "--name", "run1", "--crop_size", "64", "--ngf", "8")
    opt = TestOptions().parse(
        ["--checkpoints_dir", str(tmp_path), "--name", "run1", "--load_from_opt_file", "--load_size", "80"]
    )
    assert opt.crop_size == 64 and opt.ngf == 8 and opt.load_size == 80 and opt.isTrain is False


def test_unknown_model_lists_available(tmp_path):
    with pytest.raises(ValueError, match="available: .*shapevae"):
        parse_train(tmp_path, "--model", "nosuchmodel")


def test_name_cannot_escape_checkpoints_dir(tmp_path):
    with pytest.raises(ValueError, match="not a plain folder name"):
        parse_train(tmp_path, "--name", "../evil")


@pytest.mark.parametrize("text, ids", [("-1", []), ("0", [0]), ("0,1", [0, 1])])
def test_gpu_ids(text, ids):
    assert parse_gpu_ids(text) == ids


def test_bad_gpu_ids():
    with pytest.raises(ValueError, match="gpu_ids"):
        parse_gpu_ids("cuda")

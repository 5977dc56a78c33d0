"""The convergence benchmark at 32 px for a handful of steps: its curves, clocks, page and command line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

import train
from benchmarks import convergence
from benchmarks.convergence_eval import EditProbe, evaluate_point
from benchmarks.machine import cpuinfo_fields
from models.shapevae_model import ShapeVAEModel
from options.train_options import TrainOptions
from shape_editor import ShapeVAEConfig
from shape_editor.checkpoint_io import load_checkpoint
from shape_editor.cli import run_cli
from shape_editor.labels import LABEL_NAMES
from tests.conftest import TINY_SHAPEVAE

ROOT = Path(__file__).parents[2]
PER_CONFIGURATION = {"--model", "--crop_size", "--load_size"}
# TINY_SHAPEVAE without the flags the benchmark sets per configuration.
TRAINING = [
    a
    for i, a in enumerate(TINY_SHAPEVAE)
    if a not in PER_CONFIGURATION and TINY_SHAPEVAE[i - 1] not in PER_CONFIGURATION
]
DATA = ["--synthetic_size", "6", "--synthetic_test_size", "3", "--batchSize", "2", "--niter", "2", "--niter_decay", "0"]
PROBE = ["--n_samples", "2", "--edit_inputs", "2", "--generate_parts", "nose", "hair", "--strengths", "1"]


def run_benchmark(tmp_path, *extra):
    return convergence.main(
        [
            "--crop_sizes",
            "32",
            "--eval_every",
            "2",
            "--out_dir",
            str(tmp_path / "out"),
            *PROBE,
            *TRAINING,
            *DATA,
            *extra,
        ]
    )


def test_two_recipes_record_monotone_curves_and_a_page(tmp_path, one_thread):
    report = run_benchmark(tmp_path, "--recipes", "paper", "ours")
    saved = json.loads((tmp_path / "out" / "convergence.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert [run["name"] for run in saved["runs"]] == ["convergence_paper_32px", "convergence_ours_32px"]
    for run in saved["runs"]:
        points = run["points"]
        assert [p["step"] for p in points] == [2, 4, 6]  # every 2 steps up to the last of 2 epochs x 3 batches
        for clock in ("cpu_seconds", "wall_seconds"):
            assert all(0 < a[clock] <= b[clock] for a, b in zip(points, points[1:]))
        assert run["eval_cpu_seconds"] > 0 and run["stopped_by"] == "end of training"
        assert list(points[-1]["per_class_iou"]) == list(LABEL_NAMES)
        assert set(points[-1]["edits"]) == {"generate nose", "generate hair", "perturb nose x1"}
        assert all(0 <= v <= 1 for v in points[-1]["edits"]["generate nose"].values())
        assert run["flags"][run["flags"].index("--recipe") + 1] == run["recipe"]
        assert run["flags"][run["flags"].index("--enc_size") + 1] == "16"  # given: not capped
    assert saved["runs"][1]["resolved_recipe"]["lr_schedule"] == "cosine"
    assert {"cpu_model", "cpus", "avx512_bf16", "torch"} <= set(saved["machine"])
    page = (tmp_path / "out" / "index.html").read_text()
    assert 'src="images/miou.png"' in page and (tmp_path / "out" / "images" / "miou.png").stat().st_size > 0
    assert (tmp_path / "out" / "images" / "edits.png").is_file() and "per-class IoU" in page


def test_evaluation_leaves_the_training_unchanged(tmp_path, one_thread):
    run_benchmark(tmp_path, "--recipes", "ours", "--eval_every", "1")
    benchmarked = load_checkpoint(tmp_path / "out" / "checkpoints" / "convergence_ours_32px" / "latest_net_G.pth")
    opt = TrainOptions().parse(
        [*TINY_SHAPEVAE, *DATA, "--checkpoints_dir", str(tmp_path / "plain"), "--name", "p", "--eval_freq", "0"]
    )
    train.train(opt)
    plain = load_checkpoint(tmp_path / "plain" / "p" / "latest_net_G.pth")
    assert benchmarked["step"] == plain["step"] == 6
    for key, value in plain["state_dict"].items():
        torch.testing.assert_close(benchmarked["state_dict"][key], value, rtol=0, atol=0)


def test_cpu_budget_stops_a_run_after_its_point(tmp_path, one_thread):
    report = run_benchmark(tmp_path, "--recipes", "paper", "--max_cpu_seconds", "0")
    run = report["runs"][0]
    assert [p["step"] for p in run["points"]] == [1] and run["stopped_by"] == "--max_cpu_seconds 0"


def test_a_point_has_the_models_held_out_figures(tmp_path):
    torch.manual_seed(0)
    config = ShapeVAEConfig(crop_size=32, enc_size=16, enc_widths=(64, 32), latent_dim=16, ngf=4)
    model = ShapeVAEModel(config, tmp_path)
    model.vae.decoder.out_conv.bias.data[13] = 5.0  # a model that draws hair everywhere, so IoU is not all zero
    labels = torch.randint(0, 19, (4, 1, 32, 32))
    labels[:, :, 8:24, 8:24] = 13
    loader = DataLoader([{"label": x} for x in labels], batch_size=3)
    point = evaluate_point(model.vae, loader, EditProbe(n_samples=2, inputs=2))
    expected = model.evaluate(loader)
    assert point["mIoU"] == pytest.approx(expected["mIoU"]) and point["accuracy"] == pytest.approx(expected["accuracy"])
    assert point["per_class_iou"]["hair"] > 0


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--crop_size", "32"], "error: --crop_size is set per configuration (--crop_size)"),
        (["--crop_sizes", "16", "32", "--enc_size", "32"], "error: enc_size=32 must not exceed crop_size=16"),
        (["--eval_every", "0"], "error: --eval_every 0 is below 1 (--eval_every)"),
    ],
)
def test_command_line_errors_are_one_line_and_exit_2(flags, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(convergence.main, [*TRAINING, "--out_dir", str(tmp_path), *flags])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith(message)


@pytest.mark.slow  # a fresh interpreter: imports and a tiny training, 15 s on an idle core
def test_command_line_run_prints_the_table(tmp_path):
    command = [
        sys.executable,
        "-m",
        "benchmarks.convergence",
        "--recipes",
        "ours",
        "--crop_sizes",
        "32",
        "--eval_every",
        "3",
        "--out_dir",
        str(tmp_path / "cli"),
        *PROBE,
        *TRAINING,
        *DATA,
    ]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "convergence_ours_32px" in result.stdout and "mIoU" in result.stdout
    assert (tmp_path / "cli" / "convergence.json").is_file() and (tmp_path / "cli" / "index.html").is_file()


def test_cpuinfo_fields_read_the_model_and_flags():
    text = "processor\t: 0\nmodel name\t: Some CPU @ 2GHz\nflags\t\t: fpu avx2 avx512_bf16\n"
    assert cpuinfo_fields(text) == ("Some CPU @ 2GHz", {"fpu", "avx2", "avx512_bf16"})
    assert cpuinfo_fields("") == ("", set())

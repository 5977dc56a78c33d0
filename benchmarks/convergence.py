"""Time to quality: `python -m benchmarks.convergence --recipes paper ours --crop_sizes 64 128 --eval_every 50`.

Trains every configuration (each recipe at each crop size) with the product's own training,
`train.train`, and every `--eval_every` steps (and at the last one) records the held-out mIoU, pixel
accuracy, per-class IoU and the edit metrics (`benchmarks.convergence_eval`) against steps, training
CPU-seconds and wall seconds. The clocks start when `train.train` is called (data set-up and class
weights count) and stop while a point is evaluated: evaluation time is recorded on its own. CPU-seconds
are the process's (every thread) plus its finished child processes' (data workers end with each epoch;
the default `--nThreads 0` has none). Every other flag goes to training (e.g. `--batchSize 16
--synthetic_size 1500 --niter 2 --enc_size 64`); `--enc_size` defaults to min(128, crop size).
Writes `convergence.json` (every point, the exact flags, the machine) and `index.html` (the curves)
to `--out_dir`, and prints a summary table.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from torch.utils.data import DataLoader
from tqdm import tqdm

import train
from benchmarks.convergence_eval import EditProbe, evaluate_point
from benchmarks.convergence_report import format_table, write_page
from benchmarks.machine import machine_info
from models.shapevae_model import config_from_opt, recipe_from_opt
from options.train_options import TrainOptions
from shape_editor.cli import ArgumentParser, run_cli
from shape_editor.errors import UserError
from shape_editor.fileio import atomic_write_json
from shape_editor.recipe import RECIPES
from trainers.base_trainer import BaseTrainer
from util.distributed import cleanup_distributed

logger = logging.getLogger("convergence")

SET_PER_CONFIGURATION = ("--recipe", "--crop_size", "--load_size", "--name", "--model")
# Quiet, self-contained training: no per-epoch evaluation of train.py's own (it would count as training time).
BENCHMARK_DEFAULTS = (
    "--model",
    "shapevae",
    "--nThreads",
    "0",
    "--eval_freq",
    "0",
    "--display_freq",
    "1000000000",
    "--print_freq",
    "1000000000",
    "--no_html",
    "--overwrite",
)


class BudgetSpent(Exception):
    """Raised by the step hook when a run has used its `--max_cpu_seconds`."""


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class CurveRecorder:
    """The `train.train` step hook that records a run's curve, keeping evaluation out of its clocks."""

    def __init__(
        self,
        run: dict[str, Any],
        loader: DataLoader,
        probe: EditProbe,
        eval_every: int,
        max_cpu_seconds: float | None,
        save: Callable[[], None],
    ) -> None:
        self.run, self.loader, self.probe, self.eval_every = run, loader, probe, eval_every
        self.max_cpu_seconds, self.save = max_cpu_seconds, save
        self.cpu0, self.wall0 = cpu_seconds(), time.perf_counter()
        self.eval_cpu = self.eval_wall = 0.0

    def __call__(self, trainer: BaseTrainer) -> None:
        step = trainer.progress.total_steps
        train_cpu = cpu_seconds() - self.cpu0 - self.eval_cpu
        spent = self.max_cpu_seconds is not None and train_cpu >= self.max_cpu_seconds
        if step % self.eval_every and step != trainer.planned_steps and not spent:
            return
        cpu, wall = cpu_seconds(), time.perf_counter()
        point = {
            "step": step,
            "epoch": trainer.progress.epoch,
            "cpu_seconds": train_cpu,
            "wall_seconds": wall - self.wall0 - self.eval_wall,
            "lr": trainer.optimizers["G"].param_groups[0]["lr"],
            **evaluate_point(trainer.model.vae, self.loader, self.probe),
        }
        self.run["points"].append(point)
        logger.info("%s step %d: mIoU %.2f %% after %.1f CPU-s", self.run["name"], step, point["mIoU"], train_cpu)
        self.save()
        self.eval_cpu += cpu_seconds() - cpu
        self.eval_wall += time.perf_counter() - wall
        self.run.update(eval_cpu_seconds=self.eval_cpu, eval_wall_seconds=self.eval_wall)
        if spent:
            raise BudgetSpent


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = ArgumentParser(
        prog="python -m benchmarks.convergence",
        description=__doc__,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # `--crop_size` is not `--crop_sizes`
    parser.add_argument("--recipes", nargs="+", choices=tuple(RECIPES), default=["paper", "ours"])
    parser.add_argument("--crop_sizes", nargs="+", type=int, default=[64], help="one run per recipe and size")
    parser.add_argument("--eval_every", type=int, default=50, help="steps between points (the last step too)")
    parser.add_argument(
        "--max_cpu_seconds",
        type=float,
        help="stop each run after this much training CPU time (its learning-rate schedule still plans --niter)",
    )
    parser.add_argument("--out_dir", type=Path, help="[default: results/convergence/<timestamp>]")
    parser.add_argument("--prefix", default="convergence", help="run names are <prefix>_<recipe>_<size>px")
    parser.add_argument(
        "--generate_parts",
        nargs="+",
        default=list(EditProbe.generate_parts),
        help="parts redrawn from N(0, I) at every point",
    )
    parser.add_argument("--perturb_part", default=EditProbe.perturb_part)
    parser.add_argument(
        "--strengths",
        nargs="+",
        type=float,
        default=list(EditProbe.strengths),
        help="--edit_strength values of the perturb edit",
    )
    parser.add_argument("--n_samples", type=int, default=EditProbe.n_samples, help="samples per edited input")
    parser.add_argument("--edit_inputs", type=int, default=EditProbe.inputs, help="held-out masks edited per point")
    args, passthrough = parser.parse_known_args(argv)
    if args.eval_every < 1:
        raise UserError(f"--eval_every {args.eval_every} is below 1", "--eval_every", "give a positive number of steps")
    if args.n_samples < 2:
        raise UserError(f"--n_samples {args.n_samples} cannot measure diversity", "--n_samples", "give at least 2")
    given = {arg.split("=", 1)[0] for arg in passthrough}
    for flag in SET_PER_CONFIGURATION:
        if flag in given:
            raise UserError(f"{flag} is set per configuration", flag, "use --recipes / --crop_sizes, drop the flag")
    return args, passthrough


def configuration(recipe: str, size: int, args: argparse.Namespace, passthrough: list[str]) -> list[str]:
    """The training flags of one run, checked up front: a bad one fails before any run has trained."""
    name = f"{args.prefix}_{recipe}_{size}px"
    flags = [
        *BENCHMARK_DEFAULTS,
        "--checkpoints_dir",
        str(args.out_dir / "checkpoints"),
        *passthrough,
        "--recipe",
        recipe,
        "--crop_size",
        str(size),
        "--load_size",
        str(size),
        "--name",
        name,
    ]
    opt = TrainOptions().parse(flags, save=False)
    if "--enc_size" not in {arg.split("=", 1)[0] for arg in passthrough} and opt.enc_size > size:
        flags += ["--enc_size", str(size)]
        opt = TrainOptions().parse(flags, save=False)
    try:
        config_from_opt(opt)
    except ValueError as err:
        raise UserError(str(err), name, "pass flags that fit every crop size in --crop_sizes") from None
    return flags


def run_configuration(
    flags: list[str], args: argparse.Namespace, report: dict[str, Any], save: Callable[[], None]
) -> None:
    """Train one configuration with `train.train`, recording its curve into `report["runs"]`."""
    opt = TrainOptions().parse(flags)
    loader = train.held_out_loader(opt)
    if loader is None:
        raise UserError(
            "the dataset has no test split", opt.name, "give a --dataroot with test/ or use the synthetic faces"
        )
    run = {
        "name": opt.name,
        "recipe": opt.recipe,
        "crop_size": opt.crop_size,
        "flags": flags,
        "resolved_recipe": recipe_from_opt(opt).as_flags(),
        "stopped_by": "end of training",
        "eval_cpu_seconds": 0.0,
        "eval_wall_seconds": 0.0,
        "points": [],
    }
    report["runs"].append(run)
    probe = EditProbe(
        tuple(args.generate_parts), args.perturb_part, tuple(args.strengths), args.n_samples, args.edit_inputs, opt.seed
    )
    try:
        train.train(opt, on_step=CurveRecorder(run, loader, probe, args.eval_every, args.max_cpu_seconds, save))
    except BudgetSpent:
        run["stopped_by"] = f"--max_cpu_seconds {args.max_cpu_seconds:g}"
    finally:
        cleanup_distributed()


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run every configuration; returns the report (also in `<out_dir>/convergence.json`)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else list(argv)
    args, passthrough = parse_args(argv)
    args.out_dir = args.out_dir or Path("results/convergence") / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    configs = [configuration(r, s, args, passthrough) for s in args.crop_sizes for r in args.recipes]
    report: dict[str, Any] = {
        "command": ["python", "-m", "benchmarks.convergence", *argv],
        "benchmark": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "passthrough": passthrough,
        "machine": machine_info(),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "runs": [],
    }
    json_path = args.out_dir / "convergence.json"

    def save() -> None:
        atomic_write_json(json_path, report, indent=2)

    tic = time.perf_counter()
    for flags in tqdm(configs, desc="configurations", unit="run"):
        run_configuration(flags, args, report, save)
        report["wall_seconds"] = time.perf_counter() - tic
        save()
        page = write_page(report, args.out_dir)
    print(format_table(report["runs"]))
    print(f"curves: {page}\nevery point: {json_path}")
    return report


if __name__ == "__main__":
    run_cli(main)

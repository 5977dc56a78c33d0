"""Reproduce the paper's Table 1 (ablations of the shape VAE) on any dataroot, in-process.

    python -m scripts.table1 --budget_steps 400 --crop_size 64 --load_size 64 --enc_size 32 --ngf 16 --gpu_ids -1

Trains the six configurations of Table 1 under each `--recipes` (default: the paper's training and ours)
with `train.main` for the same budget (`--budget_steps` or `--budget_epochs`), evaluates each with
`test.main` (reconstruction mIoU / accuracy over the test split, plus the edit metrics of one fixed edit,
by default `generate nose` with K samples: validity, locality, diversity and the share of edited masks
that gain a class), and writes `table1.md` and `table1.json` to `--out_dir`, next to the paper's numbers
(CelebAMask-HQ, 256 px, full training) as a reference column, with the wall time of the whole run and a
verdict on each of the paper's orderings (`scripts.table1_orderings`). Run names are
`<prefix>_<recipe>_<config>`. Every flag this script does not know is passed to training (e.g.
`--dataroot D`, `--crop_size 64`; `--enc_size` must not exceed `--crop_size`); without `--dataroot` the
synthetic faces are used. `--checkpoints_dir`, `--gpu_ids`, `--seed` and `--nThreads` also go to the
test runs, whose pages land in `--results_dir`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import data
import test as test_script
import train
from options.train_options import TrainOptions
from scripts.table1_orderings import format_verdicts, paper_orderings
from shape_editor.cli import ArgumentParser, run_cli
from shape_editor.errors import UserError
from shape_editor.fileio import atomic_write_json, atomic_write_text
from shape_editor.recipe import RECIPES

logger = logging.getLogger("table1")

SHARED_WITH_TEST = ("--checkpoints_dir", "--gpu_ids", "--seed", "--nThreads")


class Ablation(NamedTuple):
    """One row of Table 1: a run name suffix, its label, its training flags and the paper's numbers."""

    key: str
    label: str
    flags: tuple[str, ...]
    paper_miou: float
    paper_acc: float


CONFIGS: tuple[Ablation, ...] = (
    Ablation("full", "Full model (3 bidirectional LSTMs, weighted CE)", (), 70.31, 92.39),
    Ablation("no_lstm", "w/o LSTM block", ("--no_lstm",), 68.49, 94.24),
    Ablation(
        "lstm1_uni_ce",
        "1 LSTM, unidirectional, plain CE",
        ("--lstm_layers", "1", "--no_bidir", "--no_weighted_ce"),
        68.15,
        93.85,
    ),
    Ablation(
        "lstm3_uni_ce",
        "3 LSTMs, unidirectional, plain CE",
        ("--lstm_layers", "3", "--no_bidir", "--no_weighted_ce"),
        67.35,
        90.91,
    ),
    Ablation("lstm3_uni", "3 LSTMs, unidirectional", ("--lstm_layers", "3", "--no_bidir"), 68.34, 90.94),
    Ablation(
        "lstm3_bi_ce", "3 bidirectional LSTMs, plain CE", ("--lstm_layers", "3", "--no_weighted_ce"), 69.56, 92.12
    ),
)
EDIT_COLUMNS = ("validity", "locality", "diversity", "new_classes")


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = ArgumentParser(
        prog="python -m scripts.table1",
        description=__doc__,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # abbreviations: ours, not training's
    parser.add_argument(
        "--recipes",
        nargs="+",
        choices=tuple(RECIPES),
        default=list(RECIPES),
        help="every configuration is trained under each of these --recipe",
    )
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        "--budget_steps",
        type=int,
        default=1000,
        help="optimisation steps per configuration (rounded up to whole epochs; fewer steps "
        "than one epoch train on the first budget_steps * batchSize samples)",
    )
    budget.add_argument("--budget_epochs", type=int, help="epochs per configuration, instead of --budget_steps")
    parser.add_argument("--out_dir", type=str, default="results/table1", help="where table1.md/json go")
    parser.add_argument("--results_dir", type=str, default="./results", help="test result pages of every run")
    parser.add_argument("--prefix", type=str, default="table1", help="run names are <prefix>_<recipe>_<config>")
    parser.add_argument("--edit_part", type=str, default="nose", help="part of the fixed evaluation edit")
    parser.add_argument("--edit_mode", type=str, default="generate", help="mode of the fixed evaluation edit")
    parser.add_argument("--n_samples", type=int, default=4, help="samples per input of the evaluation edit")
    parser.add_argument("--how_many", type=int, default=200, help="test inputs evaluated per configuration")
    args, passthrough = parser.parse_known_args(argv)
    if "--recipe" in {arg.split("=", 1)[0] for arg in passthrough}:
        raise UserError("--recipe is set per run", "--recipe", "use --recipes paper ours (or one of them)")
    return args, passthrough


def shared_flags(passthrough: Sequence[str]) -> list[str]:
    """The pass-through flags (with their values) that the test runs need as well."""
    flags: list[str] = []
    for i, arg in enumerate(passthrough):
        name = arg.split("=", 1)[0]
        if name in SHARED_WITH_TEST:
            flags += [arg] if "=" in arg else [arg, passthrough[i + 1]]
    return flags


def budget_flags(
    passthrough: Sequence[str], budget_steps: int, budget_epochs: int | None = None
) -> tuple[list[str], int]:
    """`--niter` (and `--max_dataset_size` below one epoch) giving at least `budget_steps` steps, or exactly
    `budget_epochs` epochs when given; and the steps."""
    budget, flag = (budget_steps, "--budget_steps") if budget_epochs is None else (budget_epochs, "--budget_epochs")
    if budget < 1:
        raise ValueError(f"{flag} {budget} must be at least 1")
    opt = TrainOptions().parse([*passthrough, "--name", "table1_budget"], save=False)
    batches = math.ceil(len(data.create_dataset(opt)) / opt.batchSize)
    if budget_epochs is not None:
        return ["--niter", str(budget_epochs), "--niter_decay", "0"], budget_epochs * batches
    if budget_steps <= batches:
        one_epoch = ["--niter", "1", "--niter_decay", "0", "--max_dataset_size", str(budget_steps * opt.batchSize)]
        return one_epoch, budget_steps
    epochs = math.ceil(budget_steps / batches)
    return ["--niter", str(epochs), "--niter_decay", "0"], epochs * batches


def run_config(
    config: Ablation, recipe: str, args: argparse.Namespace, passthrough: list[str], budget: list[str]
) -> dict[str, Any]:
    """Train one configuration under `recipe`, test it, and return its table row."""
    name = f"{args.prefix}_{recipe}_{config.key}"
    tic = time.perf_counter()
    train.main(
        [
            "--eval_freq",
            "0",
            "--display_freq",
            "1000000000",
            "--print_freq",
            "50",
            *passthrough,
            *config.flags,
            *budget,
            "--recipe",
            recipe,
            "--name",
            name,
            "--overwrite",
        ]
    )
    page = test_script.main(
        [
            "--name",
            name,
            *shared_flags(passthrough),
            "--how_many",
            str(args.how_many),
            "--results_dir",
            args.results_dir,
            # a budget below one epoch must not shrink the test set
            "--max_dataset_size",
            str(sys.maxsize),
            "--edit_part",
            args.edit_part,
            "--edit_mode",
            args.edit_mode,
            "--n_samples",
            str(args.n_samples),
        ]
    )
    metrics = json.loads((page.parent / "metrics.json").read_text())
    edit = dict(metrics.get("edit", {}))
    if "no_new_classes" in edit:
        edit["new_classes"] = 1 - edit["no_new_classes"]
    return {
        "recipe": recipe,
        "key": config.key,
        "configuration": config.label,
        "mIoU": metrics["reconstruction"]["mIoU"],
        "Acc": metrics["reconstruction"]["pixel_accuracy"],
        "paper_mIoU": config.paper_miou,
        "paper_Acc": config.paper_acc,
        **{c: edit.get(c) for c in EDIT_COLUMNS},
        "seconds": time.perf_counter() - tic,
        "page": str(page),
    }


def markdown_table(rows: list[dict[str, Any]], edit: str, steps: int, wall_seconds: float) -> str:
    """Table 1 as markdown: ours next to the paper's (CelebAMask-HQ, 256 px, full training)."""

    def cell(value: Any) -> str:
        return "" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)

    header = [
        "Recipe",
        "Configuration",
        "mIoU",
        "Acc",
        "paper mIoU",
        "paper Acc",
        *(f"{c} ({edit})" for c in EDIT_COLUMNS),
    ]
    keys = ["recipe", "configuration", "mIoU", "Acc", "paper_mIoU", "paper_Acc", *EDIT_COLUMNS]
    lines = [
        f"Table 1 reproduction: {steps} training steps per configuration, {len(rows)} runs in "
        f"{wall_seconds:.0f} s wall; mIoU and Acc in %, edit metrics in [0, 1] (new_classes: share of "
        "edited masks with a class the input lacks).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(cell(row[k]) for k in keys) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Run every configuration of `CONFIGS`; returns the table rows (also written to --out_dir)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args, passthrough = parse_args(argv)
    tic = time.perf_counter()
    budget, steps = budget_flags(passthrough, args.budget_steps, args.budget_epochs)
    rows = [run_config(config, recipe, args, passthrough, budget) for recipe in args.recipes for config in CONFIGS]
    wall = time.perf_counter() - tic
    orderings = {r: paper_orderings([row for row in rows if row["recipe"] == r]) for r in args.recipes}
    out_dir = Path(args.out_dir)
    edit = f"{args.edit_mode} {args.edit_part}, K={args.n_samples}"
    table = markdown_table(rows, edit, steps, wall)
    table += "".join("\n" + format_verdicts(r, verdicts) for r, verdicts in orderings.items())
    report = {
        "steps": steps,
        "edit": edit,
        "wall_seconds": wall,
        "rows": rows,
        "orderings": {r: [v._asdict() for v in verdicts] for r, verdicts in orderings.items()},
    }
    atomic_write_text(out_dir / "table1.md", table)
    atomic_write_json(out_dir / "table1.json", report, indent=2)
    print(table)
    return rows


if __name__ == "__main__":
    run_cli(main)

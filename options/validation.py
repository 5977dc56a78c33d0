"""Parse-time checks of every numeric and path flag, so a bad value fails before any work, naming the flag.

`NUMERIC_RULES` holds one range per numeric flag of every model and dataset (a test keeps it complete);
every float flag must also be finite. Path flags given as '' are refused, and `--name` must be a plain
folder name (`shape_editor.run_dir.check_run_name`).
"""

from __future__ import annotations

import argparse
import math
from typing import NamedTuple

from shape_editor.errors import UserError
from shape_editor.run_dir import check_run_name

SEED_LIMIT = 2**32  # numpy's seeds must be below this


class Bound(NamedTuple):
    """A closed range `[low, high]` (None: open on that side) and how to say it to the user."""

    low: float | None
    high: float | None = None

    def holds(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self, kind: str) -> str:
        if self.high is None:
            return f"{kind} >= {self.low}"
        return f"{kind} from {self.low} to {self.high}"


AT_LEAST_0, AT_LEAST_1, AT_LEAST_2 = Bound(0), Bound(1), Bound(2)
UNIT = Bound(0, 0.999999)
NUMERIC_RULES: dict[str, Bound] = {
    # runs and data
    "seed": Bound(0, SEED_LIMIT - 1),
    "synthetic_seed": Bound(0, SEED_LIMIT - 1),
    "batchSize": AT_LEAST_1,
    "nThreads": AT_LEAST_0,
    "max_dataset_size": AT_LEAST_1,
    "label_nc": AT_LEAST_2,
    "load_size": AT_LEAST_1,
    "crop_size": AT_LEAST_1,
    "aspect_ratio": Bound(1e-3, 1e3),
    "display_winsize": AT_LEAST_1,
    "synthetic_size": AT_LEAST_1,
    "synthetic_test_size": AT_LEAST_1,
    # training schedule and logging (frequencies divide step counts)
    "print_freq": AT_LEAST_1,
    "display_freq": AT_LEAST_1,
    "save_latest_freq": AT_LEAST_1,
    "save_epoch_freq": AT_LEAST_1,
    "eval_freq": AT_LEAST_0,
    "niter": AT_LEAST_1,
    "niter_decay": AT_LEAST_0,
    "max_bad_steps": AT_LEAST_1,
    "D_steps_per_G": AT_LEAST_1,
    "lr_warmup_steps": AT_LEAST_0,
    # optimiser and losses
    "lr": AT_LEAST_0,
    "beta1": UNIT,
    "beta2": UNIT,
    "grad_clip": AT_LEAST_0,
    "lambda_kl": AT_LEAST_0,
    "lambda_feat": AT_LEAST_0,
    "lambda_vgg": AT_LEAST_0,
    "lambda_dice": AT_LEAST_0,
    "weight_power": Bound(0, 4),  # share ** -power: 0 is uniform, much more overflows for the rarest classes
    # networks
    "enc_size": AT_LEAST_1,
    "latent_dim": AT_LEAST_1,
    "lstm_layers": AT_LEAST_1,
    "ngf": AT_LEAST_1,
    "ndf": AT_LEAST_1,
    "n_layers_D": AT_LEAST_1,
    "num_D": AT_LEAST_1,
    "encoder_ngf": AT_LEAST_1,
    "spade_hidden": AT_LEAST_1,
    "style_dim": AT_LEAST_1,
    # testing and edits
    "how_many": AT_LEAST_1,
    "n_samples": AT_LEAST_1,
    "n_steps": AT_LEAST_2,
    "attribute_samples": AT_LEAST_2,
    "prior_samples": AT_LEAST_2,
    "sample_temperature": AT_LEAST_0,
    "edit_strength": Bound(-1e3, 1e3),
    # the interactive editor (editor.py)
    "port": Bound(1, 65535),
}
# String flags naming a file or folder: '' would silently mean the current folder.
PATH_SUFFIXES = ("_dir", "root", "_file", "_weights")
PATH_FLAGS = {"load_official", "target", "results_name", "shape_name"}


def numeric_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.type in (int, float)]


def check_numeric(opt: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Every int/float flag within its `NUMERIC_RULES` range, and every float finite.

    Raises:
        UserError: naming the flag, its value and the allowed range.
    """
    for action in numeric_actions(parser):
        value = getattr(opt, action.dest, None)
        if value is None:
            continue
        kind = "an integer" if action.type is int else "a number"
        bound = NUMERIC_RULES.get(action.dest)
        if action.type is float and not math.isfinite(value):
            raise UserError(
                f"{value} is not a finite number",
                f"--{action.dest}",
                f"give {bound.describe(kind) if bound else 'a finite number'}",
            )
        if bound is not None and not bound.holds(value):
            raise UserError(f"{value} is out of range", f"--{action.dest}", f"give {bound.describe(kind)}")


def is_path_flag(dest: str) -> bool:
    return dest.endswith(PATH_SUFFIXES) or dest in PATH_FLAGS


def check_paths(opt: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Path flags given as an empty string are refused (they would mean the current folder)."""
    for action in parser._actions:
        if is_path_flag(action.dest) and getattr(opt, action.dest, None) == "":
            raise UserError("an empty path", f"--{action.dest}", "give a file or folder, or leave the flag out")


def validate_options(opt: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """All parse-time checks of a finished `opt`."""
    check_run_name(opt.name)
    check_numeric(opt, parser)
    check_paths(opt, parser)

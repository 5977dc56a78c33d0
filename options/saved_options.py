"""What a run's `opt.json` may set: only the architecture and data options, typed against the parser.

The file describes the trained network and the data it saw; everything else (where results go, what to
load, how many inputs) belongs to the present command line. So a key is taken only when it names an
architecture or data option, its value has the flag's type, and the flag was not given on the command
line. Keys no parser knows, and dunder keys, are refused: they mean the file was edited by hand or by an
attacker. An architecture flag given on the command line that differs from the file is an error.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

from shape_editor.errors import UserError

# Data options every run has; a dataset adds its own through `modify_commandline_options`.
BASE_DATA_OPTIONS: tuple[str, ...] = (
    "dataroot",
    "dataset_mode",
    "label_nc",
    "preprocess_mode",
    "load_size",
    "crop_size",
    "aspect_ratio",
)
# Written by the options themselves, never flags.
DERIVED_KEYS = {"isTrain"}


def read_saved_options(path: Path) -> dict[str, Any]:
    """A run's opt.json as a dict, or a `UserError` naming the file when it is missing or broken."""
    if not path.is_file():
        raise UserError(
            "no saved options",
            path,
            "train this run first, check --name/--checkpoints_dir, "
            "or add --no_opt_file to give every option on the command line",
        )
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"not valid JSON ({err})", path, "restore the file or delete it and retrain") from None
    if not isinstance(saved, dict):
        raise UserError("not a JSON object of options", path, "restore the file or retrain the run")
    bad = sorted(k for k in saved if not isinstance(k, str) or not k.isidentifier() or k.startswith("__"))
    if bad:
        raise UserError(
            f"keys that are not option names: {', '.join(map(repr, bad))}",
            path,
            "delete them from the file (no option starts with '__')",
        )
    return saved


def check_known_keys(saved: Mapping[str, Any], known: Iterable[str], path: Path) -> None:
    """Refuse keys that no parser of this model and dataset defines."""
    unknown = sorted(set(saved) - set(known) - DERIVED_KEYS)
    if unknown:
        raise UserError(
            f"unknown options {', '.join(unknown)}",
            path,
            "delete them from the file; `--help` lists the options this code knows",
        )


def typed_value(action: argparse.Action, value: Any, path: Path) -> Any:
    """`value` if it has the type and choices of the flag `action`, else a `UserError` naming the key."""
    key = action.dest
    if value is None and action.default is None:
        return value
    if action.nargs == 0:  # store_true / store_false
        wanted, ok = "true or false", isinstance(value, bool)
    elif action.type is int:
        wanted, ok = "an integer", isinstance(value, int) and not isinstance(value, bool)
    elif action.type is float:
        wanted = "a finite number"
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    else:
        wanted, ok = "a string", isinstance(value, str)
    if ok and action.choices is not None and value not in action.choices:
        wanted, ok = f"one of {', '.join(map(str, action.choices))}", False
    if not ok:
        raise UserError(
            f"{key} is {json.dumps(value)}, not {wanted}",
            path,
            f"correct {key} in the file, or give --{key} on the command line",
        )
    return value


def apply_saved_options(
    opt: argparse.Namespace,
    saved: Mapping[str, Any],
    parser: argparse.ArgumentParser,
    loadable: Iterable[str],
    given: set[str],
    path: Path,
) -> None:
    """Set the `loadable` options of `saved` on `opt`, except those `given` on the command line."""
    actions = {a.dest: a for a in parser._actions}
    for key in sorted(set(loadable) & set(saved) - given):
        if key in actions:
            setattr(opt, key, typed_value(actions[key], saved[key], path))


def check_given_architecture(
    opt: argparse.Namespace,
    saved: Mapping[str, Any],
    parser: argparse.ArgumentParser,
    architecture: Iterable[str],
    given: set[str],
    path: Path,
) -> None:
    """An architecture flag on the command line must agree with the checkpoint's, naming both values."""
    actions = {a.dest: a for a in parser._actions}
    differing = [
        f"--{key} {saved[key]} (checkpoint) vs {getattr(opt, key)} (now)"
        for key in architecture
        if key in given
        and key in saved
        and key in actions
        and typed_value(actions[key], saved[key], path) != getattr(opt, key)
    ]
    if differing:
        raise UserError(
            f"the run was trained with other options: {', '.join(differing)}",
            path,
            "drop these flags (the checkpoint's values are used) or pick the run trained with them",
        )

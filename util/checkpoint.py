"""Options a checkpoint was trained with versus the current ones: errors that name the flags that differ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping


def differing_options(saved: Mapping[str, Any], current: Mapping[str, Any], keys: list[str]) -> dict[str, tuple]:
    """The option values that differ between a saved run and the current one: {key: (saved, current)}."""
    return {k: (saved.get(k), current.get(k)) for k in keys if k in saved and saved.get(k) != current.get(k)}


def check_options_match(opt_json: str | Path, current: Mapping[str, Any], keys: list[str]) -> None:
    """Raise a readable error when the checkpoint's saved options differ in architecture-defining keys."""
    path = Path(opt_json)
    if not path.is_file():
        return
    saved = json.loads(path.read_text())
    diff = differing_options(saved, current, keys)
    if diff:
        listed = ", ".join(f"--{k} {s} (checkpoint) vs {c} (now)" for k, (s, c) in diff.items())
        raise ValueError(f"the checkpoint in {path.parent} was trained with other options: {listed}")

"""Dataset registry: `--dataset_mode X` loads class `XDataset` from `data/X_dataset.py` (SPADE style).

A new dataset is one file `data/<name>_dataset.py` with a `BaseDataset` subclass named
`<Name>Dataset` (case-insensitive, underscores dropped).
"""
from __future__ import annotations

import importlib
import logging
import re
from pathlib import Path
from typing import Any, Callable

from data.base_dataset import BaseDataset

logger = logging.getLogger(__name__)

_SUFFIX = "_dataset.py"


def available_dataset_modes() -> list[str]:
    """Names of the `data/<name>_dataset.py` files, sorted."""
    folder = Path(__file__).parent
    return sorted(p.name[: -len(_SUFFIX)] for p in folder.glob(f"*{_SUFFIX}") if p.name != "base_dataset.py")


def find_dataset_using_name(name: str) -> type[BaseDataset]:
    """Import `data/<name>_dataset.py` and return its dataset class.

    Raises:
        ValueError: no such file (the message lists the available modes) or no matching class in it.
    """
    modes = available_dataset_modes()
    if not re.fullmatch(r"[a-z0-9_]+", str(name)) or name not in modes:
        raise ValueError(f"unknown --dataset_mode {name!r}; available: {', '.join(modes)}")
    module = importlib.import_module(f"data.{name}_dataset")
    target = name.replace("_", "") + "dataset"
    for attr, value in vars(module).items():
        if attr.lower() == target and isinstance(value, type) and issubclass(value, BaseDataset):
            return value
    raise ValueError(f"data/{name}_dataset.py has no BaseDataset subclass named like {target!r} "
                     "(case-insensitive)")


def get_option_setter(name: str) -> Callable[..., Any]:
    """The dataset's `modify_commandline_options(parser, is_train) -> parser`."""
    return find_dataset_using_name(name).modify_commandline_options


def create_dataset(opt: Any, phase: str | None = None) -> BaseDataset:
    """Build the `opt.dataset_mode` dataset for `phase` (default `opt.phase`), e.g. `test` during training."""
    phase = opt.phase if phase is None else phase
    dataset = find_dataset_using_name(opt.dataset_mode)(opt, phase)
    logger.info("dataset [%s] (%s split) of size %d was created", type(dataset).__name__, phase, len(dataset))
    return dataset

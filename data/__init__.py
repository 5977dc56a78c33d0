"""Dataset registry: `--dataset_mode X` loads class `XDataset` from `data/X_dataset.py` (SPADE style).

A new dataset is one file `data/<name>_dataset.py` with a `BaseDataset` subclass named
`<Name>Dataset` (case-insensitive, underscores dropped).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from data.base_dataset import BaseDataset
from util.registry import available, find_class

logger = logging.getLogger(__name__)


def available_dataset_modes() -> list[str]:
    """Names of the `data/<name>_dataset.py` files, sorted."""
    return available("data", "dataset")


def find_dataset_using_name(name: str) -> type[BaseDataset]:
    """Import `data/<name>_dataset.py` and return its dataset class.

    Raises:
        ValueError: no such file (the message lists the available modes) or no matching class in it.
    """
    return find_class("data", "dataset", name, BaseDataset, flag="dataset_mode")


def get_option_setter(name: str) -> Callable[..., Any]:
    """The dataset's `modify_commandline_options(parser, is_train) -> parser`."""
    return find_dataset_using_name(name).modify_commandline_options


def create_dataset(opt: Any, phase: str | None = None) -> BaseDataset:
    """Build the `opt.dataset_mode` dataset for `phase` (default `opt.phase`), e.g. `test` during training.

    The options end here: the dataset gets its `config_class.from_opt(opt, phase)`.
    """
    cls = find_dataset_using_name(opt.dataset_mode)
    dataset = cls(cls.config_class.from_opt(opt, phase))
    logger.info("dataset [%s] (%s split) of size %d was created", cls.__name__, dataset.phase, len(dataset))
    return dataset

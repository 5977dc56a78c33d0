"""`eval_mode(module)`: run a block in eval mode and give the module back in the mode it had, even on errors."""

from __future__ import annotations

import contextlib
from typing import Iterator, TypeVar

from torch import nn

ModuleT = TypeVar("ModuleT", bound=nn.Module)


@contextlib.contextmanager
def eval_mode(module: ModuleT) -> Iterator[ModuleT]:
    """`module.eval()` inside the block; afterwards `module.train(mode it had before)`, also when the block raises."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)

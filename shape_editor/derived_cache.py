"""Weights derived from parameters (re-laid-out, tap-summed or folded), kept between inference calls.

Inference re-derives the same tensors from unchanged parameters on every call; at batch 1 that is about
a tenth of a decode. A `DerivedCache` computes them once and reuses them while

- the owning module is in eval mode and autograd is off (in training the derived weights must stay in
  the graph so that gradients reach the parameters). `CachesDerivedWeights` modules clear their caches in `train()`, because
  optimiser steps may change weights without a trace (fused Adam does not bump tensor versions);
- every source tensor keeps its storage, dtype, device and in-place *version*: `load_state_dict`,
  `nn.init`, in-place maths, `.to()` and casts all change one of them, so a stale entry is not returned.

Tensors created under `torch.inference_mode` have no version counter and are never cached. Changing a
parameter through `.data`, or with a fused optimiser while in eval mode, is not seen: call `clear()`.
"""
from __future__ import annotations

from typing import Callable, Generic, Sequence, TypeVar

import torch
from torch import Tensor, nn

T = TypeVar("T")


def version_key(sources: Sequence[Tensor]) -> tuple[tuple[int, int, torch.dtype, torch.device], ...]:
    """What identifies the current value of every source tensor: storage, in-place version, dtype, device."""
    return tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in sources)


def caching_allowed(training: bool) -> bool:
    """True where derived weights may be reused: eval mode, no autograd, not being traced by torch.compile."""
    return not (training or torch.is_grad_enabled() or torch.compiler.is_compiling())


class DerivedCache(Generic[T]):
    """One cached value of `compute()`, reused while the sources are unchanged (see the module docstring)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._value: T | None = None

    def clear(self) -> None:
        self._key, self._value = None, None

    def get(self, sources: Sequence[Tensor], compute: Callable[[], T], *, training: bool) -> T:
        """`compute()`, or its cached value. `training`: the owning module's mode (never cached then)."""
        if not caching_allowed(training) or any(t.is_inference() for t in sources):
            return compute()
        key = version_key(sources)
        if key != self._key:
            self._value, self._key = compute(), key
        return self._value


class CachesDerivedWeights(nn.Module):
    """Base of modules that keep `DerivedCache` attributes: `train()` clears them all.

    Optimiser steps may change weights without bumping their versions (fused Adam), so a cache filled
    before training must not survive into the next evaluation.
    """

    def train(self, mode: bool = True) -> CachesDerivedWeights:
        for value in vars(self).values():
            if isinstance(value, DerivedCache):
                value.clear()
        return super().train(mode)

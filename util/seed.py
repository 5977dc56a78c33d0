"""One call to make a run repeatable: seeds Python, NumPy and PyTorch, and captures/restores their state."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch import Tensor


def seed_everything(seed: int) -> None:
    """Seed `random`, `numpy` and `torch` (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_worker(worker_id: int) -> None:
    """DataLoader `worker_init_fn`: derive NumPy/random seeds from the worker's torch seed."""
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def rng_state() -> dict[str, Tensor]:
    """Every RNG's state as tensors, so it fits a `weights_only` checkpoint."""
    version, py_state, _ = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": torch.tensor([version, *py_state], dtype=torch.int64),
        "numpy_keys": torch.from_numpy(np_keys.astype(np.int64)),
        "numpy_extra": torch.tensor([np_pos, np_has_gauss, np_gauss], dtype=torch.float64),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.stack(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: dict[str, Tensor]) -> None:
    """Restore what `rng_state` captured."""
    torch.set_rng_state(state["torch"].cpu())
    python = [int(v) for v in state["python"].tolist()]
    random.setstate((python[0], tuple(python[1:]), None))
    pos, has_gauss, gauss = state["numpy_extra"].tolist()
    np.random.set_state(("MT19937", state["numpy_keys"].numpy().astype(np.uint32), int(pos), int(has_gauss), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"].cpu()))

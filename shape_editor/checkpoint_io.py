"""Checkpoint file I/O: atomic torch saves, `weights_only` loads, strict loads whose errors name what differs."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Mapping

import torch

from shape_editor.fileio import atomic_output


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    with atomic_output(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a checkpoint with `weights_only=True`: a file that carries code is refused, never run.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: the file is corrupt or holds anything but tensors and plain containers.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(f"refusing to load {path}: it holds more than tensors ({blocked_global(err)})") from None
    except (RuntimeError, EOFError, OSError) as err:
        raise ValueError(f"cannot read checkpoint {path}: {err}") from err


def blocked_global(err: Exception) -> str:
    """The line of torch's refusal that names what the file tried to load, without its advice to unblock it."""
    lines = [line.strip() for line in str(err).splitlines() if "GLOBAL" in line or "Unsupported" in line]
    return lines[0] if lines else str(err).splitlines()[0]


def load_state_dict_checked(module: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str | Path) -> None:
    """Strict `load_state_dict` whose error lists mismatching keys and shapes briefly, naming the file."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [f"{k}: {tuple(state[k].shape)} in file, {tuple(own[k].shape)} here"
             for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or wrong:
        parts = []
        if wrong:
            parts.append(f"{len(wrong)} shape mismatches (e.g. {'; '.join(wrong[:3])})")
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
        raise ValueError(f"{source} does not fit this network: " + "; ".join(parts))
    module.load_state_dict(state)

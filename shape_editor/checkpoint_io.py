"""Checkpoint file I/O: atomic torch saves, `weights_only` loads, strict loads whose errors name what differs."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path
from typing import Any, Mapping

import torch

from shape_editor.errors import MissingFileError, UserError
from shape_editor.fileio import atomic_output, atomic_outputs


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    with atomic_output(path) as tmp:
        torch.save(obj, tmp)


def atomic_torch_save_all(files: Mapping[Path, Any]) -> None:
    """Save several checkpoints so that either all of them move or none does (`atomic_outputs`)."""
    with atomic_outputs(list(files)) as temps:
        for tmp, obj in zip(temps, files.values()):
            torch.save(obj, tmp)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a checkpoint with `weights_only=True`: a file that carries code is refused, never run.

    Raises:
        MissingFileError: the file is missing (a `FileNotFoundError`).
        UserError: the file is corrupt or not a checkpoint, or it carries code (told apart in the message).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(
            "the checkpoint does not exist",
            path,
            "check --name, --which_epoch and --checkpoints_dir, or train the run first",
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if carries_code(err):
            raise UserError(
                f"refusing to load it: it carries code, not only tensors ({blocked_global(err)})",
                path,
                "load only checkpoints you trust, re-saved as plain state_dicts",
            ) from None
        raise corrupt(path) from None
    except (
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
        IndexError,
        KeyError,
        TypeError,
        AttributeError,
        AssertionError,
        struct.error,
        MemoryError,
        OverflowError,
    ):  # random bytes reach any of these
        raise corrupt(path) from None


def corrupt(path: Path) -> UserError:
    return UserError(
        "the checkpoint is corrupt or not a PyTorch checkpoint",
        path,
        "restore it from a backup or retrain; an interrupted copy is the usual cause",
    )


def carries_code(err: Exception) -> bool:
    """True when torch refused the file for naming a global (a class or function to call), not for bad bytes."""
    return "GLOBAL" in str(err)


def blocked_global(err: Exception) -> str:
    """The line of torch's refusal that names what the file tried to load, without its advice to unblock it."""
    lines = [line.strip() for line in str(err).splitlines() if "GLOBAL" in line]
    return lines[0] if lines else str(err).splitlines()[0]


def load_state_dict_checked(module: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str | Path) -> None:
    """Strict `load_state_dict` whose error lists mismatching keys and shapes briefly, naming the file."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [
        f"{k}: {tuple(state[k].shape)} in file, {tuple(own[k].shape)} here"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or wrong:
        parts = []
        if wrong:
            parts.append(f"{len(wrong)} shape mismatches (e.g. {'; '.join(wrong[:3])})")
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
        raise UserError(
            "the weights do not fit this network: " + "; ".join(parts),
            source,
            "give the flags the checkpoint was trained with (see its opt.txt)",
        )
    check_finite(state, source)
    module.load_state_dict(state)


def check_finite(state: Mapping[str, torch.Tensor], source: str | Path) -> None:
    """Refuse weights holding NaN or infinity: they would produce pages and metrics of garbage."""
    for key, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise UserError(
                f"tensor {key} holds NaN or infinite values",
                source,
                "resume from an earlier checkpoint (training diverged), e.g. a lower --lr",
            )

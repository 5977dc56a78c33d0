"""What every model provides: its flags, its networks, and how they are saved and loaded.

A model owns networks and computes named losses; the trainer (trainers/) owns the optimisation.
Network files follow SEAN: `checkpoints/<name>/<which>_net_<N>.pth` for each network N.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from torch import nn

from shape_editor.checkpoint_io import atomic_torch_save_all, load_checkpoint, load_state_dict_checked


class BaseModel(nn.Module):
    """Base of all models. Subclasses set `network_names` ({"G": "attribute name", ...}) and `from_opt`."""

    network_names: dict[str, str] = {}
    # Flags a checkpoint must agree on to be resumed (options/base_options.py adds model, label_nc, crop_size).
    architecture_options: tuple[str, ...] = ()

    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        return parser

    @staticmethod
    def option_defaults(opt: argparse.Namespace) -> dict[str, Any]:
        """Defaults of flags that depend on the value of another flag (e.g. a recipe); {} for most models."""
        return {}

    @staticmethod
    def resolve_options(opt: argparse.Namespace) -> None:
        """Fill in defaults that depend on other flags (after opt.json and the command line); none here."""

    def __init__(self, checkpoint_dir: str | Path) -> None:
        super().__init__()
        self.checkpoint_dir = Path(checkpoint_dir)  # the run's folder: checkpoints/<name>

    @classmethod
    def from_opt(cls, opt: argparse.Namespace) -> BaseModel:
        """Build the model from parsed options: the one place a model reads its flags."""
        raise NotImplementedError

    def network_file(self, which: str, label: str, checkpoint_dir: Path | None = None) -> Path:
        return (checkpoint_dir or self.checkpoint_dir) / f"{which}_net_{label}.pth"

    def network_payload(self, label: str, step: int) -> Any:
        """What a network file holds; a plain state_dict unless a subclass adds more (config, step)."""
        return getattr(self, self.network_names[label]).state_dict()

    def network_files(self, which: str, step: int) -> dict[Path, Any]:
        """File -> payload of every network for checkpoint `which` (saved together by `atomic_torch_save_all`)."""
        return {self.network_file(which, label): self.network_payload(label, step) for label in self.network_names}

    def save_networks(self, which: str, step: int) -> None:
        atomic_torch_save_all(self.network_files(which, step))

    def load_networks(self, which: str, labels: list[str] | None = None, checkpoint_dir: Path | None = None) -> None:
        """Load `<which>_net_<label>.pth` files; accepts plain state_dicts and `{"state_dict": ...}` payloads."""
        for label in labels or list(self.network_names):
            path = self.network_file(which, label, checkpoint_dir)
            payload = load_checkpoint(path)
            state = payload["state_dict"] if isinstance(payload, dict) and "state_dict" in payload else payload
            load_state_dict_checked(getattr(self, self.network_names[label]), state, path)

    def setup(self, train_set: Any, is_main: bool = True) -> None:
        """Prepare from the training data before the first step (e.g. class statistics); nothing by default."""

    def visuals(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Pictures for the training page, name -> batch tensor."""
        raise NotImplementedError

    def evaluate(self, loader: Any) -> dict[str, float]:
        """Held-out metrics at the end of an epoch."""
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

"""The optimisation half of training: optimisers, schedules, mixed precision, DDP, resume.

Subclasses build their optimisers and define `run_step(batch) -> {loss name: value}`; everything a
resumed run needs to continue exactly where it stopped lives in one atomic `latest_resume.pth`.
"""

from __future__ import annotations

import contextlib
import logging
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from models.base_model import BaseModel
from shape_editor.checkpoint_io import atomic_torch_save_all, load_checkpoint, load_state_dict_checked
from shape_editor.errors import UserError
from trainers.trainer_config import TrainerConfig
from util.distributed import DistInfo
from util.precision import cpu_has_native_bf16, resolve_amp
from util.seed import rng_state, set_rng_state

logger = logging.getLogger(__name__)


@dataclass
class Progress:
    """Where training stands: the epoch (1-based), batches done in it, and optimisation steps overall."""

    epoch: int = 1
    epoch_iter: int = 0
    total_steps: int = 0


class NonFiniteLossError(UserError, RuntimeError):
    """Raised after too many non-finite losses in a row: the run diverged, which the user's flags can fix."""


def linear_decay(niter: int, niter_decay: int):
    """SPADE's schedule as a LambdaLR factor: constant for `niter` epochs, then linear towards zero."""
    return lambda finished_epochs: 1.0 - max(0, finished_epochs - niter + 1) / (niter_decay + 1)


def follow_schedule(scheduler: torch.optim.lr_scheduler.LambdaLR, base_lrs: list[float]) -> None:
    """Set the optimiser's rates to `base_lrs` scaled by the scheduler's factor at its restored epoch.

    A loaded optimiser keeps the rates it had when saved (0 at the end of a decay); the schedule's
    lambdas, rebuilt from the present flags, say what the rates must be now.
    """
    scheduler.base_lrs = base_lrs
    lrs = [base * factor(scheduler.last_epoch) for base, factor in zip(base_lrs, scheduler.lr_lambdas)]
    for group, base, lr in zip(scheduler.optimizer.param_groups, base_lrs, lrs):
        group["initial_lr"], group["lr"] = base, lr
    scheduler._last_lr = lrs


def configure_device(device: torch.device, amp: str) -> None:
    """Per-device speed settings: cuDNN autotuning on CUDA (fixed input sizes); warn about emulated bf16."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    if device.type == "cpu" and amp == "bf16" and not cpu_has_native_bf16():
        logger.warning(
            "--amp bf16: this CPU has no native bf16 (AVX512-BF16 / AMX), so bf16 maths is emulated "
            "and several times slower than fp32; drop --amp here"
        )


class BaseTrainer(ABC):
    """Owns the optimisation of a model: subclasses build the optimisers and define one step.

    Args:
        config: an instance of the class's `config_class` (`TrainerConfig.from_opt` builds it from flags).
        model: the model to train; moved to `device`.
        device: where the model trains.
        dist_info: rank and world size (world size 1 without torchrun).
        steps_per_epoch: optimisation steps in one epoch of this process, for per-step schedules (0: unknown).
    """

    config_class: type[TrainerConfig] = TrainerConfig

    def __init__(
        self,
        config: TrainerConfig,
        model: BaseModel,
        device: torch.device,
        dist_info: DistInfo,
        steps_per_epoch: int = 0,
    ) -> None:
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} takes a {self.config_class.__name__}, got {type(config).__name__}")
        self.config, self.device, self.dist_info = config, device, dist_info
        self.steps_per_epoch = steps_per_epoch
        self.model = model.to(device)
        self.amp = resolve_amp(config.amp, device)  # "auto" becomes bf16 or none here
        configure_device(device, self.amp)
        if config.compile:
            self.compile_networks()
        self.optimizers: dict[str, torch.optim.Optimizer] = self.build_optimizers()
        decay = linear_decay(config.niter, config.niter_decay)
        self.schedulers = {name: torch.optim.lr_scheduler.LambdaLR(o, decay) for name, o in self.optimizers.items()}
        self.progress = Progress()
        self.bad_steps: dict[str, int] = {}  # optimiser name -> skipped steps in a row

    @abstractmethod
    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Name -> optimiser, e.g. {"G": Adam(...)}."""

    @abstractmethod
    def run_step(self, batch: dict[str, Any]) -> dict[str, float]:
        """One optimisation step on a batch; returns the named losses as floats."""

    def compile_networks(self) -> None:
        """`torch.compile` every network in place (`nn.Module.compile`), so state_dict keys do not change."""
        for attribute in self.model.network_names.values():
            getattr(self.model, attribute).compile()
            logger.info("compiled network %s (the first steps are slow while it compiles)", attribute)

    # --- helpers for subclasses ---------------------------------------------------------------------
    def wrap(self, module: nn.Module) -> nn.Module:
        """DistributedDataParallel under torchrun, the module itself otherwise."""
        if self.dist_info.world_size == 1:
            return module
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=device_ids)

    def autocast(self) -> contextlib.AbstractContextManager:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp == "bf16")

    def optimize(self, name: str, losses: dict[str, Tensor], parameters: Iterable[nn.Parameter]) -> dict[str, float]:
        """Sum the named losses and take a step; skip it (logged) when the sum is not finite.

        With `--grad_clip` the gradient norm is clipped, and a step whose norm is not finite (a finite loss
        whose gradients overflowed) is skipped too: taking it would poison the weights.
        """
        optimizer = self.optimizers[name]
        total = sum(losses.values())
        values = {k: float(v.detach()) for k, v in losses.items()}
        if not self.all_finite(total):
            self.skip_step(name, values)
            return values
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        if self.config.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(list(parameters), self.config.grad_clip)
            if not self.all_finite(norm):
                optimizer.zero_grad(set_to_none=True)
                self.skip_step(name, {**values, "grad_norm": float(norm)})
                return values
        optimizer.step()
        self.bad_steps[name] = 0
        return values

    def all_finite(self, total: Tensor) -> bool:
        """True when a scalar (loss, gradient norm) is finite on every process (all skip together or none)."""
        finite = torch.isfinite(total.detach()).to(torch.int32)
        if self.dist_info.world_size > 1:
            dist.all_reduce(finite, op=dist.ReduceOp.MIN)
        return bool(finite.item())

    def skip_step(self, name: str, values: dict[str, float]) -> None:
        """Count a skipped step of optimiser `name`; raise after `--max_bad_steps` of them in a row."""
        count = self.bad_steps[name] = self.bad_steps.get(name, 0) + 1
        step = self.progress.total_steps + 1  # the step being taken, as loss_log.txt numbers it
        shown = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
        logger.warning("non-finite loss at step %d (%s); step %s skipped (%d in a row)", step, shown, name, count)
        if count >= self.config.max_bad_steps:
            raise NonFiniteLossError(
                f"{count} non-finite losses in a row (optimiser {name}, last at step {step}: {shown})",
                "--lr",
                "lower --lr, set --grad_clip, or check the data",
            )

    # --- schedule -----------------------------------------------------------------------------------
    def update_learning_rate(self) -> dict[str, float]:
        for scheduler in self.schedulers.values():
            scheduler.step()
        return {name: o.param_groups[0]["lr"] for name, o in self.optimizers.items()}

    # --- checkpoints --------------------------------------------------------------------------------
    @property
    def resume_file(self) -> Path:
        return self.model.checkpoint_dir / "latest_resume.pth"

    def save(self, which: str) -> None:
        """Network files for `which`; for `latest` also the full resume state, all moved together. Rank 0 only."""
        if not self.dist_info.is_main:
            return
        files = self.model.network_files(which, self.progress.total_steps)
        if which == "latest":
            files[self.resume_file] = self.resume_state()
        atomic_torch_save_all(files)

    def resume_state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "progress": asdict(self.progress),
            "rng": rng_state(),
        }

    def load_resume(self) -> None:
        """Restore model, optimisers, schedules, progress and RNG from `latest_resume.pth`.

        The learning rates then follow the schedule of the present flags (`--lr`, `--niter`,
        `--niter_decay`) at the restored epoch, so extending a finished run trains on instead of at rate 0.
        """
        state = load_checkpoint(self.resume_file, map_location=self.device)
        load_state_dict_checked(self.model, state["model"], self.resume_file)
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        for name, scheduler in self.schedulers.items():
            base_lrs = list(scheduler.base_lrs)  # from the present flags
            scheduler.load_state_dict(state["schedulers"][name])
            follow_schedule(scheduler, base_lrs)
        self.progress = Progress(**{k: int(v) for k, v in state["progress"].items()})
        set_rng_state(state["rng"])
        logger.info(
            "resumed from %s at epoch %d, step %d", self.resume_file, self.progress.epoch, self.progress.total_steps
        )

    @property
    def planned_steps(self) -> int:
        """Optimisation steps of the whole run (0 when the epoch length is unknown)."""
        return self.total_epochs * self.steps_per_epoch

    @property
    def total_epochs(self) -> int:
        return self.config.niter + self.config.niter_decay

    def finished(self) -> bool:
        return self.progress.epoch > self.total_epochs

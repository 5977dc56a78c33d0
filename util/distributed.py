"""Process-group setup for `torchrun`; a plain `python train.py` is a world of one."""

from __future__ import annotations

import logging
import os
from typing import NamedTuple

import torch
import torch.distributed as dist

logger = logging.getLogger(__name__)


class DistInfo(NamedTuple):
    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(use_cuda: bool) -> DistInfo:
    """Join the process group torchrun describes in the environment (gloo on CPU, nccl on CUDA)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return DistInfo(0, 1, 0)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    logger.info("process %d of %d joined the group", rank, world_size)
    return DistInfo(rank, world_size, local_rank)


def select_device(gpu_ids: list[int], local_rank: int = 0) -> torch.device:
    """The one place a device is chosen: the first requested GPU (offset by the local rank), else CPU."""
    if not gpu_ids:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        logger.warning("CUDA is not available; running on the CPU (pass --gpu_ids -1 to silence this)")
        return torch.device("cpu")
    index = gpu_ids[local_rank % len(gpu_ids)]
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()

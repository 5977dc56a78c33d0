"""DataLoader construction that makes training repeatable and resumable.

The sampler shuffles with a seed per epoch (like DistributedSampler.set_epoch), shards across
processes, and can start part-way through an epoch, so a resumed run sees exactly the batches an
uninterrupted run would have seen.
"""

from __future__ import annotations

import math
from typing import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from util.seed import seed_worker


class EpochSampler(Sampler[int]):
    """Per-epoch seeded order, padded to a multiple of `world_size`, this rank's share, from `start_batch`."""

    def __init__(
        self, size: int, *, batch_size: int, shuffle: bool, seed: int, rank: int = 0, world_size: int = 1
    ) -> None:
        if size == 0:
            raise ValueError("the dataset is empty: nothing to sample")
        self.size, self.batch_size, self.shuffle, self.seed = size, batch_size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start_batch = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    @property
    def samples_per_rank(self) -> int:
        return math.ceil(self.size / self.world_size)

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.samples_per_rank / self.batch_size)

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.size, generator=generator)
        else:
            order = torch.arange(self.size)
        total = self.samples_per_rank * self.world_size
        order = torch.cat([order, order[: total - self.size]])  # pad so every rank gets as many samples
        mine = order[self.rank :: self.world_size]
        return iter(mine[self.start_batch * self.batch_size :].tolist())

    def __len__(self) -> int:
        return max(0, self.samples_per_rank - self.start_batch * self.batch_size)


def create_dataloader(
    dataset: Dataset,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    num_workers: int,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader over `dataset` with an `EpochSampler` (reach it as `loader.sampler`)."""
    sampler = EpochSampler(
        len(dataset), batch_size=batch_size, shuffle=shuffle, seed=seed, rank=rank, world_size=world_size
    )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        worker_init_fn=seed_worker,
        generator=torch.Generator().manual_seed(seed),
        pin_memory=pin_memory,
        persistent_workers=False,
    )


def start_epoch(loader: DataLoader, epoch: int, start_batch: int = 0) -> None:
    """Point the loader's sampler (and the dataset's per-sample augmentation seed) at an epoch."""
    loader.sampler.set_epoch(epoch, start_batch)
    if hasattr(loader.dataset, "set_epoch"):
        loader.dataset.set_epoch(epoch)

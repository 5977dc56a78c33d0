"""Train a model: `python train.py --model shapevae` (or `--model sean`); `torchrun` for several processes."""

from __future__ import annotations

import util.huge_pages  # noqa: F401  (first: it must run before torch is imported)

import argparse
import contextlib
import logging
import time
from pathlib import Path
from typing import Callable, Sequence

from tqdm import tqdm

import data
import models
import trainers
from data.loader import create_dataloader, start_epoch
from options.train_options import TrainOptions
from shape_editor.cli import run_cli
from shape_editor.run_dir import RunLock, check_run_start, clear_run_dir, remove_own_temp_files
from util.distributed import DistInfo, cleanup_distributed, init_distributed, select_device
from util.seed import seed_everything
from util.visualizer import Visualizer

logger = logging.getLogger("train")
StepHook = Callable[["trainers.BaseTrainer"], None]


def held_out_loader(opt: argparse.Namespace):
    """The test split for end-of-epoch evaluation, or None when the dataset has none."""
    try:
        test_set = data.create_dataset(opt, phase="test")
    except (FileNotFoundError, ValueError) as err:
        logger.warning("no held-out evaluation: %s", err)
        return None
    return create_dataloader(test_set, batch_size=opt.batchSize, shuffle=False, seed=opt.seed, num_workers=opt.nThreads)


def train(opt: argparse.Namespace, on_step: StepHook | None = None) -> trainers.BaseTrainer:
    """Train under the run folder's lock; nothing is written there until the model and data are built.

    `on_step(trainer)` runs after every step (benchmarks.convergence evaluates there, and may raise to stop).
    """
    dist_info = init_distributed(use_cuda=bool(opt.gpu_ids))
    run_dir = Path(opt.checkpoints_dir) / opt.name
    with RunLock(run_dir) if dist_info.is_main else contextlib.nullcontext() as lock:
        if lock is not None:  # rank 0 owns the folder; torchrun stops the other ranks when it refuses
            check_run_start(run_dir, resume=opt.continue_train, overwrite=opt.overwrite, flag="--name")
        return fit(opt, dist_info, lock, on_step)


def claim_run_dir(lock: RunLock, opt: argparse.Namespace) -> None:
    """The run is built: clear the folder for --overwrite, or drop the temp files of a killed save to resume."""
    if opt.overwrite:
        clear_run_dir(lock.run_dir)
    elif opt.continue_train:
        remove_own_temp_files(lock.run_dir)


def fit(
    opt: argparse.Namespace, dist_info: DistInfo, lock: RunLock | None, on_step: StepHook | None = None
) -> trainers.BaseTrainer:
    """Build data, model and trainer, claim the run folder (rank 0 holds `lock`), then train to the end."""
    device = select_device(opt.gpu_ids, dist_info.local_rank)
    seed_everything(opt.seed + dist_info.rank)
    train_set = data.create_dataset(opt)
    loader = create_dataloader(
        train_set,
        batch_size=opt.batchSize,
        shuffle=not opt.serial_batches,
        seed=opt.seed,
        num_workers=opt.nThreads,
        rank=dist_info.rank,
        world_size=dist_info.world_size,
        pin_memory=device.type == "cuda",
    )
    model = models.create_model(opt)
    if lock is not None:
        claim_run_dir(lock, opt)
    model.setup(train_set, is_main=dist_info.is_main)
    trainer = trainers.create_trainer(opt, model, device, dist_info, steps_per_epoch=loader.sampler.batches_per_epoch)
    if opt.continue_train:
        trainer.load_resume()
    if dist_info.is_main:
        TrainOptions().save_options(opt)
    visualizer = Visualizer(
        opt.checkpoints_dir,
        opt.name,
        use_html=not opt.no_html,
        display_winsize=opt.display_winsize,
        is_main_process=dist_info.is_main,
    )
    test_loader = held_out_loader(opt) if dist_info.is_main and opt.eval_freq > 0 else None
    progress = trainer.progress
    while not trainer.finished():
        start_epoch(loader, progress.epoch, progress.epoch_iter)
        bar = tqdm(
            loader,
            total=loader.sampler.batches_per_epoch,
            initial=progress.epoch_iter,
            desc=f"epoch {progress.epoch}/{trainer.total_epochs}",
            disable=not dist_info.is_main,
        )
        tic = time.perf_counter()
        for batch in bar:
            losses = trainer.run_step(batch)
            progress.epoch_iter += 1
            progress.total_steps += 1
            bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()})
            if progress.total_steps % opt.print_freq == 0:
                seconds = (time.perf_counter() - tic) / opt.print_freq
                visualizer.print_current_losses(progress.epoch, progress.total_steps, losses, seconds)
                tic = time.perf_counter()
            if progress.total_steps % opt.display_freq == 0 and dist_info.is_main:
                visualizer.display_current_results(model.visuals(batch), progress.epoch, progress.total_steps)
            if progress.total_steps % opt.save_latest_freq == 0:
                trainer.save("latest")
            if on_step is not None:
                on_step(trainer)
        finished_epoch = progress.epoch
        trainer.update_learning_rate()
        if test_loader is not None and finished_epoch % opt.eval_freq == 0:
            metrics = model.evaluate(test_loader)
            logger.info("epoch %d held-out: %s", finished_epoch, metrics)
            visualizer.add_metrics(finished_epoch, metrics)
        progress.epoch, progress.epoch_iter = finished_epoch + 1, 0
        trainer.save("latest")
        if finished_epoch % opt.save_epoch_freq == 0 or trainer.finished():
            trainer.save(str(finished_epoch))
    visualizer.plot_losses()
    logger.info("training finished after %d steps; checkpoints in %s", progress.total_steps, model.checkpoint_dir)
    return trainer


def main(argv: Sequence[str] | None = None) -> None:
    """Parse and train; errors a user can fix raise `UserError` (run_cli prints them as one line)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    opt = TrainOptions().parse(argv)
    try:
        train(opt)
    finally:
        cleanup_distributed()


if __name__ == "__main__":
    run_cli(main)

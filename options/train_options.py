"""Flags for training runs (`python train.py`)."""

from __future__ import annotations

import argparse

from options.base_options import BaseOptions


class TrainOptions(BaseOptions):
    is_train = True

    def initialize(self, parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser = super().initialize(parser)
        # visuals and logging (frequencies count optimisation steps)
        parser.add_argument("--display_freq", type=int, default=500, help="steps between visuals on the web page")
        parser.add_argument("--print_freq", type=int, default=100, help="steps between loss lines in loss_log.txt")
        parser.add_argument(
            "--save_latest_freq", type=int, default=1000, help="steps between saves of the latest model"
        )
        parser.add_argument("--save_epoch_freq", type=int, default=10, help="epochs between per-epoch checkpoints")
        parser.add_argument("--eval_freq", type=int, default=1, help="epochs between held-out evaluations (0: never)")
        parser.add_argument("--no_html", action="store_true", help="do not write the training web page")
        # schedule and resume
        parser.add_argument("--continue_train", action="store_true", help="resume from the latest checkpoint")
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="replace the run of the same --name: its folder is cleared once the new run is built",
        )
        parser.add_argument("--which_epoch", type=str, default="latest", help="checkpoint to resume from")
        parser.add_argument("--niter", type=int, default=50, help="epochs at the initial learning rate")
        parser.add_argument(
            "--niter_decay", type=int, default=0, help="epochs to decay the learning rate linearly to zero"
        )
        # optimiser
        parser.add_argument("--lr", type=float, default=0.0002, help="initial learning rate for Adam")
        parser.add_argument("--beta1", type=float, default=0.5, help="Adam beta1")
        parser.add_argument("--beta2", type=float, default=0.999, help="Adam beta2")
        parser.add_argument("--grad_clip", type=float, default=0.0, help="clip the gradient norm to this (0: off)")
        parser.add_argument(
            "--max_bad_steps",
            type=int,
            default=10,
            help="abort after this many non-finite losses in a row (each such step is skipped)",
        )
        return parser

"""Flags for test runs (`python test.py`): results pages, shape edits, export."""

from __future__ import annotations

import argparse
import sys

from options.base_options import BaseOptions

EDIT_MODES = ("reconstruct", "generate", "perturb", "interpolate", "swap", "all", "attribute")


class TestOptions(BaseOptions):
    is_train = False

    def initialize(self, parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser = super().initialize(parser)
        parser.add_argument("--results_dir", type=str, default="./results", help="results are saved here")
        parser.add_argument(
            "--results_name",
            type=str,
            default=None,
            help="folder under results/<name>/ [default: <phase>_<epoch>, plus _<mode>_<part> for edits]",
        )
        parser.add_argument("--which_epoch", type=str, default="latest", help="which checkpoint to load")
        parser.add_argument("--how_many", type=int, default=sys.maxsize, help="how many test inputs to run")
        # shape edits (docs/ARCHITECTURE.md, "Edits")
        parser.add_argument(
            "--edit_part",
            type=str,
            default=None,
            help="part(s) to edit by name or id, e.g. nose | nose,mouth | 2 | all",
        )
        parser.add_argument(
            "--edit_mode", type=str, default="generate", choices=EDIT_MODES, help="how to edit the part"
        )
        parser.add_argument(
            "--edit_strength",
            type=float,
            default=1.0,
            help="noise scale for perturb; standard deviations for attribute",
        )
        parser.add_argument("--n_samples", type=int, default=4, help="edited variants per input")
        parser.add_argument("--n_steps", type=int, default=5, help="interpolation steps from alpha 0 to 1")
        parser.add_argument(
            "--target",
            type=str,
            default=None,
            help="target mask for interpolate/swap: a label file or a test-set index [default: the next test input]",
        )
        parser.add_argument(
            "--attribute",
            type=str,
            default=None,
            help="shape attribute for --edit_mode attribute: area | height | width | elongation | "
            "centroid_x | centroid_y, and for hair above_brows | below_ears",
        )
        parser.add_argument(
            "--attribute_samples",
            type=int,
            default=2000,
            help="training masks used to fit an attribute direction (once per checkpoint; cached under --results_dir)",
        )
        parser.add_argument(
            "--sample_from",
            type=str,
            default="aggregate",
            choices=("standard", "aggregate"),
            help="generate / all: draw codes from N(0, I) (the paper's) or from a Gaussian fitted per "
            "part to the training codes (ours; fitted once per checkpoint, cached under "
            "--results_dir)",
        )
        parser.add_argument(
            "--sample_temperature",
            type=float,
            default=1.0,
            help="generate / all: scale of the noise around the prior's mean (ours; below 1 trades diversity "
            "for validity, 0 draws the mean)",
        )
        parser.add_argument(
            "--perturb_scale",
            type=str,
            default="standard",
            choices=("standard", "aggregate"),
            help="perturb: --edit_strength in units of N(0, I) or of the training codes' std per dimension",
        )
        parser.add_argument(
            "--prior_samples",
            type=int,
            default=2000,
            help="training masks used to fit the aggregate prior (once per checkpoint; cached under --results_dir)",
        )
        parser.add_argument(
            "--load_official",
            type=str,
            default=None,
            help="run the paper's released Semantic-VAE weights from this file instead of a checkpoint",
        )
        parser.add_argument(
            "--export_dir",
            type=str,
            default=None,
            help="also write every edited mask as an id PNG in the SEAN layout, plus manifest.csv",
        )
        parser.add_argument(
            "--shape_name",
            type=str,
            default=None,
            help="with --model sean: the shapevae run whose editor feeds the generator",
        )
        parser.set_defaults(serial_batches=True, no_flip=True, phase="test", nThreads=0, load_from_opt_file=True)
        parser.add_argument(
            "--no_opt_file",
            dest="load_from_opt_file",
            action="store_false",
            help="do not take the trained run's options from its opt.json",
        )
        return parser

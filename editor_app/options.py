"""Flags of `python editor.py`: the test flags (options come from the run's opt.json) plus where to serve.

`--shape_name` names the shape-VAE run. `--name`, when given, names a SEAN run whose generator renders
every mask; its opt.json then sets the data options. Without `--name` they come from the shape run.
`--dataroot D` alone reads D in the SEAN layout (`--dataset_mode celebamaskhq`), whatever the run was
trained on.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from options.test_options import TestOptions
from shape_editor.errors import UserError
from shape_editor.labels import LABEL_ORDERS


class EditorOptions(TestOptions):
    def initialize(self, parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser = super().initialize(parser)
        parser.add_argument("--port", type=int, default=7860, help="port of the editor page")
        parser.add_argument(
            "--host", type=str, default="127.0.0.1", help="address to serve on (127.0.0.1: this machine only)"
        )
        # Folder datasets define --label_order too; "resolve" lets their identical flag replace this one, so
        # uploads are read in that order with every dataset, the synthetic faces included.
        parser.conflict_handler = parser._optionals.conflict_handler = "resolve"  # the group checks its own
        parser.add_argument(
            "--label_order",
            type=str,
            default="standard",
            choices=LABEL_ORDERS,
            help="order of the ids in uploaded id or palette PNGs: standard | bisenet",
        )
        return parser

    def parse(self, argv: Sequence[str] | None = None, save: bool = False) -> argparse.Namespace:
        """Parse; without `--name` the shape run's own options are used (and no SEAN render)."""
        args = list(argv or [])
        peek = argparse.ArgumentParser(add_help=False)
        peek.add_argument("--shape_name")
        peek.add_argument("--name")
        peek.add_argument("--dataroot")
        peek.add_argument("--dataset_mode")
        known, _ = peek.parse_known_args(args)
        if {"-h", "--help"} & set(args):
            return super().parse(args, save=False)  # prints the flags and exits
        if not known.shape_name:
            raise UserError(
                "--shape_name is required",
                "--shape_name",
                "name the shape-VAE run to edit with, e.g. --shape_name shapevae",
            )
        if known.dataroot and known.dataset_mode is None:  # a dataroot given here beats the run's saved dataset
            args += ["--dataset_mode", "celebamaskhq"]
        opt = super().parse(args if known.name else [*args, "--name", known.shape_name], save=save)
        opt.sean = known.name is not None
        if opt.sean and opt.model != "sean":
            raise UserError(
                f"--name {known.name} is a {opt.model} run",
                f"--name {known.name}",
                "name a SEAN run (or leave --name out to edit without rendering)",
            )
        return opt

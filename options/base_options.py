"""Options shared by training and testing (SPADE layout: base, train and test options).

Parsing happens in two passes. The first pass reads the flags known so far; then the chosen model and
dataset add their own flags through `modify_commandline_options(parser, is_train)`, and the final pass
parses everything. Options are saved as `opt.txt` (non-defaults marked) and `opt.json` (never pickle).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, ClassVar, Sequence

import data
import models
from data.validation import AUTO_LIMIT, CHECK_MODES
from shape_editor.fileio import safe_child
from options.saved_options import (
    BASE_DATA_OPTIONS,
    apply_saved_options,
    check_given_architecture,
    check_known_keys,
    read_saved_options,
    typed_value,
)
from options.validation import validate_options
from shape_editor.cli import ArgumentParser
from shape_editor.errors import UserError
from shape_editor.run_dir import check_run_name
from util.checkpoint import check_options_match
from util.precision import AMP_MODES

logger = logging.getLogger(__name__)

# Never taken from a saved opt.json: they describe this run, not the trained network or its data.
RUN_SPECIFIC_KEYS = {
    "name",
    "checkpoints_dir",
    "gpu_ids",
    "phase",
    "isTrain",
    "continue_train",
    "which_epoch",
    "load_from_opt_file",
    "serial_batches",
    "no_flip",
    "nThreads",
    "results_dir",
    "how_many",
    "seed",
    "check_dataset",
    "skip_bad_files",
    "label_cache",
    "label_cache_dir",
    "debug",
}
# Options that fix the saved networks' shapes or training objective, for any model. A model adds its own
# in the class attribute `architecture_options`.
BASE_ARCHITECTURE_OPTIONS: tuple[str, ...] = ("model", "label_nc", "crop_size")
# Flags that become one folder or file name under a run's folder: never a path.
NAME_OPTIONS: tuple[str, ...] = ("phase", "which_epoch")


class BaseOptions:
    """Flags every run has; subclasses add train- or test-only flags.

    Every subclass is recorded in `run_kinds` (options/__init__.py imports the training and test options), so
    the keys a saved opt.json may hold are known without this module importing its subclasses.
    """

    is_train = False
    run_kinds: ClassVar[list[type[BaseOptions]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        BaseOptions.run_kinds.append(cls)

    def initialize(self, parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        # experiment
        parser.add_argument(
            "--name",
            type=str,
            default=None,
            help="experiment name: checkpoints/<name>/, results/<name>/ [default: the model name]",
        )
        parser.add_argument(
            "--gpu_ids",
            type=str,
            default="0",
            help="gpu ids, e.g. 0 or 0,1; -1 for CPU (falls back to CPU when CUDA is absent)",
        )
        parser.add_argument("--checkpoints_dir", type=str, default="./checkpoints", help="models are saved here")
        parser.add_argument("--model", type=str, default="shapevae", help="which model: shapevae | sean")
        parser.add_argument("--seed", type=int, default=0, help="random seed for repeatable runs")
        # data
        parser.add_argument(
            "--dataroot",
            type=str,
            default=None,
            help="dataset folder; without it the embedded synthetic faces are used",
        )
        parser.add_argument(
            "--dataset_mode",
            type=str,
            default=None,
            help="celebamaskhq | synthetic | custom [default: celebamaskhq with --dataroot, else synthetic]",
        )
        parser.add_argument("--phase", type=str, default="train", help="train | test")
        parser.add_argument("--label_nc", type=int, default=19, help="number of semantic classes, background included")
        parser.add_argument(
            "--preprocess_mode",
            type=str,
            default="resize_and_crop",
            help="resize_and_crop | crop | scale_width | scale_width_and_crop | scale_shortside_and_crop | fixed | none",
        )
        parser.add_argument("--load_size", type=int, default=256, help="scale images to this size")
        parser.add_argument("--crop_size", type=int, default=256, help="then crop to this size")
        parser.add_argument("--aspect_ratio", type=float, default=1.0, help="width / height of the crop for fixed mode")
        parser.add_argument("--batchSize", type=int, default=8, help="input batch size (per process)")
        parser.add_argument("--serial_batches", action="store_true", help="take batches in order, no shuffling")
        parser.add_argument("--no_flip", action="store_true", help="no horizontal-flip augmentation")
        parser.add_argument("--nThreads", type=int, default=2, help="data-loading worker processes")
        parser.add_argument(
            "--max_dataset_size", type=int, default=sys.maxsize, help="use at most this many samples of the dataset"
        )
        parser.add_argument("--display_winsize", type=int, default=256, help="width of images on the HTML pages")
        parser.add_argument(
            "--load_from_opt_file",
            action="store_true",
            help="load the options of the checkpoint's opt.json and override only what is given",
        )
        parser.add_argument(
            "--check_dataset",
            type=str,
            default="auto",
            choices=CHECK_MODES,
            help="scan label/photo folders for bad files before starting (headers of every "
            f"file, pixels of a sample); auto: only datasets of up to {AUTO_LIMIT} samples",
        )
        parser.add_argument(
            "--skip_bad_files",
            action="store_true",
            help="leave out the samples the dataset check finds bad (listed in the log) instead of refusing to start",
        )
        # speed
        parser.add_argument(
            "--amp",
            type=str,
            default="none",
            choices=AMP_MODES,
            help="autocast precision: bf16 (CPU and CUDA; emulated, so slow, on CPUs without "
            "AVX512-BF16 / AMX); auto = bf16 on CUDA and on CPUs with native bf16, else none",
        )
        parser.add_argument("--compile", action="store_true", help="torch.compile the networks")
        return parser

    def full_parser(
        self, model: str, dataset_mode: str, argv: Sequence[str] | None = (), values: argparse.Namespace | None = None
    ) -> argparse.ArgumentParser:
        """Every flag a run of `model` on `dataset_mode` accepts, with the defaults it really uses.

        Those include the model's `option_defaults` for the flags in `argv` (e.g. the chosen `--recipe`'s), so
        `--help` shows them too; `argv` None is the command line, the default () means no flags. `values`
        (parsed options) replaces `argv` when given.
        """
        parser = self.flag_parser(model, dataset_mode, add_help=True)
        probe = (
            values
            if values is not None
            else self.flag_parser(model, dataset_mode, add_help=False).parse_known_args(argv)[0]
        )
        dests = {action.dest for action in parser._actions}
        defaults = models.get_option_defaults(model)(probe)
        parser.set_defaults(**{k: v for k, v in defaults.items() if k in dests})
        return parser

    def flag_parser(self, model: str, dataset_mode: str, add_help: bool) -> argparse.ArgumentParser:
        """The base, model and dataset flags with their static defaults."""
        parser = self.initialize(
            ArgumentParser(
                formatter_class=argparse.ArgumentDefaultsHelpFormatter, allow_abbrev=False, add_help=add_help
            )
        )
        parser = models.get_option_setter(model)(parser, self.is_train)
        parser = data.get_option_setter(dataset_mode)(parser, self.is_train)
        parser.set_defaults(model=model, dataset_mode=dataset_mode)
        return parser

    def gather_options(self, argv: Sequence[str] | None) -> argparse.Namespace:
        """Two-pass parsing: base flags pick the model and dataset, whose flags the full parser adds.

        `--help` is answered by the full parser, so it lists the model's and dataset's flags too. With
        `--load_from_opt_file` only architecture and data options come from the run's opt.json
        (options/saved_options.py), and never those given on the command line.
        """
        first = self.initialize(ArgumentParser(add_help=False, allow_abbrev=False))
        opt, _ = first.parse_known_args(argv)
        given = explicit_flags(first, argv)
        if opt.name is not None:
            check_run_name(opt.name)  # before it names a folder to read from
        path = opt_file_path(opt)
        args = sys.argv[1:] if argv is None else list(argv)
        asks_help = bool({"-h", "--help"} & set(args))  # --help answers even before the run is trained
        saved = read_saved_options(path) if opt.load_from_opt_file and not (asks_help and not path.is_file()) else {}
        actions = {a.dest: a for a in first._actions}
        if "model" not in given and "model" in saved:
            opt.model = typed_value(actions["model"], saved["model"], path)
        if "dataset_mode" not in given and "dataroot" not in given and saved.get("dataset_mode"):
            opt.dataset_mode = typed_value(actions["dataset_mode"], saved["dataset_mode"], path)
        model, dataset_mode = opt.model, resolve_dataset_mode(opt)  # an explicit --dataroot selects its data
        parser = self.full_parser(model, dataset_mode, argv)
        opt = parser.parse_args(argv)
        if saved:
            self.apply_saved(opt, saved, parser, explicit_flags(parser, argv), path)
            # Defaults that depend on other flags (the recipe's) follow the values the run's file set.
            parser = self.full_parser(model, dataset_mode, values=opt)
            opt = parser.parse_args(argv)
            self.apply_saved(opt, saved, parser, explicit_flags(parser, argv), path)
        self.parser = parser
        return opt

    def apply_saved(
        self, opt: argparse.Namespace, saved: dict, parser: argparse.ArgumentParser, given: set[str], path: Path
    ) -> None:
        """Check a run's opt.json against this code and the command line, then take its architecture/data keys."""
        if "dataroot" in given:  # other data: the file's dataset mode does not apply to it
            given.add("dataset_mode")
        own_model = saved["model"] if isinstance(saved.get("model"), str) else opt.model
        own_mode = saved["dataset_mode"] if isinstance(saved.get("dataset_mode"), str) else opt.dataset_mode
        check_known_keys(saved, known_option_names(own_model, own_mode), path)
        check_given_architecture(opt, saved, parser, architecture_keys(opt.model), given, path)
        loadable = loadable_options(opt.model, opt.dataset_mode, self.is_train)
        apply_saved_options(opt, saved, parser, loadable, given, path)

    def parse(self, argv: Sequence[str] | None = None, save: bool = False) -> argparse.Namespace:
        """Parse and check the options; nothing is written unless `save` (train.py saves once the run is built)."""
        opt = self.gather_options(argv)
        opt.isTrain = self.is_train
        opt.name = opt.name or opt.model
        models.find_model_using_name(opt.model).resolve_options(opt)
        validate_options(opt, self.parser)
        safe_child(opt.checkpoints_dir, opt.name)  # a run folder that is a link to elsewhere is refused
        check_name_options(opt)
        opt.gpu_ids = parse_gpu_ids(opt.gpu_ids)
        if self.is_train and opt.continue_train:
            check_resume_options(opt)
        if save:
            self.save_options(opt)
        self.opt = opt
        return opt

    def format_options(self, opt: argparse.Namespace) -> str:
        """SPADE's options table: one flag a line, `[default: x]` after every value that differs."""
        flags = {action.dest for action in self.parser._actions}
        lines = ["----------------- Options ---------------"]
        for key, value in sorted(vars(opt).items()):
            default = self.parser.get_default(key)
            marker = f"\t[default: {default}]" if key in flags and value != default else ""
            lines.append(f"{key:>25}: {value!s:<30}{marker}")
        lines.append("----------------- End -------------------")
        return "\n".join(lines)

    def save_options(self, opt: argparse.Namespace, folder: str | Path | None = None) -> None:
        """Write opt.txt (human-readable) and opt.json (machine-readable): into the run's checkpoint
        folder for training, into `folder` (the results folder) for a test run."""
        from shape_editor.fileio import atomic_write_json, atomic_write_text

        if not is_main_process():
            return
        if not hasattr(self, "parser"):
            self.parser = self.full_parser(opt.model, opt.dataset_mode, values=opt)
        expr_dir = Path(folder) if folder is not None else Path(opt.checkpoints_dir) / opt.name
        expr_dir.mkdir(parents=True, exist_ok=True)
        suffix = "" if self.is_train else "_test"
        atomic_write_text(expr_dir / f"opt{suffix}.txt", self.format_options(opt) + "\n")
        atomic_write_json(expr_dir / f"opt{suffix}.json", vars(opt), indent=2, sort_keys=True, default=str)


def resolve_dataset_mode(opt: argparse.Namespace) -> str:
    """An explicit --dataset_mode wins; otherwise real data with --dataroot, synthetic faces without."""
    if opt.dataset_mode:
        return opt.dataset_mode
    return "celebamaskhq" if opt.dataroot else "synthetic"


def parse_gpu_ids(text: str | list[int]) -> list[int]:
    if isinstance(text, list):
        return text
    try:
        ids = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError as err:
        raise ValueError(f"--gpu_ids must be comma-separated integers or -1, got {text!r}") from err
    return [i for i in ids if i >= 0]


def check_name_options(opt: argparse.Namespace) -> None:
    """`--phase` and `--which_epoch` name files and folders inside a run's folders: refuse paths."""
    for key in (k for k in NAME_OPTIONS if hasattr(opt, k)):
        value = str(getattr(opt, key))
        if not value or value in (".", "..") or any(sep in value for sep in ("/", "\\", "\0")):
            raise ValueError(f"--{key} {value!r} must be a plain name, without '/', '\\' or '..'")


def architecture_keys(model: str) -> list[str]:
    """The options that fix the saved networks of `model` (a checkpoint must agree on them)."""
    model_keys = models.find_model_using_name(model).architecture_options
    return list(dict.fromkeys((*BASE_ARCHITECTURE_OPTIONS, *model_keys)))


def architecture_options(opt: argparse.Namespace) -> list[str]:
    """The options a checkpoint of `opt.model` must agree on to be resumed (those `opt` has)."""
    return [key for key in architecture_keys(opt.model) if hasattr(opt, key)]


def dataset_option_names(dataset_mode: str, is_train: bool) -> set[str]:
    """The flags the dataset adds itself (e.g. --label_dir, --synthetic_size)."""
    parser = data.get_option_setter(dataset_mode)(argparse.ArgumentParser(add_help=False), is_train)
    return {action.dest for action in parser._actions}


def loadable_options(model: str, dataset_mode: str, is_train: bool) -> set[str]:
    """The options a saved opt.json may set: architecture and data, never where to write or what to load."""
    keys = {*architecture_keys(model), *BASE_DATA_OPTIONS, *dataset_option_names(dataset_mode, is_train)}
    return keys - RUN_SPECIFIC_KEYS


def known_option_names(model: str, dataset_mode: str) -> set[str]:
    """Every option a training or test run of `model` on `dataset_mode` has (what an opt.json may hold)."""
    return {a.dest for cls in BaseOptions.run_kinds for a in cls().full_parser(model, dataset_mode)._actions}


def check_resume_options(opt: argparse.Namespace) -> None:
    """Refuse `--continue_train` when the run's saved opt.json has other architecture options.

    Raises:
        ValueError: naming every differing flag with both values (no opt.json: nothing to compare).
    """
    try:
        check_options_match(opt_file_path(opt), vars(opt), architecture_options(opt))
    except ValueError as err:
        raise UserError(
            f"--continue_train: {err}",
            opt_file_path(opt),
            "resume with the checkpoint's values: give the same flags, or drop them and add "
            "--load_from_opt_file to take the architecture options from its opt.json",
        ) from None


def opt_file_path(opt: argparse.Namespace) -> Path:
    return Path(opt.checkpoints_dir) / (opt.name or opt.model) / "opt.json"


def explicit_flags(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> set[str]:
    """Destinations of the flags written on the command line (so they win over a saved opt file)."""
    args = sys.argv[1:] if argv is None else list(argv)
    given = {arg.split("=", 1)[0] for arg in args if arg.startswith("--")}
    return {action.dest for action in parser._actions if given & set(action.option_strings)}


def is_main_process() -> bool:
    import os

    return int(os.environ.get("RANK", "0")) == 0

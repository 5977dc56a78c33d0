"""The top-level error handler every entry point runs its `main` under.

Expected errors end with one line on stderr, `error: <what> (<file or flag>): <how to fix>`, and exit
status 2; `--debug` on the command line or `SHAPEVAE_DEBUG=1` shows the traceback as well. Expected are
`UserError`, the `ValueError`/`NotImplementedError` this project raises on purpose (bad flags, data or
files), and the operating system's errors about a named file. Anything else is a bug: its traceback is kept.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, NoReturn, Sequence

from shape_editor.errors import UserError

DEBUG_ENV = "SHAPEVAE_DEBUG"
USER_ERROR_STATUS = 2


def _own_modules() -> frozenset[str]:
    """Top-level module names of this project: the packages and scripts beside `shape_editor/`."""
    root = Path(__file__).resolve().parents[1]
    if root.name in ("site-packages", "dist-packages"):  # installed: only the library itself is ours
        return frozenset({"shape_editor", "__main__"})
    names = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()} | {p.stem for p in root.glob("*.py")}
    return frozenset(names - {"tests"} | {"__main__"})


OWN_MODULES = _own_modules()


def raised_by_own_code(tb: TracebackType | None) -> bool:
    """True when the innermost frame of a traceback is this project's code (not torch's, numpy's, ...)."""
    frame = None
    while tb is not None:
        frame, tb = tb.tb_frame, tb.tb_next
    return frame is not None and str(frame.f_globals.get("__name__", "")).split(".")[0] in OWN_MODULES


FILE_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)


def is_file_error(err: BaseException) -> bool:
    """An operating-system error about a named file: missing, no permission, a link where none may be, ..."""
    return isinstance(err, OSError) and bool(err.filename) and not isinstance(err, UserError)


def is_expected(err: BaseException) -> bool:
    if isinstance(err, (UserError, FILE_ERRORS)) or is_file_error(err):
        return True
    return isinstance(err, (ValueError, NotImplementedError)) and raised_by_own_code(err.__traceback__)


def error_line(err: BaseException) -> str:
    """The one line an expected error prints."""
    if isinstance(err, OSError) and is_file_error(err):
        return f"error: {err.strerror or type(err).__name__} ({err.filename}): check the path and its permissions"
    return f"error: {err}"


def debug_requested(argv: Sequence[str] | None) -> bool:
    args = sys.argv[1:] if argv is None else argv
    return "--debug" in args or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def run_cli(main: Callable[[Sequence[str] | None], Any], argv: Sequence[str] | None = None) -> NoReturn:
    """Run `main(argv)` and exit: its int result as the status (0 otherwise), 2 on an expected error."""
    try:
        result = main(argv)
    except Exception as err:
        if not is_expected(err):
            raise
        if debug_requested(argv):
            traceback.print_exc()
        line, *details = error_line(err).split("\n")
        for detail in details:  # e.g. every bad file of a dataset check: listed first, so the error line ends
            print(detail, file=sys.stderr)
        print(line.rstrip(":"), file=sys.stderr)
        sys.exit(USER_ERROR_STATUS)
    sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else 0)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with `--debug` and the project's one-line errors (`error: <what> (<flag>): <fix>`, status 2)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kwargs.get("add_help", True):
            self.add_argument(
                "--debug", action="store_true", help=f"show the traceback of an error (or set {DEBUG_ENV}=1)"
            )

    def error(self, message: str) -> NoReturn:
        flag, _, what = message.partition(": ") if message.startswith("argument ") else ("", "", message)
        where = flag.removeprefix("argument ").split("/")[-1]
        line = UserError(what, where, f"see `{self.prog} --help`").line()
        print(f"error: {line}", file=sys.stderr)
        sys.exit(USER_ERROR_STATUS)

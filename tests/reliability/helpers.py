"""Shared by the safety tests: run an entry point as the shell would, and fingerprint a folder."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Sequence

import pytest

from shape_editor.cli import run_cli


def run_entry(main: Callable, argv: Sequence[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """Run `main` under the top-level handler in this process; returns (exit status, stderr)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, list(argv))
    return exit_info.value.code, capsys.readouterr().err


def folder_digest(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file (and link target) under `folder`: equal digests, equal data."""
    digest = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            digest[key] = "link:" + str(path.readlink())
        elif path.is_file():
            digest[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def one_error_line(stderr: str) -> str:
    """The stderr of a refused command: exactly one line, `error: ...`, and no traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]

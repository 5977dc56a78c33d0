"""File helpers: atomic writes (write to a temporary name in the same folder, then rename) and path guards.

A crash or kill at any moment leaves either the old file or the new one, never half of one; a user-given
name never escapes the folder it names.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)  # mkstemp makes 0600 files, too strict for pages and datasets others read
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def safe_child(root: str | Path, name: str) -> Path:
    """Return `root / name`, refusing names that would escape `root` (`..`, absolute paths).

    Raises:
        ValueError: naming the offending value.
    """
    if not name or Path(name).is_absolute() or any(part == ".." for part in Path(name).parts):
        raise ValueError(f"{name!r} must be a plain name inside {root}, without '..' or a leading '/'")
    root_path = Path(root).resolve()
    child = (root_path / name).resolve()
    if root_path not in child.parents and child != root_path:
        raise ValueError(f"{name!r} resolves outside {root}")
    return child

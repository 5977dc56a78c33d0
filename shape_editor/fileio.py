"""File helpers: atomic writes (write to a temporary name in the same folder, then rename) and path guards.

A crash or kill at any moment leaves either the old file or the new one, never half of one; a user-given
name never escapes the folder it names.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Sequence, TextIO


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path`, on error it is removed."""
    with atomic_outputs([path]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[str | Path]) -> Iterator[list[Path]]:
    """Temporary paths for several files that replace theirs only once every one is written.

    A failure while writing any of them (a full disk, an error) moves none, so files that belong
    together (a network and its resume state) never end up at different steps.
    """
    with contextlib.ExitStack() as stack:
        temps = [stack.enter_context(_staged(path)) for path in paths]
        yield temps
        for tmp, path in zip(temps, paths):
            tmp.chmod(0o644)  # mkstemp makes 0600 files, too strict for pages and datasets others read
            os.replace(tmp, path)


@contextlib.contextmanager
def _staged(path: str | Path) -> Iterator[Path]:
    """A temporary path next to `path`, removed on exit unless it was renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


@contextlib.contextmanager
def append_no_follow(path: str | Path) -> Iterator[TextIO]:
    """Open a log for appending, refusing a symlink in its place (it would write wherever the link points)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        yield handle


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


def finite_or_null(obj: Any) -> Any:
    """`obj` with every NaN or infinite float replaced by None (JSON null), in nested dicts/lists/tuples."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: finite_or_null(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_null(value) for value in obj]
    return obj


def strict_json(obj: Any, **kwargs: Any) -> str:
    """JSON that strict readers accept: undefined numbers become null, never a bare NaN or Infinity."""
    return json.dumps(finite_or_null(obj), allow_nan=False, **kwargs)


def atomic_write_json(path: str | Path, obj: Any, **kwargs: Any) -> None:
    atomic_write_text(path, strict_json(obj, **kwargs))


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex): identifies the weights a cache (directions, latent prior) came from."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

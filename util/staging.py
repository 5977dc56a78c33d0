"""Folders written as one transaction: build beside the target, then swap it in with a rename.

A reader (or a kill at any moment) sees the old folder or the new one, never a mix of both and never
stale files of an earlier, larger run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where the system cannot."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def remove_path(path: Path) -> None:
    """Delete a file, a link (not what it points at) or a folder tree."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def swap_in(staging: Path, target: Path) -> None:
    """Make `staging` the folder at `target`; the previous `target` (if any) is deleted afterwards."""
    if not (target.exists() or target.is_symlink()):
        os.rename(staging, target)
        return
    if not _exchange(staging, target):  # fall back: a moment with no target, but never a mixed one
        old = staging.with_name(staging.name + ".old")
        os.rename(target, old)
        os.rename(staging, target)
        staging = old
    remove_path(staging)  # now holds the previous folder


def staging_folder(target: Path) -> Path:
    """A new empty folder beside `target` (same file system, so it can be renamed into place)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    staging.chmod(0o755)  # mkdtemp makes 0700 folders, too strict for pages others read
    return staging


@contextlib.contextmanager
def replaced_folder(target: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `target`; when the block succeeds it replaces `target`.

    On an error the temporary folder, and the parent folders made for it, are deleted: `target` and
    everything around it is left as it was.
    """
    target = Path(target)
    made = [p for p in target.parents if not p.exists()]  # innermost first
    staging = staging_folder(target)
    try:
        yield staging
        swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in made:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise

"""Run folders that never betray their owner: one process per run, no silent reuse, no foreign cleanup.

A process takes an exclusive `flock` on the run folder itself before it reads or writes anything there,
and records its pid in `.lock` (removed when it ends) for whoever is refused. A fresh run into a folder
that already holds files is refused unless it resumes (`--continue_train`) or replaces the run
(`--overwrite`, which clears the folder once the new run is built). A refused start leaves the folder
exactly as it was.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from pathlib import Path
from types import TracebackType

from shape_editor.errors import UserError

logger = logging.getLogger(__name__)

PID_FILE = ".lock"


def check_run_name(name: str, flag: str = "--name") -> None:
    """A run name is one plain folder name: not '', '.', '..', no path separator, no leading '-'.

    Raises:
        UserError: naming the value.
    """
    if name in ("", ".", "..") or name.startswith("-") or any(c in name for c in ("/", "\\", "\0")):
        raise UserError(
            f"{name!r} is not a plain folder name",
            flag,
            "give a name such as run1, without '/', '\\', '..' or a leading '-'",
        )


def run_contents(run_dir: Path) -> list[str]:
    """Names of the entries of a run folder, the lock's pid file left out ([] when there is no folder)."""
    if not run_dir.is_dir():
        return []
    return sorted(p.name for p in run_dir.iterdir() if p.name != PID_FILE)


def clear_run_dir(run_dir: Path) -> None:
    """Delete everything in `run_dir` but the lock's pid file; links are removed, never followed."""
    for name in run_contents(run_dir):
        path = run_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    logger.info("cleared %s for a new run (--overwrite)", run_dir)


def remove_own_temp_files(run_dir: Path) -> list[Path]:
    """Delete the temporary files of interrupted atomic saves in `run_dir` and its subfolders.

    Safe only under the run's lock: no live writer can own them. Symlinked folders are not entered.
    """
    stale = []
    for folder, _dirs, files in os.walk(run_dir, followlinks=False):
        stale += [Path(folder) / f for f in files if f.startswith(".") and f.endswith(".tmp")]  # atomic writes
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        logger.warning(
            "removed %d temporary files of an interrupted save: %s",
            len(stale),
            ", ".join(str(p.relative_to(run_dir)) for p in stale),
        )
    return stale


class RunLock:
    """Exclusive lock on a run folder for the life of a process (a context manager).

    Args:
        run_dir: the run folder (created when missing).
        flag: the flag that named it, for error messages (e.g. "--name").
    """

    def __init__(self, run_dir: str | Path, flag: str = "--name") -> None:
        self.run_dir, self.flag = Path(run_dir), flag
        self.fd: int | None = None
        self.created = False

    def __enter__(self) -> RunLock:
        self.created = not self.run_dir.exists()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.run_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            where = f"{self.run_dir}, {self.flag} {self.run_dir.name}"
            raise UserError(
                f"the run folder is in use by process {self.holder()}",
                where,
                "wait until that process ends (or stop it), or pick another --name",
            ) from None
        self.fd = fd
        self._record_pid()
        return self

    def holder(self) -> str:
        try:
            return (self.run_dir / PID_FILE).read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def _record_pid(self) -> None:
        """Write this process's pid into the folder for whoever is refused (removed again on exit)."""
        fd = os.open(self.run_dir / PID_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.fd is None:
            return
        pid_file = self.run_dir / PID_FILE
        if pid_file.is_file() and self.holder() == str(os.getpid()):
            pid_file.unlink()
        if self.created and not any(self.run_dir.iterdir()):  # a run that wrote nothing leaves no folder
            self.run_dir.rmdir()
        os.close(self.fd)  # releases the flock
        self.fd = None


def check_run_start(run_dir: Path, *, resume: bool, overwrite: bool, flag: str) -> None:
    """Refuse a fresh run into a folder that holds a run, and a resume of a folder that holds none.

    Raises:
        UserError: naming the folder and the flag that fixes it.
    """
    if resume and overwrite:
        raise UserError(
            "--continue_train and --overwrite contradict each other",
            flag,
            "resume the run (--continue_train) or replace it (--overwrite), not both",
        )
    contents = run_contents(run_dir)
    if resume and not contents:
        raise UserError(
            "there is no run to resume",
            f"{run_dir}, {flag} {run_dir.name}",
            "check --name and --checkpoints_dir, or start the run without --continue_train",
        )
    if contents and not resume and not overwrite:
        shown = ", ".join(contents[:3]) + (", ..." if len(contents) > 3 else "")
        raise UserError(
            f"the run folder already holds a run ({shown})",
            f"{run_dir}, {flag} {run_dir.name}",
            "resume it with --continue_train, replace it with --overwrite, or pick another --name",
        )

"""Path guards: user-given names must stay inside the folder they name."""
from __future__ import annotations

from pathlib import Path


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

"""Name-based registries (SPADE style): `--model X` means module `<package>.X_<kind>`, class `X<Kind>`."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def available(package: str, kind: str) -> list[str]:
    """Names for which `<package>/<name>_<kind>.py` exists (the base class file excluded)."""
    folder = Path(str(importlib.import_module(package).__file__)).parent
    return sorted(p.name[: -len(f"_{kind}.py")] for p in folder.glob(f"*_{kind}.py") if p.name != f"base_{kind}.py")


def find_class(package: str, kind: str, name: str, base: type[T], flag: str = "model") -> type[T]:
    """Import `<package>.<name>_<kind>` and return its subclass of `base` named `<name><kind>` (any case).

    Raises:
        ValueError: naming the unknown name and listing the available ones.
    """
    names = available(package, kind)
    if name not in names:
        raise ValueError(f"unknown --{flag} {name!r}; available: {', '.join(names) or 'none'}")
    module = importlib.import_module(f"{package}.{name}_{kind}")
    wanted = f"{name}{kind}".replace("_", "").lower()
    for attr, cls in vars(module).items():
        if attr.lower() == wanted and isinstance(cls, type) and issubclass(cls, base):
            return cls
    raise ValueError(f"{package}/{name}_{kind}.py defines no {base.__name__} subclass named {wanted!r} (any case)")

"""Options -> frozen config dataclasses: the one helper the entry points use to stop `opt` at the edge."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

ConfigT = TypeVar("ConfigT")


def config_from_flags(cls: type[ConfigT], opt: Any, **given: Any) -> ConfigT:
    """`cls(**given)` plus every other field of the dataclass `cls` read from the flag of the same name.

    Raises:
        AttributeError: `opt` has no flag for a field (naming it).
    """
    names = [f.name for f in fields(cls) if f.init and f.name not in given]  # type: ignore[arg-type]
    missing = [name for name in names if not hasattr(opt, name)]
    if missing:
        raise AttributeError(
            f"{cls.__name__} needs the flags {', '.join('--' + m for m in missing)}, which the options do not have"
        )
    return cls(**given, **{name: getattr(opt, name) for name in names})

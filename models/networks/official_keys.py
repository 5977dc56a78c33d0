"""Reader for key lists of official checkpoints (`key<TAB>(d0, d1, ...)` lines under `# netX` headers).

Used by tests and checkpoint loaders to check that our modules have exactly the official state_dict layout.
Format:
    # netG (free text)        starts the section "netG"
    fc.weight\t(1024, 19, 3, 3)
    # netG total 267043339    optional: total number of elements of the section's state_dict
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from torch import Tensor

_TOTAL = re.compile(r"#\s*(\S+)\s+total\s+(\d+)\s*$")
_HEADER = re.compile(r"#\s*(\S+)")
_ENTRY = re.compile(r"(\S+)\t\(([\d,\s]*)\)\s*$")


class OfficialKeys(NamedTuple):
    """One network's state_dict layout: `shapes` key -> shape, `total` element count (None if not given)."""

    shapes: dict[str, tuple[int, ...]]
    total: int | None


class KeyDiff(NamedTuple):
    """Differences between a state_dict and an official layout (all empty = identical)."""

    missing: list[str]
    unexpected: list[str]
    mismatched: list[str]  # "key: ours (..) vs official (..)"


def read_official_keys(path: str | os.PathLike[str]) -> dict[str, OfficialKeys]:
    """Parse a key-list file into {section name: OfficialKeys}, e.g. {"netG": ..., "netD": ...}."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"key list not found: {path}")
    sections: dict[str, OfficialKeys] = {}
    current: str | None = None
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        if total := _TOTAL.match(line):
            name = total.group(1)
            if name not in sections:
                raise ValueError(f"{path}:{number}: total for unknown section {name!r}")
            sections[name] = sections[name]._replace(total=int(total.group(2)))
        elif header := _HEADER.match(line):
            current = header.group(1)
            sections.setdefault(current, OfficialKeys({}, None))
        elif (entry := _ENTRY.match(line)) and current is not None:
            dims = entry.group(2).replace(",", " ").split()
            sections[current].shapes[entry.group(1)] = tuple(int(d) for d in dims)
        else:
            raise ValueError(f"{path}:{number}: cannot parse line {line!r}")
    return sections


def diff_state_dict(state_dict: Mapping[str, Tensor], official: OfficialKeys) -> KeyDiff:
    """Compare keys and shapes of `state_dict` with an official layout, key by key in both directions."""
    ours = {key: tuple(value.shape) for key, value in state_dict.items()}
    mismatched = [
        f"{key}: ours {ours[key]} vs official {shape}"
        for key, shape in official.shapes.items()
        if key in ours and ours[key] != shape
    ]
    return KeyDiff(
        missing=[key for key in official.shapes if key not in ours],
        unexpected=[key for key in ours if key not in official.shapes],
        mismatched=mismatched,
    )

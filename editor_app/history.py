"""The editor's history: every mask the user has seen, with undo/redo over all of it.

A `History` is immutable (each change returns a new one), so Gradio's per-session state copies stay
cheap and a callback that fails leaves the previous history untouched.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Entry(NamedTuple):
    """One state of the mask and what produced it."""

    mask: np.ndarray  # uint8 [H, W] standard ids
    note: str  # shown to the user, e.g. "generate nose (seed 3)"
    key: tuple = ()  # entries made by the same slider share a key, so moving it again replaces the entry


class History(NamedTuple):
    """Entries of one session and the position of the shown one (the original is entry 0)."""

    entries: tuple[Entry, ...]
    position: int = 0

    @classmethod
    def start(cls, mask: np.ndarray, note: str) -> History:
        return cls((Entry(np.ascontiguousarray(mask, dtype=np.uint8), note),))

    @property
    def current(self) -> Entry:
        return self.entries[self.position]

    @property
    def original(self) -> np.ndarray:
        return self.entries[0].mask

    @property
    def previous(self) -> np.ndarray:
        """The mask before the shown one (the shown one itself at the start)."""
        return self.entries[max(self.position - 1, 0)].mask

    def base_for(self, key: tuple) -> np.ndarray:
        """The mask a slider edit with `key` starts from: the one before the slider's own last entry."""
        if key and self.position > 0 and self.current.key == key:
            return self.previous
        return self.current.mask

    def push(self, mask: np.ndarray, note: str, key: tuple = ()) -> History:
        """Show `mask` next; redo entries are dropped. A slider's repeated edit replaces its own entry."""
        keep = self.position if key and self.position > 0 and self.current.key == key else self.position + 1
        entry = Entry(np.ascontiguousarray(mask, dtype=np.uint8), note, key)
        return History(self.entries[:keep] + (entry,), keep)

    def undo(self) -> History:
        return self._replace(position=max(self.position - 1, 0))

    def redo(self) -> History:
        return self._replace(position=min(self.position + 1, len(self.entries) - 1))

    def reset(self) -> History:
        """Back to the original mask, as a new entry (so the reset itself can be undone)."""
        return self.push(self.original, "reset to the original")

    @property
    def can_undo(self) -> bool:
        return self.position > 0

    @property
    def can_redo(self) -> bool:
        return self.position < len(self.entries) - 1

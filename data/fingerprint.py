"""A short key for "the same training data": what statistics computed from a dataset (class shares) depend on.

Stored next to such statistics, it makes a run recompute them when the data changes (another
--dataroot, split, size, label order or preprocessing) instead of silently reusing another dataset's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

# The config fields (named like their flags) that choose which files are read and how their ids are mapped;
# the dataset mode is the dataset's class.
DATA_KEYS = ("dataroot", "label_dir", "label_nc", "label_order", "synthetic_seed")


def dataset_fingerprint(dataset: Any) -> str:
    """SHA-256 (16 hex digits) of the dataset's kind, split, size, preprocessing, config and label files."""
    config = dataset.config
    state = {
        "kind": type(dataset).__name__,
        "phase": dataset.phase,
        "samples": len(dataset),
        "preprocess": repr(dataset.preprocess),
        "options": {key: str(getattr(config, key)) for key in DATA_KEYS if hasattr(config, key)},
        "files": [str(Path(p).resolve()) for p in getattr(dataset, "label_paths", [])[: len(dataset)]],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]

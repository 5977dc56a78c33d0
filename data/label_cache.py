"""Decode every label file once: uint8 id maps, already resized, kept in memory or in a memory-mapped file.

Decoding a 512x512 PNG (or painting 18 part files of the raw CelebAMask-HQ release) and resizing it to
`--load_size` costs milliseconds per sample and per epoch. The cache does it once; afterwards an item is a
slice of one array (crop and flip still happen per item, so augmentation is unchanged and the one-hot is
still built on the fly). Maps of any size are stored back to back in one flat uint8 buffer with an index.

On disk (`--label_cache disk`) a cache is two files in the cache folder, named by a key over the label
files (path, size, mtime), the label flags and the resize: `<key>.u8` (the flat buffer as raw bytes, memory-mapped
read-only, so DataLoader workers share the page cache) and `<key>.index.npz`, written last, which marks
the cache complete. Editing a label file or changing a flag gives a new key, hence a fresh cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from PIL import Image

from shape_editor.fileio import atomic_output

logger = logging.getLogger(__name__)

CACHE_MODES = ("none", "memory", "disk")
ReadLabel = Callable[[int], np.ndarray]  # index -> uint8 [H, W] ids as stored
TargetSize = Callable[[tuple[int, int]], tuple[int, int]]  # stored (W, H) -> resized (W, H)


def cache_key(paths: Sequence[str | Path], settings: dict[str, Any]) -> str:
    """A short hash of the label files (path, byte size, mtime) and the settings that shape the maps."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in paths:
        stat = Path(path).stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def resize_label(label: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """NEAREST resize of a uint8 [H, W] id map to (W, H) = size, exactly as `data.transforms` does it."""
    if (label.shape[1], label.shape[0]) == tuple(size):
        return np.ascontiguousarray(label, dtype=np.uint8)
    return np.asarray(Image.fromarray(label).resize(size, Image.Resampling.NEAREST))


class LabelCache:
    """Resized uint8 label maps of a dataset split, and the size each was stored at.

    Args:
        flat: uint8 [sum of H*W] every map back to back (an array or a read-only memmap).
        offsets: int64 [N + 1] start of map i in `flat` (the last entry is the total).
        shapes: int64 [N, 2] (H, W) of every cached map.
        source_sizes: int64 [N, 2] (W, H) of every label as stored, which the crop/flip parameters need.
    """

    def __init__(self, flat: np.ndarray, offsets: np.ndarray, shapes: np.ndarray, source_sizes: np.ndarray) -> None:
        if not len(offsets) == len(shapes) + 1 == len(source_sizes) + 1 or offsets[-1] != flat.size:
            raise ValueError(
                f"inconsistent label cache: {len(shapes)} shapes, {len(offsets)} offsets, {flat.size} bytes"
            )
        self.flat, self.offsets, self.shapes, self.source_sizes = flat, offsets, shapes, source_sizes

    def __len__(self) -> int:
        return len(self.shapes)

    def get(self, index: int) -> tuple[np.ndarray, tuple[int, int]]:
        """(uint8 [H, W] resized ids, (W, H) of the stored label) of sample `index`; the map is read-only."""
        h, w = self.shapes[index]
        label = self.flat[self.offsets[index] : self.offsets[index + 1]].reshape(h, w)
        return label, (int(self.source_sizes[index][0]), int(self.source_sizes[index][1]))

    @classmethod
    def build(cls, read_label: ReadLabel, count: int, target_size: TargetSize, workers: int = 1) -> LabelCache:
        """Read and resize `count` labels into one in-memory buffer."""
        maps, shapes, sources = [], [], []
        for label, source in resized_labels(read_label, count, target_size, workers):
            maps.append(label.reshape(-1))
            shapes.append(label.shape)
            sources.append(source)
        return cls(np.concatenate([np.zeros(0, np.uint8), *maps]), *index_arrays(shapes, sources))

    @classmethod
    def load(cls, folder: Path, key: str) -> LabelCache | None:
        """The complete cache `key` in `folder`, memory-mapped read-only, or None when there is none."""
        index_path, data_path = folder / f"{key}.index.npz", folder / f"{key}.u8"
        if not (index_path.is_file() and data_path.is_file()):
            return None
        with np.load(index_path) as index:
            offsets, shapes, sources = index["offsets"], index["shapes"], index["source_sizes"]
        flat = np.memmap(data_path, dtype=np.uint8, mode="r") if offsets[-1] else np.zeros(0, np.uint8)
        return cls(flat, offsets, shapes, sources)


def resized_labels(
    read_label: ReadLabel, count: int, target_size: TargetSize, workers: int
) -> Iterator[tuple[np.ndarray, tuple[int, int]]]:
    """(resized uint8 map, stored (W, H)) of samples 0..count-1 in order; threads decode (PIL releases the GIL)."""

    def load(index: int) -> tuple[np.ndarray, tuple[int, int]]:
        label = read_label(index)
        source = (label.shape[1], label.shape[0])
        return resize_label(label, target_size(source)), source

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        yield from pool.map(load, range(count))


def index_arrays(shapes: Sequence[tuple[int, int]], sources: Sequence[tuple[int, int]]) -> tuple[np.ndarray, ...]:
    """(offsets [N + 1], shapes [N, 2], source_sizes [N, 2]) int64 arrays of a flat buffer."""
    shape_array = np.array(shapes, dtype=np.int64).reshape(-1, 2)
    offsets = np.concatenate([[0], np.cumsum(shape_array.prod(axis=1))]).astype(np.int64)
    return offsets, shape_array, np.array(sources, dtype=np.int64).reshape(-1, 2)


def write_label_cache(
    folder: Path, key: str, read_label: ReadLabel, count: int, target_size: TargetSize, workers: int = 1
) -> None:
    """Stream the resized maps into `<key>.u8` (raw bytes), then write `<key>.index.npz`; both atomically."""
    shapes, sources = [], []
    with atomic_output(folder / f"{key}.u8") as tmp:
        with tmp.open("wb") as handle:
            for label, source in resized_labels(read_label, count, target_size, workers):
                handle.write(label.tobytes())
                shapes.append(label.shape)
                sources.append(source)
    offsets, shape_array, source_array = index_arrays(shapes, sources)
    with atomic_output(folder / f"{key}.index.npz") as tmp:
        with tmp.open("wb") as handle:
            np.savez(handle, offsets=offsets, shapes=shape_array, source_sizes=source_array)


def open_label_cache(
    mode: str,
    read_label: ReadLabel,
    count: int,
    paths: Sequence[str | Path],
    target_size: TargetSize,
    settings: dict[str, Any],
    folder: str | Path | None = None,
    workers: int = 1,
) -> LabelCache | None:
    """The cache for `--label_cache mode`: None for `none`, built in memory, or loaded / built on disk.

    Args:
        mode: one of CACHE_MODES.
        read_label: decodes label `i` as stored (uint8 [H, W] standard ids).
        count: samples 0..count-1 are cached.
        paths: the label file(s) of every sample, in sample order (they key the disk cache).
        target_size: the resize of `data.transforms` for a stored (W, H).
        settings: everything else that changes the maps (label_nc, label order, preprocessing flags).
        folder: where disk caches live (required for `disk`).
        workers: decoding threads while building.
    """
    if mode not in CACHE_MODES:
        raise ValueError(f"--label_cache {mode!r} is invalid; choose one of {CACHE_MODES}")
    if mode == "none":
        return None
    if mode == "memory":
        return LabelCache.build(read_label, count, target_size, workers)
    if folder is None:
        raise ValueError("--label_cache disk needs a cache folder (--label_cache_dir)")
    folder, key = Path(folder), cache_key(paths, {**settings, "count": count})
    cache = LabelCache.load(folder, key)
    if cache is None:
        logger.info("building the label cache %s/%s for %d samples", folder, key, count)
        write_label_cache(folder, key, read_label, count, target_size, workers)
        cache = LabelCache.load(folder, key)
    return cache

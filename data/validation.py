"""Up-front dataset check (`--check_dataset`): every bad file is reported at once, before any step runs.

The scan is cheap by design. Every sample gets a header check: its label file(s) open (PNG chunk CRCs
verified, so truncated or damaged files show up), their size survives `--preprocess_mode` into the
batch shape the other samples have, and the photo's header has the label's aspect ratio. An evenly
spread sample of at most `PIXEL_SAMPLE` samples is decoded: the label through the dataset's own reader,
which catches ids >= `--label_nc`, colours outside the palette and unsupported modes, the photo at reduced
scale, which catches truncated or damaged photos. Files outside the pixel sample are still checked when
they are loaded, with the same messages. So the cost is one header read per file plus at most
`PIXEL_SAMPLE` decodes, whatever the dataset's size.

Without `--skip_bad_files` a bad file stops the run (`DatasetCheckError` lists them all); with it the bad
samples are dropped and listed in the log. The scan only reads, so a refused run leaves nothing behind.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np
from PIL import Image

from data.transforms import PreprocessConfig, get_params

logger = logging.getLogger(__name__)

CHECK_MODES = ("auto", "on", "off")
AUTO_LIMIT = 5000  # `--check_dataset auto` scans datasets of at most this many samples
PIXEL_SAMPLE = 200  # samples whose label and photo are decoded


class CheckedDataset(Protocol):
    """What the scan reads of a label-folder dataset (`data.base_dataset.CheckedDataset`)."""

    preprocess: PreprocessConfig
    label_paths: list[Path]
    image_paths: list[Path] | None

    def __len__(self) -> int: ...

    def num_samples(self) -> int: ...

    def label_files(self, index: int) -> list[Path]: ...

    def read_label_map(self, index: int) -> np.ndarray: ...


class BadFile(NamedTuple):
    """One problem of one sample: the file to fix and what is wrong with it."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def bad_file(path: Path, message: str) -> BadFile:
    """A BadFile from a reader's error message, which already names the file: shorten it to the name."""
    problem = message.replace(str(path), path.name)
    return BadFile(str(path), problem.removeprefix(f"{path.name}: "))


FIX_ADVICE = "fix or remove these files, or pass --skip_bad_files to use the rest (--check_dataset off skips the check)"


class DatasetCheckError(ValueError):
    """The dataset has bad files; `bad` lists every one of them."""

    def __init__(self, bad: list[BadFile], total: int, advice: str = FIX_ADVICE) -> None:
        self.bad = bad
        lines = "\n".join(f"  {item}" for item in bad)
        super().__init__(f"dataset check found {len(bad)} problems in {total} samples; {advice}:\n{lines}")


class SampleHeader(NamedTuple):
    """What the header check learns about a sample's label."""

    size: tuple[int, int]  # (W, H) of the label
    output: tuple[int, int]  # (W, H) after --preprocess_mode


def _open_header(path: Path) -> tuple[int, int]:
    """(W, H) from the file header; PNG chunks are CRC-checked without decoding the pixels."""
    with Image.open(path) as img:
        size = img.size
        if img.format == "PNG":
            img.verify()
    return size


def _read_header(path: Path, bad: list[BadFile]) -> tuple[int, int] | None:
    try:
        return _open_header(path)
    except FileNotFoundError:
        bad.append(BadFile(str(path), "file not found"))
    except Image.DecompressionBombError as err:
        bad.append(bad_file(path, f"too large to decode safely, a decompression bomb? ({err})"))
    except (OSError, SyntaxError, ValueError) as err:  # UnidentifiedImageError is an OSError
        bad.append(bad_file(path, f"unreadable or corrupt image ({err})"))
    return None


def check_headers(dataset: CheckedDataset, index: int) -> tuple[SampleHeader | None, list[BadFile]]:
    """Header checks of sample `index`: label file(s) readable and of one size, crop fits, photo matches."""
    bad: list[BadFile] = []
    files = dataset.label_files(index)
    sizes = {path: _read_header(path, bad) for path in files}
    if bad:
        return None, bad
    size = sizes[files[0]]
    bad += [
        BadFile(str(path), f"size {s[0]}x{s[1]} differs from {files[0].name}'s {size[0]}x{size[1]}")
        for path, s in sizes.items()
        if s != size
    ]
    try:
        params = get_params(dataset.preprocess, size, np.random.default_rng(0))
    except ValueError as err:
        bad.append(BadFile(str(files[0]), f"wrong size {size[0]}x{size[1]}: {err}"))
        return None, bad
    if dataset.image_paths is not None:
        photo = dataset.image_paths[index]
        photo_size = _read_header(photo, bad)
        if photo_size is not None and photo_size[0] * size[1] != photo_size[1] * size[0]:
            bad.append(
                BadFile(
                    str(photo),
                    f"photo is {photo_size[0]}x{photo_size[1]} but its label {files[0].name} "
                    f"is {size[0]}x{size[1]} (another aspect ratio)",
                )
            )
    crop = params.crop
    output = (crop[2] - crop[0], crop[3] - crop[1]) if crop is not None else params.size
    return SampleHeader(size, output), bad


def decode_photo(path: Path) -> None:
    """Decode a photo, JPEGs at 1/8 scale (draft mode): the whole stream is still read, so truncated or
    damaged files fail here, at a quarter of the cost of a full decode."""
    with Image.open(path) as img:
        img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
        img.load()


def check_pixels(dataset: CheckedDataset, index: int) -> list[BadFile]:
    """Decode sample `index`: the label with the dataset's own reader (its errors name the file), the photo."""
    bad: list[BadFile] = []
    try:
        dataset.read_label_map(index)
    except (ValueError, FileNotFoundError) as err:
        bad.append(bad_file(dataset.label_paths[index], str(err)))
    if dataset.image_paths is not None:
        photo = dataset.image_paths[index]
        try:
            decode_photo(photo)
        except (OSError, SyntaxError, ValueError) as err:  # a missing file is an OSError too
            bad.append(bad_file(photo, f"cannot decode the photo ({err})"))
    return bad


def pixel_sample(count: int, limit: int = PIXEL_SAMPLE) -> set[int]:
    """Every index below `count` when there are at most `limit`, else `limit` evenly spread ones."""
    if count <= limit:
        return set(range(count))
    return set(np.linspace(0, count - 1, limit).round().astype(int).tolist())


def scan_dataset(dataset: CheckedDataset, limit: int = PIXEL_SAMPLE) -> dict[int, list[BadFile]]:
    """Check the first `len(dataset)` samples; returns {sample index: its problems} for the bad ones.

    A sample whose size survives preprocessing but lands on another shape than most samples do (it
    could not be batched with them) is reported as the wrong size.
    """
    count = len(dataset)
    sampled = pixel_sample(count, limit)
    problems: dict[int, list[BadFile]] = {}
    headers: dict[int, SampleHeader] = {}
    for index in range(count):
        header, bad = check_headers(dataset, index)
        if not bad and index in sampled:
            bad = check_pixels(dataset, index)
        if bad:
            problems[index] = bad
        elif header is not None:
            headers[index] = header
    if headers:
        ((usual, seen),) = Counter(h.output for h in headers.values()).most_common(1)
        for index, header in headers.items():
            if header.output != usual:
                path = str(dataset.label_files(index)[0])
                problems[index] = [
                    BadFile(
                        path,
                        (
                            f"wrong size {header.size[0]}x{header.size[1]}: it becomes {header.output[0]}x{header.output[1]} "
                            f"after --preprocess_mode {dataset.preprocess.mode}, but {seen} other samples become "
                            f"{usual[0]}x{usual[1]}"
                        ),
                    )
                ]
    return dict(sorted(problems.items()))


def should_scan(mode: str, count: int) -> bool:
    if mode not in CHECK_MODES:
        raise ValueError(f"--check_dataset {mode!r} is invalid; choose one of {CHECK_MODES}")
    return mode == "on" or (mode == "auto" and count <= AUTO_LIMIT)


def validate_dataset(dataset: CheckedDataset, mode: str, skip_bad_files: bool) -> list[int] | None:
    """Run the scan `--check_dataset mode` asks for; refuse bad data, or say which samples to keep.

    Only reads: the caller drops the samples (`LabelFolderDataset.keep_samples`).

    Returns:
        The indices of the samples to use, in order, when `skip_bad_files` left some out; None to use all.

    Raises:
        DatasetCheckError: bad files and no `skip_bad_files`, or every sample is bad.
    """
    count = len(dataset)
    if not should_scan(mode, count):
        if mode == "auto":
            logger.info("dataset has %d samples: not scanned up front (--check_dataset on scans it)", count)
        return None
    problems = scan_dataset(dataset)
    bad = [item for items in problems.values() for item in items]
    if not bad:
        logger.info("dataset check: %d samples, no problems", count)
        return None
    if not skip_bad_files:
        raise DatasetCheckError(bad, count)
    if len(problems) == count:
        raise DatasetCheckError(bad, count, "every sample is bad, nothing is left to use")
    keep = [i for i in range(dataset.num_samples()) if i not in problems]
    logger.warning(
        "--skip_bad_files: skipped %d of %d samples, using %d:\n%s",
        len(problems),
        count,
        min(len(keep), count),
        "\n".join(f"  {item}" for item in bad),
    )
    return keep

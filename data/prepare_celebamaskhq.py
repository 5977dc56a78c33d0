"""Convert the raw CelebAMask-HQ release into the SEAN layout, once.

    python -m data.prepare_celebamaskhq --raw_root R --out_root O [--size 512] [--workers N]

Reads `R/CelebAMask-HQ-mask-anno/<k>/<id:05d>_<part>.png` (painted in `RAW_PART_ORDER`) and, when present,
`R/CelebA-HQ-img/<id>.jpg`; writes `O/{train,test}/labels/<id>.png` (8-bit grayscale ids) and
`O/{train,test}/images/<id>.jpg`, ids 0-27999 train and 28000-29999 test. An id is written only when its
mask (and, if the release has photos, its photo) can be read; every other id is listed in a report at
the end (also saved as `O/prepare_report.txt`) instead of becoming a blank or unpaired file. Every file is
written to a temporary name and renamed, so an interrupted run leaves no half-written files.
"""

from __future__ import annotations

import os
import shutil
from functools import partial
from multiprocessing import Pool
from pathlib import Path
from typing import NamedTuple, Sequence

from PIL import Image
from tqdm import tqdm

from data.image_folder import list_files
from shape_editor.cli import ArgumentParser, run_cli
from data.mask_io import (
    RAW_ANNO_DIRS,
    RAW_IMAGE_DIR,
    combine_parts,
    find_raw_anno_dir,
    index_raw_parts,
    raw_split,
    read_image,
)
from shape_editor.fileio import atomic_output, atomic_write_text

_PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png")
REPORT_NAME = "prepare_report.txt"


class Job(NamedTuple):
    """Everything needed to convert one id (picklable, for worker processes)."""

    index: int
    parts: dict[str, Path]
    image: Path | None
    needs_image: bool  # the release has a photo folder, so an id without a photo is a problem
    out_root: Path
    size: int
    problem: str | None = None  # found while collecting (e.g. two photos for one id): not converted


class PrepareReport(NamedTuple):
    written: dict[str, int]  # ids written per split
    problems: list[str]  # one line per id that was not written


def _write_image(source: Path, image: Image.Image, dest: Path, size: int) -> None:
    if image.size == (size, size) and source.suffix.lower() in (".jpg", ".jpeg"):
        with atomic_output(dest) as tmp:
            shutil.copyfile(source, tmp)  # no second JPEG compression
        return
    resized = image.resize((size, size), Image.Resampling.BICUBIC)
    with atomic_output(dest) as tmp:
        resized.save(tmp, format="JPEG", quality=95)


def convert_one(job: Job) -> tuple[str, str | None]:
    """Convert one id. Returns `(split, problem)`; `problem` is None when the id was written."""
    split = raw_split(job.index)
    if job.problem is not None:
        return split, f"id {job.index}: {job.problem}"
    if not job.parts:
        return split, f"id {job.index}: no mask part files (photo {job.image} has no mask)"
    if job.needs_image and job.image is None:
        return split, f"id {job.index}: no photo {RAW_IMAGE_DIR}/{job.index}.jpg"
    try:
        label = combine_parts(job.parts)
        image = read_image(job.image) if job.image is not None else None
    except (ValueError, FileNotFoundError) as err:
        return split, f"id {job.index}: {err}"
    if image is not None and image.width * label.shape[0] != image.height * label.shape[1]:
        return split, (
            f"id {job.index}: photo {job.image.name} is {image.width}x{image.height} but its mask is "
            f"{label.shape[1]}x{label.shape[0]} (another aspect ratio; it would be squashed)"
        )
    folder = job.out_root / split
    if image is not None:
        _write_image(job.image, image, folder / "images" / f"{job.index}.jpg", job.size)
    mask = Image.fromarray(label).resize((job.size, job.size), Image.Resampling.NEAREST)
    with atomic_output(folder / "labels" / f"{job.index}.png") as tmp:
        mask.save(tmp, format="PNG")
    return split, None


def collect_jobs(raw_root: Path, out_root: Path, size: int) -> list[Job]:
    """One job per id found among the part files or the photos.

    Raises:
        FileNotFoundError: `raw_root` or its mask folder is missing.
    """
    if not raw_root.is_dir():
        raise FileNotFoundError(f"--raw_root {raw_root} does not exist")
    anno_dir = find_raw_anno_dir(raw_root)
    if anno_dir is None:
        raise FileNotFoundError(f"no {' or '.join(RAW_ANNO_DIRS)} folder in {raw_root}")
    parts = index_raw_parts(anno_dir)
    image_dir = raw_root / RAW_IMAGE_DIR
    photos: dict[int, list[Path]] = {}
    if image_dir.is_dir():
        for path in list_files(image_dir, _PHOTO_EXTENSIONS):
            if path.stem.isdigit():
                photos.setdefault(int(path.stem), []).append(path)
    jobs = []
    for i in sorted(set(parts) | set(photos)):
        candidates = photos.get(i, [])
        problem = None
        if len(candidates) > 1:  # e.g. 06.jpg and 6.jpg: which one is face 6 cannot be told
            problem = f"several photos for one id ({', '.join(sorted(p.name for p in candidates))}); keep one"
        jobs.append(
            Job(i, parts.get(i, {}), candidates[0] if candidates else None, image_dir.is_dir(), out_root, size, problem)
        )
    return jobs


def prepare(raw_root: str | Path, out_root: str | Path, size: int = 512, workers: int = 0) -> PrepareReport:
    """Convert the release (see module docstring); `workers` <= 1 runs in this process."""
    if size < 1:
        raise ValueError(f"--size must be positive, got {size}")
    jobs = collect_jobs(Path(raw_root), Path(out_root), size)
    written = {"train": 0, "test": 0}
    problems: list[str] = []
    for split, problem in _run_jobs(jobs, workers):
        if problem is None:
            written[split] += 1
        else:
            problems.append(problem)
    return PrepareReport(written, problems)


def _run_jobs(jobs: list[Job], workers: int) -> list[tuple[str, str | None]]:
    """`convert_one` over the jobs, in order, with a progress bar; in-process when `workers` <= 1."""
    bar = partial(tqdm, total=len(jobs), desc="CelebAMask-HQ", unit="id")
    if workers <= 1:
        return list(bar(map(convert_one, jobs)))
    with Pool(workers) as pool:
        return list(bar(pool.imap(convert_one, jobs, chunksize=16)))


def format_report(report: PrepareReport) -> str:
    """Human-readable summary: counts, then one line per id that was not written."""
    lines = [
        f"written: {report.written['train']} train, {report.written['test']} test",
        f"problems: {len(report.problems)}",
    ]
    return "\n".join(lines + [f"  {p}" for p in report.problems]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (1 only when nothing could be written)."""
    parser = ArgumentParser(prog="python -m data.prepare_celebamaskhq", description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw_root", type=Path, required=True, help="folder holding CelebAMask-HQ-mask-anno")
    parser.add_argument("--out_root", type=Path, required=True, help="output folder (SEAN layout)")
    parser.add_argument("--size", type=int, default=512, help="side of the written labels and photos")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="processes")
    args = parser.parse_args(argv)
    report = prepare(args.raw_root, args.out_root, args.size, args.workers)
    text = format_report(report)
    atomic_write_text(args.out_root / REPORT_NAME, text)
    print(text, end="")
    return 0 if sum(report.written.values()) else 1


if __name__ == "__main__":
    run_cli(main)

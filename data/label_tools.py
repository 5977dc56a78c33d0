"""Check and convert label folders before training: `python -m data.label_tools convert|histogram ...`.

    python -m data.label_tools histogram datasets/CelebAMask-HQ/train/labels [--label_order bisenet]
    python -m data.label_tools convert --input masks_bisenet --output masks --from bisenet --to standard --format id

`histogram` prints every class's pixel share and how many files contain it, flags files with values
>= --label_nc (e.g. 255 "ignore" pixels) and unreadable files, and says which label order the shares fit
best (face-parsing / BiSeNet masks read as standard ones put "nose" where hair is).
`convert` reads any format `data.mask_io.read_label` reads (id, colour or palette PNG) and writes:
- `id`: 8-bit grayscale, value = class id in the `--to` order;
- `palette`: mode P, index = class id in the `--to` order, palette colours = the CelebAMask-HQ colours of
  those classes (so it looks right in any viewer and reads back as ids);
- `color`: RGB in the CelebAMask-HQ palette. Colours name classes, not ids, so this format has no order
  and needs `--to standard`.
Conversions are exact: id -> palette -> id and standard -> bisenet -> standard give the same ids back.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
from PIL import Image
from tqdm import tqdm

from data.image_folder import LABEL_EXTENSIONS, list_files
from data.mask_io import decode_label, is_colour_palette, open_image, read_label
from shape_editor.cli import ArgumentParser, run_cli
from shape_editor.errors import UserError
from shape_editor.fileio import atomic_output
from shape_editor.labels import (
    BISENET_TO_STANDARD,
    LABEL_NAMES,
    LABEL_ORDERS,
    NUM_CLASSES,
    PALETTE,
    colorize,
    convert_order,
)

logger = logging.getLogger(__name__)

FORMATS = ("id", "color", "palette")
ANY_ID = 256  # reading with this many classes accepts every 8-bit value, to find the out-of-range ones
_SHOWN = 5
# Typical pixel shares of aligned CelebAMask-HQ masks at 256 px, standard ids (docs/ARCHITECTURE.md, "Labels").
TYPICAL_SHARES = np.array(
    [
        0.30,
        0.25,
        0.02,
        0.002,
        0.004,
        0.004,
        0.004,
        0.004,
        0.005,
        0.005,
        0.003,
        0.004,
        0.005,
        0.31,
        0.001,
        0.0015,
        0.002,
        0.046,
        0.03,
    ]
)


def palette_for(order: str) -> np.ndarray:
    """[19, 3] colours indexed by the ids of `order` (each class keeps its CelebAMask-HQ colour)."""
    return PALETTE if order == "standard" else PALETTE[BISENET_TO_STANDARD]


def encode_label(ids: np.ndarray, order: str, fmt: str) -> Image.Image:
    """Standard ids [H, W] -> an image in `fmt` holding the ids of `order`.

    Raises:
        ValueError: unknown format or order, or `color` with an order other than standard.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown label format {fmt!r}; choose one of {FORMATS}")
    if fmt == "color":
        if order != "standard":
            raise ValueError(
                f"colour masks name classes by colour and have no id order; use --to standard "
                f"with --format color, or --format id / palette for --to {order}"
            )
        return Image.fromarray(colorize(ids))
    converted = convert_order(ids.astype(np.uint8), "standard", order)
    if fmt == "id":
        return Image.fromarray(converted, mode="L")
    image = Image.fromarray(converted, mode="P")
    image.putpalette(palette_for(order).flatten().tolist())
    return image


def write_label(path: str | Path, ids: np.ndarray, order: str, fmt: str) -> None:
    """Write standard ids [H, W] as a PNG in `fmt` / `order` (atomically)."""
    image = encode_label(ids, order, fmt)
    with atomic_output(path) as tmp:
        image.save(tmp, format="PNG")


class FolderReport(NamedTuple):
    """What a pass over a label folder found."""

    files: int
    done: int  # files converted (convert) or counted (histogram)
    failed: dict[str, str]  # file -> why it was skipped


def check_convert_target(input_dir: Path, output_dir: Path, files: list[Path]) -> None:
    """Refuse an output folder inside (or equal to) the input, and inputs that would write one output file.

    Either would overwrite data: the originals, or one converted file with another.
    """
    inside = output_dir.resolve() == input_dir.resolve() or input_dir.resolve() in output_dir.resolve().parents
    if inside:
        raise UserError(
            "the output folder is inside the input folder, so the originals would be overwritten",
            f"--output {output_dir}",
            "give a folder outside --input",
        )
    by_stem: dict[str, list[str]] = {}
    for path in files:
        by_stem.setdefault(path.stem.casefold(), []).append(path.name)
    clashes = [names for names in by_stem.values() if len(names) > 1]
    if clashes:
        shown = "; ".join(" and ".join(names) for names in clashes[:3])
        raise UserError(
            f"{len(clashes)} groups of input files would write the same <stem>.png ({shown})",
            f"--input {input_dir}",
            "rename or remove one file of each group",
        )


def convert_folder(input_dir: str | Path, output_dir: str | Path, source: str, target: str, fmt: str) -> FolderReport:
    """Convert every label file of `input_dir` (`source` order for id-valued files) into `output_dir/<stem>.png`.

    Unreadable files are skipped and listed in the report; nothing is half-written.
    """
    for order in (source, target):
        if order not in LABEL_ORDERS:
            raise ValueError(f"unknown label order {order!r}; choose one of {LABEL_ORDERS}")
    encode_label(np.zeros((1, 1), dtype=np.uint8), target, fmt)  # fail on a bad format / order before any work
    files = list_files(input_dir, LABEL_EXTENSIONS)
    check_convert_target(Path(input_dir), Path(output_dir), files)
    failed: dict[str, str] = {}
    for path in tqdm(files, desc=f"convert {source} -> {target} {fmt}", unit="file"):
        try:
            ids = read_label(path, NUM_CLASSES, source)
        except (OSError, ValueError) as err:
            failed[str(path)] = str(err)
            continue
        write_label(Path(output_dir) / f"{path.stem}.png", ids, target, fmt)
    return FolderReport(len(files), len(files) - len(failed), failed)


class Histogram(NamedTuple):
    """Class statistics of a label folder (ids in the standard order)."""

    report: FolderReport
    pixels: np.ndarray  # [label_nc] pixels of every class
    files_with: np.ndarray  # [label_nc] files containing the class
    out_of_range: dict[int, int]  # value >= label_nc -> pixels
    out_of_range_files: list[str]
    colour_palettes: list[str]  # palette files whose CelebAMask-HQ colours, not their indices, give the classes


def _read_for_histogram(path: Path, label_nc: int, order: str) -> tuple[np.ndarray, bool, bool]:
    """(standard ids, in_range, by_colour): ids >= label_nc are kept (in_range False) instead of raising;
    by_colour marks a palette file whose colours name other classes than its indices do."""
    img = open_image(path)
    try:
        ids = decode_label(img, path, label_nc, order).astype(np.int64)
    except ValueError:
        values = decode_label(img, path, ANY_ID, "standard")  # still raises for unreadable files
        # A file that fails only the range check holds ids (colour files decode to ids < 19 <= label_nc).
        return convert_order(values, order, "standard").astype(np.int64), False, False
    indices = np.asarray(img).astype(np.int64) if img.mode == "P" else None
    by_colour = (
        indices is not None
        and is_colour_palette(img)
        and (indices.max() >= NUM_CLASSES or not np.array_equal(convert_order(indices, order, "standard"), ids))
    )
    return ids, True, by_colour


def label_histogram(folder: str | Path, label_nc: int = NUM_CLASSES, order: str = "standard") -> Histogram:
    """Count the pixels of every class over the label files of `folder` (with a progress bar)."""
    if order != "standard" and label_nc != NUM_CLASSES:
        raise ValueError(f"--label_order {order} needs --label_nc {NUM_CLASSES}, got {label_nc}")
    files = list_files(folder, LABEL_EXTENSIONS)
    pixels = np.zeros(ANY_ID, dtype=np.int64)
    files_with = np.zeros(ANY_ID, dtype=np.int64)
    failed: dict[str, str] = {}
    flagged: list[str] = []
    colour_palettes: list[str] = []
    for path in tqdm(files, desc=f"histogram {folder}", unit="file"):
        try:
            ids, in_range, by_colour = _read_for_histogram(path, label_nc, order)
        except (OSError, ValueError) as err:
            failed[str(path)] = str(err)
            continue
        counts = np.bincount(ids.ravel(), minlength=ANY_ID)
        pixels += counts
        files_with += counts > 0
        if not in_range:
            flagged.append(str(path))
        if by_colour:
            colour_palettes.append(str(path))
    out_of_range = {int(v): int(pixels[v]) for v in np.flatnonzero(pixels[label_nc:]) + label_nc}
    report = FolderReport(len(files), len(files) - len(failed), failed)
    return Histogram(report, pixels[:label_nc], files_with[:label_nc], out_of_range, flagged, colour_palettes)


def closest_order(raw_shares: np.ndarray) -> str:
    """The label order whose reading of 19 raw-id pixel shares looks most like aligned CelebAMask-HQ faces.

    Read as standard, raw id k is class k; read as BiSeNet, it is class BISENET_TO_STANDARD[k]. The
    distance to the typical shares is L1.
    """
    as_bisenet = np.zeros(NUM_CLASSES)
    as_bisenet[BISENET_TO_STANDARD] = raw_shares
    distances = {
        "standard": np.abs(raw_shares - TYPICAL_SHARES).sum(),
        "bisenet": np.abs(as_bisenet - TYPICAL_SHARES).sum(),
    }
    return min(distances, key=distances.get)


def format_histogram(hist: Histogram, order: str) -> str:
    """The printed report: a table (id, name, pixel share, files), then warnings."""
    total = hist.pixels.sum() + sum(hist.out_of_range.values())
    lines = [f"{'id':>3}  {'class':<10} {'pixel share':>11} {'files':>7}"]
    for c, (count, files) in enumerate(zip(hist.pixels, hist.files_with)):
        name = LABEL_NAMES[c] if c < NUM_CLASSES else "?"
        lines.append(f"{c:>3}  {name:<10} {count / max(total, 1):>11.4f} {files:>7}")
    lines.append(
        f"{hist.report.done} of {hist.report.files} files read, {total} pixels "
        f"(ids shown in the standard order; files read as {order})"
    )
    if hist.out_of_range:
        values = ", ".join(f"{v}: {n} px" for v, n in hist.out_of_range.items())
        lines.append(
            f"WARNING values >= label_nc={len(hist.pixels)} ({values}) in {len(hist.out_of_range_files)} "
            f"files, e.g. {hist.out_of_range_files[:_SHOWN]}"
        )
    if hist.colour_palettes:
        lines.append(
            f"WARNING {len(hist.colour_palettes)} palette files hold CelebAMask-HQ colours whose indices are "
            "not the class ids (a quantised colour mask?): read by colour, "
            f"e.g. {hist.colour_palettes[:_SHOWN]}"
        )
    for path, why in list(hist.report.failed.items())[:_SHOWN]:
        lines.append(f"WARNING unreadable: {path}: {why}")
    if len(hist.report.failed) > _SHOWN:
        lines.append(f"WARNING ... {len(hist.report.failed)} unreadable files in all")
    if len(hist.pixels) == NUM_CLASSES and hist.pixels.sum() > 0:
        shares = hist.pixels / hist.pixels.sum()
        raw = shares if order == "standard" else shares[BISENET_TO_STANDARD]  # back to the ids in the files
        best = closest_order(raw)
        if best != order:
            lines.append(
                f"WARNING the class shares fit --label_order {best} better than {order}: "
                "check the order of these labels"
            )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m data.label_tools", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser("convert", help="convert label files between orders and formats")
    convert.add_argument("--input", required=True, help="folder of label files (id, colour or palette PNGs)")
    convert.add_argument("--output", required=True, help="folder for the converted <stem>.png files")
    convert.add_argument(
        "--from",
        dest="source",
        default="standard",
        choices=LABEL_ORDERS,
        help="order of the ids in id-valued input files",
    )
    convert.add_argument("--to", dest="target", default="standard", choices=LABEL_ORDERS, help="order to write")
    convert.add_argument("--format", default="id", choices=FORMATS, help="file format to write")
    histogram = commands.add_parser("histogram", help="class pixel shares and file counts of a label folder")
    histogram.add_argument("folder", help="folder of label files")
    histogram.add_argument("--label_order", default="standard", choices=LABEL_ORDERS, help="order of id-valued files")
    histogram.add_argument("--label_nc", type=int, default=NUM_CLASSES, help="values >= this are flagged")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; the exit status is 1 when some file could not be read (or held out-of-range values)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "convert":
        report = convert_folder(args.input, args.output, args.source, args.target, args.format)
    else:
        hist = label_histogram(args.folder, args.label_nc, args.label_order)
    if args.command == "convert":
        for path, why in report.failed.items():
            logger.warning("skipped %s: %s", path, why)
        logger.info("converted %d of %d files into %s", report.done, report.files, args.output)
        return int(bool(report.failed))
    print(format_histogram(hist, args.label_order))
    return int(bool(hist.report.failed or hist.out_of_range))


if __name__ == "__main__":
    run_cli(main)

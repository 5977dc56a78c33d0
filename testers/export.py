"""Export edited masks for data augmentation, in the SEAN layout a later run can read directly.

`<export_dir>/labels/<stem>_<part>_<mode>_<k>.png` holds the class ids (8-bit grayscale), and
`<export_dir>/images/<same stem>.jpg` the source photo (as the dataset delivered it, aligned with the
mask) when the dataset has photos. `manifest.csv` lists every mask with its source, edit and metrics.
Use the folder with `--dataset_mode custom --label_dir <export_dir>/labels [--image_dir <export_dir>/images]`.
An export is one transaction: every file goes into a temporary folder beside `<export_dir>`, the manifest
last, and the folder is then swapped in with a rename, so a reader (or a kill at any moment) sees the
previous export or the new one, never a mix and never stale files of a larger earlier export. A folder
that holds anything but an export, or the data being tested, is refused, since the swap replaces it.
PNG encoding and writing run on a small thread pool (PIL releases the GIL while compressing), so writing
overlaps with decoding the next batch.
"""

from __future__ import annotations

import csv
import io
import shutil
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Mapping, Sequence

from PIL import Image
from torch import Tensor

from shape_editor.errors import UserError
from shape_editor.fileio import atomic_output, atomic_write_text
from util.image import safe_filename, save_label_png, tensor_to_image
from util.staging import staging_folder, swap_in

MANIFEST_COLUMNS = ("file", "source", "part", "mode", "sample", "alpha", "seed")


def check_export_dir(export_dir: str | Path) -> Path:
    """Refuse export folders with `..` components, so a given path cannot climb out of where it points."""
    path = Path(export_dir)
    if not str(export_dir) or any(part == ".." for part in path.parts):
        raise ValueError(f"--export_dir {str(export_dir)!r} must not contain '..' components")
    return path


def check_export_target(export_dir: str | Path, data_folders: Sequence[str | Path | None]) -> None:
    """Refuse an export into (or around) the data being read, or over a folder that is not an export.

    Raises:
        UserError: naming --export_dir and why.
    """
    target = check_export_dir(export_dir).resolve()
    for folder in (Path(f).resolve() for f in data_folders if f):
        if target == folder or folder in target.parents or target in folder.parents:
            raise UserError(
                f"the export would mix with the data being read ({folder})",
                f"--export_dir {export_dir}",
                "export into a folder outside the dataset",
            )
    if target.is_dir() and any(target.iterdir()) and not (target / "manifest.csv").is_file():
        raise UserError(
            "the folder holds files but no manifest.csv, so it is not an earlier export",
            f"--export_dir {export_dir}",
            "give a new or empty folder, or an earlier export folder",
        )


def _write_bytes(path: Path, payload: bytes) -> None:
    with atomic_output(path) as tmp:
        tmp.write_bytes(payload)


def _cell(value: object) -> object:
    """Manifest cell: bools as 0/1, floats with 6 significant digits, NaN as empty."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return "" if value != value else f"{value:.6g}"
    return value


def _jpeg_bytes(image: Tensor) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(tensor_to_image(image)).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


class MaskExporter:
    """Writes edited masks (+ source photos) and, on `close`, the manifest.

    Args:
        export_dir: output folder (created); must not contain `..`.
        part: name of the edited part(s) used in file names, e.g. "nose" or "nose-mouth".
        mode: edit mode, e.g. "generate".
        seed: the run's seed, recorded in the manifest.
        workers: threads encoding and writing files.
    """

    def __init__(self, export_dir: str | Path, *, part: str, mode: str, seed: int, workers: int = 4) -> None:
        self.target = check_export_dir(export_dir)
        self.root = staging_folder(self.target)  # where files go until `close` swaps it in
        # A run that fails before `close` leaves no staging folder behind (only a kill can).
        self._discard = weakref.finalize(self, shutil.rmtree, self.root, ignore_errors=True)
        self.part, self.mode, self.seed = safe_filename(part), safe_filename(mode), seed
        (self.root / "labels").mkdir(parents=True, exist_ok=True)
        self.rows: list[dict[str, object]] = []
        self.metric_columns: list[str] = []
        self.stems: set[str] = set()
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.pending: list[Future[None]] = []

    def _stem(self, source: str, k: int) -> str:
        base = f"{safe_filename(Path(source).stem)}_{self.part}_{self.mode}_{k}"
        stem, count = base, 1
        while stem.casefold() in self.stems:  # two sources with the same file stem
            count += 1
            stem = f"{base}-{count}"
        self.stems.add(stem.casefold())
        return stem

    def add(
        self,
        sources: Sequence[str],
        masks: Tensor,
        images: Tensor | None = None,
        alphas: Tensor | None = None,
        metrics: Mapping[str, Tensor] | None = None,
    ) -> list[Path]:
        """Queue the masks of one batch for writing and record their manifest rows.

        Args:
            sources: B source label paths.
            masks: [B, K, H, W] class ids (< 256).
            images: [B, 3, H, W] source photos in [-1, 1], or None when the dataset has none.
            alphas: [K] interpolation weights, or None.
            metrics: name -> [B, K] per-mask or [B] per-input values (e.g. valid, locality, diversity).

        Returns:
            The label files that will be written (all are on disk after `close`).
        """
        B, K = masks.shape[:2]
        if len(sources) != B:
            raise ValueError(f"{len(sources)} sources for {B} masks")
        ids = masks.detach().cpu().numpy()
        columns = {
            name: value.detach().cpu().reshape(B, -1).expand(B, K).tolist() for name, value in (metrics or {}).items()
        }
        self.metric_columns += [name for name in columns if name not in self.metric_columns]
        written = []
        for b, source in enumerate(sources):
            photo = None if images is None else _jpeg_bytes(images[b])
            for k in range(K):
                stem = self._stem(source, k)
                label_path = self.root / "labels" / f"{stem}.png"
                self.pending.append(self.pool.submit(save_label_png, ids[b, k], label_path))
                if photo is not None:
                    self.pending.append(self.pool.submit(_write_bytes, self.root / "images" / f"{stem}.jpg", photo))
                alpha = "" if alphas is None else f"{float(alphas[k]):.6g}"
                row = {
                    "file": f"labels/{stem}.png",
                    "source": source,
                    "part": self.part,
                    "mode": self.mode,
                    "sample": k,
                    "alpha": alpha,
                    "seed": self.seed,
                }
                self.rows.append({**row, **{name: _cell(values[b][k]) for name, values in columns.items()}})
                written.append(label_path)
        return written

    def close(self) -> Path:
        """Wait for every file, write `manifest.csv` last, then swap the export in; returns the manifest's path."""
        for future in self.pending:
            future.result()
        self.pool.shutdown()
        self.pending = []
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=[*MANIFEST_COLUMNS, *self.metric_columns], lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.root / "manifest.csv", buffer.getvalue())
        swap_in(self.root, self.target)
        self._discard.detach()
        self.root = self.target
        return self.target / "manifest.csv"

"""SPADE-style training visualizer and the test result page.

Training (`checkpoints/<name>/`): `loss_log.txt` (human-readable lines), `loss_log.jsonl` (the same
points for plotting), `val_metrics.json` (held-out metrics per epoch) and `web/index.html` with the
loss plot, the metrics table and every saved batch of visuals. The page is rebuilt from the files on
disk (`web/visuals.json` lists the saved images), so a resumed run keeps the older entries.
Only the main process writes: with `is_main_process=False` every writing method is a no-op.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
from torch import Tensor

from shape_editor.fileio import append_no_follow, atomic_write_json, strict_json
from util.html import HTML
from util.image import atomic_output, safe_filename, save_image, to_visual, unique_stems
from util.loss_plot import plot_curves, plot_loss_curves

logger = logging.getLogger(__name__)

Visual = Tensor | np.ndarray


def first_sample(value: Visual) -> Visual:
    """First sample of a batch: `[B, C, H, W]` -> `[C, H, W]`, integer ids `[B, H, W]` -> `[H, W]`.

    Anything else (already one sample, or a uint8 `[H, W, 3]` picture) is returned unchanged.
    """
    if value.ndim == 4:
        return value[0]
    floating = value.is_floating_point() if isinstance(value, Tensor) else np.issubdtype(value.dtype, np.floating)
    picture = value.shape[-1] == 3 and value.dtype in (np.uint8, torch.uint8)
    if value.ndim == 3 and not floating and not picture:
        return value[0]
    return value


def _finite_or_none(value: object) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _read_json(path: Path, default: object) -> object:
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        logger.warning("ignoring unreadable %s (%s)", path, error)
        return default


def _write_json(path: Path, obj: object) -> None:
    atomic_write_json(path, obj, indent=1, ensure_ascii=False)


class Visualizer:
    """Training page (`checkpoints/<name>/web/index.html`) + `loss_log.txt`, SPADE style.

    `step` is the global iteration count; it is the x axis of the loss plot and orders the page.
    """

    def __init__(
        self,
        checkpoint_dir: str | Path,
        name: str,
        *,
        use_html: bool = True,
        display_winsize: int = 256,
        is_main_process: bool = True,
    ) -> None:
        self.name = name
        self.run_dir = Path(checkpoint_dir) / name
        self.web_dir = self.run_dir / "web"
        self.log_path = self.run_dir / "loss_log.txt"
        self.records_path = self.run_dir / "loss_log.jsonl"
        self.metrics_path = self.run_dir / "val_metrics.json"
        self.index_path = self.web_dir / "visuals.json"
        self.loss_plot_path = self.web_dir / "loss.png"
        self.metrics_plot_path = self.web_dir / "metrics.png"
        self.use_html = use_html
        self.display_winsize = display_winsize
        self.enabled = is_main_process
        if self.enabled:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            with append_no_follow(self.log_path) as log:
                log.write(f"================ Training Loss ({time.strftime('%c')}) ================\n")

    def display_current_results(self, visuals: Mapping[str, Visual], epoch: int, step: int) -> None:
        """Save the first sample of each visual and rebuild the page (newest entry first).

        Args:
            visuals: name -> batch (`[B, 3, H, W]` image in [-1, 1], `[B, 1, H, W]` / `[B, H, W]` ids,
                `[B, C, H, W]` one-hot or logits), in display order.
        """
        if not (self.enabled and self.use_html):
            return
        epoch, step = int(epoch), int(step)
        prefix = f"epoch{epoch:03d}_iter{step:07d}_"
        stems = unique_stems(prefix + safe_filename(label) for label in visuals)
        images = []
        for stem, (label, value) in zip(stems, visuals.items()):
            save_image(to_visual(first_sample(value)), self.web_dir / "images" / f"{stem}.png")
            images.append({"label": label, "file": f"images/{stem}.png"})
        entries = [e for e in self._read_entries() if (e["epoch"], e["step"]) != (epoch, step)]
        entries.append({"epoch": epoch, "step": step, "images": images})
        _write_json(self.index_path, entries)
        self.plot_losses()
        self._write_page()

    def print_current_losses(
        self, epoch: int, step: int, losses: Mapping[str, float | Tensor], seconds_per_iter: float | None = None
    ) -> str:
        """Append `(epoch: 3, iters: 1200, time: 0.051) CE: 0.512 KL: 0.030` to loss_log.txt; return it."""
        epoch, step = int(epoch), int(step)  # numpy / tensor counters must still serialise to JSON
        seconds = None if seconds_per_iter is None else float(seconds_per_iter)
        timing = "" if seconds is None else f", time: {seconds:.3f}"
        values = {name: float(value) for name, value in losses.items()}
        line = f"(epoch: {epoch}, iters: {step}{timing}) " + " ".join(f"{k}: {v:.3f}" for k, v in values.items())
        if self.enabled:
            with append_no_follow(self.log_path) as log:
                log.write(line + "\n")
            record = {
                "epoch": epoch,
                "step": step,
                "time": seconds,
                "losses": {name: _finite_or_none(value) for name, value in values.items()},
            }
            with append_no_follow(self.records_path) as log:
                log.write(strict_json(record) + "\n")
        return line

    def plot_losses(self) -> Path | None:
        """Write `web/loss.png` (one curve per loss vs step); None when nothing was logged yet."""
        if not self.enabled:
            return None
        return plot_loss_curves(self._read_loss_records(), self.loss_plot_path)

    def add_metrics(self, epoch: int, metrics: Mapping[str, float | Tensor]) -> None:
        """Record held-out metrics of an epoch (re-adding an epoch replaces it) and refresh the page."""
        if not self.enabled:
            return
        epoch = int(epoch)
        rows = [row for row in self._read_metrics() if row["epoch"] != epoch]
        rows.append({"epoch": epoch, **{name: _finite_or_none(value) for name, value in metrics.items()}})
        rows.sort(key=lambda row: row["epoch"])
        _write_json(self.metrics_path, rows)
        if self.use_html:
            series: dict[str, list[tuple[float, float]]] = {}
            for row in rows:
                for name, value in row.items():
                    if name != "epoch":
                        series.setdefault(name, []).append((row["epoch"], value))
            plot_curves(series, self.metrics_plot_path, xlabel="epoch", title="held-out metrics")
            self._write_page()

    def _read_entries(self) -> list[dict]:
        return list(_read_json(self.index_path, []))

    def _read_metrics(self) -> list[dict]:
        return list(_read_json(self.metrics_path, []))

    def _read_loss_records(self) -> list[dict]:
        if not self.records_path.exists():
            return []
        records = []
        for number, line in enumerate(self.records_path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                logger.warning("skipping unreadable line %d of %s", number, self.records_path)
        return records

    def _write_page(self) -> None:
        page = HTML(self.web_dir, f"Experiment name = {self.name}")
        page.add_header(f"Experiment: {self.name}", level=2)
        page.add_legend()
        if self.loss_plot_path.exists():
            page.add_image(self.loss_plot_path.name, "training losses vs step", width=None)
        metrics = self._read_metrics()
        if metrics:
            page.add_table(metrics, caption="held-out metrics per epoch")
            if self.metrics_plot_path.exists():
                page.add_image(self.metrics_plot_path.name, "held-out metrics vs epoch", width=None)
        for entry in sorted(self._read_entries(), key=lambda e: (e["epoch"], e["step"]), reverse=True):
            present = [image for image in entry["images"] if (self.web_dir / image["file"]).is_file()]
            if present:
                page.add_header(f"epoch [{entry['epoch']}], iter [{entry['step']}]")
                files = [image["file"] for image in present]
                page.add_images(files, [image["label"] for image in present], width=self.display_winsize)
        page.save()


def _link_figure(web_dir: Path, figure: Path) -> str:
    """Page-relative link to a figure; figures outside `web_dir` are copied into `web_dir/figures`."""
    path = figure if figure.is_absolute() else web_dir / figure
    if not path.is_file():
        raise FileNotFoundError(f"figure {figure} not found (relative paths are taken from {web_dir})")
    try:
        return path.resolve().relative_to(web_dir.resolve()).as_posix()
    except ValueError:
        target = web_dir / "figures" / safe_filename(path.name)
        with atomic_output(target) as tmp:
            shutil.copyfile(path, tmp)
        return f"figures/{target.name}"


PAGE_ROWS = 50  # rows (inputs, or input-sample pairs) per result page


def metric_rows(metrics: Mapping[str, object], definitions: Mapping[str, str] | None = None) -> list[dict[str, object]]:
    """One compact `metric | value | definition` table; a nested mapping adds one row per key (`name: key`).

    A metric `"mIoU (%)"` takes the definition of `"mIoU"`.
    """
    definitions = definitions or {}
    rows: list[dict[str, object]] = []
    for name, value in metrics.items():
        items = value.items() if isinstance(value, Mapping) else [(None, value)]
        for key, item in items:
            label = name if key is None else f"{name}: {key}"
            row: dict[str, object] = {"metric": label, "value": item}
            definition = definitions.get(name, definitions.get(name.split(" (")[0]))
            if definitions:
                row["definition"] = definition if key is None else None
            rows.append(row)
    return rows


def page_file(index: int) -> str:
    """File of result page `index` (0-based): index.html, index_2.html, index_3.html, ..."""
    return "index.html" if index == 0 else f"index_{index + 1}.html"


def save_results_page(
    web_dir: str | Path,
    title: str,
    rows: list[tuple[str, Mapping[str, Visual]]],
    metrics: Mapping[str, object] | None = None,
    figures: list[tuple[str, Path]] | None = None,
    image_width: int = 256,
    definitions: Mapping[str, str] | None = None,
) -> Path:
    """Write a test page (`results/<name>/<phase>_<epoch>/index.html`) and its images.

    Rows are split over pages of at most PAGE_ROWS (`index.html`, `index_2.html`, ...) linked to each
    other; the first page also holds the metrics (one compact table, the figures beside it). Every page
    has the class colour legend.

    Args:
        rows: one `(row name, {visual name: sample})` per input, visuals in display order. Each sample
            is one item (`[3, H, W]`, `[1, H, W]` / `[H, W]` ids, `[C, H, W]` logits, uint8 `[H, W, 3]`
            picture) or a batch whose first item is shown. Images go to `web_dir/images/<row>_<visual>.png`
            with sanitised, de-duplicated names, so no row name can write outside `web_dir`.
        metrics: scalars and nested name -> value mappings, shown as one table.
        figures: `(caption, path)`; a path outside `web_dir` is copied into `web_dir/figures`.
        definitions: metric name -> what it measures, a column of the table.

    Returns:
        The path of the first page, `index.html`.
    """
    web_dir = Path(web_dir)
    names = (f"{safe_filename(row)}_{safe_filename(name)}" for row, visuals in rows for name in visuals)
    stems = iter(unique_stems(names))
    chunks = [rows[start : start + PAGE_ROWS] for start in range(0, len(rows), PAGE_ROWS)] or [[]]
    files = [page_file(index) for index in range(len(chunks))]
    for index, chunk in enumerate(chunks):
        page = HTML(web_dir, title if index == 0 else f"{title} (page {index + 1})")
        page.add_header(title, level=2)
        page.add_nav(files, index)
        if index == 0:
            linked = [(caption, _link_figure(web_dir, Path(figure))) for caption, figure in figures or []]
            page.add_panel(metric_rows(metrics or {}, definitions), linked, caption="metrics" if metrics else None)
        page.add_legend()
        for row, visuals in chunk:
            images = []
            for value in visuals.values():
                images.append(f"images/{next(stems)}.png")
                save_image(to_visual(first_sample(value)), web_dir / images[-1])
            page.add_header(row, level=4)
            page.add_images(images, list(visuals), width=image_width)
        page.add_nav(files, index)
        page.save(files[index])
    return web_dir / files[0]

"""Matplotlib plots for the training page and result pages (loss curves, metric curves, bar charts).

Uses the object API (`matplotlib.figure.Figure`) with the Agg canvas, so it needs no display, never
touches pyplot's global figure list, and does not change the backend a user picked.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from util.image import atomic_output

Series = Mapping[str, Sequence[tuple[float, float]]]


def _save(fig: Figure, path: str | Path) -> Path:
    FigureCanvasAgg(fig)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def plot_curves(series: Series, path: str | Path, *, xlabel: str, title: str = "") -> Path | None:
    """Plot each name's `(x, y)` points in its own panel; None (nothing written) when there are none.

    One panel per curve keeps a 0.5 CE readable next to a 50 KL or a GAN loss around 0. Non-finite
    y values are skipped; a panel turns logarithmic when its values are positive and span > 2 decades.
    """
    clean = {
        name: sorted((x, y) for x, y in points if y is not None and math.isfinite(y)) for name, points in series.items()
    }
    clean = {name: points for name, points in clean.items() if points}
    if not clean:
        return None
    cols = min(len(clean), 3)
    rows = math.ceil(len(clean) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows), dpi=100, layout="constrained")
    fig.suptitle(title)
    for index, (name, points) in enumerate(clean.items()):
        ax = fig.add_subplot(rows, cols, index + 1)
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="." if len(xs) < 50 else None)
        if min(ys) > 0 and max(ys) / min(ys) > 100:
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
    return _save(fig, path)


def plot_loss_curves(records: Iterable[Mapping], path: str | Path) -> Path | None:
    """Plot losses vs step from records `{"step": int, "losses": {name: value}}`.

    A resumed run may log a step twice; the last record for a step wins.
    """
    by_name: dict[str, dict[float, float]] = {}
    for record in records:
        for name, value in record["losses"].items():
            by_name.setdefault(name, {})[record["step"]] = value
    series = {name: list(points.items()) for name, points in by_name.items()}
    return plot_curves(series, path, xlabel="step", title="training losses")


def plot_bar_chart(
    names: Sequence[str], values: Sequence[float], path: str | Path, title: str, ylabel: str = ""
) -> Path:
    """Bar chart with one labelled bar per name (e.g. per-class IoU); NaN bars are drawn empty."""
    if len(names) != len(values):
        raise ValueError(f"{len(names)} names but {len(values)} values for bar chart {title!r}")
    values = [float(v) for v in values]
    fig = Figure(figsize=(max(6.0, 0.45 * len(names) + 1.5), 4.5), dpi=100, layout="tight")
    ax = fig.add_subplot()
    positions = range(len(names))
    bars = ax.bar(positions, [v if math.isfinite(v) else 0.0 for v in values], color="tab:blue")
    ax.bar_label(bars, labels=[f"{v:.3g}" if math.isfinite(v) else "n/a" for v in values], fontsize=7)
    ax.set_xticks(list(positions), list(names), rotation=60, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)

"""The convergence benchmark's outputs: curves (PNG), the HTML page around them, and the text table.

A report is the JSON `benchmarks.convergence` writes: {"runs": [{"name", "points": [{"step",
"cpu_seconds", "wall_seconds", "mIoU", "accuracy", "per_class_iou", "edits"}, ...]}, ...], ...}.
Every plot draws one line per run, so configurations compare on the same axes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from util.html import HTML
from util.image import atomic_output

Point = dict[str, Any]
Panel = tuple[str, str, Callable[[Point], float | None]]  # (title, x key, y of a point)
EDIT_METRICS = ("validity", "diversity")


def plot_panels(runs: Sequence[dict[str, Any]], panels: Sequence[Panel], path: Path, columns: int = 2) -> Path:
    """One panel per (title, x key, y getter), one line per run; points whose y is None are skipped."""
    rows = -(-len(panels) // columns)
    fig = Figure(figsize=(5.0 * columns, 3.6 * rows), dpi=100, layout="tight")
    for i, (title, x_key, y_of) in enumerate(panels):
        ax = fig.add_subplot(rows, columns, i + 1)
        for run in runs:
            points = [(p[x_key], y_of(p)) for p in run["points"] if y_of(p) is not None]
            ax.plot([x for x, _ in points], [y for _, y in points], marker=".", label=run["name"])
        ax.set_title(title)
        ax.set_xlabel(x_key.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    FigureCanvasAgg(fig)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def edit_names(runs: Sequence[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(name for run in runs for p in run["points"] for name in p["edits"]))


def final_point(run: dict[str, Any]) -> Point | None:
    return run["points"][-1] if run["points"] else None


def per_class_rows(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Class -> IoU (%) at each run's last point, one column per run."""
    finals = {run["name"]: final_point(run) for run in runs}
    classes = list(dict.fromkeys(c for p in finals.values() if p for c in p["per_class_iou"]))
    return [
        {"class": c, **{name: p["per_class_iou"].get(c) if p else None for name, p in finals.items()}} for c in classes
    ]


def summary_rows(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per run: budget used, final and best mIoU, and the final edit metrics."""
    rows = []
    for run in runs:
        last = final_point(run) or {}
        row = {
            "run": run["name"],
            "steps": last.get("step"),
            "train CPU s": last.get("cpu_seconds"),
            "train wall s": last.get("wall_seconds"),
            "eval CPU s": run["eval_cpu_seconds"],
            "mIoU": last.get("mIoU"),
            "best mIoU": max((p["mIoU"] for p in run["points"]), default=None),
            "accuracy": last.get("accuracy"),
        }
        for name, scores in last.get("edits", {}).items():
            row.update({f"{name} {metric}": scores[metric] for metric in EDIT_METRICS})
        rows.append(row)
    return rows


def write_page(report: dict[str, Any], out_dir: Path) -> Path:
    """index.html with the mIoU curves, the edit curves and the final per-class IoU; returns its path."""
    runs = report["runs"]
    page = HTML(out_dir, "convergence benchmark")
    page.add_header("Convergence benchmark", 2)
    page.add_text(f"command: {' '.join(report['command'])}")
    page.add_text("machine: " + ", ".join(f"{k}={v}" for k, v in report["machine"].items()))
    page.add_table(summary_rows(runs), caption="at the last point of each run")
    miou = plot_panels(
        runs,
        [
            ("held-out mIoU (%) vs steps", "step", lambda p: p["mIoU"]),
            ("held-out mIoU (%) vs training CPU-seconds", "cpu_seconds", lambda p: p["mIoU"]),
            ("pixel accuracy (%) vs steps", "step", lambda p: p["accuracy"]),
            ("held-out mIoU (%) vs training wall seconds", "wall_seconds", lambda p: p["mIoU"]),
        ],
        page.img_dir / "miou.png",
    )
    page.add_image(str(miou.relative_to(out_dir)), "held-out mIoU and accuracy", width=None)
    panels: list[Panel] = [
        (f"{name}: {metric}", "step", lambda p, n=name, m=metric: p["edits"][n][m])
        for name in edit_names(runs)
        for metric in EDIT_METRICS
    ]
    if panels:
        edits = plot_panels(runs, panels, page.img_dir / "edits.png", columns=len(EDIT_METRICS))
        page.add_image(str(edits.relative_to(out_dir)), "edit metrics vs steps", width=None)
    page.add_table(per_class_rows(runs), caption="per-class IoU (%) at the last point")
    page.add_text("every point of every curve: convergence.json")
    return page.save()


def two(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def format_table(runs: Sequence[dict[str, Any]]) -> str:
    """Fixed-width summary: steps, training CPU/wall seconds, mIoU, accuracy, generated-part metrics."""
    header = (
        f"{'run':24s} {'steps':>6s} {'cpu s':>8s} {'wall s':>8s} {'eval s':>7s} {'mIoU':>6s} {'best':>6s} "
        f"{'acc':>6s}  generate (validity/diversity)"
    )
    lines = [header, "-" * len(header)]
    for row, run in zip(summary_rows(runs), runs):
        last = final_point(run)
        if last is None:
            lines.append(f"{row['run']:24s} no point recorded")
            continue
        edits = "  ".join(
            f"{name.removeprefix('generate ')} {two(scores['validity'])}/{two(scores['diversity'])}"
            for name, scores in last["edits"].items()
            if name.startswith("generate ")
        )
        lines.append(
            f"{row['run']:24s} {row['steps']:6d} {row['train CPU s']:8.1f} {row['train wall s']:8.1f} "
            f"{row['eval CPU s']:7.1f} {row['mIoU']:6.2f} {row['best mIoU']:6.2f} {row['accuracy']:6.2f}  "
            f"{edits}"
        )
    return "\n".join(lines)

"""Medians, ratios to the plain path, and the issue's targets, as rows and as a text table."""

from __future__ import annotations

import statistics
from typing import Any

# (group, variant) -> (metric, bound): "s" = median seconds at most, "masks/s" = throughput at least,
# "GB" = peak resident memory at most. They hold for the paper preset at batch 8 on a 2-core CPU.
TARGETS: dict[tuple[str, str], list[tuple[str, float]]] = {
    ("train", "fast"): [("s", 3.0), ("GB", 2.0)],
    ("train", "bf16"): [("s", 1.6), ("GB", 2.0)],
    ("train", "compile"): [("s", 3.0), ("GB", 2.0)],
    ("edit", "fast"): [("s", 1.0)],
    ("edit", "bf16"): [("s", 0.6)],
    ("edit1", "fast"): [("s", 0.080)],
    ("data", "fast"): [("masks/s", 400.0)],
    ("export", "fast"): [("masks/s", 10.0)],
}
# The paper's implementation on the same machine type (from the issue), for context.
PAPER_CODE = {("train", 8): 4.88, ("train", 4): 1.80, ("edit", 8): 1.70, ("edit1", 1): 0.136}
THROUGHPUT_GROUPS = ("data", "export")


def summarise(results: dict[str, dict[str, Any]], preset: str, batch: int) -> list[dict[str, Any]]:
    """One row per measurement: medians, masks/s, peak GB, ratio to plain, target and whether it is met."""
    rows = []
    for name, run in results.items():
        group, variant = name.split("/")
        wall, cpu = statistics.median(run["wall"]), statistics.median(run["cpu"])
        plain = results.get(f"{group}/plain")
        speedup = statistics.median(plain["wall"]) / wall if plain else None
        row = {
            "name": name,
            "median_s": wall,
            "cpu_s": cpu,
            "masks_per_s": run["items"] / wall,
            "peak_gb": run["peak_rss_mb"] * 2**20 / 1e9,
            "speedup_vs_plain": speedup,
            "setup_s": run["setup_s"],
            "load": run["load"],
            "paper_code_s": PAPER_CODE.get((group, run["spec"]["batch"])) if preset == "paper" else None,
        }
        applies = preset == "paper" and batch == 8
        checks = TARGETS.get((group, variant), []) if applies else []
        row["targets"] = [target_check(row, metric, bound) for metric, bound in checks]
        rows.append(row)
    return rows


def target_check(row: dict[str, Any], metric: str, bound: float) -> dict[str, Any]:
    value = {"s": row["median_s"], "GB": row["peak_gb"], "masks/s": row["masks_per_s"]}[metric]
    met = value >= bound if metric == "masks/s" else value <= bound
    return {"metric": metric, "bound": bound, "value": value, "met": met}


def format_table(rows: list[dict[str, Any]]) -> str:
    """Fixed-width text table: one line per measurement, targets as `<=3.0s ok` / `>=400/s MISSED`."""
    header = (
        f"{'measurement':16s} {'median':>9s} {'cpu':>8s} {'masks/s':>9s} {'peak GB':>8s} {'vs plain':>9s} "
        f"{'load':>10s}  targets"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        ratio = "" if row["speedup_vs_plain"] is None else f"{row['speedup_vs_plain']:.2f}x"
        targets = "  ".join(
            f"{'>=' if t['metric'] == 'masks/s' else '<='}{t['bound']:g}{t['metric']} {'ok' if t['met'] else 'MISSED'}"
            for t in row["targets"]
        )
        load = f"{row['load'][0]:.1f}-{row['load'][1]:.1f}"
        lines.append(
            f"{row['name']:16s} {row['median_s']:8.3f}s {row['cpu_s']:7.3f}s {row['masks_per_s']:9.1f} "
            f"{row['peak_gb']:8.2f} {ratio:>9s} {load:>10s}  {targets}"
        )
    lines.append(
        "vs plain: plain median / this median for times, the same for masks/s read as a throughput gain "
        "(the plain path runs in the same session). cpu: process CPU seconds per run, all threads."
    )
    return "\n".join(lines)

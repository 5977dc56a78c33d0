"""The benchmark suite: `python -m benchmarks.bench` (see docs/ARCHITECTURE.md).

Measures the training step, the edit (batch 1 and batch B), the export path (edit + decode + PNG write)
and data loading (512x512 id PNGs -> one-hot batches), each in a fresh process so its peak memory is
its own, each as the median over repeated runs after warm-up. Every figure is also measured for the
plain path (the model's modules as written, see `benchmarks.tasks`) in the same run and reported as a
ratio to it, which stays meaningful on a busy machine. With `--rounds N` every measurement runs N times,
round-robin over all of them, so that a slow spell of a shared machine hits plain and fast alike instead
of one of them; the median is taken over the timed runs of all rounds. Results go to a table on stdout
and to JSON under benchmarks/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Sequence

from PIL import Image

from benchmarks.report import format_table, summarise
from benchmarks.tasks import Measurement, Spec, measure
from shape_editor.cli import ArgumentParser, run_cli
from util.precision import cpu_has_native_bf16 as native_bf16

OUT_DIR = Path(__file__).parent / "out"
PRESETS = {
    # The paper's network: 256 px, 19 classes, latent 256, 3 bidirectional LSTM layers, decoder 512..32.
    "paper": dict(
        size=dict(crop_size=256, enc_size=128, enc_widths=[1024, 512, 256], ngf=64), data_count=256, data_side=512
    ),
    # Seconds in total: for the smoke test and for trying the tool.
    "tiny": dict(size=dict(crop_size=32, enc_size=16, enc_widths=[64, 32], ngf=8), data_count=16, data_side=64),
}
GROUPS = ("train", "edit1", "edit", "export", "data")


def plan(args: argparse.Namespace) -> list[tuple[str, Spec]]:
    """(row name, spec) of every measurement, plain first in each group so ratios have a reference."""
    base = Spec(
        task="train",
        batch=args.batch,
        size=PRESETS[args.preset]["size"],
        warmup=args.warmup,
        repeats=args.repeats,
        threads=args.threads,
        workers=args.workers,
    )
    # Without native bf16 a bf16 step takes minutes (emulated maths): time it once, without warm-up.
    native = native_bf16()
    bf16 = dict(amp="bf16") if native else dict(amp="bf16", warmup=0, repeats=1)
    with_bf16 = args.bf16 == "on" or (args.bf16 == "auto" and native)
    extra = [("bf16", bf16)] * with_bf16 + [("compile", dict(compile=True))] * args.compile
    rows: list[tuple[str, Spec]] = []
    for group in args.groups:
        task = "edit" if group == "edit1" else group
        spec = replace(base, task=task, batch=1 if group == "edit1" else args.batch)
        variants = [("plain", dict(variant="plain")), ("fast", {})]
        if task in ("train", "edit"):
            variants += extra
        rows += [(f"{group}/{name}", replace(spec, **changes)) for name, changes in variants]
    return rows


def write_id_pngs(folder: Path, count: int, side: int) -> None:
    """`count` synthetic side x side id PNGs (the data task's input)."""
    from data.synthetic_faces import synthetic_face

    for i in range(count):
        Image.fromarray(synthetic_face(11, i, size=side, with_image=False).label).save(folder / f"{i:05d}.png")


def run_isolated(spec: Spec) -> Measurement:
    """`measure(spec)` in a fresh Python process (separate peak memory, cold caches)."""
    command = [sys.executable, "-m", "benchmarks.tasks", json.dumps(asdict(spec))]
    # The product's entry points turn on huge pages (util/huge_pages.py); the plain path runs without.
    env = {**os.environ, "THP_MEM_ALLOC_ENABLE": "0" if spec.variant == "plain" else "1"}
    result = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parent.parent, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark task {spec.task}/{spec.variant} failed:\n{result.stderr[-3000:]}")
    return Measurement(**json.loads(result.stdout.strip().splitlines()[-1]))


def merge(measurements: Sequence[Measurement]) -> Measurement:
    """One measurement out of several rounds of the same spec: all timed runs, the highest peak."""
    return Measurement(
        wall=[w for m in measurements for w in m.wall],
        cpu=[c for m in measurements for c in m.cpu],
        items=measurements[0].items,
        peak_rss_mb=max(m.peak_rss_mb for m in measurements),
        setup_s=statistics.median(m.setup_s for m in measurements),
    )


def machine() -> dict[str, object]:
    import torch

    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": native_bf16(),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="paper", help="network and data sizes")
    parser.add_argument("--batch", type=int, default=8, help="batch of the training step, edit and export")
    parser.add_argument("--groups", nargs="+", choices=GROUPS, default=list(GROUPS), help="what to measure")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement and round")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="passes over all measurements, interleaved (each pass: a fresh process per measurement)",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the data task")
    parser.add_argument(
        "--bf16",
        choices=("auto", "on", "off"),
        default="auto",
        help="--amp bf16 variants of train and edit; auto: only on a CPU with native bf16 (emulated "
        "bf16 is 20-60x slower than fp32 and a paper-size step takes minutes)",
    )
    parser.add_argument("--compile", action="store_true", help="add torch.compile variants (minutes to compile)")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="measure in this process (for smoke tests: peak memory is then shared, and plain and "
        "fast share this process's huge-page setting)",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON file [default: benchmarks/out/bench-<time>.json]")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_args(argv)
    preset = PRESETS[args.preset]
    rows = plan(args)
    rounds: dict[str, list[Measurement]] = {name: [] for name, _ in rows}
    loads: dict[str, list[float]] = {name: [] for name, _ in rows}
    with tempfile.TemporaryDirectory(prefix="bench-data-") as data_dir:
        if "data" in args.groups:
            write_id_pngs(Path(data_dir), preset["data_count"], preset["data_side"])
        rows = [(name, replace(spec, data_dir=data_dir)) for name, spec in rows]
        for round_index in range(args.rounds):
            for name, spec in rows:
                loads[name].append(os.getloadavg()[0])
                result = measure(spec) if args.in_process else run_isolated(spec)
                rounds[name].append(result)
                print(
                    f"round {round_index + 1}/{args.rounds} {name:16s} median {statistics.median(result.wall):8.3f} s"
                    f"  (load {loads[name][-1]:.1f})",
                    file=sys.stderr,
                    flush=True,
                )
    results = {
        name: {"spec": asdict(spec), **asdict(merge(rounds[name])), "load": [min(loads[name]), max(loads[name])]}
        for name, spec in rows
    }
    summary = summarise(results, args.preset, args.batch)
    report = {
        "preset": args.preset,
        "batch": args.batch,
        "rounds": args.rounds,
        "machine": machine(),
        "time": time.strftime("%F %T"),
        "summary": summary,
        "runs": results,
    }
    out = args.out or OUT_DIR / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(format_table(summary))
    print(f"\nJSON: {out}")
    return report


if __name__ == "__main__":
    run_cli(main)

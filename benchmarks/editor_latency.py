"""Editor latency seen from the browser: `python -m benchmarks.editor_latency` (target: <= 300 ms at 256 px).

Builds a shape VAE of the paper's size (untrained: the weights do not change the time), saves it as a run
in a temporary folder, serves the editor on a free localhost port and drives the system Chromium. Each
figure is the time from the click (or the slider's release) until the new mask image is loaded and
decoded in the page, measured with `performance.now()` inside the page, clicks back to back. The
paint panel is closed (as the page opens), then `generate` is timed again with it open. For reference it also times the
edit alone (`EditEngine.generate`, no browser). Prints a table and writes JSON to benchmarks/out/.
"""

from __future__ import annotations

import util.huge_pages  # noqa: F401  (first: it must run before torch is imported)

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch

import editor
from editor_app.browser import WINDOW, click_and_time, free_port, launch_chromium, slide_and_time
from editor_app.callbacks import EditorContext
from shape_editor import ShapeVAE, ShapeVAEConfig
from shape_editor.cli import ArgumentParser, run_cli
from shape_editor.fileio import atomic_write_json

OUT_DIR = Path(__file__).parent / "out"
TARGET_MS = 300.0
ACTIONS = {  # name -> (selector, slider values or None for a click)
    "generate": ("#generate", None),  # both buttons move the seed on, so every run is a new edit
    "perturb": ("#perturb", None),
    "perturb slider": ("#strength input[type=range]", (0.5, 1.5)),
}


def make_run(root: Path, size: int) -> None:
    """checkpoints/latency/: an untrained paper-sized shape VAE at `size` px and its opt.json."""
    torch.manual_seed(0)
    vae = ShapeVAE(ShapeVAEConfig(crop_size=size, enc_size=min(size, ShapeVAEConfig.enc_size)))
    run = root / "latency"
    run.mkdir(parents=True)
    torch.save({"state_dict": vae.state_dict(), "config": asdict(vae.config), "step": 0}, run / "latest_net_G.pth")
    options = {
        "model": "shapevae",
        "load_size": size,
        "crop_size": size,
        "label_nc": 19,
        "dataset_mode": "synthetic",
        "synthetic_size": 16,
        "synthetic_test_size": 4,
        "no_synthetic_images": True,
    }
    (run / "opt.json").write_text(json.dumps(options))


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": statistics.median(ordered),
        "p90_ms": ordered[int(0.9 * (len(ordered) - 1))],
        "max_ms": ordered[-1],
        "runs": len(ordered),
    }


def measure(url: str, repeats: int, warmup: int) -> dict[str, list[float]]:
    """Browser-side milliseconds of every action, `warmup` untimed runs first."""
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport=WINDOW)
        page.goto(url)
        page.wait_for_selector("#mask img")
        for name, (selector, values) in ACTIONS.items():
            times = []
            for run in range(warmup + repeats):
                elapsed = (
                    click_and_time(page, selector)
                    if values is None
                    else slide_and_time(page, selector, values[run % len(values)])
                )
                if run >= warmup:
                    times.append(elapsed)
            results[name] = times
        # With the paint panel open the brush canvas follows every edit too (a chained step after the mask).
        page.locator("#paint-panel").get_by_text("paint by hand").click()
        times = [click_and_time(page, "#generate") for _ in range(warmup + repeats)]
        results["generate, paint panel open"] = times[warmup:]
        browser.close()
    return results


def edit_only(context: EditorContext, repeats: int) -> list[float]:
    """Milliseconds of `EditEngine.generate` on the first test face, no browser and no server."""
    mask = context.dataset[0]["label"][0].numpy().astype("uint8")
    times = []
    for seed in range(repeats + 1):
        tic = time.perf_counter()
        context.engine.generate(mask, [2], seed)
        times.append((time.perf_counter() - tic) * 1000)
    return times[1:]


def main(argv: Sequence[str] | None = None) -> dict:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256, help="mask side in pixels (the paper: 256)")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per action")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per action first")
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON file [default: benchmarks/out/editor_latency-<time>.json]"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="editor-latency-") as tmp:
        make_run(Path(tmp), args.size)
        app, context, url = editor.start(
            [
                "--shape_name",
                "latency",
                "--checkpoints_dir",
                tmp,
                "--gpu_ids",
                "-1",
                "--results_dir",
                str(Path(tmp) / "results"),
                "--port",
                str(free_port()),
            ],
            block=False,
        )
        try:
            browser = measure(url, args.repeats, args.warmup)
        finally:
            app.close()
        report = {
            "size": args.size,
            "model": "paper-sized shape VAE (untrained)",
            "target_ms": TARGET_MS,
            "torch_threads": torch.get_num_threads(),
            "browser": {name: summary(times) for name, times in browser.items()},
            "edit_only": summary(edit_only(context, args.repeats)),
            "raw_ms": browser,
        }
    print(f"{'action':<28}{'median':>9}{'p90':>9}{'max':>9}  (ms, browser side; target {TARGET_MS:.0f})")
    for name, row in {**report["browser"], "edit only": report["edit_only"]}.items():
        print(f"{name:<28}{row['median_ms']:>9.1f}{row['p90_ms']:>9.1f}{row['max_ms']:>9.1f}")
    out = args.out or OUT_DIR / f"editor_latency-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, report, indent=2)
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    run_cli(main)

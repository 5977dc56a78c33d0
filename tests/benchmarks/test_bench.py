"""The benchmark tool: a tiny end-to-end run, and the summary maths on hand-made results."""

import json

import pytest

from benchmarks import bench
from benchmarks.report import format_table, summarise


def fake_run(task, variant, batch, wall, items, peak_mb=100.0):
    return {
        "spec": {"task": task, "variant": variant, "batch": batch},
        "wall": wall,
        "cpu": [w / 2 for w in wall],
        "items": items,
        "peak_rss_mb": peak_mb,
        "setup_s": 0.5,
        "load": [1.0, 1.5],
    }


def test_summary_medians_ratios_and_targets():
    results = {
        "train/plain": fake_run("train", "plain", 8, [5.0, 4.0, 9.0], 8),
        "train/fast": fake_run("train", "fast", 8, [2.0, 2.5, 3.5], 8, peak_mb=2000.0),
        "data/plain": fake_run("data", "plain", 8, [2.0, 2.0, 2.0], 256),
        "data/fast": fake_run("data", "fast", 8, [0.5, 0.8, 0.5], 256),
    }
    rows = {row["name"]: row for row in summarise(results, "paper", 8)}
    fast = rows["train/fast"]
    assert fast["median_s"] == 2.5 and fast["cpu_s"] == 1.25 and fast["speedup_vs_plain"] == pytest.approx(2.0)
    assert fast["paper_code_s"] == 4.88
    assert [(t["metric"], t["met"]) for t in fast["targets"]] == [("s", True), ("GB", False)]  # 2000 MiB = 2.1 GB
    assert rows["data/fast"]["masks_per_s"] == pytest.approx(512.0) and rows["data/fast"]["targets"][0]["met"]
    assert rows["train/plain"]["speedup_vs_plain"] == 1.0 and rows["train/plain"]["targets"] == []
    assert all(row["targets"] == [] for row in summarise(results, "tiny", 8))  # targets are for the paper size
    table = format_table(list(rows.values()))
    assert "<=3s ok" in table and "<=2GB MISSED" in table and ">=400masks/s ok" in table and "2.00x" in table


def test_tiny_run_writes_json_with_every_measurement(tmp_path):
    out = tmp_path / "bench.json"
    report = bench.main(
        [
            "--preset",
            "tiny",
            "--groups",
            "edit1",
            "export",
            "data",
            "--bf16",
            "off",
            "--batch",
            "2",
            "--repeats",
            "1",
            "--warmup",
            "0",
            "--rounds",
            "2",
            "--in-process",
            "--out",
            str(out),
        ]
    )
    saved = json.loads(out.read_text())
    names = [row["name"] for row in saved["summary"]]
    assert names == ["edit1/plain", "edit1/fast", "export/plain", "export/fast", "data/plain", "data/fast"]
    assert all(len(run["wall"]) == 2 for run in saved["runs"].values())  # one timed run in each of the 2 rounds
    assert saved["runs"]["export/fast"]["items"] == 2 * 4 and saved["runs"]["data/fast"]["items"] == 16
    assert all(row["median_s"] > 0 and row["speedup_vs_plain"] > 0 for row in report["summary"])


def test_isolated_run_reports_its_own_peak_memory():
    spec = bench.Spec(task="edit", batch=1, size=bench.PRESETS["tiny"]["size"], warmup=0, repeats=1, threads=1)
    result = bench.run_isolated(spec)
    assert len(result.wall) == 1 and result.items == 1 and 50 < result.peak_rss_mb < 2000


def test_rounds_are_merged_into_one_measurement():
    first = bench.Measurement(wall=[3.0, 1.0], cpu=[6.0, 2.0], items=8, peak_rss_mb=900.0, setup_s=4.0)
    second = bench.Measurement(wall=[2.0], cpu=[4.0], items=8, peak_rss_mb=1100.0, setup_s=2.0)
    merged = bench.merge([first, second])
    assert merged == bench.Measurement(
        wall=[3.0, 1.0, 2.0], cpu=[6.0, 2.0, 4.0], items=8, peak_rss_mb=1100.0, setup_s=3.0
    )


@pytest.mark.parametrize(
    "choice, native, expected",
    [("auto", False, False), ("auto", True, True), ("on", False, True), ("off", True, False)],
)
def test_bf16_variants_run_by_default_only_where_bf16_is_native(monkeypatch, choice, native, expected):
    monkeypatch.setattr(bench, "native_bf16", lambda: native)
    names = [name for name, _ in bench.plan(bench.parse_args(["--bf16", choice, "--groups", "train", "data"]))]
    assert ("train/bf16" in names) == expected and "data/bf16" not in names
    assert names[:2] == ["train/plain", "train/fast"]

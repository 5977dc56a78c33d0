import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from shape_editor.labels import NUM_CLASSES, PALETTE
from tests.util.test_html import assert_links_resolve, parse_page
from util.loss_plot import plot_bar_chart
from util.visualizer import Visualizer, first_sample, save_results_page


def _visuals() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    image = torch.full((2, 3, 8, 8), -1.0)
    image[1] = 1.0  # only the first sample may be saved
    label = torch.zeros(2, 1, 8, 8, dtype=torch.long)
    label[0, 0, :4] = 2
    return {"real image": image, "label <script>": label, "logits": torch.randn(2, NUM_CLASSES, 8, 8)}


def _headers(page) -> list[str]:
    return re.findall(r"<h3>(epoch \[\d+\], iter \[\d+\])</h3>", page.read_text(encoding="utf-8"))


def test_page_links_every_saved_image_newest_first(tmp_path) -> None:
    vis = Visualizer(tmp_path, "exp", display_winsize=64)
    vis.print_current_losses(1, 10, {"CE": 0.9, "KL": 0.1})
    vis.display_current_results(_visuals(), epoch=1, step=10)
    vis.print_current_losses(2, 20, {"CE": 0.5, "KL": 0.2})
    vis.display_current_results(_visuals(), epoch=2, step=20)
    web = tmp_path / "exp" / "web"
    page = web / "index.html"
    files = assert_links_resolve(page)
    assert files[0].name == "loss.png"  # the plot comes first
    saved = sorted(p.name for p in (web / "images").iterdir())
    assert len(saved) == 6 and {f.name for f in files} == set(saved) | {"loss.png"}
    assert _headers(page) == ["epoch [2], iter [20]", "epoch [1], iter [10]"]
    raw = page.read_text(encoding="utf-8")
    assert "<script>" not in raw and "label <script>" in parse_page(page).text
    real = np.asarray(Image.open(web / "images" / "epoch002_iter0000020_real_image.png"))
    assert (real == 0).all()  # first sample (-1), not the second (+1)
    label = np.asarray(Image.open(web / "images" / "epoch002_iter0000020_label_script_.png"))
    assert tuple(label[0, 0]) == tuple(PALETTE[2]) and tuple(label[7, 7]) == (0, 0, 0)


def test_resumed_visualizer_keeps_older_entries(tmp_path) -> None:
    Visualizer(tmp_path, "exp").display_current_results(_visuals(), epoch=1, step=10)
    resumed = Visualizer(tmp_path, "exp")
    resumed.display_current_results(_visuals(), epoch=1, step=10)  # same point again: replaced, not doubled
    resumed.display_current_results(_visuals(), epoch=2, step=30)
    page = tmp_path / "exp" / "web" / "index.html"
    assert _headers(page) == ["epoch [2], iter [30]", "epoch [1], iter [10]"]
    assert len(assert_links_resolve(page)) == 2 * 3 * 2
    assert (tmp_path / "exp" / "loss_log.txt").read_text().count("Training Loss") == 2


def test_loss_log_lines_records_and_plot(tmp_path) -> None:
    vis = Visualizer(tmp_path, "exp")
    assert vis.plot_losses() is None
    losses = {"CE": 0.5121, "KL": torch.tensor(0.03)}
    line = vis.print_current_losses(np.int64(3), torch.tensor(1200), losses, seconds_per_iter=np.float32(0.0512))
    assert line == "(epoch: 3, iters: 1200, time: 0.051) CE: 0.512 KL: 0.030"
    assert vis.print_current_losses(3, 1300, {"CE": float("nan")}) == "(epoch: 3, iters: 1300) CE: nan"
    log = (tmp_path / "exp" / "loss_log.txt").read_text().splitlines()
    assert log[-2:] == [line, "(epoch: 3, iters: 1300) CE: nan"]
    records = [json.loads(r) for r in (tmp_path / "exp" / "loss_log.jsonl").read_text().splitlines()]
    expected = {"CE": 0.5121, "KL": pytest.approx(0.03)}
    assert records[0] == {"epoch": 3, "step": 1200, "time": pytest.approx(0.0512), "losses": expected}
    assert records[1]["losses"] == {"CE": None}
    with (tmp_path / "exp" / "loss_log.jsonl").open("a") as handle:
        handle.write('{"epoch": 3, "ste')  # a crash mid-line must not break plotting
    plot = vis.plot_losses()
    assert plot == tmp_path / "exp" / "web" / "loss.png"
    with Image.open(plot) as png:
        assert png.format == "PNG" and png.size[0] > 100


def test_add_metrics_table_plot_and_json(tmp_path) -> None:
    vis = Visualizer(tmp_path, "exp")
    vis.add_metrics(1, {"mIoU": 60.0, "accuracy": 90.0})
    vis.add_metrics(2, {"mIoU": 65.5, "accuracy": 91.0})
    vis.add_metrics(1, {"mIoU": 61.25, "accuracy": torch.tensor(90.5)})  # re-evaluated: replaces epoch 1
    rows = json.loads((tmp_path / "exp" / "val_metrics.json").read_text())
    assert rows == [{"epoch": 1, "mIoU": 61.25, "accuracy": 90.5}, {"epoch": 2, "mIoU": 65.5, "accuracy": 91.0}]
    page = tmp_path / "exp" / "web" / "index.html"
    cells = re.findall(r"<t[hd]>(.*?)</t[hd]>", page.read_text())
    assert cells == ["epoch", "mIoU", "accuracy", "1", "61.25", "90.5", "2", "65.5", "91"]
    assert [f.name for f in assert_links_resolve(page)] == ["metrics.png", "metrics.png"]
    with Image.open(tmp_path / "exp" / "web" / "metrics.png") as png:
        assert png.format == "PNG"


def test_non_main_process_writes_nothing(tmp_path) -> None:
    vis = Visualizer(tmp_path, "exp", is_main_process=False)
    assert vis.print_current_losses(1, 1, {"CE": 1.0}) == "(epoch: 1, iters: 1) CE: 1.000"
    vis.display_current_results(_visuals(), 1, 1)
    vis.add_metrics(1, {"mIoU": 1.0})
    assert vis.plot_losses() is None
    assert list(tmp_path.iterdir()) == []


def test_use_html_false_logs_but_makes_no_page(tmp_path) -> None:
    vis = Visualizer(tmp_path, "exp", use_html=False)
    vis.print_current_losses(1, 1, {"CE": 1.0})
    vis.display_current_results(_visuals(), 1, 1)
    vis.add_metrics(1, {"mIoU": 1.0})
    written = sorted(p.name for p in (tmp_path / "exp").iterdir())
    assert written == ["loss_log.jsonl", "loss_log.txt", "val_metrics.json"]


def test_first_sample_layouts() -> None:
    assert first_sample(torch.zeros(2, 3, 4, 5)).shape == (3, 4, 5)
    assert first_sample(torch.zeros(2, 4, 5, dtype=torch.long)).shape == (4, 5)
    assert first_sample(np.zeros((4, 5, 3), np.uint8)).shape == (4, 5, 3)
    assert first_sample(torch.zeros(3, 4, 5)).shape == (3, 4, 5)


def test_results_page_stays_inside_web_dir(tmp_path) -> None:
    web = tmp_path / "results" / "exp" / "test_latest"
    outside = tmp_path / "iou.png"
    plot_bar_chart(["skin", "nose"], [0.9, float("nan")], outside, "per-class IoU")
    sample = {"input": torch.zeros(3, 8, 8), "mask": torch.full((1, 8, 8), 2)}
    rows = [("../evil", sample), ("a b/<script>", sample), ("a_b_<script>", sample), ("été", sample)]
    metrics = {"mIoU": 70.31, "IoU": {"nose": 0.5}}
    page = save_results_page(web, "test <epoch> & co", rows, metrics, [("per-class IoU", outside)], image_width=64)
    assert page == web / "index.html"
    files = assert_links_resolve(page)
    assert not (tmp_path / "results" / "exp" / "evil_input.png").exists()
    images = sorted(p.name for p in (web / "images").iterdir())
    assert len(images) == 8  # nothing overwritten although two row names sanitise alike
    assert {f.name for f in files} == set(images) | {"iou.png"}
    assert (web / "figures" / "iou.png").is_file()
    raw = page.read_text(encoding="utf-8")
    assert "<script>" not in raw and "<epoch>" not in raw
    text = parse_page(page).text
    assert {"../evil", "a b/<script>", "été", "input", "mask", "70.31", "IoU: nose", "0.5", "2 nose"} <= set(text)
    mask = np.asarray(Image.open(web / "images" / "_evil_mask.png"))
    assert tuple(mask[0, 0]) == (76, 153, 0)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        save_results_page(web, "t", [], figures=[("x", tmp_path / "missing.png")])


def test_results_pages_hold_at_most_50_rows_and_link_each_other(tmp_path) -> None:
    sample = {"mask": torch.full((4, 4), 2), "changed": np.zeros((4, 4, 3), np.uint8)}
    rows = [(f"input {i}", sample) for i in range(120)]
    first = save_results_page(
        tmp_path, "t", rows, {"mIoU (%)": 70.0, "seconds": 1.5}, definitions={"mIoU": "mean IoU over classes"}
    )
    pages = [first, tmp_path / "index_2.html", tmp_path / "index_3.html"]
    headers = [re.findall(r"<h4>(input \d+)</h4>", page.read_text()) for page in pages]
    assert [len(h) for h in headers] == [50, 50, 20] and headers[2][-1] == "input 119"
    assert not (tmp_path / "index_4.html").exists()
    for page in pages:
        links = parse_page(page).links
        assert {"index.html", "index_2.html", "index_3.html"} - {page.name} <= set(links)
    cells = re.findall(r"<td>(.*?)</td>", first.read_text())
    assert cells[:6] == ["mIoU (%)", "70", "mean IoU over classes", "seconds", "1.5", ""]
    assert "<td>mIoU (%)</td>" not in pages[1].read_text()  # the metrics are on the first page only


def test_bar_chart_validates_lengths(tmp_path) -> None:
    with pytest.raises(ValueError, match="2 names but 1 values"):
        plot_bar_chart(["a", "b"], [1.0], tmp_path / "x.png", "t")

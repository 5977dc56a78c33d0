"""The static result pages in a real Chromium at 1400 px: every image loads and nothing overflows sideways.

Uses the editor tests' runs and browser: the training page (Visualizer), the shape-VAE test page (two
pages, 55 inputs) and the SEAN pipeline page. Screenshots go to results/editor_tests/.
"""

import numpy as np
import pytest
import torch

import test as test_script
from data.synthetic_faces import synthetic_face
from tests.editor_app.conftest import SHOTS
from util.visualizer import Visualizer

CHECK_PAGE = """
() => ({
  images: document.images.length,
  broken: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
  overflow: document.documentElement.scrollWidth - window.innerWidth,
})
"""


def training_page(root):
    vis = Visualizer(root, "train_run", display_winsize=256)
    for step in (10, 20):
        vis.print_current_losses(1, step, {"CE": 1.0 / step, "KL": 0.1})
        faces = [torch.from_numpy(synthetic_face(0, step + k, 64, with_image=False).label).long() for k in range(6)]
        visuals = {"input_label": faces[0][None, None], **{f"generated {k}": faces[k][None] for k in range(1, 6)}}
        vis.display_current_results(visuals, epoch=1, step=step)
    vis.add_metrics(1, {"mIoU": 30.0, "accuracy": 88.0})
    return root / "train_run" / "web" / "index.html"


def run_test(*argv):
    return test_script.main([*argv, "--gpu_ids", "-1"])


@pytest.fixture(scope="module")
def pages(editor_runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    common = ["--checkpoints_dir", str(editor_runs), "--results_dir", str(out), "--edit_part", "nose"]
    test_page = run_test(
        "--name", "shape", *common, "--n_samples", "2", "--synthetic_test_size", "55", "--display_winsize", "128"
    )
    pipeline = run_test("--name", "sean", "--shape_name", "shape", *common, "--n_samples", "2", "--how_many", "3")
    return {
        "training": training_page(tmp_path_factory.mktemp("checkpoints")),
        "test": test_page,
        "test_page_2": test_page.parent / "index_2.html",
        "pipeline": pipeline,
    }


@pytest.mark.parametrize("kind", ["training", "test", "test_page_2", "pipeline"])
def test_page_loads_every_image_and_fits_1400_px(browser, pages, kind):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(pages[kind].as_uri())
    page.wait_for_load_state("load")
    state = page.evaluate(CHECK_PAGE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"page_{kind}.png"), full_page=True)
    page.close()
    assert state["images"] > 0 and state["broken"] == [] and state["overflow"] <= 0, state
    text = pages[kind].read_text()
    assert "0 background" in text and "18 cloth" in text  # the legend
    if kind.startswith("test"):
        assert np.sum([f"<h4>input {i} · " in text for i in range(55)]) == (50 if kind == "test" else 5)
        assert "changed pixels vs reconstruction" in text

"""End-to-end: train a tiny shape VAE once, then test.py edits, scores, pages and exports with it."""

import csv
import gc
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
import torch
from PIL import Image

import data
import test as test_script
import train
from data.mask_io import read_label
from options.train_options import TrainOptions
from shape_editor.labels import colorize
from testers.export import MaskExporter
from tests.conftest import TINY_SHAPEVAE


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny run trained for 1 epoch on 4 synthetic masks: (checkpoints_dir, scratch folder)."""
    root = tmp_path_factory.mktemp("tester")
    checkpoints = root / "checkpoints"
    train.main(
        [
            *TINY_SHAPEVAE,
            "--checkpoints_dir",
            str(checkpoints),
            "--name",
            "tiny",
            "--synthetic_size",
            "4",
            "--synthetic_test_size",
            "4",
            "--batchSize",
            "2",
            "--niter",
            "1",
            "--eval_freq",
            "0",
        ]
    )
    return checkpoints, root


def run_test(trained, results, *extra):
    checkpoints, _ = trained
    page = test_script.main(
        [
            "--name",
            "tiny",
            "--checkpoints_dir",
            str(checkpoints),
            "--results_dir",
            str(results),
            "--gpu_ids",
            "-1",
            "--how_many",
            "2",
            *extra,
        ]
    )
    return page, json.loads((page.parent / "metrics.json").read_text())


class ImageSources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources, self.captions = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(unquote(dict(attrs)["src"]))
            self.captions.append(dict(attrs).get("alt"))


def page_images(page):
    parser = ImageSources()
    parser.feed(page.read_text())
    return parser


def test_generate_nose_writes_page_and_metrics(trained, tmp_path):
    page, metrics = run_test(trained, tmp_path, "--edit_part", "nose", "--edit_mode", "generate", "--n_samples", "3")
    assert page == tmp_path / "tiny" / "test_latest_generate_nose" / "index.html"
    recon = metrics["reconstruction"]
    assert metrics["inputs"] == 2
    assert 0 <= recon["mIoU"] <= 100 and 0 <= recon["pixel_accuracy"] <= 100
    assert len(recon["per_class_iou"]) == 19
    edit = metrics["edit"]
    assert edit["mode"] == "generate" and edit["parts"] == ["nose"] and edit["n_samples"] == 3
    for name in (
        "validity",
        "present",
        "connected",
        "no_new_classes",
        "reconstruction_validity",
        "locality",
        "diversity",
    ):
        assert 0 <= edit[name] <= 1, name
        assert name in metrics["definitions"]
    assert "smoothness" not in edit
    images = page_images(page)
    assert len(images.sources) == 1 + 2 * (2 + 2 * 3)  # chart + per input: input, recon, 3 samples and their overlays
    assert images.captions[3:5] == [
        "nose generate sample 0",
        "nose generate sample 0: changed pixels vs reconstruction",
    ]
    assert "input 1 · 1000000001 · nose generate" in page.read_text()
    for src in images.sources:
        assert (page.parent / src).is_file(), src
    assert "per_class_iou.png" in images.sources
    assert "nose generate sample 2" in images.captions
    text = page.read_text()
    assert "8-connected" in text and "IoU" in text


@pytest.mark.parametrize(
    "mode, per_input, expected",
    [
        ("perturb", 2, {"validity", "locality", "diversity"}),
        ("interpolate", 3, {"validity", "locality", "smoothness"}),
        ("swap", 1, {"validity", "locality"}),
        ("all", 2, {"diversity"}),
    ],
)
def test_every_mode_runs_with_its_metrics(trained, tmp_path, mode, per_input, expected):
    page, metrics = run_test(
        trained, tmp_path, "--edit_part", "nose,mouth", "--edit_mode", mode, "--n_samples", "2", "--n_steps", "3"
    )
    assert expected <= set(metrics["edit"])
    assert not {"validity", "locality", "diversity", "smoothness"} - expected & set(metrics["edit"])
    images = page_images(page)
    with_target = mode in ("interpolate", "swap")
    assert len(images.sources) == 1 + 2 * (2 + with_target + 2 * per_input)  # every edit with its overlay
    if mode == "interpolate":
        assert "nose-mouth interpolate alpha=0.50" in images.captions
        assert metrics["edit"]["smoothness"] >= 1


def test_without_edit_part_only_reconstructs(trained, tmp_path):
    page, metrics = run_test(trained, tmp_path)
    assert "edit" not in metrics
    assert len(page_images(page).sources) == 1 + 2 * 2


def test_export_is_loadable_and_repeatable_with_a_seed(trained, tmp_path):
    def export(seed):
        out = tmp_path / f"export{seed}_{len(list(tmp_path.iterdir()))}"
        run_test(trained, tmp_path / "results", "--edit_part", "2", "--export_dir", str(out), "--seed", str(seed))
        return out

    first, again = export(1), export(1)
    rows = list(csv.DictReader((first / "manifest.csv").open()))
    assert len(rows) == 2 * 4  # 2 inputs x 4 samples (default --n_samples)
    assert {r["part"] for r in rows} == {"nose"} and {r["mode"] for r in rows} == {"generate"}
    assert sorted(p.name for p in (first / "labels").iterdir()) == sorted(Path(r["file"]).name for r in rows)
    for row in rows:
        assert re.fullmatch(r"labels/\d+_nose_generate_[0-3]\.png", row["file"])
        assert row["seed"] == "1" and row["validity"] in ("0", "1") and 0 <= float(row["locality"]) <= 1
        ids = read_label(first / row["file"], 19)
        assert ids.shape == (32, 32) and ids.max() < 19
    # the folder is a dataset as it stands
    opt = TrainOptions().parse(
        [
            "--dataset_mode",
            "custom",
            "--label_dir",
            str(first / "labels"),
            "--load_size",
            "32",
            "--crop_size",
            "32",
            "--checkpoints_dir",
            str(tmp_path / "ck"),
        ],
        save=False,
    )
    dataset = data.create_dataset(opt)
    assert len(dataset) == 8 and dataset[0]["label"].shape == (1, 32, 32)
    files = sorted((first / "labels").iterdir())
    assert [f.read_bytes() for f in files] == [(again / "labels" / f.name).read_bytes() for f in files]


def row_image(page, row, caption):
    """The colour picture shown for input `row` under `caption`, uint8 [H, W, 3]."""
    images = page_images(page)
    matches = [
        src
        for src, cap in zip(images.sources, images.captions)
        if cap == caption and Path(src).name.startswith(f"input_{row}_")
    ]
    assert len(matches) == 1, (caption, images.captions)
    return np.asarray(Image.open(page.parent / matches[0]).convert("RGB"))


def test_target_index_and_file(trained, tmp_path):
    page, _ = run_test(trained, tmp_path / "a", "--edit_part", "nose", "--edit_mode", "swap", "--target", "0")
    # input 0 swapped with itself (test-set index 0) is its reconstruction
    assert np.array_equal(row_image(page, 0, "nose swap alpha=1.00"), row_image(page, 0, "reconstruction"))
    assert np.array_equal(row_image(page, 1, "target"), row_image(page, 0, "input"))
    ids = np.zeros((64, 64), dtype=np.uint8)
    ids[16:48, 16:48], ids[30:34, 30:34] = 1, 2
    Image.fromarray(ids).save(tmp_path / "target.png")
    page, _ = run_test(
        trained, tmp_path / "b", "--edit_part", "nose", "--edit_mode", "swap", "--target", str(tmp_path / "target.png")
    )
    resized = np.asarray(Image.fromarray(ids).resize((32, 32), Image.Resampling.NEAREST))
    assert np.array_equal(row_image(page, 1, "target"), colorize(resized))


def test_a_target_of_another_aspect_ratio_is_refused_not_squashed(trained, tmp_path):
    Image.fromarray(np.zeros((32, 64), dtype=np.uint8)).save(tmp_path / "wide.png")
    with pytest.raises(ValueError, match=r"wide.png: the label map is 64x32.*would squash it to 32x32"):
        run_test(
            trained, tmp_path, "--edit_part", "nose", "--edit_mode", "swap", "--target", str(tmp_path / "wide.png")
        )


def test_bad_part_names_and_background_are_refused(trained, tmp_path):
    with pytest.raises(ValueError, match="valid parts are: 0=background, 1=skin, 2=nose"):
        run_test(trained, tmp_path, "--edit_part", "nosee")
    with pytest.raises(ValueError, match="background"):
        run_test(trained, tmp_path, "--edit_part", "background")


def test_checkpoint_with_another_crop_size_is_refused(trained, tmp_path):
    with pytest.raises(ValueError, match=r"--crop_size 32 \(checkpoint\) vs 64 \(now\)"):
        run_test(trained, tmp_path, "--crop_size", "64", "--load_size", "64")


def test_export_dir_with_dotdot_is_refused(trained, tmp_path):
    with pytest.raises(ValueError, match=r"'\.\.'"):
        run_test(trained, tmp_path, "--edit_part", "nose", "--export_dir", str(tmp_path / ".." / "escape"))


def test_exporter_writes_exact_ids_photos_and_manifest(tmp_path):
    masks = torch.arange(19, dtype=torch.int64).repeat(2, 2, 4, 1)[..., :16].reshape(2, 2, 4, 16) % 19
    masks[1, 1, 0, 0] = 18
    images = torch.linspace(-1, 1, 2 * 3 * 4 * 16).view(2, 3, 4, 16)
    exporter = MaskExporter(tmp_path / "aug", part="nose", mode="interpolate", seed=5)
    exporter.add(
        ["a/x.png", "b/x.png"],
        masks,
        images,
        torch.tensor([0.0, 1.0]),
        {"validity": torch.tensor([[True, False], [True, True]]), "smoothness": torch.tensor([1.5, 1.0])},
    )
    manifest = exporter.close()
    rows = list(csv.DictReader(manifest.open()))
    assert [r["file"] for r in rows] == [
        "labels/x_nose_interpolate_0.png",
        "labels/x_nose_interpolate_1.png",
        "labels/x_nose_interpolate_0-2.png",
        "labels/x_nose_interpolate_1-2.png",
    ]
    assert [r["source"] for r in rows] == ["a/x.png", "a/x.png", "b/x.png", "b/x.png"]
    assert [r["alpha"] for r in rows] == ["0", "1", "0", "1"]
    assert [r["validity"] for r in rows] == ["1", "0", "1", "1"]
    assert [r["smoothness"] for r in rows] == ["1.5", "1.5", "1", "1"]
    for row, expected in zip(rows, masks.flatten(0, 1)):
        label = tmp_path / "aug" / row["file"]
        assert np.array_equal(read_label(label, 19), expected.numpy())
        assert (tmp_path / "aug" / "images" / f"{label.stem}.jpg").is_file()
    assert not list((tmp_path / "aug").rglob("*.tmp"))


def test_attribute_mode_fits_stores_and_reports_the_response(trained, tmp_path):
    checkpoints, _ = trained
    page, metrics = run_test(
        trained,
        tmp_path,
        "--edit_part",
        "hair",
        "--edit_mode",
        "attribute",
        "--attribute",
        "area",
        "--edit_strength",
        "2",
        "--n_steps",
        "3",
        "--synthetic_size",
        "12",
        "--attribute_samples",
        "10",
    )
    assert len(list((tmp_path / "tiny" / "cache").glob("attribute_directions_*.pth"))) == 1
    assert not list((checkpoints / "tiny").glob("attribute_directions*"))  # nothing written into checkpoints
    edit = metrics["edit"]
    assert edit["mode"] == "attribute" and edit["attribute"] == "area"
    assert {"correlation", "monotonicity", "slope", "locality", "validity"} <= set(edit)
    assert [s for s, _ in metrics["attribute_response"]["measured change (std)"]] == [0.0, 1.0, 2.0]
    assert (page.parent / "attribute_response.png").is_file()
    assert "hair area +2.00 std" in page_images(page).captions
    with pytest.raises(ValueError, match="choose one of"):
        run_test(trained, tmp_path, "--edit_part", "nose", "--edit_mode", "attribute", "--attribute", "below_ears")
    with pytest.raises(ValueError, match="needs one --edit_part"):
        run_test(trained, tmp_path, "--edit_part", "nose,mouth", "--edit_mode", "attribute", "--attribute", "area")


def test_an_export_that_is_never_closed_leaves_no_staging_folder(tmp_path):
    exporter = MaskExporter(tmp_path / "aug", part="nose", mode="generate", seed=0)
    exporter.add(["a/x.png"], torch.zeros(1, 1, 4, 4, dtype=torch.int64))
    for future in exporter.pending:
        future.result()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".aug.")]
    exporter.pool.shutdown()
    del exporter
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_sampling_edits_fit_the_prior_once_and_report_the_off_manifold_check(trained, tmp_path):
    checkpoints, _ = trained
    cache = tmp_path / "tiny" / "cache"  # under --results_dir, keyed by the checkpoint's content hash
    args = ("--edit_part", "nose", "--edit_mode", "generate", "--n_samples", "2")
    before = sorted(p.name for p in (checkpoints / "tiny").iterdir())
    page, aggregate = run_test(trained, tmp_path, *args, "--sample_from", "aggregate")
    priors = list(cache.glob("latent_prior_*.pth"))
    assert len(priors) == 1
    prior_file = priors[0]
    assert sorted(p.name for p in (checkpoints / "tiny").iterdir()) == before  # nothing written into checkpoints
    stamp = prior_file.stat().st_mtime_ns
    off = aggregate["off_manifold"]
    assert set(off["kl_to_standard"]) >= {"skin", "nose", "cloth"} and off["samples"] == 4
    assert off["sqrt_latent_dim"] > 0 and "kl_to_standard" in aggregate["definitions"]
    assert aggregate["edit"]["sample_from"] == "aggregate"
    assert "off-manifold: kl_to_standard" in page.read_text()
    _, standard = run_test(trained, tmp_path, *args, "--sample_from", "standard")
    assert prior_file.stat().st_mtime_ns == stamp  # reused, not refitted
    assert standard["edit"]["sample_from"] == "standard" and standard["off_manifold"] == off
    _, perturbed = run_test(
        trained, tmp_path, "--edit_part", "nose", "--edit_mode", "perturb", "--perturb_scale", "aggregate"
    )
    assert perturbed["edit"]["perturb_scale"] == "aggregate" and 0 <= perturbed["edit"]["validity"] <= 1
    assert list(cache.glob("latent_prior_*.pth")) == [prior_file]
    _, recon = run_test(trained, tmp_path / "r")
    assert "off_manifold" not in recon
    with pytest.raises(ValueError, match="--prior_samples"):  # refused at parse time, naming the flag
        run_test(trained, tmp_path / "x", *args, "--prior_samples", "1")

"""End-to-end plugin pipeline: a tiny SEAN and a tiny shape VAE, then test.py with and without the editor."""

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

import test as test_script
import train
from data.mask_io import read_label
from testers.pipeline import moved_part_pixels, resize_nearest_exact
from testers.sean_tester import unstyled_share
from tests.conftest import TINY_SHAPEVAE
from tests.models.test_sean_model import TINY_SEAN_TRAIN
from tests.testers.test_shapevae_tester import page_images

PIPELINE_COLUMNS = [
    "photo",
    "mask",
    "edited mask (nose generate sample {k})",
    "changed pixels vs mask",
    "synthesized from mask",
    "synthesized from edited mask (nose generate sample {k})",
]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """SEAN at 64 px and shape VAEs at 32 and 64 px, each trained for two steps on synthetic faces."""
    root = tmp_path_factory.mktemp("pipeline") / "checkpoints"
    common = [
        "--checkpoints_dir",
        str(root),
        "--synthetic_size",
        "4",
        "--synthetic_test_size",
        "3",
        "--batchSize",
        "2",
        "--niter",
        "1",
        "--eval_freq",
        "0",
        "--display_freq",
        "100",
    ]
    train.main([*TINY_SEAN_TRAIN, *common, "--name", "sean", "--load_size", "64", "--crop_size", "64"])
    train.main([*TINY_SHAPEVAE, *common, "--name", "vae32"])
    train.main([*TINY_SHAPEVAE, *common, "--name", "vae64", "--load_size", "64", "--crop_size", "64"])
    return root


def run_test(checkpoints, results, *extra):
    page = test_script.main(
        [
            "--name",
            "sean",
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


@pytest.mark.parametrize("shape_name", ["vae64", "vae32"])  # same crop, and a VAE at half SEAN's crop
def test_pipeline_page_has_the_five_columns(checkpoints, tmp_path, shape_name):
    page, metrics = run_test(
        checkpoints,
        tmp_path,
        "--shape_name",
        shape_name,
        "--edit_part",
        "nose",
        "--edit_mode",
        "generate",
        "--n_samples",
        "2",
    )
    assert page == tmp_path / "sean" / f"test_latest_{shape_name}_generate_nose" / "index.html"
    images = page_images(page)
    assert images.captions == [c.format(k=k) for _ in range(2) for k in range(2) for c in PIPELINE_COLUMNS]
    for src in images.sources:
        assert (page.parent / src).is_file(), src
    shapes = {Image.open(page.parent / src).size for src in images.sources}
    assert shapes == {(64, 64)}  # edited masks come back at SEAN's crop
    assert metrics["inputs"] == 2 and metrics["edit"]["parts"] == ["nose"]
    assert metrics["edit"]["shape_checkpoint"].endswith(f"{shape_name}/latest_net_G.pth")
    assert 0 <= metrics["edit"]["unstyled_pixel_share"] <= 1 and metrics["reconstruction"]["L1"] > 0


@pytest.mark.parametrize(
    "flags, edited",
    [
        (["--edit_mode", "swap"], ["nose swap alpha=1.00"]),
        (
            [
                "--edit_mode",
                "attribute",
                "--attribute",
                "height",
                "--n_steps",
                "2",
                "--synthetic_size",
                "8",
            ],  # fit on 8
            ["nose height +0.00 std", "nose height +1.00 std"],
        ),
    ],
)
def test_target_and_attribute_edits_feed_sean(checkpoints, tmp_path, flags, edited):
    page, _ = run_test(checkpoints, tmp_path, "--shape_name", "vae32", "--edit_part", "nose", *flags)
    source = ["photo", "mask", "target mask"] if "swap" in flags else ["photo", "mask"]
    row = [
        [
            *source,
            f"edited mask ({e})",
            "changed pixels vs mask",
            "synthesized from mask",
            f"synthesized from edited mask ({e})",
        ]
        for e in edited
    ]
    assert page_images(page).captions == [c for _ in range(2) for r in row for c in r]


def test_keep_unedited_without_edit_gives_back_the_original_mask(checkpoints, tmp_path):
    page, _ = run_test(checkpoints, tmp_path, "--shape_name", "vae32", "--keep_unedited", "--how_many", "1")
    images = page_images(page)
    pictures = {c: np.asarray(Image.open(page.parent / s)) for s, c in zip(images.sources, images.captions)}
    assert np.array_equal(pictures["edited mask (shapevae reconstruct sample 0)"], pictures["mask"])


def test_moved_part_pixels_hand_computed():
    recon = torch.tensor([[[[0, 2], [1, 1]]]])
    edited = torch.tensor([[[[2, 1], [1, 3]]]])
    # (0,0) becomes nose, (0,1) stops being nose, (1,0) unchanged, (1,1) changed but involves no nose
    assert moved_part_pixels(recon, edited, [2]).tolist() == [[[[True, True], [False, False]]]]
    assert not moved_part_pixels(recon, edited, []).any()


def test_without_shape_name_it_is_seans_test(checkpoints, tmp_path):
    page, metrics = run_test(checkpoints, tmp_path)
    assert page_images(page).captions == ["photo", "mask", "synthesized"] * 2
    assert "edit" not in metrics and metrics["reconstruction"]["PSNR"] > 0


def test_export_writes_synthesized_photos_next_to_edited_masks(checkpoints, tmp_path):
    out = tmp_path / "export"
    run_test(
        checkpoints,
        tmp_path / "results",
        "--shape_name",
        "vae32",
        "--edit_part",
        "nose",
        "--n_samples",
        "2",
        "--export_dir",
        str(out),
    )
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert len(rows) == 2 * 2
    labels = sorted(p.stem for p in (out / "labels").iterdir())
    assert labels == sorted(p.stem for p in (out / "images").iterdir())
    for stem in labels:
        assert read_label(out / "labels" / f"{stem}.png", 19).shape == (64, 64)
        assert Image.open(out / "images" / f"{stem}.jpg").size == (64, 64)


def test_export_without_shape_name_is_refused(checkpoints, tmp_path):
    with pytest.raises(ValueError, match="--export_dir needs --shape_name"):
        run_test(checkpoints, tmp_path, "--export_dir", str(tmp_path / "export"))


def test_resize_labels_is_nearest_and_round_trips():
    labels = torch.arange(16).view(1, 1, 4, 4)
    up = resize_nearest_exact(labels, (8, 8))
    assert torch.equal(up, labels.repeat_interleave(2, -1).repeat_interleave(2, -2))
    assert torch.equal(resize_nearest_exact(up, (4, 4)), labels) and resize_nearest_exact(labels, (4, 4)) is labels


def test_unstyled_share_counts_pixels_of_classes_new_to_the_mask():
    labels = torch.tensor([[[[0, 1], [1, 2]]]])  # classes 0, 1, 2 present
    edited = torch.tensor([[[[0, 3], [1, 2]], [[4, 4], [4, 1]]]])  # sample 0: one new pixel, sample 1: three
    np.testing.assert_allclose(unstyled_share(labels, edited, 19).numpy(), [(1 + 3) / 8])

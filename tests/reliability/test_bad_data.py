"""Bad data is found up front and reported all at once; `--skip_bad_files` trains on the rest."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import data
import train
from data import validation
from data.validation import DatasetCheckError, pixel_sample, validate_dataset
from shape_editor.labels import colorize
from tests.data.conftest import RAW_FACE, build_opt, save_png, write_raw_release
from tests.reliability.conftest import LIGHT_SHAPEVAE

SIZE = 16
GOOD = ("0", "1", "2", "3")


def face(seed: int) -> np.ndarray:
    """A 16 px id map with a few classes (all < 19)."""
    label = np.zeros((SIZE, SIZE), np.uint8)
    label[4:12, 4:12] = 1
    label[6:10, 6 + seed % 3 : 9] = 2
    label[:3] = 13
    return label


def photo(path: Path, size=(2 * SIZE, 2 * SIZE)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 60, 30)).save(path)


def good_sample(root: Path, stem: str, seed: int = 0) -> None:
    save_png(root / "train" / "labels" / f"{stem}.png", face(seed))
    photo(root / "train" / "images" / f"{stem}.jpg")


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def make_bad_dataset(root: Path) -> dict[str, str]:
    """Four good samples and one of each kind of bad file; returns {bad file name: expected message}."""
    for i, stem in enumerate(GOOD):
        good_sample(root, stem, i)
    labels, images = root / "train" / "labels", root / "train" / "images"
    good_sample(root, "truncated")
    truncate(labels / "truncated.png")
    good_sample(root, "garbage")
    (labels / "garbage.png").write_bytes(b"\x89PNG not really" * 8)
    good_sample(root, "high")
    high = face(0)
    high[5, 5] = 25
    save_png(labels / "high.png", high)
    good_sample(root, "colour")
    rgb = colorize(face(0))
    rgb[0, 0] = (10, 20, 30)
    save_png(labels / "colour.png", rgb)
    good_sample(root, "aspect")
    photo(images / "aspect.jpg", (2 * SIZE, SIZE))
    good_sample(root, "brokenphoto")
    noise = np.random.default_rng(0).integers(0, 256, (4 * SIZE, 4 * SIZE, 3), dtype=np.uint8)
    Image.fromarray(noise).save(images / "brokenphoto.jpg", quality=95)
    truncate(images / "brokenphoto.jpg")  # the header survives: only decoding the pixels finds it
    return {
        "truncated.png": r"labels/truncated\.png: unreadable or corrupt image \(Truncated File Read\)",
        "garbage.png": r"labels/garbage\.png: unreadable or corrupt image \(cannot identify image file "
        r"'garbage\.png'\)",
        "high.png": r"labels/high\.png: label values \[25\] are outside \[0, 19\) \(--label_nc 19\)",
        "colour.png": r"labels/colour\.png: 1 pixels have colours outside the CelebAMask-HQ palette, "
        r"e\.g\. \(10, 20, 30\)",
        "aspect.jpg": r"images/aspect\.jpg: photo is 32x16 but its label aspect\.png is 16x16 \(another aspect ratio\)",
        "brokenphoto.jpg": r"images/brokenphoto\.jpg: cannot decode the photo \(image file is truncated",
    }


def opt_for(root: Path, **overrides):
    values = dict(dataroot=str(root), load_size=SIZE, crop_size=SIZE, check_dataset="on")
    return build_opt("celebamaskhq", **{**values, **overrides})


def test_every_bad_file_is_reported_at_once(tmp_path):
    expected = make_bad_dataset(tmp_path)
    with pytest.raises(DatasetCheckError) as err:
        data.create_dataset(opt_for(tmp_path))
    message = str(err.value)
    assert message.startswith(f"dataset check found {len(expected)} problems in {len(GOOD) + len(expected)} samples")
    assert "--skip_bad_files" in message
    for pattern in expected.values():
        assert err.match(pattern), pattern
    assert sorted(Path(b.path).name for b in err.value.bad) == sorted(expected)
    assert not any(stem in message for stem in ("/0.png", "/1.png", "/2.png", "/3.png"))


def test_skip_bad_files_keeps_the_good_pairs_and_logs_the_rest(tmp_path, caplog):
    expected = make_bad_dataset(tmp_path)
    with caplog.at_level(logging.WARNING, logger="data.validation"):
        dataset = data.create_dataset(opt_for(tmp_path, skip_bad_files=True))
    assert [p.stem for p in dataset.label_paths] == list(GOOD)
    assert [p.stem for p in dataset.image_paths] == list(GOOD)
    assert all(dataset[i]["label"].max() < 19 for i in range(len(dataset)))
    assert f"skipped {len(expected)} of {len(GOOD) + len(expected)} samples" in caplog.text
    assert all(name in caplog.text for name in expected)


def test_the_check_only_reads_and_names_the_samples_to_keep(tmp_path):
    make_bad_dataset(tmp_path)
    dataset = data.create_dataset(opt_for(tmp_path, check_dataset="off"))
    stems = [p.stem for p in dataset.label_paths]
    keep = validate_dataset(dataset, "on", skip_bad_files=True)
    assert [stems[i] for i in keep] == list(GOOD)
    assert [p.stem for p in dataset.label_paths] == stems  # the dataset itself is untouched
    assert validate_dataset(dataset, "off", skip_bad_files=False) is None
    with pytest.raises(DatasetCheckError):
        validate_dataset(dataset, "on", skip_bad_files=False)


def test_all_bad_is_refused_even_when_skipping(tmp_path):
    good_sample(tmp_path, "only")
    truncate(tmp_path / "train" / "labels" / "only.png")
    with pytest.raises(DatasetCheckError, match="every sample is bad, nothing is left to use"):
        data.create_dataset(opt_for(tmp_path, skip_bad_files=True))


@pytest.mark.parametrize(
    "mode, sizes, pattern",
    [
        ("crop", {"small": 8}, r"small\.png: wrong size 8x8: --crop_size 16 is larger than the 8x8 sample"),
        (
            "none",
            {"wide": (64, 32)},
            r"wide\.png: wrong size 64x32: it becomes 64x32 after --preprocess_mode none, "
            r"but 4 other samples become 32x32",
        ),
    ],
)
def test_wrong_sizes(tmp_path, mode, sizes, pattern):
    for i, stem in enumerate(GOOD):
        save_png(tmp_path / "train" / "labels" / f"{stem}.png", np.resize(face(i), (32, 32)))
    for stem, size in sizes.items():
        w, h = size if isinstance(size, tuple) else (size, size)
        save_png(tmp_path / "train" / "labels" / f"{stem}.png", np.zeros((h, w), np.uint8))
    with pytest.raises(DatasetCheckError, match=pattern):
        data.create_dataset(opt_for(tmp_path, preprocess_mode=mode, crop_size=SIZE, load_size=32))


def test_raw_release_part_files_are_checked_and_skipped(tmp_path):
    write_raw_release(tmp_path, {5: RAW_FACE, 6: RAW_FACE, 7: RAW_FACE})
    part = tmp_path / "CelebAMask-HQ-mask-anno" / "0" / "00006_nose.png"
    truncate(part)
    opt = build_opt("celebamaskhq", dataroot=str(tmp_path), load_size=8, crop_size=8, check_dataset="on")
    with pytest.raises(DatasetCheckError, match=r"00006_nose\.png: unreadable or corrupt image"):
        data.create_dataset(opt)
    dataset = data.create_dataset(
        build_opt(
            "celebamaskhq", dataroot=str(tmp_path), load_size=8, crop_size=8, check_dataset="on", skip_bad_files=True
        )
    )
    assert len(dataset) == len(dataset.raw_parts) == 2
    assert [Path(dataset[i]["path"]).name for i in range(2)] == ["00005", "00007"]


def test_auto_scans_small_sets_only_and_off_never(tmp_path, monkeypatch):
    make_bad_dataset(tmp_path)
    with pytest.raises(DatasetCheckError):
        data.create_dataset(opt_for(tmp_path, check_dataset="auto"))
    monkeypatch.setattr(validation, "AUTO_LIMIT", 5)
    assert len(data.create_dataset(opt_for(tmp_path, check_dataset="auto"))) == 10
    assert len(data.create_dataset(opt_for(tmp_path, check_dataset="off"))) == 10


def test_pixel_sample_is_everything_for_small_sets_and_spread_for_large():
    assert pixel_sample(5, limit=10) == set(range(5))
    picked = pixel_sample(1000, limit=5)
    assert picked == {0, 250, 500, 749, 999}


def train_args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        *LIGHT_SHAPEVAE,
        "--checkpoints_dir",
        str(tmp_path / "ck"),
        "--name",
        "run",
        "--dataroot",
        str(tmp_path / "data"),
        "--batchSize",
        "2",
        "--niter",
        "1",
        "--display_freq",
        "1",
        "--print_freq",
        "1",
        *extra,
    ]


def test_train_refuses_bad_data_and_leaves_nothing_behind(tmp_path):
    expected = make_bad_dataset(tmp_path / "data")
    with pytest.raises(DatasetCheckError, match=f"found {len(expected)} problems"):
        train.main(train_args(tmp_path))
    run_dir = tmp_path / "ck" / "run"
    assert sorted(p.name for p in run_dir.rglob("*")) == []  # not even the options: the run was never built


def test_train_with_skip_bad_files_finishes_on_the_rest(tmp_path, caplog):
    expected = make_bad_dataset(tmp_path / "data")
    with caplog.at_level(logging.WARNING):
        train.main(train_args(tmp_path, "--skip_bad_files"))
    run_dir = tmp_path / "ck" / "run"
    assert (run_dir / "latest_net_G.pth").is_file() and not list(run_dir.rglob("*.tmp"))
    assert f"skipped {len(expected)} of 10 samples, using 4:" in caplog.text
    steps = [line for line in (run_dir / "loss_log.txt").read_text().splitlines() if line.startswith("(epoch")]
    assert len(steps) == 2  # 4 good samples, batch 2

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import data
from data.prepare_celebamaskhq import REPORT_NAME, main, prepare
from tests.data.conftest import RAW_FACE, RAW_FACE_IDS

ROOT = Path(__file__).resolve().parents[2]
ANNO = "CelebAMask-HQ-mask-anno"


def tiny_release(raw_release, root):
    """27998 fine, 27999 with a corrupt part, 28000 fine, 28001 a photo without masks."""
    raw_release(
        root,
        {27998: RAW_FACE, 27999: RAW_FACE, 28000: {"cloth": (4, 8, 0, 8)}},
        photos={27998: 200, 27999: 10, 28000: 30, 28001: 40},
    )
    (root / ANNO / "13" / "27999_nose.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    return root


def test_prepare_writes_sean_layout_with_the_split_and_a_report(tmp_path, raw_release):
    tiny_release(raw_release, tmp_path / "raw")
    report = prepare(tmp_path / "raw", tmp_path / "out", size=16, workers=0)
    assert report.written == {"train": 1, "test": 1}
    assert len(report.problems) == 2
    assert report.problems[0].startswith("id 27999:") and "27999_nose.png" in report.problems[0]
    assert report.problems[1].startswith("id 28001: no mask part files")
    out = tmp_path / "out"
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [
        "test/images/28000.jpg",
        "test/labels/28000.png",
        "train/images/27998.jpg",
        "train/labels/27998.png",
    ]
    label = Image.open(out / "train" / "labels" / "27998.png")
    assert label.mode == "L" and label.size == (16, 16)
    ids = np.asarray(label)
    assert np.array_equal(ids, RAW_FACE_IDS.repeat(2, axis=0).repeat(2, axis=1))  # 2x NEAREST
    assert set(np.unique(np.asarray(Image.open(out / "test" / "labels" / "28000.png")))) == {0, 18}
    photo = Image.open(out / "train" / "images" / "27998.jpg")
    assert photo.size == (16, 16) and abs(int(np.asarray(photo).mean()) - 200) <= 2


def test_photo_at_output_size_is_copied_byte_for_byte(tmp_path, raw_release):
    raw_release(tmp_path / "raw", {3: RAW_FACE}, photos={3: 90})
    prepare(tmp_path / "raw", tmp_path / "out", size=16)
    source = (tmp_path / "raw" / "CelebA-HQ-img" / "3.jpg").read_bytes()
    assert (tmp_path / "out" / "train" / "images" / "3.jpg").read_bytes() == source


def test_missing_photo_is_reported_not_written(tmp_path, raw_release):
    raw_release(tmp_path / "raw", {3: RAW_FACE, 4: RAW_FACE}, photos={3: 90})
    report = prepare(tmp_path / "raw", tmp_path / "out", size=8)
    assert report.written == {"train": 1, "test": 0}
    assert report.problems == ["id 4: no photo CelebA-HQ-img/4.jpg"]
    assert not (tmp_path / "out" / "train" / "labels" / "4.png").exists()


def test_masks_only_release_writes_labels_only(tmp_path, raw_release):
    raw_release(tmp_path / "raw", {3: RAW_FACE}, anno_name="CelebAMaskHQ-mask-anno")
    report = prepare(tmp_path / "raw", tmp_path / "out", size=8, workers=2)
    assert report.written == {"train": 1, "test": 0} and report.problems == []
    assert not (tmp_path / "out" / "train" / "images").exists()
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "train" / "labels" / "3.png")), RAW_FACE_IDS)


def test_main_exit_code_and_report_file(tmp_path, raw_release, capsys):
    tiny_release(raw_release, tmp_path / "raw")
    assert (
        main(
            ["--raw_root", str(tmp_path / "raw"), "--out_root", str(tmp_path / "out"), "--size", "8", "--workers", "0"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert printed.startswith("written: 1 train, 1 test\nproblems: 2\n")
    assert (tmp_path / "out" / REPORT_NAME).read_text() == printed
    assert not list((tmp_path / "out").rglob(".*.tmp"))


def test_main_fails_when_nothing_could_be_written(tmp_path, raw_release):
    raw_release(tmp_path / "raw", {3: {"skin": (0, 1, 0, 1)}})
    (tmp_path / "raw" / ANNO / "0" / "00003_skin.png").write_bytes(b"junk")
    assert main(["--raw_root", str(tmp_path / "raw"), "--out_root", str(tmp_path / "out"), "--workers", "0"]) == 1


def test_missing_raw_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        prepare(tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no CelebAMask-HQ-mask-anno or CelebAMaskHQ-mask-anno folder"):
        prepare(tmp_path, tmp_path / "out")


def test_runs_as_a_module(tmp_path, raw_release):
    raw_release(tmp_path / "raw", {28500: RAW_FACE})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "data.prepare_celebamaskhq",
            "--raw_root",
            str(tmp_path / "raw"),
            "--out_root",
            str(tmp_path / "out"),
            "--size",
            "8",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "written: 0 train, 1 test" in result.stdout
    assert (tmp_path / "out" / "test" / "labels" / "28500.png").is_file()


def test_prepared_output_loads_as_celebamaskhq(tmp_path, raw_release, make_opt):
    tiny_release(raw_release, tmp_path / "raw")
    prepare(tmp_path / "raw", tmp_path / "out", size=8)
    opt = make_opt("celebamaskhq", dataroot=str(tmp_path / "out"), load_size=8, crop_size=8, isTrain=False)
    item = data.create_dataset(opt)[0]
    assert item["label"][0].numpy().tolist() == RAW_FACE_IDS.tolist() and item["image"].shape == (3, 8, 8)


def test_two_photos_for_one_id_are_reported_not_guessed(tmp_path, raw_release):
    raw_release(tmp_path / "raw", {6: RAW_FACE}, photos={6: 90})
    Image.new("RGB", (8, 8), (10, 10, 10)).save(tmp_path / "raw" / "CelebA-HQ-img" / "06.jpg")
    report = prepare(tmp_path / "raw", tmp_path / "out", size=8)
    assert report.problems == ["id 6: several photos for one id (06.jpg, 6.jpg); keep one"]
    assert not (tmp_path / "out" / "train" / "images" / "6.jpg").exists()


def test_a_photo_of_another_aspect_ratio_is_reported_not_squashed(tmp_path, raw_release):
    raw_release(tmp_path / "raw", {3: RAW_FACE, 4: RAW_FACE}, photos={3: 90, 4: 90})
    photo = tmp_path / "raw" / "CelebA-HQ-img" / "4.jpg"
    Image.new("RGB", (16, 8), (90, 90, 90)).save(photo)
    report = prepare(tmp_path / "raw", tmp_path / "out", size=8)
    assert report.written == {"train": 1, "test": 0}
    assert len(report.problems) == 1 and "photo 4.jpg is 16x8 but its mask is" in report.problems[0]
    assert "another aspect ratio" in report.problems[0]

import numpy as np
import pytest
import torch
from PIL import Image

import data
from shape_editor.labels import colorize

SIZE = 16


def face_label(shift: int) -> np.ndarray:
    """Background, a skin block, l_eye on the image's right and a smaller r_eye on its left (asymmetric)."""
    label = np.zeros((SIZE, SIZE), dtype=np.uint8)
    label[4:14, 2:14] = 1
    label[6:8, 9:12] = 4
    label[6:8, 2:4] = 5
    label[12:, :] = 17 + shift % 2
    return label


def make_sean(root, phase="train", ids=(0, 1, 2), images=True, write_png=None, image_scale=2):
    for i in ids:
        write_png(root / phase / "labels" / f"{i}.png", face_label(i))
        if images:
            rgb = np.full((SIZE * image_scale, SIZE * image_scale, 3), 40 * i, dtype=np.uint8)
            (root / phase / "images").mkdir(parents=True, exist_ok=True)
            Image.fromarray(rgb).save(root / phase / "images" / f"{i}.jpg", quality=100)
    return root


def test_sean_layout_with_images(tmp_path, make_opt, write_png):
    make_sean(tmp_path, write_png=write_png)
    opt = make_opt("celebamaskhq", dataroot=str(tmp_path), load_size=SIZE, crop_size=SIZE, isTrain=False)
    dataset = data.create_dataset(opt)
    assert len(dataset) == 3
    item = dataset[2]
    assert set(item) == {"label", "image", "path"}
    assert item["label"].dtype == torch.int64 and item["label"].shape == (1, SIZE, SIZE)
    assert torch.equal(item["label"][0], torch.from_numpy(face_label(2).astype(np.int64)))
    assert item["image"].dtype == torch.float32 and item["image"].shape == (3, SIZE, SIZE)
    assert item["image"].min() >= -1 and item["image"].max() <= 1
    assert torch.allclose(item["image"], torch.full_like(item["image"], 80 / 127.5 - 1), atol=0.02)
    assert item["path"] == str(tmp_path / "train" / "labels" / "2.png")
    batch = torch.utils.data.default_collate([dataset[0], dataset[1]])
    assert batch["label"].shape == (2, 1, SIZE, SIZE) and batch["image"].shape == (2, 3, SIZE, SIZE)


def test_masks_only_dataset_has_no_image_key(tmp_path, make_opt, write_png):
    make_sean(tmp_path, phase="test", images=False, write_png=write_png)
    opt = make_opt("celebamaskhq", dataroot=str(tmp_path), load_size=8, crop_size=8, phase="test")
    item = data.create_dataset(opt)[0]
    assert set(item) == {"label", "path"} and item["label"].shape == (1, 8, 8)
    assert set(item["label"].unique().tolist()) <= {0, 1, 4, 5, 17}


def test_training_flip_swaps_eyes_in_the_real_pipeline(tmp_path, make_opt, write_png):
    make_sean(tmp_path, images=False, write_png=write_png)
    opt = make_opt("celebamaskhq", dataroot=str(tmp_path), load_size=SIZE, crop_size=SIZE)
    dataset = data.create_dataset(opt)
    flipped = 0
    for epoch in range(8):
        dataset.set_epoch(epoch)
        label = dataset[0]["label"][0]
        if label[6, 5] == 5:  # flipped: l_eye (cols 9-11) became r_eye at cols 4-6
            assert label[6, 4:7].tolist() == [5, 5, 5] and label[6, 12:14].tolist() == [4, 4]
            assert label[6, 10] == 1
            flipped += 1
        else:
            assert label[6, 9:12].tolist() == [4, 4, 4] and label[6, 2:4].tolist() == [5, 5]
    assert 0 < flipped < 8


def test_same_epoch_same_augmentation(tmp_path, make_opt, write_png):
    make_sean(tmp_path, images=False, write_png=write_png)
    opt = make_opt("celebamaskhq", dataroot=str(tmp_path), load_size=SIZE, crop_size=10)
    a, b = data.create_dataset(opt), data.create_dataset(opt)
    a.set_epoch(3)
    b.set_epoch(3)
    assert all(torch.equal(a[i]["label"], b[i]["label"]) for i in range(3))


def test_colour_labels_and_max_dataset_size(tmp_path, make_opt, write_png):
    for i in range(3):
        write_png(tmp_path / "train" / "labels" / f"{i}.png", colorize(face_label(i)))
    opt = make_opt(
        "celebamaskhq", dataroot=str(tmp_path), load_size=SIZE, crop_size=SIZE, max_dataset_size=2, isTrain=False
    )
    dataset = data.create_dataset(opt)
    assert len(dataset) == 2
    assert torch.equal(dataset[1]["label"][0], torch.from_numpy(face_label(1).astype(np.int64)))
    with pytest.raises(IndexError):
        dataset[2]


def test_bisenet_label_order(tmp_path, make_opt, write_png):
    write_png(tmp_path / "train" / "labels" / "0.png", np.array([[17, 10], [2, 0]], dtype=np.uint8))
    opt = make_opt(
        "celebamaskhq", dataroot=str(tmp_path), load_size=2, crop_size=2, label_order="bisenet", isTrain=False
    )
    assert data.create_dataset(opt)[0]["label"][0].tolist() == [[13, 2], [6, 0]]


def test_missing_dataroot(tmp_path, make_opt):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        data.create_dataset(make_opt("celebamaskhq", dataroot=str(tmp_path / "nowhere")))
    with pytest.raises(ValueError, match="--dataroot is required"):
        data.create_dataset(make_opt("celebamaskhq"))
    with pytest.raises(FileNotFoundError, match=r"train/labels not found.*CelebAMask-HQ-mask-anno"):
        data.create_dataset(make_opt("celebamaskhq", dataroot=str(tmp_path)))


def test_empty_label_folder(tmp_path, make_opt):
    (tmp_path / "train" / "labels").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"no label files .* in .*labels"):
        data.create_dataset(make_opt("celebamaskhq", dataroot=str(tmp_path)))


def test_label_value_beyond_label_nc_names_file(tmp_path, make_opt, write_png):
    label = face_label(0)
    label[0, 0] = 25
    write_png(tmp_path / "train" / "labels" / "7.png", label)
    dataset = data.create_dataset(make_opt("celebamaskhq", dataroot=str(tmp_path), load_size=SIZE, crop_size=SIZE))
    with pytest.raises(ValueError, match=r"7\.png: label values \[25\]"):
        dataset[0]


def test_image_with_another_shape_is_rejected(tmp_path, make_opt, write_png):
    make_sean(tmp_path, ids=(0,), write_png=write_png)
    Image.new("RGB", (SIZE * 2, SIZE)).save(tmp_path / "train" / "images" / "0.jpg")
    dataset = data.create_dataset(make_opt("celebamaskhq", dataroot=str(tmp_path), load_size=SIZE, crop_size=SIZE))
    with pytest.raises(ValueError, match=r"images/0\.jpg \(32x16\) does not match .*labels/0\.png \(16x16\)"):
        dataset[0]


def test_unpaired_stems_are_named_unless_bypassed(tmp_path, make_opt, write_png):
    make_sean(tmp_path, ids=(0, 1), write_png=write_png)
    (tmp_path / "train" / "images" / "1.jpg").rename(tmp_path / "train" / "images" / "01.jpg")
    with pytest.raises(ValueError, match=r"labels without an image 1: 1;.*images without a label 1: 01"):
        data.create_dataset(make_opt("celebamaskhq", dataroot=str(tmp_path)))
    opt = make_opt("celebamaskhq", dataroot=str(tmp_path), load_size=SIZE, crop_size=SIZE, no_pairing_check=True)
    dataset = data.create_dataset(opt)
    assert dataset.image_paths[1].name == "01.jpg" and dataset[1]["image"].shape == (3, SIZE, SIZE)


def test_corrupt_label_png(tmp_path, make_opt, write_png):
    make_sean(tmp_path, ids=(0,), images=False, write_png=write_png)
    (tmp_path / "train" / "labels" / "0.png").write_bytes(b"\x00garbage\xff" * 10)
    dataset = data.create_dataset(make_opt("celebamaskhq", dataroot=str(tmp_path)))
    with pytest.raises(ValueError, match=r"cannot read image .*0\.png"):
        dataset[0]


def test_unknown_colour_names_the_file(tmp_path, make_opt, write_png):
    rgb = colorize(face_label(0))
    rgb[0, 0] = (10, 20, 30)
    write_png(tmp_path / "train" / "labels" / "5.png", rgb)
    dataset = data.create_dataset(make_opt("celebamaskhq", dataroot=str(tmp_path), load_size=SIZE, crop_size=SIZE))
    with pytest.raises(ValueError, match=r"5\.png: 1 pixels .*\(10, 20, 30\)"):
        dataset[0]

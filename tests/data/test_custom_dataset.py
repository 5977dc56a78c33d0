import numpy as np
import pytest
import torch
from PIL import Image

import data


def test_custom_labels_with_more_classes_and_images(tmp_path, make_opt, write_png):
    label = np.array([[0, 30], [31, 5]], dtype=np.uint8)
    write_png(tmp_path / "lab" / "a.png", label)
    (tmp_path / "img").mkdir()
    Image.new("RGB", (2, 2), (255, 0, 0)).save(tmp_path / "img" / "a.png")
    opt = make_opt(
        "custom",
        label_dir=str(tmp_path / "lab"),
        image_dir=str(tmp_path / "img"),
        label_nc=32,
        load_size=2,
        crop_size=2,
        isTrain=False,
    )
    item = data.create_dataset(opt)[0]
    assert item["label"][0].tolist() == [[0, 30], [31, 5]]
    assert torch.equal(item["image"][:, 0, 0], torch.tensor([1.0, -1.0, -1.0]))


def test_custom_masks_only_and_label_nc_check(tmp_path, make_opt, write_png):
    write_png(tmp_path / "lab" / "a.png", np.array([[0, 30]], dtype=np.uint8))
    opt = make_opt("custom", label_dir=str(tmp_path / "lab"), label_nc=19, preprocess_mode="none")
    dataset = data.create_dataset(opt)
    assert dataset.image_paths is None
    with pytest.raises(ValueError, match=r"a\.png: label values \[30\]"):
        dataset[0]


def test_custom_requires_label_dir_and_existing_folders(tmp_path, make_opt, write_png):
    with pytest.raises(ValueError, match="--label_dir is required"):
        data.create_dataset(make_opt("custom"))
    with pytest.raises(FileNotFoundError, match="nolabels"):
        data.create_dataset(make_opt("custom", label_dir=str(tmp_path / "nolabels")))
    write_png(tmp_path / "lab" / "a.png", np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(FileNotFoundError, match="noimages"):
        data.create_dataset(make_opt("custom", label_dir=str(tmp_path / "lab"), image_dir=str(tmp_path / "noimages")))

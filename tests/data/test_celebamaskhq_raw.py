import numpy as np
import pytest
import torch

import data
from tests.data.conftest import RAW_FACE, RAW_FACE_IDS


def opt_for(make_opt, root, **kw):
    return make_opt("celebamaskhq", dataroot=str(root), load_size=8, crop_size=8, isTrain=False, **kw)


@pytest.mark.parametrize("anno_name", ["CelebAMask-HQ-mask-anno", "CelebAMaskHQ-mask-anno"])
def test_raw_parts_are_painted_in_order_and_split_by_id(tmp_path, make_opt, raw_release, anno_name):
    raw_release(
        tmp_path, {5: RAW_FACE, 27999: {"skin": (0, 8, 0, 8)}, 28000: {"cloth": (4, 8, 0, 8)}}, anno_name=anno_name
    )
    train = data.create_dataset(opt_for(make_opt, tmp_path))
    test = data.create_dataset(opt_for(make_opt, tmp_path), phase="test")
    assert len(train) == 2 and len(test) == 1
    item = train[0]
    assert set(item) == {"label", "path"}
    assert torch.equal(item["label"][0], torch.from_numpy(RAW_FACE_IDS.astype(np.int64)))
    assert item["path"].endswith(f"{anno_name}/0/00005")
    assert train[1]["label"].eq(1).all() and train[1]["path"].endswith("/13/27999")
    assert test[0]["label"][0, 4:].eq(18).all() and test[0]["label"][0, :4].eq(0).all()


def test_raw_release_with_photos_pairs_only_the_split(tmp_path, make_opt, raw_release):
    raw_release(tmp_path, {5: RAW_FACE, 28000: RAW_FACE}, photos={5: 255, 28000: 0})
    item = data.create_dataset(opt_for(make_opt, tmp_path))[0]
    assert item["image"].shape == (3, 8, 8) and torch.allclose(item["image"], torch.ones(3, 8, 8), atol=0.02)
    assert torch.allclose(
        data.create_dataset(opt_for(make_opt, tmp_path), "test")[0]["image"], -torch.ones(3, 8, 8), atol=0.02
    )


def test_raw_release_missing_photo_is_named(tmp_path, make_opt, raw_release):
    raw_release(tmp_path, {5: RAW_FACE, 6: RAW_FACE}, photos={5: 255})
    with pytest.raises(ValueError, match="labels without an image 1: 6"):
        data.create_dataset(opt_for(make_opt, tmp_path))


def test_raw_release_without_ids_in_the_split(tmp_path, make_opt, raw_release):
    raw_release(tmp_path, {5: RAW_FACE})
    with pytest.raises(ValueError, match="no part files of the test split"):
        data.create_dataset(opt_for(make_opt, tmp_path), phase="test")


def test_raw_release_corrupt_part_names_the_file(tmp_path, make_opt, raw_release):
    raw_release(tmp_path, {5: RAW_FACE})
    (tmp_path / "CelebAMask-HQ-mask-anno" / "0" / "00005_neck.png").write_bytes(b"junk")
    dataset = data.create_dataset(opt_for(make_opt, tmp_path))
    with pytest.raises(ValueError, match="00005_neck.png"):
        dataset[0]

import numpy as np
import pytest
import torch

import data
from data.synthetic_dataset import TEST_INDEX_OFFSET
from data.synthetic_faces import synthetic_face


def small(make_opt, **kw):
    return make_opt(
        "synthetic", **{"load_size": 32, "crop_size": 32, "synthetic_size": 4, "synthetic_test_size": 3, **kw}
    )


def test_item_keys_dtypes_and_ranges(make_opt):
    item = data.create_dataset(small(make_opt, isTrain=False))[1]
    assert set(item) == {"label", "image", "path", "params"}
    assert item["label"].dtype == torch.int64 and item["label"].shape == (1, 32, 32)
    assert item["image"].dtype == torch.float32 and item["image"].shape == (3, 32, 32)
    assert -1 <= item["image"].min() and item["image"].max() <= 1
    assert item["path"] == "synthetic/0/1"
    assert all(isinstance(v, float) for v in item["params"].values())
    face = synthetic_face(0, 1, size=32)
    assert torch.equal(item["label"][0], torch.from_numpy(face.label.astype(np.int64)))
    assert item["params"] == face.params.as_dict()


def test_items_are_deterministic_and_collate(make_opt):
    a, b = data.create_dataset(small(make_opt)), data.create_dataset(small(make_opt))
    for i in range(4):
        x, y = a[i], b[i]
        assert torch.equal(x["label"], y["label"]) and torch.equal(x["image"], y["image"])
    batch = torch.utils.data.default_collate([a[0], a[1]])
    assert batch["label"].shape == (2, 1, 32, 32)
    assert all(v.shape == (2,) for v in batch["params"].values())


def test_train_and_test_are_disjoint(make_opt):
    opt = small(make_opt, no_synthetic_images=True)
    train, test = data.create_dataset(opt), data.create_dataset(opt, "test")
    assert len(train) == 4 and len(test) == 3
    assert test[0]["path"] == f"synthetic/0/{TEST_INDEX_OFFSET}"
    train_masks = {train[i]["label"].numpy().tobytes() for i in range(4)}
    assert not train_masks & {test[i]["label"].numpy().tobytes() for i in range(3)}
    assert len(train_masks) == 4


def test_masks_only_and_seed_changes_faces(make_opt):
    item = data.create_dataset(small(make_opt, no_synthetic_images=True))[0]
    assert "image" not in item
    other = data.create_dataset(small(make_opt, no_synthetic_images=True, synthetic_seed=1))[0]
    assert other["path"] == "synthetic/1/0" and not torch.equal(item["label"], other["label"])


def test_drawn_at_load_size_then_cropped(make_opt):
    opt = small(make_opt, crop_size=24, isTrain=False)
    item = data.create_dataset(opt)[0]
    full = torch.from_numpy(synthetic_face(0, 0, size=32).label.astype(np.int64))
    assert torch.equal(item["label"][0], full[4:28, 4:28])


def test_bad_phase_and_label_nc(make_opt):
    with pytest.raises(ValueError, match="no phase 'val'"):
        data.create_dataset(small(make_opt), "val")
    with pytest.raises(ValueError, match="--label_nc 20"):
        data.create_dataset(small(make_opt, label_nc=20))

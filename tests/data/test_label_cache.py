import os

import numpy as np
import pytest
import torch

import data
from data import base_dataset
from data.label_cache import LabelCache, cache_key, open_label_cache
from tests.data.conftest import RAW_FACE, RAW_FACE_IDS


def label_folder(tmp_path, write_png, count=5, side=40):
    """`count` random id maps of side x side (ids 0..18) as grayscale PNGs."""
    rng = np.random.default_rng(0)
    maps = [rng.integers(0, 19, (side, side + 8 * (i % 2)), dtype=np.uint8) for i in range(count)]
    for i, ids in enumerate(maps):
        write_png(tmp_path / "labels" / f"{i:03d}.png", ids)
    return tmp_path / "labels", maps


def custom_opt(make_opt, label_dir, tmp_path, **overrides):
    return make_opt(
        "custom",
        label_dir=str(label_dir),
        label_cache_dir=str(tmp_path / "cache"),
        load_size=24,
        crop_size=16,
        **overrides,
    )


def items(dataset, epoch):
    dataset.set_epoch(epoch)
    return [dataset[i]["label"] for i in range(len(dataset))]


@pytest.mark.parametrize("mode", ["memory", "disk"])
@pytest.mark.parametrize("preprocess", ["resize_and_crop", "scale_width_and_crop", "none"])
def test_cached_items_equal_uncached_items(mode, preprocess, tmp_path, make_opt, write_png):
    label_dir, _ = label_folder(tmp_path, write_png)
    plain = data.create_dataset(custom_opt(make_opt, label_dir, tmp_path, preprocess_mode=preprocess))
    cached = data.create_dataset(
        custom_opt(make_opt, label_dir, tmp_path, preprocess_mode=preprocess, label_cache=mode)
    )
    assert plain.label_cache is None and len(cached.label_cache) == 5
    for epoch in (0, 1):  # random crops and flips are drawn per item, cached or not
        for want, got in zip(items(plain, epoch), items(cached, epoch)):
            assert got.dtype == torch.int64 and torch.equal(got, want)


def test_disk_cache_is_reused_and_refreshed_when_a_file_changes(tmp_path, make_opt, write_png, monkeypatch):
    label_dir, _ = label_folder(tmp_path, write_png)
    opt = custom_opt(make_opt, label_dir, tmp_path, label_cache="disk")
    expected = items(data.create_dataset(opt), 0)

    def no_decoding(*args):
        raise AssertionError("a label file was decoded")

    monkeypatch.setattr(base_dataset, "read_label", no_decoding)
    again = data.create_dataset(opt)  # every map comes from the memory-mapped cache
    assert isinstance(again.label_cache.flat, np.memmap)
    assert all(torch.equal(a, b) for a, b in zip(items(again, 0), expected))
    os.utime(label_dir / "002.png", ns=(1, 1))  # an edited file gives a new key, hence a rebuild
    with pytest.raises(AssertionError, match="decoded"):
        data.create_dataset(opt)
    monkeypatch.undo()
    data.create_dataset(opt)
    assert len(list((tmp_path / "cache").glob("*.index.npz"))) == 2
    assert cache_key([label_dir / "000.png"], {"a": 1}) != cache_key([label_dir / "000.png"], {"a": 2})


def test_memory_cache_stores_resized_maps_and_source_sizes():
    maps = [np.arange(16, dtype=np.uint8).reshape(4, 4), np.full((2, 6), 3, dtype=np.uint8)]
    cache = LabelCache.build(maps.__getitem__, 2, lambda size: (size[0] // 2, size[1] // 2))
    first, source = cache.get(0)
    assert source == (4, 4) and np.array_equal(first, [[5, 7], [13, 15]])  # PIL NEAREST samples pixel centres
    second, source = cache.get(1)
    assert source == (6, 2) and second.shape == (1, 3) and (second == 3).all()


def test_raw_release_is_cached_by_its_part_files(tmp_path, make_opt, raw_release):
    root = raw_release(tmp_path / "raw", {5: RAW_FACE, 9: RAW_FACE})
    opt = make_opt(
        "celebamaskhq",
        dataroot=str(root),
        load_size=8,
        crop_size=8,
        no_flip=True,
        label_cache="disk",
        label_cache_dir=str(tmp_path / "cache"),
    )
    dataset = data.create_dataset(opt)
    assert torch.equal(dataset[1]["label"][0], torch.from_numpy(RAW_FACE_IDS.astype(np.int64)))
    assert len(dataset.label_files(0)) == len(RAW_FACE)


def test_unknown_mode_and_missing_folder_are_rejected():
    with pytest.raises(ValueError, match="'ram'"):
        open_label_cache("ram", lambda i: np.zeros((2, 2), np.uint8), 1, ["a"], lambda s: s, {})
    with pytest.raises(ValueError, match="label_cache_dir"):
        open_label_cache("disk", lambda i: np.zeros((2, 2), np.uint8), 1, ["a"], lambda s: s, {}, folder=None)

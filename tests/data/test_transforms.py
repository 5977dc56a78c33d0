import numpy as np
import pytest
import torch
from PIL import Image

from data.transforms import (
    PREPROCESS_MODES,
    PreprocessConfig,
    TransformParams,
    get_params,
    resized_size,
    transform_image,
    transform_label,
)

RNG = np.random.default_rng


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("resize_and_crop", (32, 32)),
        ("crop", (60, 40)),
        ("scale_width", (32, 21)),
        ("scale_width_and_crop", (32, 21)),
        ("scale_shortside_and_crop", (48, 32)),
        ("fixed", (16, 8)),
        ("none", (64, 32)),
    ],
)
def test_resized_size_per_mode(mode, expected):
    cfg = PreprocessConfig(mode, load_size=32, crop_size=16, aspect_ratio=2.0)
    assert resized_size(cfg, (60, 40)) == expected


def test_unknown_mode_and_bad_sizes():
    with pytest.raises(ValueError, match="'zoom'"):
        PreprocessConfig("zoom", 32, 32)
    with pytest.raises(ValueError, match="crop_size=0"):
        PreprocessConfig("crop", 32, 0)


def test_crop_larger_than_sample_is_reported():
    with pytest.raises(ValueError, match="--crop_size 40 is larger than the 32x32"):
        get_params(PreprocessConfig("resize_and_crop", 32, 40), (64, 64), RNG(0))


def test_nearest_resize_keeps_ids_exact():
    label = np.random.default_rng(0).integers(0, 19, (37, 53)).astype(np.uint8)
    label[:, :3] = 18
    for size in [(16, 16), (64, 80), (37, 53)]:
        out = transform_label(label, TransformParams(size, None, False))
        assert out.shape == (1, size[1], size[0]) and out.dtype == torch.int64
        assert set(out.unique().tolist()) <= set(np.unique(label).tolist())
    up = transform_label(label[:4, :4], TransformParams((8, 8), None, False))[0]
    assert torch.equal(up[::2, ::2], torch.from_numpy(label[:4, :4].astype(np.int64)))


def test_flip_mirrors_and_swaps_left_right_classes():
    label = np.zeros((4, 6), dtype=np.uint8)
    label[1, 4] = 4  # l_eye on the image's right
    label[2, 5] = 8  # l_ear
    label[0, 0] = 7  # r_brow on the image's left
    label[3, 1] = 2  # nose is not paired
    out = transform_label(label, TransformParams((6, 4), None, True))[0]
    assert out[1, 1] == 5  # r_eye, now on the left
    assert out[2, 0] == 9
    assert out[0, 5] == 6
    assert out[3, 4] == 2
    assert int((out != 0).sum()) == 4


def test_image_is_float_in_minus_one_one_and_flips_with_the_label():
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[..., 0] = np.arange(6) * 51  # red ramp 0..255 left to right
    image = Image.fromarray(rgb)
    out = transform_image(image, TransformParams((6, 4), None, False))
    assert out.shape == (3, 4, 6) and out.dtype == torch.float32
    assert out[0, 0, 0] == -1.0 and out[0, 0, 5] == 1.0 and out[1].eq(-1.0).all()
    flipped = transform_image(image, TransformParams((6, 4), None, True))
    assert torch.equal(flipped, out.flip(-1))


def test_random_crop_and_flip_are_shared_by_label_and_image():
    rows, cols = np.mgrid[:64, :64]
    label = ((cols * 7 + rows) % 4).astype(np.uint8)  # ids 0-3: no left/right class, flips keep them
    image = Image.fromarray(np.stack([label * 50, rows * 3, cols * 3], axis=-1).astype(np.uint8))
    cfg = PreprocessConfig("crop", 64, 24, augment=True)
    seen = set()
    for seed in range(12):
        params = get_params(cfg, (64, 64), RNG(seed))
        left, top, right, bottom = params.crop
        seen.add((left, top, params.flip))
        lab = transform_label(label, params)[0]
        img = ((transform_image(image, params) + 1) * 127.5).round()
        expected = torch.from_numpy(label[top:bottom, left:right].astype(np.int64))
        assert torch.equal(lab, expected.flip(-1) if params.flip else expected)
        assert torch.equal(img[0], lab.float() * 50)  # the image moved exactly like the label
        assert img[1, 0, 0] == top * 3 and img[2, 0, 0] == (right - 1 if params.flip else left) * 3
    assert len(seen) > 6 and {f for *_, f in seen} == {True, False}


def test_without_augmentation_crop_is_centred_and_nothing_flips():
    cfg = PreprocessConfig("resize_and_crop", 40, 30, augment=False)
    for seed in range(5):
        assert get_params(cfg, (64, 64), RNG(seed)) == TransformParams((40, 40), (5, 5, 35, 35), False)
    no_flip = PreprocessConfig("crop", 32, 32, augment=True, flip=False)
    assert not any(get_params(no_flip, (32, 32), RNG(s)).flip for s in range(20))


def test_same_rng_seed_same_params():
    cfg = PreprocessConfig("scale_shortside_and_crop", 48, 32, augment=True)
    assert get_params(cfg, (100, 70), RNG(3)) == get_params(cfg, (100, 70), RNG(3))


def test_every_mode_gives_matching_label_and_image_shapes():
    label = np.ones((40, 60), dtype=np.uint8)
    image = Image.new("RGB", (120, 80))  # twice the label's resolution, same shape
    for mode in PREPROCESS_MODES:
        params = get_params(PreprocessConfig(mode, 32, 16, aspect_ratio=2.0, augment=True), (60, 40), RNG(0))
        assert transform_label(label, params).shape[1:] == transform_image(image, params).shape[1:]

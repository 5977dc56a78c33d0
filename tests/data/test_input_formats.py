"""Inputs read by what they hold, not by what they are called: palette colours, JPEG bytes, 16-bit photos, bombs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import data
from shape_editor.labels import colorize
from data.mask_io import read_image, read_label
from data.synthetic_faces import synthetic_face
from options.train_options import TrainOptions


def face_ids(index: int = 0) -> np.ndarray:
    return synthetic_face(0, index, size=32, with_image=False).label


def test_a_quantised_colour_mask_is_decoded_by_colour(tmp_path):
    ids = face_ids()
    quantised = Image.fromarray(colorize(ids)).quantize(colors=32, method=Image.Quantize.MAXCOVERAGE, dither=0)
    indices = np.asarray(quantised)
    assert (indices != ids).mean() > 0.5  # read by index, most pixels would get the wrong class
    quantised.save(tmp_path / "mask.png")
    np.testing.assert_array_equal(read_label(tmp_path / "mask.png", 19), ids)


def test_a_palette_of_other_colours_keeps_its_indices(tmp_path):
    ids = face_ids()
    image = Image.fromarray(ids, mode="P")
    image.putpalette([v for k in range(256) for v in (k, k, 255 - k)])  # not the CelebAMask-HQ colours
    image.save(tmp_path / "mask.png")
    np.testing.assert_array_equal(read_label(tmp_path / "mask.png", 19), ids)


def test_jpeg_bytes_in_a_png_label_file_are_refused(tmp_path):
    Image.fromarray(face_ids()).save(tmp_path / "mask.png", format="JPEG", quality=95)
    with pytest.raises(ValueError, match=r"mask\.png: holds JPEG data, a lossy format"):
        read_label(tmp_path / "mask.png", 19)


def test_16_bit_photos_keep_their_range(tmp_path):
    values = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "photo16.png")
    rgb = np.asarray(read_image(tmp_path / "photo16.png"))
    assert rgb.shape == (64, 64, 3)
    np.testing.assert_allclose(rgb[..., 0], values / 257, atol=1)  # not all white


def test_a_decompression_bomb_is_named_and_can_be_skipped(tmp_path, monkeypatch):
    labels = tmp_path / "labels"
    labels.mkdir()
    for i in range(3):
        Image.fromarray(face_ids(i)).save(labels / f"{i}.png")
    Image.fromarray(np.zeros((64, 64), dtype=np.uint8)).save(labels / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1500)  # the 32x32 faces pass, 64x64 counts as a bomb
    with pytest.raises(ValueError, match="bomb.png"):
        read_label(labels / "bomb.png", 19)
    base = [
        "--dataset_mode",
        "custom",
        "--label_dir",
        str(labels),
        "--load_size",
        "16",
        "--crop_size",
        "16",
        "--checkpoints_dir",
        str(tmp_path / "ck"),
        "--check_dataset",
        "on",
    ]
    with pytest.raises(ValueError, match="bomb.png: too large to decode safely"):
        data.create_dataset(TrainOptions().parse(base))
    assert len(data.create_dataset(TrainOptions().parse([*base, "--skip_bad_files"]))) == 3

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from shape_editor.labels import NUM_CLASSES, PALETTE
from util.image import (
    safe_filename,
    save_image,
    save_label_png,
    tensor_to_image,
    tensor_to_label_image,
    to_visual,
    unique_stems,
)

IDS = torch.tensor([[0, 2], [13, 18]])


def test_label_image_uses_celebamaskhq_palette() -> None:
    out = tensor_to_label_image(IDS)
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    assert tuple(out[0, 1]) == (76, 153, 0)  # nose
    assert tuple(out[0, 0]) == (0, 0, 0)
    assert tuple(out[1, 0]) == (0, 0, 204)  # hair
    assert tuple(out[1, 1]) == (0, 204, 0)  # cloth


@pytest.mark.parametrize(
    "label",
    [
        IDS[None],  # [1, H, W] long
        IDS.float()[None],  # SPADE keeps ids in a float tensor
        torch.nn.functional.one_hot(IDS, NUM_CLASSES).permute(2, 0, 1).float(),  # [C, H, W] one-hot
        IDS.numpy().astype(np.uint8),
    ],
)
def test_label_image_accepts_all_layouts(label) -> None:
    np.testing.assert_array_equal(tensor_to_label_image(label), PALETTE[IDS.numpy()])


def test_label_image_paints_unknown_ids_white_and_rejects_bad_shape() -> None:
    assert tuple(tensor_to_label_image(np.array([[200]]))[0, 0]) == (255, 255, 255)
    with pytest.raises(ValueError, match="shape"):
        tensor_to_label_image(torch.zeros(2, 1, 4, 4, dtype=torch.long))


def test_tensor_to_image_maps_range_and_layout() -> None:
    image = torch.zeros(3, 2, 2)
    image[0] = -1.0
    image[1] = 1.0
    image[2, 0, 0] = 3.0  # clipped
    image[2, 1, 1] = -5.0
    out = tensor_to_image(image)
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    assert (out[..., 0] == 0).all() and (out[..., 1] == 255).all()
    assert out[0, 0, 2] == 255 and out[1, 1, 2] == 0 and out[0, 1, 2] == 128


def test_tensor_to_image_grayscale_and_half() -> None:
    gray = torch.full((1, 2, 3), 1.0, dtype=torch.bfloat16)
    out = tensor_to_image(gray)
    assert out.shape == (2, 3, 3) and (out == 255).all()
    with pytest.raises(ValueError, match="shape"):
        tensor_to_image(torch.zeros(4, 2, 2))


def test_to_visual_dispatch() -> None:
    torch.manual_seed(0)
    picture = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    assert to_visual(picture) is picture
    np.testing.assert_array_equal(to_visual(IDS), PALETTE[IDS.numpy()])
    np.testing.assert_array_equal(to_visual(torch.ones(3, 2, 2)), np.full((2, 2, 3), 255, np.uint8))
    logits = torch.randn(NUM_CLASSES, 6, 6)
    np.testing.assert_array_equal(to_visual(logits), PALETTE[logits.argmax(0).numpy()])
    np.testing.assert_array_equal(to_visual(torch.tensor([[True, False]])), PALETTE[[[1, 0]]])


def test_save_image_is_atomic_and_overwrites(tmp_path) -> None:
    path = tmp_path / "a" / "b" / "out.png"
    save_image(np.zeros((4, 4, 3), np.uint8), path)
    save_image(np.full((4, 4, 3), 7, np.uint8), path)
    assert (np.asarray(Image.open(path)) == 7).all()
    assert [p.name for p in path.parent.iterdir()] == ["out.png"]


def test_save_image_failure_keeps_old_file_and_no_temp(tmp_path, monkeypatch) -> None:
    path = tmp_path / "out.png"
    save_image(np.zeros((4, 4, 3), np.uint8), path)
    before = path.read_bytes()

    def broken_save(self, fp, format=None, **kwargs):
        Path(fp).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_image(np.full((4, 4, 3), 9, np.uint8), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_save_image_format_by_suffix(tmp_path) -> None:
    save_image(np.zeros((8, 8, 3), np.uint8), tmp_path / "x.JPG")
    assert Image.open(tmp_path / "x.JPG").format == "JPEG"
    with pytest.raises(ValueError, match="suffix"):
        save_image(np.zeros((8, 8, 3), np.uint8), tmp_path / "x.bmp")
    with pytest.raises(ValueError, match="uint8"):
        save_image(np.zeros((8, 8, 3), np.float32), tmp_path / "x.png")


def test_save_label_png_round_trips_ids(tmp_path) -> None:
    ids = np.arange(NUM_CLASSES, dtype=np.int64).reshape(1, 1, NUM_CLASSES)
    save_label_png(torch.from_numpy(ids), tmp_path / "l.png")
    loaded = Image.open(tmp_path / "l.png")
    assert loaded.mode == "L"
    np.testing.assert_array_equal(np.asarray(loaded), ids[0])
    with pytest.raises(ValueError, match="png"):
        save_label_png(ids, tmp_path / "l.jpg")
    with pytest.raises(ValueError, match="0, 255"):
        save_label_png(np.array([[256]]), tmp_path / "m.png")
    with pytest.raises(ValueError, match="whole"):
        save_label_png(np.array([[0.5]]), tmp_path / "m.png")


def test_safe_filename_and_unique_stems() -> None:
    assert safe_filename("../evil") == "_evil"
    assert safe_filename("..") == "_"
    assert safe_filename("a b/c\\d#?.png") == "a_b_c_d_.png"
    assert safe_filename("visage été") == "visage_été"
    assert len(safe_filename("é" * 300).encode("utf-8")) <= 100
    assert unique_stems(["a", "A", "a", "b"]) == ["a", "A_2", "a_3", "b"]

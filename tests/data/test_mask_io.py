import numpy as np
import pytest
from PIL import Image

from data.mask_io import check_label_values, combine_parts, index_raw_parts, read_image, read_label
from shape_editor.labels import PALETTE, RAW_PART_ORDER, colorize

# A 3x4 map touching ids of both orders' interesting ranges.
IDS = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [10, 13, 17, 18]], dtype=np.uint8)


def test_grayscale_ids_are_read_as_they_are(tmp_path, write_png):
    path = write_png(tmp_path / "a.png", IDS)
    out = read_label(path, 19)
    assert out.dtype == np.uint8 and np.array_equal(out, IDS)


def test_16_bit_grayscale_ids(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(IDS.astype(np.uint16)).save(path)
    assert Image.open(path).mode.startswith("I")
    assert np.array_equal(read_label(path, 19), IDS)


def test_colour_mask_decodes_both_colours_of_id_7(tmp_path, write_png):
    rgb = colorize(IDS)
    rgb[0, 0] = (255, 204, 204)  # the older script's r_brow colour
    path = write_png(tmp_path / "c.png", rgb)
    expected = IDS.copy()
    expected[0, 0] = 7
    assert np.array_equal(read_label(path, 19), expected)


def test_palette_png_uses_indices_not_colours(tmp_path):
    img = Image.fromarray(IDS).convert("P")
    img.putpalette([255 - (i % 256) for i in range(768)])  # colours that mean nothing
    img.putdata(IDS.flatten().tolist())
    img.save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    assert np.array_equal(read_label(tmp_path / "p.png", 19), IDS)


def test_rgb_with_equal_channels_is_an_id_map(tmp_path, write_png):
    path = write_png(tmp_path / "g.png", np.repeat(IDS[..., None], 3, axis=2))
    assert np.array_equal(read_label(path, 19), IDS)


def test_bisenet_order_is_converted_to_standard(tmp_path, write_png):
    # BiSeNet ids: 2 l_brow, 4 l_eye, 10 nose, 14 neck, 17 hair, 18 hat.
    path = write_png(tmp_path / "b.png", np.array([[0, 1, 2, 4, 10, 14, 17, 18]], dtype=np.uint8))
    assert read_label(path, 19, "bisenet").tolist() == [[0, 1, 6, 4, 2, 17, 13, 14]]


def test_colour_masks_ignore_the_id_order(tmp_path, write_png):
    path = write_png(tmp_path / "c.png", colorize(IDS))
    assert np.array_equal(read_label(path, 19, "bisenet"), IDS)


def test_values_beyond_label_nc_name_the_file_and_values(tmp_path, write_png):
    path = write_png(tmp_path / "bad.png", np.array([[0, 19, 200, 19]], dtype=np.uint8))
    with pytest.raises(ValueError, match=r"bad\.png.*\[19, 200\]"):
        read_label(path, 19)
    assert read_label(path, 201).tolist() == [[0, 19, 200, 19]]


def test_unknown_colour_names_file_and_colour(tmp_path, write_png):
    rgb = colorize(IDS)
    rgb[1, 1] = (1, 2, 3)
    path = write_png(tmp_path / "odd.png", rgb)
    with pytest.raises(ValueError, match=r"odd\.png: 1 pixels.*\(1, 2, 3\)"):
        read_label(path, 19)


@pytest.mark.parametrize("content", [b"not a png at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_corrupt_file_raises_value_error_naming_it(tmp_path, content):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="broken.png"):
        read_label(path, 19)
    with pytest.raises(ValueError, match="broken.png"):
        read_image(path)


def test_truncated_png_raises_value_error(tmp_path, write_png):
    path = write_png(tmp_path / "t.png", np.random.default_rng(0).integers(0, 19, (64, 64)))
    path.write_bytes(path.read_bytes()[:-60])
    with pytest.raises(ValueError, match="t.png"):
        read_label(path, 19)


def test_missing_file_and_bad_order(tmp_path, write_png):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_label(tmp_path / "nope.png", 19)
    path = write_png(tmp_path / "a.png", IDS)
    with pytest.raises(ValueError, match="'celeba'"):
        read_label(path, 19, "celeba")
    with pytest.raises(ValueError, match="--label_nc 19"):
        read_label(path, 20, "bisenet")


def test_check_label_values_accepts_the_full_range():
    check_label_values(np.arange(19), 19, "x")
    with pytest.raises(ValueError, match=r"x: label values \[-1\]"):
        check_label_values(np.array([-1, 3]), 19, "x")


def _part(tmp_path, index, name, box):
    mask = np.zeros((8, 8), dtype=np.uint8)
    r0, r1, c0, c1 = box
    mask[r0:r1, c0:c1] = 255
    path = tmp_path / str(index // 2000) / f"{index:05d}_{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mask).save(path)
    return path


def test_combine_parts_paints_in_order_later_parts_win(tmp_path):
    parts = {  # given out of painter's order on purpose
        "hair": _part(tmp_path, 3, "hair", (0, 3, 0, 8)),
        "skin": _part(tmp_path, 3, "skin", (2, 8, 2, 6)),
        "nose": _part(tmp_path, 3, "nose", (4, 6, 3, 5)),
        "l_eye": _part(tmp_path, 3, "l_eye", (3, 4, 4, 6)),
    }
    label = combine_parts(parts)
    assert label[0, 0] == 13  # hair alone
    assert label[2, 3] == 13  # hair (13) paints over skin (1)
    assert label[3, 4] == 4 and label[3, 2] == 1  # l_eye over skin
    assert label[5, 3] == 2  # nose over skin
    assert label[7, 0] == 0 and label[7, 2] == 1
    assert set(np.unique(label)) == {0, 1, 2, 4, 13}


def test_combine_parts_errors(tmp_path, write_png):
    skin = _part(tmp_path, 1, "skin", (0, 4, 0, 4))
    big = write_png(tmp_path / "00001_nose.png", np.zeros((9, 8), np.uint8))
    with pytest.raises(ValueError, match="00001_nose.png"):
        combine_parts({"skin": skin, "nose": big})
    with pytest.raises(ValueError, match="unknown part names"):
        combine_parts({"beard": skin})
    with pytest.raises(ValueError, match="no part files"):
        combine_parts({})


def test_index_raw_parts_groups_files_by_id(tmp_path):
    _part(tmp_path, 1, "skin", (0, 1, 0, 1))
    _part(tmp_path, 1, "neck_l", (0, 1, 0, 1))
    _part(tmp_path, 2001, "neck", (0, 1, 0, 1))
    (tmp_path / "0" / "readme.txt").write_text("x")
    index = index_raw_parts(tmp_path)
    assert list(index) == [1, 2001]
    assert sorted(index[1]) == ["neck_l", "skin"] and list(index[2001]) == ["neck"]
    assert index[2001]["neck"] == tmp_path / "1" / "02001_neck.png"
    assert len(RAW_PART_ORDER) == len(PALETTE) - 1

from pathlib import Path

import pytest

from data.image_folder import IMAGE_EXTENSIONS, LABEL_EXTENSIONS, list_files, natural_key, pair_by_stem


def test_natural_sort_orders_numbers_by_value():
    names = ["10.png", "2.png", "img10.png", "img2.png", "1.png"]
    assert sorted(names, key=natural_key) == ["1.png", "2.png", "10.png", "img2.png", "img10.png"]


def test_list_files_filters_extensions_case_insensitively(tmp_path):
    for name in ["3.PNG", "20.png", "1.jpg", "notes.txt"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in list_files(tmp_path, LABEL_EXTENSIONS)] == ["3.PNG", "20.png"]
    assert [p.name for p in list_files(tmp_path, IMAGE_EXTENSIONS)] == ["1.jpg", "3.PNG", "20.png"]
    with pytest.raises(FileNotFoundError, match="missing"):
        list_files(tmp_path / "missing", LABEL_EXTENSIONS)


def test_pairing_by_stem_follows_label_order():
    images = [Path("i/2.jpg"), Path("i/10.jpg"), Path("i/1.jpg")]
    assert pair_by_stem(["1", "2", "10"], images) == [Path("i/1.jpg"), Path("i/2.jpg"), Path("i/10.jpg")]


def test_pairing_error_names_unpaired_stems_both_ways():
    with pytest.raises(
        ValueError,
        match=r"labels without an image 1: 7;.*images without a label 2: 8, 9.*"
        r"--no_pairing_check",
    ):
        pair_by_stem(["1", "7"], [Path("1.jpg"), Path("9.jpg"), Path("8.jpg")], where=" (here)")


def test_pairing_error_caps_the_list():
    with pytest.raises(ValueError, match=r"labels without an image 12: 0, 1, .*, 9 \(and 2 more\)"):
        pair_by_stem([str(i) for i in range(12)], [])


def test_duplicate_image_stems_are_ambiguous():
    with pytest.raises(ValueError, match="share the stem '1'"):
        pair_by_stem(["1"], [Path("1.jpg"), Path("1.png")])


def test_without_check_pairs_by_sorted_position():
    images = [Path("b_10.jpg"), Path("b_2.jpg")]
    assert pair_by_stem(["a_2", "a_10"], images, check=False) == [Path("b_2.jpg"), Path("b_10.jpg")]
    with pytest.raises(ValueError, match="cannot pair 1 labels with 2 images"):
        pair_by_stem(["a"], images, check=False)

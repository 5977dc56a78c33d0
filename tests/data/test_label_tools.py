import numpy as np
import pytest
from PIL import Image

from data.label_tools import (
    FORMATS,
    closest_order,
    convert_folder,
    encode_label,
    format_histogram,
    label_histogram,
    main,
    palette_for,
)
from data.mask_io import read_label
from data.synthetic_faces import synthetic_face
from shape_editor.labels import BISENET_NAMES, LABEL_NAMES, NUM_CLASSES, PALETTE, colorize, convert_order
from tests.reliability.helpers import folder_digest, one_error_line, run_entry


@pytest.fixture
def label_dir(tmp_path):
    """Three standard id PNGs: every class appears (ids 0..18 in a ramp), plus two synthetic faces."""
    folder = tmp_path / "standard"
    folder.mkdir()
    ramp = np.repeat(np.arange(NUM_CLASSES, dtype=np.uint8), 2)[None].repeat(4, 0)  # (4, 38)
    Image.fromarray(ramp, mode="L").save(folder / "0.png")
    for i in (1, 2):
        Image.fromarray(synthetic_face(0, i, 48, with_image=False).label, mode="L").save(folder / f"{i}.png")
    return folder


def read_all(folder, order="standard"):
    return {p.stem: read_label(p, NUM_CLASSES, order) for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", FORMATS)
def test_standard_round_trip_through_every_format_is_exact(label_dir, tmp_path, fmt):
    report = convert_folder(label_dir, tmp_path / fmt, "standard", "standard", fmt)
    assert report == (3, 3, {})
    original, converted = read_all(label_dir), read_all(tmp_path / fmt)
    assert original.keys() == converted.keys()
    assert all(np.array_equal(original[k], converted[k]) for k in original)


@pytest.mark.parametrize("fmt", ["id", "palette"])
def test_bisenet_round_trip_is_exact_and_moves_ids(label_dir, tmp_path, fmt):
    convert_folder(label_dir, tmp_path / "bisenet", "standard", "bisenet", fmt)
    raw = np.asarray(Image.open(tmp_path / "bisenet" / "0.png"))
    # the ramp's column of standard id 2 (nose) now holds BiSeNet id 10
    assert raw[0, 2 * LABEL_NAMES.index("nose")] == BISENET_NAMES.index("nose") == 10
    convert_folder(tmp_path / "bisenet", tmp_path / "back", "bisenet", "standard", "id")
    original, back = read_all(label_dir), read_all(tmp_path / "back")
    assert all(np.array_equal(original[k], back[k]) for k in original)
    assert all(np.array_equal(original[k], v) for k, v in read_all(tmp_path / "bisenet", "bisenet").items())


def test_palette_files_hold_ids_and_show_class_colours():
    ids = np.arange(NUM_CLASSES, dtype=np.uint8)[None]
    image = encode_label(ids, "bisenet", "palette")
    assert image.mode == "P"
    assert np.array_equal(np.asarray(image), convert_order(ids, "standard", "bisenet"))
    colours = np.asarray(image.convert("RGB"))[0]
    assert np.array_equal(colours, PALETTE)  # each class keeps its CelebAMask-HQ colour in either order
    assert np.array_equal(palette_for("bisenet")[BISENET_NAMES.index("hair")], PALETTE[LABEL_NAMES.index("hair")])


def test_colour_output_needs_the_standard_order(label_dir, tmp_path):
    with pytest.raises(ValueError, match="no id order"):
        convert_folder(label_dir, tmp_path / "out", "standard", "bisenet", "color")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="jpeg"):
        encode_label(np.zeros((2, 2), np.uint8), "standard", "jpeg")


def test_unreadable_and_out_of_range_files_are_skipped_and_listed(label_dir, tmp_path):
    (label_dir / "broken.png").write_bytes(b"not a png")
    Image.fromarray(np.full((4, 4), 255, np.uint8), mode="L").save(label_dir / "ignore.png")
    report = convert_folder(label_dir, tmp_path / "out", "standard", "standard", "id")
    assert report.files == 5 and report.done == 3
    assert {p.rsplit("/", 1)[1] for p in report.failed} == {"broken.png", "ignore.png"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0.png", "1.png", "2.png"]
    assert main(["convert", "--input", str(label_dir), "--output", str(tmp_path / "cli")]) == 1


def test_histogram_counts_pixels_files_and_flags_bad_values(tmp_path):
    folder = tmp_path / "labels"
    folder.mkdir()
    a = np.zeros((2, 4), np.uint8)
    a[0, :2] = 2  # 2 nose pixels, 6 background
    b = np.full((2, 2), 13, np.uint8)
    b[1, 1] = 255  # 3 hair, one out-of-range value
    Image.fromarray(a, mode="L").save(folder / "a.png")
    Image.fromarray(b, mode="L").save(folder / "b.png")
    (folder / "c.png").write_bytes(b"broken")
    hist = label_histogram(folder)
    assert hist.pixels[[0, 2, 13]].tolist() == [6, 2, 3] and hist.pixels.sum() == 11
    assert hist.files_with[[0, 2, 13, 1]].tolist() == [1, 1, 1, 0]
    assert hist.out_of_range == {255: 1} and [p.rsplit("/", 1)[1] for p in hist.out_of_range_files] == ["b.png"]
    assert list(hist.report.failed) == [str(folder / "c.png")]
    text = format_histogram(hist, "standard")
    assert " 13  hair" in text and "0.2500" in text  # 3 of 12 pixels
    assert "255: 1 px" in text and "unreadable" in text and "c.png" in text


def test_histogram_reads_bisenet_ids_in_the_standard_table(tmp_path):
    folder = tmp_path / "labels"
    folder.mkdir()
    Image.fromarray(np.full((2, 2), BISENET_NAMES.index("hair"), np.uint8), mode="L").save(folder / "a.png")
    hist = label_histogram(folder, order="bisenet")
    assert hist.pixels[LABEL_NAMES.index("hair")] == 4
    with pytest.raises(ValueError, match="label_nc 19"):
        label_histogram(folder, label_nc=20, order="bisenet")


def test_histogram_warns_when_the_shares_fit_the_other_order(label_dir, tmp_path, capsys):
    faces = np.stack([synthetic_face(0, i, 48, with_image=False).label for i in range(8)])
    shares = np.bincount(faces.ravel(), minlength=NUM_CLASSES) / faces.size
    assert closest_order(shares) == "standard"
    assert closest_order(shares[convert_order(np.arange(NUM_CLASSES), "bisenet", "standard")]) == "bisenet"
    convert_folder(label_dir, tmp_path / "bisenet", "standard", "bisenet", "id")
    assert main(["histogram", str(tmp_path / "bisenet")]) == 0
    assert "fit --label_order bisenet better" in capsys.readouterr().out
    assert main(["histogram", str(tmp_path / "bisenet"), "--label_order", "bisenet"]) == 0
    assert "better" not in capsys.readouterr().out


def test_convert_refuses_an_output_inside_its_input(label_dir, capsys):
    before = folder_digest(label_dir)
    for output in (label_dir, label_dir / "converted"):
        status, stderr = run_entry(main, ["convert", "--input", str(label_dir), "--output", str(output)], capsys)
        assert status == 2 and "inside the input folder" in one_error_line(stderr)
    assert folder_digest(label_dir) == before


def test_convert_refuses_two_inputs_that_write_one_output(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    for name in ("0.png", "0.tif"):
        Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(tmp_path / "in" / name)
    status, stderr = run_entry(
        main, ["convert", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")], capsys
    )
    assert status == 2 and "0.png and 0.tif" in one_error_line(stderr)
    assert not (tmp_path / "out").exists()


def test_histogram_warns_about_palette_files_read_by_colour(tmp_path, capsys):
    ids = synthetic_face(0, 0, size=32, with_image=False).label
    (tmp_path / "in").mkdir()
    Image.fromarray(colorize(ids)).quantize(colors=32, dither=0).save(tmp_path / "in" / "0.png")
    assert main(["histogram", str(tmp_path / "in")]) == 0
    out = capsys.readouterr().out
    assert "WARNING 1 palette files hold CelebAMask-HQ colours whose indices are not the class ids" in out
    skin = next(line for line in out.splitlines() if line.split()[:2] == ["1", "skin"])
    assert float(skin.split()[2]) == pytest.approx((ids == 1).mean(), abs=1e-4)


def test_palette_files_written_by_convert_raise_no_warning(label_dir, tmp_path, capsys):
    main(["convert", "--input", str(label_dir), "--output", str(tmp_path / "pal"), "--format", "palette"])
    main(["histogram", str(tmp_path / "pal")])
    assert "palette files" not in capsys.readouterr().out

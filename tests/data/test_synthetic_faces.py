"""The procedural face generator: determinism, valid and complete masks, CelebAMask-HQ layout and class
shares, parameters that control what is drawn, and the rendered image."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import data.synthetic_faces as synthetic_faces
from data.synthetic_faces import FaceParams, draw_face_mask, render_face_image, sample_face_params, synthetic_face
from shape_editor.labels import NUM_CLASSES, flip_labels, part_id

# docs/ARCHITECTURE.md, "Labels": typical pixel shares of the big classes in aligned CelebAMask-HQ masks.
BIG_SHARES = {"background": 0.30, "hair": 0.31, "skin": 0.25, "neck": 0.046, "cloth": 0.03, "nose": 0.02}
# Small classes: (low, high) bounds around docs/ARCHITECTURE.md's 0.002-0.007 per eye/brow/ear/lip, mouth 0.003,
# eye_g 0.002, hat 0.001 (rare, so only an upper bound), ear_r 0.0015.
SMALL_SHARES = {
    "l_eye": (0.0015, 0.008),
    "r_eye": (0.0015, 0.008),
    "l_brow": (0.0015, 0.008),
    "r_brow": (0.0015, 0.008),
    "l_ear": (0.0015, 0.008),
    "r_ear": (0.0015, 0.008),
    "u_lip": (0.0015, 0.008),
    "l_lip": (0.0015, 0.008),
    "mouth": (0.001, 0.009),
    "eye_g": (0.0007, 0.006),
    "hat": (0.0, 0.006),
    "ear_r": (0.0005, 0.0045),
    "neck_l": (0.0, 0.003),
}
ALWAYS_PRESENT = ("background", "skin", "nose", "l_eye", "r_eye", "l_brow", "r_brow", "u_lip", "l_lip", "neck", "cloth")


def centroid(label: np.ndarray, name: str) -> tuple[float, float]:
    """(x, y) centroid of a class, in pixels."""
    ys, xs = np.nonzero(label == part_id(name))
    return float(xs.mean()), float(ys.mean())


def plain_face(**changes: float) -> FaceParams:
    """A sampled face, upright and centred, with the given fields replaced."""
    params = sample_face_params(np.random.default_rng(5))
    return dataclasses.replace(params, **{"roll_deg": 0.0, "center_x": 0.5, **changes})


def test_same_seed_and_index_give_identical_samples() -> None:
    a, b = synthetic_face(3, 7, size=64), synthetic_face(3, 7, size=64)
    np.testing.assert_array_equal(a.label, b.label)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.params == b.params


def test_samples_do_not_depend_on_call_order() -> None:
    forward = [synthetic_face(1, i, size=48).label for i in range(4)]
    backward = [synthetic_face(1, i, size=48).label for i in reversed(range(4))][::-1]
    for f, b in zip(forward, backward):
        np.testing.assert_array_equal(f, b)


def test_different_indices_and_seeds_give_different_masks() -> None:
    base = synthetic_face(0, 0, size=64, with_image=False).label
    assert (base != synthetic_face(0, 1, size=64, with_image=False).label).any()
    assert (base != synthetic_face(1, 0, size=64, with_image=False).label).any()


def test_mask_only_sample_has_no_image_but_the_same_label() -> None:
    masked = synthetic_face(2, 3, size=64, with_image=False)
    assert masked.image is None
    np.testing.assert_array_equal(masked.label, synthetic_face(2, 3, size=64).label)


@pytest.mark.parametrize("size", [32, 64, 97, 257])
def test_mask_is_a_valid_label_map(size: int) -> None:
    for index in range(5):
        face = synthetic_face(0, index, size=size)
        assert face.label.dtype == np.uint8 and face.label.shape == (size, size)
        assert face.label.max() < NUM_CLASSES
        assert face.image.dtype == np.uint8 and face.image.shape == (size, size, 3)


def test_every_expected_part_is_present() -> None:
    for index in range(20):
        face = synthetic_face(4, index, size=128, with_image=False)
        present = set(np.unique(face.label).tolist())
        for name in ALWAYS_PRESENT:
            assert part_id(name) in present, f"face {index} has no {name}"
        assert (part_id("hair") in present) == (face.params.hair_style != 0)
        assert (part_id("eye_g") in present) == face.params.glasses
        assert (part_id("ear_r") in present) == face.params.earrings


def test_bald_face_has_no_hair_and_skin_on_top() -> None:
    label = draw_face_mask(plain_face(hair_style=0, hat=False), 128)
    assert not (label == part_id("hair")).any()
    column = label[:, 64]
    assert column[np.nonzero(column)[0][0]] == part_id("skin")


def test_layout_matches_aligned_celebamaskhq() -> None:
    for index in range(10):
        label = synthetic_face(6, index, size=128, with_image=False).label
        c = {name: centroid(label, name) for name in (*ALWAYS_PRESENT[1:], "l_ear", "r_ear")}
        assert c["l_eye"][0] > 64 > c["r_eye"][0]  # person's left = image right
        assert c["l_brow"][0] > 64 > c["r_brow"][0]
        assert c["l_ear"][0] > c["l_eye"][0] and c["r_ear"][0] < c["r_eye"][0]
        assert c["l_brow"][1] < c["l_eye"][1] < c["nose"][1] < c["u_lip"][1] < c["l_lip"][1]
        assert c["neck"][1] < c["cloth"][1]
        assert (label[-1] == part_id("cloth")).any()
        eye_y, lip_y = c["l_eye"][1] * 512 / 128, c["u_lip"][1] * 512 / 128
        assert 225 < eye_y < 265 and 355 < lip_y < 395  # docs/ARCHITECTURE.md: eyes y~245, upper lip y~375


def test_hair_is_above_the_neck() -> None:
    label = draw_face_mask(plain_face(hair_style=2), 128)
    assert centroid(label, "hair")[1] < centroid(label, "neck")[1]


def test_class_shares_match_celebamaskhq() -> None:
    counts = np.zeros(NUM_CLASSES)
    for index in range(200):
        counts += np.bincount(synthetic_face(0, index, size=64, with_image=False).label.ravel(), minlength=NUM_CLASSES)
    share = counts / counts.sum()
    for name, expected in BIG_SHARES.items():
        assert expected / 1.5 < share[part_id(name)] < expected * 1.5, f"{name}: {share[part_id(name)]:.4f}"
    for name, (low, high) in SMALL_SHARES.items():
        assert low <= share[part_id(name)] <= high, f"{name}: {share[part_id(name)]:.4f}"


def extent(label: np.ndarray, name: str, axis: int) -> int:
    """Rows (axis 0) or columns (axis 1) the class spans."""
    return int(np.any(label == part_id(name), axis=1 - axis).sum())


@pytest.mark.parametrize(
    ("field", "low", "high", "part", "measure"),
    [
        ("nose_length", 0.13, 0.18, "nose", lambda m: extent(m, "nose", 0)),
        ("nose_width", 0.13, 0.18, "nose", lambda m: extent(m, "nose", 1)),
        ("eye_size", 0.07, 0.1, "l_eye", lambda m: int((m == part_id("l_eye")).sum())),
        ("mouth_width", 0.16, 0.22, "u_lip", lambda m: extent(m, "u_lip", 1)),
        ("mouth_open", 0.2, 1.0, "mouth", lambda m: int((m == part_id("mouth")).sum())),
        ("face_width", 0.5, 0.6, "skin", lambda m: extent(m, "skin", 1)),
    ],
)
def test_parameters_control_what_is_drawn(field: str, low: float, high: float, part: str, measure) -> None:
    small = draw_face_mask(plain_face(**{field: low}), 256)
    large = draw_face_mask(plain_face(**{field: high}), 256)
    assert measure(large) > measure(small) > 0


def test_larger_nose_length_gives_a_taller_nose_by_that_length() -> None:
    short, long = (draw_face_mask(plain_face(nose_length=n), 256) for n in (0.13, 0.17))
    assert extent(long, "nose", 0) - extent(short, "nose", 0) == pytest.approx(0.04 * 256, abs=2)


def test_upright_symmetric_face_mirrors_onto_itself() -> None:
    params = plain_face(fringe=0, hat=False)
    label = draw_face_mask(params, 128)
    assert (flip_labels(label) != label).mean() < 0.002


def test_roll_rotates_the_eye_line() -> None:
    label = draw_face_mask(plain_face(roll_deg=8.0, glasses=False), 256)
    (lx, ly), (rx, ry) = centroid(label, "l_eye"), centroid(label, "r_eye")
    # positive roll turns the head clockwise on screen: the image-right eye (l_eye) drops
    assert np.degrees(np.arctan2(ly - ry, lx - rx)) == pytest.approx(8.0, abs=1.5)


def test_parts_are_painted_whole_despite_windowing(monkeypatch: pytest.MonkeyPatch) -> None:
    faces = [
        dataclasses.replace(sample_face_params(np.random.default_rng([9, i])), roll_deg=8.0 * (-1) ** i)
        for i in range(30)
    ]
    windowed = [draw_face_mask(p, 96) for p in faces]
    monkeypatch.setattr(synthetic_faces._Canvas, "_window", lambda self, box, mirror, head: (slice(None),) * 2)
    for params, label in zip(faces, windowed):
        np.testing.assert_array_equal(draw_face_mask(params, 96), label)


def test_params_as_dict_is_flat_floats_with_fixed_keys() -> None:
    dicts = [sample_face_params(np.random.default_rng(i)).as_dict() for i in range(20)]
    assert all(list(d) == list(dicts[0]) for d in dicts)
    assert all(isinstance(v, float) for d in dicts for v in d.values())
    assert {
        "nose_length",
        "nose_width",
        "eye_size",
        "mouth_width",
        "mouth_open",
        "hair_style",
        "face_width",
        "glasses",
    } <= set(dicts[0])
    assert {d["glasses"] for d in dicts} <= {0.0, 1.0}


def test_render_is_deterministic_and_colours_classes_apart() -> None:
    for index in range(5):
        face = synthetic_face(8, index, size=96, with_image=False)
        assert face.params.hair_style != 0  # these faces have hair to compare with
        image = render_face_image(face.label, face.params, np.random.default_rng(index))
        again = render_face_image(face.label, face.params, np.random.default_rng(index))
        assert image.dtype == np.uint8 and image.shape == (96, 96, 3)
        np.testing.assert_array_equal(image, again)
        skin, hair = (image[face.label == part_id(name)].mean(0) for name in ("skin", "hair"))
        assert np.abs(skin - hair).max() > 20


def test_rendered_eyes_have_a_white_and_a_pupil() -> None:
    face = synthetic_face(8, 0, size=192)
    eye = face.image[face.label == part_id("l_eye")].mean(1)
    assert eye.max() > 150 and eye.min() < 40


def test_bad_sizes_and_labels_raise() -> None:
    params = sample_face_params(np.random.default_rng(0))
    with pytest.raises(ValueError, match="size"):
        draw_face_mask(params, 4)
    with pytest.raises(ValueError, match="square"):
        render_face_image(np.zeros((8, 10), dtype=np.uint8), params, np.random.default_rng(0))

import math

import numpy as np
import pytest
import torch

from data.synthetic_faces import synthetic_face
from shape_editor.attributes import (
    HAIR_ATTRIBUTES,
    SHAPE_ATTRIBUTES,
    AttributeSweep,
    attribute_names,
    check_attribute,
    concat_sweeps,
    hair_coverages,
    measure_attributes,
    measure_sweep,
    monotonicity,
    part_attributes,
    region_moments,
    response_curves,
    strength_correlation,
    summarise_sweep,
)

SKIN, NOSE, L_BROW, R_BROW, L_EAR, R_EAR, MOUTH, HAIR = 1, 2, 6, 7, 8, 9, 10, 13
NAN = float("nan")


def canvas(size=10, fill=SKIN, batch=1):
    return torch.full((batch, size, size), fill, dtype=torch.int64)


def assert_values(result, expected):
    assert set(result) == set(expected)
    for name, values in expected.items():
        torch.testing.assert_close(
            result[name],
            torch.tensor(values, dtype=torch.float64),
            equal_nan=True,
            msg=f"{name}: {result[name].tolist()} != {values}",
        )


def test_rectangle_attributes_are_its_bounding_box():
    labels = canvas()
    labels[0, 2:5, 3:9] = NOSE  # rows 2..4 (3 rows), cols 3..8 (6 cols)
    assert_values(
        part_attributes(labels, NOSE),
        {
            "area": [18 / 100],
            "height": [0.3],
            "width": [0.6],
            "elongation": [0.5],
            "centroid_x": [0.6],
            "centroid_y": [0.35],  # centres (3+8)/2 + 0.5 = 6 -> 0.6; (2+4)/2 + 0.5 = 3.5
        },
    )


def test_single_pixel_is_one_pixel_high_and_wide():
    labels = canvas(size=8)
    labels[0, 7, 0] = NOSE
    assert_values(
        part_attributes(labels, NOSE),
        {
            "area": [1 / 64],
            "height": [1 / 8],
            "width": [1 / 8],
            "elongation": [1.0],
            "centroid_x": [0.5 / 8],
            "centroid_y": [7.5 / 8],
        },
    )


def test_two_pixels_far_apart_give_the_equal_moment_extent_not_the_bounding_box():
    labels = canvas(size=10)
    labels[0, 0, 5] = labels[0, 9, 5] = NOSE  # rows 0 and 9: Var(y) = (0.45)^2, bounding box would say 1.0
    result = part_attributes(labels, NOSE)
    expected_height = math.sqrt(12 * 0.45**2 + 0.01)
    torch.testing.assert_close(result["height"], torch.tensor([expected_height], dtype=torch.float64))
    torch.testing.assert_close(result["centroid_y"], torch.tensor([0.5], dtype=torch.float64))


def test_absent_part_is_nan_and_batch_items_are_independent():
    labels = canvas(size=4, batch=3)
    labels[1, 1:3, 1:3] = NOSE
    labels[2] = NOSE
    result = part_attributes(labels, NOSE)
    assert_values(
        result,
        {
            "area": [NAN, 0.25, 1.0],
            "height": [NAN, 0.5, 1.0],
            "width": [NAN, 0.5, 1.0],
            "elongation": [NAN, 1.0, 1.0],
            "centroid_x": [NAN, 0.5, 0.5],
            "centroid_y": [NAN, 0.5, 0.5],
        },
    )


def test_hair_coverage_above_brows_and_below_ears():
    labels = canvas(size=10)
    labels[0, 0:2, :] = HAIR  # rows 0-1: all hair
    labels[0, 2, :5] = HAIR  # row 2: half hair
    labels[0, 4, 2:4] = L_BROW  # brows: rows 4..4 -> top edge y = 0.4; band = rows 0..3 (40 px)
    labels[0, 4, 6:8] = R_BROW
    labels[0, 5:7, 0] = L_EAR  # ears: rows 5..6 -> bottom edge y = 0.7; band = rows 7..9 (30 px)
    labels[0, 5:7, 9] = R_EAR
    labels[0, 9, :3] = HAIR  # 3 hair pixels below the ears
    result = part_attributes(labels, HAIR)
    assert set(result) == set(SHAPE_ATTRIBUTES + HAIR_ATTRIBUTES)
    torch.testing.assert_close(result["above_brows"], torch.tensor([25 / 40], dtype=torch.float64))
    torch.testing.assert_close(result["below_ears"], torch.tensor([3 / 30], dtype=torch.float64))
    torch.testing.assert_close(result["area"], torch.tensor([28 / 100], dtype=torch.float64))


def test_hair_coverage_is_nan_without_brows_or_ears_and_zero_when_bald():
    no_refs = canvas(size=6)
    no_refs[0, 0] = HAIR
    bald = canvas(size=6)
    bald[0, 3, 1] = L_BROW
    bald[0, 3, 4] = L_EAR
    coverages = hair_coverages(torch.cat([no_refs, bald]))
    assert torch.isnan(coverages["above_brows"][0]) and torch.isnan(coverages["below_ears"][0])
    assert coverages["above_brows"][1] == 0 and coverages["below_ears"][1] == 0
    # part_attributes: an absent part has no shape at all, so its coverages are NaN too
    assert torch.isnan(part_attributes(bald, HAIR)["above_brows"]).all()


def test_measure_attributes_matches_one_part_at_a_time():
    torch.manual_seed(0)
    labels = torch.randint(0, 19, (3, 1, 12, 12))
    together = measure_attributes(labels, [NOSE, HAIR, MOUTH])
    assert list(together)[:6] == [(NOSE, name) for name in SHAPE_ATTRIBUTES]
    for part in (NOSE, HAIR, MOUTH):
        for name, value in part_attributes(labels, part).items():
            torch.testing.assert_close(together[(part, name)], value, equal_nan=True)


def test_moments_take_any_leading_dims():
    regions = torch.zeros(2, 3, 5, 5, dtype=torch.bool)
    regions[1, 2, 1:4, 0] = True
    m = region_moments(regions)
    assert m.pixels.shape == (2, 3) and m.pixels[1, 2] == 3 and torch.isnan(m.cy[0, 0])
    torch.testing.assert_close(m.height[1, 2], torch.tensor(0.6, dtype=torch.float64))


def test_names_and_bad_input():
    assert attribute_names(NOSE) == SHAPE_ATTRIBUTES
    assert attribute_names(HAIR) == SHAPE_ATTRIBUTES + HAIR_ATTRIBUTES
    with pytest.raises(ValueError, match="part id 0"):
        attribute_names(0)
    with pytest.raises(ValueError, match="integer ids"):
        part_attributes(torch.zeros(1, 4, 4), NOSE)


def test_nose_height_tracks_the_synthetic_nose_length():
    faces = [synthetic_face(0, i, 64, with_image=False) for i in range(40)]
    labels = torch.from_numpy(np.stack([f.label for f in faces]))
    height = part_attributes(labels, NOSE)["height"].numpy()
    length = np.array([f.params.nose_length for f in faces])
    assert np.corrcoef(height, length)[0, 1] > 0.9


def test_correlation_monotonicity_and_slope_by_hand():
    strengths = torch.tensor([0.0, 1.0, 2.0])
    changes = torch.tensor([[0.0, 0.5, 1.0], [0.0, 0.0, 2.0], [0.0, float("nan"), -1.0]], dtype=torch.float64)
    # a step with a NaN end is skipped (row 3 has none left), a flat step does not count as up
    torch.testing.assert_close(
        monotonicity(strengths, changes), torch.tensor([1.0, 0.5, float("nan")], dtype=torch.float64), equal_nan=True
    )
    finite = torch.tensor([[0, 0.0], [1, 0.5], [2, 1.0], [0, 0.0], [1, 0.0], [2, 2.0], [0, 0.0], [2, -1.0]]).T
    torch.testing.assert_close(strength_correlation(strengths, changes), torch.corrcoef(finite.double())[0, 1])
    sweep = AttributeSweep(strengths, changes[:2], torch.ones(2, 3))
    summary = summarise_sweep(concat_sweeps([sweep, sweep]))
    assert summary["slope"] == pytest.approx(0.75) and summary["monotonicity"] == 0.75 and summary["present"] == 1


def test_measure_sweep_reports_changes_in_standard_deviations_and_locality():
    reference = canvas(size=8)
    reference[0, 2:4, 3:5] = NOSE  # 2 rows high
    taller, gone = reference.clone(), reference.clone()
    taller[0, 4, 3:5] = NOSE  # 3 rows high, nothing else changes
    gone[0, 2:4, 3:5] = SKIN
    gone[0, 0, 0] = MOUTH  # far from the nose: breaks locality
    masks = torch.stack([reference, taller, gone], 1)  # (1, 3, 8, 8)
    sweep = measure_sweep(reference, masks, torch.tensor([0.0, 1.0, 2.0]), NOSE, "height", std=0.125)
    torch.testing.assert_close(sweep.changes, torch.tensor([[0.0, 1.0, NAN]], dtype=torch.float64), equal_nan=True)
    # band = nose region dilated by 2 px: rows 0..5 x cols 1..6 -> 28 of 64 pixels outside, 1 changed in `gone`
    torch.testing.assert_close(sweep.locality, torch.tensor([[1.0, 1.0, 1 - 1 / 28]], dtype=torch.float64))
    curves = response_curves(sweep)
    change = curves["measured change (std)"]
    assert [s for s, _ in change] == [0.0, 1.0, 2.0] and change[1][1] == pytest.approx(1.0) and math.isnan(change[2][1])
    assert curves["locality"][2] == (2.0, pytest.approx(1 - 1 / 28))
    with pytest.raises(ValueError, match="choose one of"):
        check_attribute(NOSE, "above_brows")

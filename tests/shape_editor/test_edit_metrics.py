import pytest
import torch

from shape_editor.edit_metrics import (
    count_components,
    edit_locality,
    edit_validity,
    interpolation_smoothness,
    sample_diversity,
)

SKIN, NOSE, EYE_G, MOUTH, HAIR = 1, 2, 3, 10, 13


def mask(size=4, fill=SKIN, **pixels):
    """A [size, size] label map filled with `fill`, with pixels {class: [(y, x), ...]} painted on."""
    out = torch.full((size, size), fill, dtype=torch.int64)
    for cls, points in pixels.items():
        for y, x in points:
            out[y, x] = int(cls)
    return out


def paint(base, cls, points):
    out = base.clone()
    for y, x in points:
        out[y, x] = cls
    return out


def test_components_use_eight_connectivity_and_stay_inside_each_map():
    maps = torch.zeros(5, 4, 4, dtype=torch.bool)
    maps[1, 0, 0] = True  # one pixel
    maps[2, 0, 0] = maps[2, 1, 1] = True  # diagonal neighbours: one component
    maps[3, 0, 0] = maps[3, 3, 3] = True  # two components
    maps[4, 0, 0] = True  # same place as map 1: must not merge across maps
    assert count_components(maps).tolist() == [0, 1, 1, 2, 1]


def test_validity_checks_presence_connectivity_and_new_classes():
    ref = paint(mask(), NOSE, [(1, 1)])
    moved = paint(mask(), NOSE, [(2, 2)])  # one pixel, one component
    gone = mask()  # nose vanished
    split = paint(mask(), NOSE, [(0, 0), (3, 3)])  # two components
    one_new = paint(moved, HAIR, [(0, 3)])  # 1 / 16 px of a new class: tolerated at 0.1
    two_new = paint(moved, HAIR, [(0, 3), (3, 0)])  # 2 / 16 px > 1.6 px
    edited = torch.stack([moved, gone, split, one_new, two_new])
    v = edit_validity(ref.expand(5, 4, 4), edited, [NOSE], new_class_fraction=0.1)
    assert v.present.tolist() == [True, False, True, True, True]
    assert v.connected.tolist() == [True, False, False, True, True]
    assert v.no_new_classes.tolist() == [True, True, True, True, False]
    assert v.valid.tolist() == [True, False, False, True, False]


def test_validity_lets_the_edited_part_itself_be_new_and_needs_every_edited_part():
    ref = mask()  # no glasses, no nose
    glasses = paint(paint(mask(), EYE_G, [(0, 0), (0, 1), (0, 2)]), NOSE, [(3, 3)])
    v = edit_validity(ref[None], glasses[None], [EYE_G], new_class_fraction=0.0)
    assert v.valid.tolist() == [False]  # the nose is new to the mask and not an edited part
    v = edit_validity(ref[None], glasses[None], [EYE_G, NOSE], new_class_fraction=0.0)
    assert v.valid.tolist() == [True]
    v = edit_validity(ref[None], glasses[None], [EYE_G, MOUTH], new_class_fraction=1.0)
    assert v.present.tolist() == [False]  # the mouth is missing


def test_locality_counts_changes_outside_the_dilated_band_only():
    ref = mask(6, **{str(NOSE): [(2, 2)]})
    edited = paint(paint(paint(mask(6), NOSE, [(2, 3)]), HAIR, [(1, 1)]), HAIR, [(5, 5)])
    # r = 1: band = rows 1-3 x cols 1-4 (12 px); outside 24 px, of which only (5, 5) changed
    assert edit_locality(ref[None], edited[None], [NOSE], radius=1).tolist() == pytest.approx([1 - 1 / 24])
    # r = 0: band = the 2 nose pixels; outside 34 px, (1, 1) and (5, 5) changed
    assert edit_locality(ref[None], edited[None], [NOSE], radius=0).tolist() == pytest.approx([1 - 2 / 34])
    # a band covering everything: nothing outside can change
    assert edit_locality(ref[None], edited[None], [NOSE], radius=6).tolist() == [1.0]
    assert edit_locality(ref[None], ref[None], [NOSE], radius=1).tolist() == [1.0]


def test_diversity_hand_computed_cases():
    a = mask(**{str(NOSE): [(0, 0), (0, 1)]})
    b = mask(**{str(NOSE): [(0, 1), (0, 2)]})  # IoU with a = 1/3
    far = mask(**{str(NOSE): [(3, 3)]})  # no overlap with a
    empty = mask()
    samples = torch.stack(
        [
            torch.stack([a, a, a]),  # identical -> 0
            torch.stack([a, b, a]),  # pairs (a,b) 2/3, (a,a) 0, (b,a) 2/3 -> 4/9
            torch.stack([a, far, empty]),  # (a,far) 1, (a,empty) 1, (far,empty) 1 -> 1
            torch.stack([empty, empty, empty]),  # both empty -> 0
        ]
    )
    assert sample_diversity(samples, [NOSE]).tolist() == pytest.approx([0.0, 4 / 9, 1.0, 0.0])


def test_diversity_over_several_parts_skips_parts_absent_from_both():
    a = mask(**{str(NOSE): [(0, 0)]})
    with_mouth = paint(a, MOUTH, [(3, 3)])
    samples = torch.stack([torch.stack([a, a]), torch.stack([a, with_mouth])])
    # pair 1: nose IoU 1, mouth absent from both -> 0; pair 2: mean(1, 0) = 0.5 -> 0.5
    assert sample_diversity(samples, [NOSE, MOUTH]).tolist() == pytest.approx([0.0, 0.5])
    with pytest.raises(ValueError, match="K >= 2"):
        sample_diversity(samples[:, :1], [NOSE])


def test_smoothness_is_max_over_mean_step_change():
    base = mask(2, fill=0)
    even = torch.stack([base, paint(base, NOSE, [(0, 0)]), paint(base, NOSE, [(0, 0), (1, 1)])])  # 1 px, 1 px
    jump = torch.stack([base, paint(base, NOSE, [(0, 0), (1, 1)]), paint(base, NOSE, [(0, 0), (1, 1)])])  # 2, 0
    still = torch.stack([base, base, base])
    assert interpolation_smoothness(torch.stack([even, jump, still])).tolist() == pytest.approx([1.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="S >= 2"):
        interpolation_smoothness(even[None, :1])

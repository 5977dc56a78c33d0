"""Property-based tests: label decoders, metrics and edits on random masks of random sizes and class sets.

No crash, outputs in range, and the invariants that must hold for any input.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from data.mask_io import read_label
from shape_editor import ShapeVAE, ShapeVAEConfig
from shape_editor.edit_metrics import edit_locality, edit_validity, interpolation_smoothness, sample_diversity
from shape_editor.editor import MaskEditor, generate_codes, interpolate_codes, interpolation_alphas
from shape_editor.labels import (
    ALTERNATE_COLORS,
    NUM_CLASSES,
    PALETTE,
    color_to_ids,
    colorize,
    convert_order,
    flip_labels,
)
from shape_editor.masks import labels_to_onehot, logits_to_labels, resize_labels
from shape_editor.metrics import confusion_matrix, mean_iou, per_class_iou, pixel_accuracy

FAST = settings(max_examples=30, deadline=None, database=None)


@st.composite
def label_maps(draw, max_classes: int = NUM_CLASSES, max_side: int = 24, batch: bool = False):
    """(ids uint8 [H, W] or int64 [B, H, W], num_classes): random sizes, random subsets of the classes."""
    num_classes = draw(st.integers(2, max_classes))
    present = draw(st.lists(st.integers(0, num_classes - 1), min_size=1, max_size=num_classes, unique=True))
    shape = (draw(st.integers(1, 3)),) if batch else ()
    shape += (draw(st.integers(1, max_side)), draw(st.integers(1, max_side)))
    ids = draw(arrays(np.uint8, shape, elements=st.sampled_from(present)))
    return (torch.from_numpy(ids.astype(np.int64)) if batch else ids), num_classes


def write(image: Image.Image) -> tuple[tempfile.TemporaryDirectory, Path]:
    folder = tempfile.TemporaryDirectory()
    path = Path(folder.name) / "mask.png"
    image.save(path)
    return folder, path


# --- label decoders ---------------------------------------------------------------------------------------------
@FAST
@given(label_maps(), st.sampled_from(["L", "P", "RGB"]))
def test_read_label_returns_exactly_the_stored_ids(sample, mode):
    ids, num_classes = sample
    if mode == "RGB":
        image = Image.fromarray(colorize(ids))
    else:
        image = Image.fromarray(ids, mode=mode)
        if mode == "P":  # palette files carry distinct colours (PIL merges the indices of equal ones)
            image.putpalette(PALETTE.tobytes())
    folder, path = write(image)
    with folder:
        decoded = read_label(path, num_classes)
    assert decoded.dtype == np.uint8 and decoded.shape == ids.shape
    np.testing.assert_array_equal(decoded, ids)


@FAST
@given(label_maps(), st.integers(1, 200))
def test_ids_beyond_label_nc_are_refused_naming_file_and_values(sample, excess):
    ids, num_classes = sample
    ids = ids.copy()
    ids.flat[0] = min(255, num_classes - 1 + excess)
    folder, path = write(Image.fromarray(ids, mode="L"))
    with folder, pytest.raises(ValueError, match=rf"mask\.png: label values \[.*{ids.flat[0]}\] are outside"):
        read_label(path, num_classes)


@FAST
@given(label_maps(max_classes=NUM_CLASSES))
def test_bisenet_files_convert_to_standard_and_back(sample):
    ids, _ = sample
    folder, path = write(Image.fromarray(ids, mode="L"))
    with folder:
        standard = read_label(path, NUM_CLASSES, "bisenet")
    assert standard.max() < NUM_CLASSES
    np.testing.assert_array_equal(convert_order(standard, "standard", "bisenet"), ids)
    np.testing.assert_array_equal(flip_labels(flip_labels(standard)), standard)


@FAST
@given(arrays(np.uint8, st.tuples(st.integers(1, 16), st.integers(1, 16), st.just(3))))
def test_any_rgb_picture_decodes_to_known_ids_or_flags_unknown_pixels(rgb):
    ids, unknown = color_to_ids(rgb)
    assert ids.shape == unknown.shape == rgb.shape[:2] and ids.max() < NUM_CLASSES
    expected = rgb.copy()
    in_palette = (rgb[:, :, None] == PALETTE[None, None]).all(-1).any(-1)
    for colour, index in ALTERNATE_COLORS.items():
        alternate = (rgb == colour).all(-1)
        expected[alternate], in_palette = PALETTE[index], in_palette | alternate
    np.testing.assert_array_equal(unknown, ~in_palette)
    np.testing.assert_array_equal(colorize(ids)[in_palette], expected[in_palette])


# --- metrics ----------------------------------------------------------------------------------------------------
@FAST
@given(label_maps(batch=True), st.randoms(use_true_random=False))
def test_metrics_are_in_range_and_a_mask_matches_itself(sample, rng):
    target, num_classes = sample
    pred = torch.tensor(rng.choices(range(num_classes), k=target.numel())).view_as(target)
    conf = confusion_matrix(pred, target, num_classes)
    assert conf.shape == (num_classes, num_classes) and int(conf.sum()) == target.numel()
    iou = per_class_iou(conf)
    assert bool(((iou >= 0) & (iou <= 1) | iou.isnan()).all())
    assert 0 <= float(mean_iou(conf)) <= 1
    assert float(pixel_accuracy(conf)) == pytest.approx(float((pred == target).double().mean()))
    same = confusion_matrix(target, target, num_classes)
    assert float(mean_iou(same)) == 1.0 and float(pixel_accuracy(same)) == 1.0
    assert int(per_class_iou(same).isnan().sum()) == num_classes - len(target.unique())


@FAST
@given(label_maps(batch=True), st.data())
def test_edit_metrics_are_in_range(sample, draw):
    reference, num_classes = sample
    edited = reference.roll(1, dims=-1)
    parts = draw.draw(st.lists(st.integers(1, max(1, num_classes - 1)), min_size=1, max_size=3, unique=True))
    validity = edit_validity(reference, edited, parts)
    assert validity.valid.dtype == torch.bool and validity.valid.shape == reference.shape[:1]
    assert bool((validity.valid == (validity.present & validity.connected & validity.no_new_classes)).all())
    locality = edit_locality(reference, edited, parts, radius=draw.draw(st.integers(0, 3)))
    assert bool(((locality >= 0) & (locality <= 1)).all())
    assert bool((edit_locality(reference, reference, parts) == 1).all())
    samples = torch.stack([reference, edited], 1)
    diversity = sample_diversity(samples, parts)
    assert bool(((diversity >= 0) & (diversity <= 1)).all())
    assert bool((sample_diversity(torch.stack([reference, reference], 1), parts) == 0).all())
    smooth = interpolation_smoothness(torch.stack([reference, edited, edited], 1))
    assert bool(((smooth >= 1) & (smooth <= 2 + 1e-9)).all())


# --- masks ------------------------------------------------------------------------------------------------------
@FAST
@given(label_maps(batch=True), st.integers(1, 24))
def test_onehot_argmax_round_trip_and_resize_keeps_ids(sample, size):
    labels, num_classes = sample
    onehot = labels_to_onehot(labels, num_classes)
    assert onehot.shape == (labels.shape[0], num_classes, *labels.shape[1:])
    assert bool((onehot.sum(1) == 1).all())
    assert torch.equal(logits_to_labels(onehot), labels)
    small = resize_labels(labels, size)
    assert small.shape == (labels.shape[0], size, size)
    assert set(small.unique().tolist()) <= set(labels.unique().tolist())


# --- edits on a tiny untrained shape VAE ------------------------------------------------------------------------
@functools.cache
def editor(label_nc: int, crop: int) -> MaskEditor:
    torch.manual_seed(0)
    config = ShapeVAEConfig(
        label_nc=label_nc,
        crop_size=crop,
        enc_size=8,
        enc_widths=(16,),
        latent_dim=16,
        lstm_layers=1,
        lstm_hidden=8,
        ff_hidden=16,
        ngf=4,
    )
    return MaskEditor(ShapeVAE(config))


@st.composite
def edit_cases(draw):
    label_nc, crop = draw(st.sampled_from([3, 8, 19])), draw(st.sampled_from([16, 32]))
    present = draw(st.lists(st.integers(0, label_nc - 1), min_size=1, max_size=label_nc, unique=True))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))  # whole crops: numpy draws the pixels
    labels = rng.choice(present, size=(draw(st.integers(1, 2)), crop, crop))
    parts = draw(st.lists(st.integers(1, label_nc - 1), min_size=1, max_size=3, unique=True))
    return torch.from_numpy(labels).long(), label_nc, crop, parts


@FAST
@given(edit_cases(), st.integers(1, 3), st.integers(2, 4))
def test_every_edit_keeps_shape_and_ids_in_range(case, n_samples, n_steps):
    labels, label_nc, crop, parts = case
    edit = editor(label_nc, crop)
    B = labels.shape[0]
    generator = torch.Generator().manual_seed(0)
    outputs = {
        "reconstruct": (edit.reconstruct(labels), 1),
        "generate": (edit.generate(labels, parts, n_samples, generator), n_samples),
        "perturb": (edit.perturb(labels, parts, 0.5, n_samples, generator), n_samples),
        "interpolate": (edit.interpolate(labels, labels.flip(0), parts, n_steps), n_steps),
        "swap": (edit.swap(labels, labels.flip(0), parts), 1),
    }
    for mode, (out, K) in outputs.items():
        assert out.masks.shape == (B, K, crop, crop), mode
        assert out.masks.dtype == torch.int64 and int(out.masks.min()) >= 0 and int(out.masks.max()) < label_nc, mode
        assert out.logits.shape == (B, K, label_nc, crop, crop) and bool(out.logits.isfinite().all()), mode
        assert torch.equal(out.masks, out.logits.argmax(2)), mode


@FAST
@given(edit_cases(), st.integers(2, 5))
def test_edits_change_only_the_requested_codes(case, n_steps):
    labels, label_nc, crop, parts = case
    edit = editor(label_nc, crop)
    mu = edit.encode(labels)
    untouched = [p - 1 for p in range(1, label_nc) if p not in parts]
    codes = generate_codes(mu, parts, 2, torch.Generator().manual_seed(1))
    assert torch.equal(codes[:, :, untouched], mu[:, None, untouched].expand(-1, 2, -1, -1))
    target = torch.randn_like(mu)
    strip = interpolate_codes(mu, target, parts, interpolation_alphas(n_steps))
    assert torch.equal(strip[:, 0], mu)  # alpha = 0 is the source exactly
    edited = [p - 1 for p in parts]
    assert torch.equal(strip[:, -1, edited], target[:, edited])
    assert torch.equal(strip[:, -1, untouched], mu[:, untouched])


@FAST
@given(st.sampled_from([3, 19]), st.integers(1, 40).filter(lambda s: s != 16))
def test_masks_of_the_wrong_size_are_refused_by_name(label_nc, side):
    with pytest.raises(ValueError, match=rf"label map of shape \(1, {side}, {side}\) does not match crop_size=16"):
        editor(label_nc, 16).reconstruct(torch.zeros(1, side, side, dtype=torch.int64))

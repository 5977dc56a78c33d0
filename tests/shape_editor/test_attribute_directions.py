"""Attribute directions: the fit, storage, edits and metrics, and a trained shape VAE on synthetic faces.

The synthetic faces know their generating parameters, so the end-to-end test checks both that a fitted
direction changes its attribute on decoded masks and that it agrees with the direction fitted to the
ground truth (`face_width`). A 100-step model is enough for the large parts (skin, hair); small parts
such as the nose need far longer training before the decoder follows their codes (see the report).
"""

import numpy as np
import pytest
import torch

from data.synthetic_faces import synthetic_face
from shape_editor.attribute_directions import (
    AttributeDirections,
    attribute_codes,
    attribute_edit,
    attribute_strengths,
    encode_dataset,
    fit_attribute_directions,
    fit_from_dataset,
    load_or_fit_directions,
)
from shape_editor.attributes import measure_attributes, measure_sweep, summarise_sweep
from shape_editor.config import ShapeVAEConfig
from shape_editor.editor import MaskEditor
from shape_editor.losses import class_pixel_shares, class_weights_from_shares, count_class_pixels, shape_vae_loss
from shape_editor.shape_vae import ShapeVAE

SKIN, NOSE, HAIR = 1, 2, 13
TRAIN, HELD_OUT, SIZE, STEPS = 256, 32, 32, 100


def test_fit_recovers_a_planted_linear_direction():
    torch.manual_seed(0)
    mu = torch.randn(4000, 3, 8)  # isotropic codes: the step is the planted direction, one std long
    w_true = torch.randn(8)
    attribute = 5.0 + mu[:, 1] @ w_true + 0.01 * torch.randn(4000)
    attribute[:7] = float("nan")  # part absent in 7 masks: skipped
    directions = fit_attribute_directions(mu, {(NOSE, "height"): attribute}, ridge=1e-4)
    step = directions.step(NOSE, "height")
    torch.testing.assert_close(step / step.norm(), w_true / w_true.norm(), atol=0.02, rtol=0)
    std = attribute[7:].std()
    torch.testing.assert_close(step @ w_true, std, rtol=0.05, atol=0)  # +1 step = +1 standard deviation
    assert directions.samples.tolist() == [3993] and directions.r2.item() > 0.999
    torch.testing.assert_close(directions.means, attribute[7:].mean()[None])
    assert directions.gains.tolist() == [1.0]  # not calibrated on a decoder yet


def test_the_step_follows_how_the_codes_vary_with_the_attribute():
    # Codes that vary mostly along dimension 0; the attribute is read off a faint dimension 1. The step is
    # the code change that goes with +1 std of the attribute in the data (Cov(X, z)), not the short
    # least-squares step along dimension 1 alone, which the faint dimension would need to be huge for.
    torch.manual_seed(0)
    mu = torch.randn(2000, 1, 2) * torch.tensor([3.0, 0.1])
    mu[:, 0, 1] += 0.02 * mu[:, 0, 0]
    attribute = mu[:, 0, 0] + 30 * mu[:, 0, 1]
    step = fit_attribute_directions(mu, {(SKIN, "area"): attribute}, ridge=1e-6).step(SKIN, "area")
    z = (attribute - attribute.mean()) / attribute.std()
    x = mu[:, 0] - mu[:, 0].mean(0)
    torch.testing.assert_close(step, (x * z[:, None]).sum(0) / 1999, rtol=1e-4, atol=1e-6)
    assert step[0] > 1.0  # it moves along the dimension the codes (and the attribute) vary along


def test_fit_rejects_too_few_values_and_codes_that_do_not_vary():
    mu = torch.randn(20, 3, 4)
    with pytest.raises(ValueError, match="need at least 8"):
        fit_attribute_directions(mu, {(NOSE, "area"): torch.full((20,), float("nan"))})
    with pytest.raises(ValueError, match="do not vary"):
        fit_attribute_directions(torch.zeros(20, 3, 4), {(NOSE, "area"): torch.arange(20.0)})


def test_attribute_codes_move_only_the_edited_part():
    mu = torch.randn(2, 18, 16)
    step = torch.randn(16)
    codes = attribute_codes(mu, NOSE, step, torch.tensor([-1.0, 0.0, 2.0]))
    assert codes.shape == (2, 3, 18, 16)
    others = [p for p in range(18) if p != NOSE - 1]
    assert torch.equal(codes[:, :, others], mu[:, None, others].expand(2, 3, 17, 16))
    torch.testing.assert_close(codes[:, 2, NOSE - 1], mu[:, NOSE - 1] + 2 * step)
    assert torch.equal(codes[:, 1], mu)
    assert attribute_strengths(2.0, 5).tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_directions_save_load_merge(tmp_path):
    a = AttributeDirections(
        [(NOSE, "height"), (HAIR, "area")],
        torch.randn(2, 4),
        torch.rand(2),
        torch.rand(2),
        torch.rand(2),
        torch.tensor([10, 12]),
        torch.rand(2),
    )
    path = a.save(tmp_path / "attribute_directions.pth")
    b = AttributeDirections.load(path)  # weights_only load
    assert b.keys == a.keys and all(torch.equal(getattr(a, f), getattr(b, f)) for f in ("steps", "stds", "gains"))
    c = AttributeDirections(
        [(HAIR, "area"), (SKIN, "width")],
        torch.ones(2, 4),
        torch.ones(2),
        torch.ones(2),
        torch.ones(2),
        torch.tensor([3, 4]),
        torch.ones(2),
    )
    merged = a.merged(c)
    assert merged.keys == [(NOSE, "height"), (HAIR, "area"), (SKIN, "width")]
    assert torch.equal(merged.step(HAIR, "area"), torch.ones(4)) and torch.equal(merged.steps[0], a.steps[0])
    with pytest.raises(ValueError, match="no direction fitted for part 2 attribute 'width'"):
        merged.step(NOSE, "width")
    torch.save({"state_dict": {}}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="other.pth"):
        AttributeDirections.load(tmp_path / "other.pth")


def synthetic_labels(first, count):
    faces = [synthetic_face(0, i, SIZE, with_image=False) for i in range(first, first + count)]
    params = {
        k: torch.tensor([f.params.as_dict()[k] for f in faces], dtype=torch.float64)
        for k in ("face_width", "nose_length")
    }
    return torch.from_numpy(np.stack([f.label for f in faces])).long()[:, None], params


@pytest.fixture(scope="module")
def trained():
    """A small shape VAE (no LSTM) trained for 100 steps on 256 synthetic faces at 32 px."""
    torch.manual_seed(0)
    labels, params = synthetic_labels(0, TRAIN)
    config = ShapeVAEConfig(
        crop_size=SIZE, enc_size=SIZE, enc_widths=(128,), latent_dim=64, use_lstm=False, ngf=8, groups=4
    )
    vae = ShapeVAE(config)
    weights = class_weights_from_shares(class_pixel_shares(count_class_pixels(labels, 19))).float()
    optimizer = torch.optim.Adam(vae.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(STEPS):
        batch = labels[torch.randint(0, TRAIN, (16,), generator=generator)]
        losses = shape_vae_loss(vae(batch), batch, weights, config.lambda_kl)
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
    return vae.eval(), labels, params


def test_fitted_directions_change_their_attribute_on_decoded_masks(trained):
    vae, labels, params = trained
    dataset = [{"label": label} for label in labels]
    directions = fit_from_dataset(vae, dataset, [SKIN, HAIR])
    assert directions.keys[:6] == [
        (SKIN, n) for n in ("area", "height", "width", "elongation", "centroid_x", "centroid_y")
    ]
    editor = MaskEditor(vae)
    held_out, _ = synthetic_labels(TRAIN, HELD_OUT)
    reference = editor.reconstruct(held_out).masks[:, 0]
    strengths = torch.linspace(-3, 3, 7)
    for part, name in ((SKIN, "width"), (HAIR, "area")):
        edit = attribute_edit(editor, held_out, directions, part, name, strengths)
        others = [p for p in range(18) if p != part - 1]
        assert torch.equal(edit.codes[:, :, others], edit.codes[:, 3:4, others].expand_as(edit.codes[:, :, others]))
        sweep = measure_sweep(reference, edit.masks, strengths, part, name, directions.std(part, name))
        summary = summarise_sweep(sweep)
        assert summary["correlation"] > 0.8, (part, name, summary)
        assert summary["monotonicity"] > 0.7 and summary["slope"] > 0 and summary["locality"] > 0.95, summary


def test_measured_direction_agrees_with_the_ground_truth_parameter(trained):
    vae, labels, params = trained
    mu, attributes = encode_dataset(vae, [{"label": label} for label in labels], [SKIN])
    assert torch.corrcoef(torch.stack([attributes[(SKIN, "width")], params["face_width"]]))[0, 1] > 0.8
    directions = fit_attribute_directions(
        mu, {(SKIN, "width"): attributes[(SKIN, "width")], (SKIN, "face_width"): params["face_width"]}
    )
    measured, truth = directions.step(SKIN, "width"), directions.step(SKIN, "face_width")
    assert torch.nn.functional.cosine_similarity(measured, truth, 0) > 0.8
    editor = MaskEditor(vae)
    held_out, _ = synthetic_labels(TRAIN, HELD_OUT)
    strengths = torch.linspace(-3, 3, 7)
    edit = attribute_edit(editor, held_out, directions, SKIN, "face_width", strengths)  # ground-truth direction
    reference = editor.reconstruct(held_out).masks[:, 0]
    sweep = measure_sweep(reference, edit.masks, strengths, SKIN, "width", directions.std(SKIN, "width"))
    assert summarise_sweep(sweep)["correlation"] > 0.8  # and it widens the decoded face


def test_directions_are_fitted_once_and_then_read_from_the_checkpoint_folder(trained, tmp_path):
    vae, labels, _ = trained
    path = tmp_path / "attribute_directions.pth"
    calls = []

    def train_set():
        calls.append(1)
        return [{"label": label} for label in labels[:64]]

    first = load_or_fit_directions(path, vae, train_set, HAIR, max_samples=48)
    assert calls == [1] and path.is_file() and first.samples.max() <= 48
    again = load_or_fit_directions(path, vae, train_set, HAIR)
    assert calls == [1] and again.keys == first.keys and torch.equal(again.steps, first.steps)
    both = load_or_fit_directions(path, vae, train_set, SKIN)  # a new part is fitted and added
    assert calls == [1, 1] and set(first.keys) < set(both.keys) and (SKIN, "width") in both.keys


def test_calibrated_steps_change_the_decoded_attribute_by_the_asked_strength(trained):
    vae, labels, _ = trained
    dataset = [{"label": label} for label in labels]
    directions = fit_from_dataset(vae, dataset, [SKIN])
    editor = MaskEditor(vae)
    edit = attribute_edit(editor, labels[:128], directions, SKIN, "width", torch.tensor([-1.0, 1.0]))
    values = measure_attributes(edit.masks.flatten(0, 1), [SKIN])[(SKIN, "width")].view(-1, 2)
    response = float((values[:, 1] - values[:, 0]).mean()) / 2 / directions.std(SKIN, "width")
    assert 0.8 < response < 1.25, response  # asked +-1 std, measured about +-1 std on the fitting masks
    row = directions.keys.index((SKIN, "width"))
    assert 0.05 < directions.gains[row] < 0.8  # the response before the rescale: far from the asked 1 std


def test_directions_of_an_older_format_are_refitted(trained, tmp_path):
    vae, labels, _ = trained
    path = tmp_path / "attribute_directions.pth"
    torch.save({"version": 1, "parts": [], "names": [], "steps": torch.zeros(0, 4)}, path)
    directions = load_or_fit_directions(path, vae, lambda: [{"label": label} for label in labels[:64]], HAIR)
    assert (HAIR, "area") in directions.keys and AttributeDirections.load(path).keys == directions.keys

"""The paper's released Semantic-VAE weights: key mapping, background rule, strict load and faithful forward."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from models.networks.official_keys import read_official_keys
from shape_editor.background import HeuristicBackground, heuristic_background
from shape_editor.config import ShapeVAEConfig
from shape_editor.fast import compile_for_inference
from shape_editor.official_weights import (
    KEY_RULES,
    load_official_checkpoint,
    official_config,
    official_to_ours,
    ours_to_official,
    read_official_state_dict,
)
from shape_editor.shape_vae import ShapeVAE

KEYS_FILE = Path(__file__).parents[1] / "fixtures" / "semvae_official_keys.txt"


@pytest.fixture(scope="module")
def official_shapes():
    (section,) = read_official_keys(KEYS_FILE).values()
    return section.shapes


@pytest.fixture(scope="module")
def official_state(official_shapes):
    """A random state dict with exactly the official keys and shapes (GroupNorm weights near 1)."""
    generator = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in official_shapes.items():
        fan_in = max(1, int(torch.tensor(shape[1:]).prod())) if len(shape) > 1 else 1
        state[key] = torch.randn(shape, generator=generator) / fan_in**0.5
        if "_layers.0." in key and key.endswith("weight"):  # GroupNorm scale
            state[key] += 1
    return state


def test_every_official_key_maps_onto_our_module_names(official_shapes, official_state):
    ours = official_to_ours(official_state)
    with torch.device("meta"):
        reference = ShapeVAE(ShapeVAEConfig()).state_dict()  # learned background: 19 output logits
    assert set(ours) == set(reference)
    mismatched = {k for k in ours if ours[k].shape != reference[k].shape}
    # Only the last conv differs: the official decoder predicts the 18 parts, background is not learned.
    assert mismatched == {"decoder.out_conv.weight", "decoder.out_conv.bias"}
    assert ours["decoder.out_conv.weight"].shape == (18, 32, 1, 1)
    assert ours["decoder.blocks.2.conv_out.weight"] is official_state["decs_conv.decs.2.out_layers.3.weight"]
    assert ours["sequence.residual.bias"] is official_state["resh_lin.bias"]
    assert ours["encoder.mu.weight"] is official_state["encs.mu.weight"]  # same shape as log_var: by name only


def test_mapping_round_trips_and_rejects_unknown_keys(official_state):
    back = ours_to_official(official_to_ours(official_state))
    assert list(back) == list(official_state) and all(back[k] is official_state[k] for k in back)
    with pytest.raises(ValueError, match=r"encs\.transformer\.weight"):
        official_to_ours({**official_state, "encs.transformer.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="not our"):
        ours_to_official({"encoder.extra.weight": torch.zeros(1)})
    assert len({ours for _, ours in KEY_RULES}) == len(KEY_RULES)  # a bijection between prefixes


def test_official_config_reads_the_lstm_depth_and_encoder_size(official_state):
    trimmed = {k: v for k, v in official_state.items() if not k.startswith("lstm.") or "_l0" in k}
    with pytest.raises(ValueError, match="not an official"):
        official_config({"resh_lin.weight": torch.zeros(1)})
    assert official_config(official_state) == ShapeVAEConfig(bg_mode="heuristic")
    assert official_config(trimmed).lstm_layers == 1


def test_background_is_one_where_part_logits_sum_to_at_most_zero():
    parts = torch.tensor(
        [[0.5, -0.5, 0.0], [2.0, -3.0, 0.5], [0.2, 0.1, -0.4], [0.7, 0.3, 0.0], [-1.0, -2.0, -0.1]]
    ).T.reshape(1, 3, 1, 5)  # 5 pixels, 3 parts
    # sums: 0.0, -0.5, -0.1, 1.0, -3.1 -> background 1, 1, 1, 0, 1
    assert heuristic_background(parts).flatten().tolist() == [1.0, 1.0, 1.0, 0.0, 1.0]
    logits = HeuristicBackground()(parts)
    assert logits.shape == (1, 4, 1, 5) and torch.equal(logits[:, 1:], parts)
    # argmax: background where the sum is <= 0 unless a part logit exceeds 1 (pixel 1: part 1 has 2.0)
    assert logits.argmax(1).flatten().tolist() == [0, 1, 0, 1, 0]


@pytest.mark.parametrize("wrapped", [False, True])
def test_reader_accepts_a_raw_or_wrapped_state_dict(tmp_path, wrapped):
    state = {"encs.mu.bias": torch.arange(3.0)}
    torch.save({"state_dict": state, "epoch": 7} if wrapped else state, tmp_path / "official.pth")
    read = read_official_state_dict(tmp_path / "official.pth")
    assert read.keys() == state.keys() and torch.equal(read["encs.mu.bias"], state["encs.mu.bias"])


def test_official_checkpoint_loads_strictly(official_state, tmp_path):
    path = tmp_path / "official.pth"
    torch.save({"state_dict": official_state}, path)
    vae = load_official_checkpoint(path)
    assert vae.config == ShapeVAEConfig(bg_mode="heuristic") and not vae.training
    state = ours_to_official(vae.state_dict())
    assert state.keys() == official_state.keys() and all(torch.equal(state[k], official_state[k]) for k in state)
    torch.save({k: v for k, v in official_state.items() if k != "lstm.bias_hh_l2"}, path)
    with pytest.raises(ValueError, match="missing keys.*official.pth"):
        load_official_checkpoint(path)


def test_official_weights_run_alike_on_the_plain_modules_and_the_fast_path(official_state):
    vae = ShapeVAE(official_config(official_state)).eval()
    vae.load_state_dict(official_to_ours(official_state), strict=True)
    torch.manual_seed(0)
    labels = torch.randint(0, 19, (1, 1, 256, 256))
    onehot = F.one_hot(labels[:, 0], 19).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        expected = vae.reconstruct(onehot)  # the plain modules: the official block order, written out
    logits = compile_for_inference(vae).reconstruct(labels)
    assert logits.shape == expected.shape == (1, 19, 256, 256)
    # The official background rule: 1 where the 18 part logits sum to <= 0 (its add_background_channel).
    assert torch.equal(expected[:, 0], (expected[:, 1:].sum(1) <= 0).float())
    assert torch.equal(logits[:, 0], (logits[:, 1:].sum(1) <= 0).float())
    # Same function up to float rounding (the fast decoder sums in another order).
    torch.testing.assert_close(logits[:, 1:], expected[:, 1:], atol=1e-3, rtol=1e-3)
    clear = expected[:, 1:].sum(1).abs() > 1e-2  # where rounding cannot flip the background rule
    assert clear.float().mean() > 0.99 and torch.equal(logits[:, 0][clear], expected[:, 0][clear])


def test_non_state_dict_files_are_refused_with_the_file_name(tmp_path):
    path = tmp_path / "not_weights.pth"
    torch.save({"epoch": 3}, path)
    with pytest.raises(ValueError, match="not_weights.pth"):
        read_official_state_dict(path)
    with pytest.raises(FileNotFoundError):
        read_official_state_dict(tmp_path / "missing.pth")

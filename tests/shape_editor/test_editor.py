from dataclasses import asdict

import pytest
import torch

from shape_editor.checkpoint import load_shape_vae
from shape_editor.config import ShapeVAEConfig
from shape_editor.editor import (
    MaskEditor,
    generate_codes,
    interpolate_codes,
    interpolation_alphas,
    part_indices,
    perturb_codes,
    swap_codes,
)
from shape_editor.shape_vae import ShapeVAE

NOSE, MOUTH = 2, 10  # standard ids; code indices 1 and 9


def tiny_vae(seed=0):
    torch.manual_seed(seed)
    cfg = ShapeVAEConfig(
        crop_size=32, enc_size=16, enc_widths=(32,), latent_dim=16, lstm_hidden=8, ff_hidden=16, ngf=4, groups=4
    )
    return ShapeVAE(cfg)


def tiny_editor(seed=0):
    return MaskEditor(tiny_vae(seed))


def random_labels(batch=2, seed=0):
    return torch.randint(0, 19, (batch, 1, 32, 32), generator=torch.Generator().manual_seed(seed))


def changed_parts(codes, mu):
    """Code indices that differ from mu in any variant: codes [B, K, P, D], mu [B, P, D]."""
    return torch.nonzero((codes != mu[:, None]).any(dim=(0, 1, 3))).flatten().tolist()


def test_part_indices_map_ids_to_code_indices_and_reject_background():
    assert part_indices([10, 2, 2], 18) == [1, 9]
    with pytest.raises(ValueError, match="background"):
        part_indices([0], 18)
    with pytest.raises(ValueError, match=r"\[19\]"):
        part_indices([19], 18)
    with pytest.raises(ValueError, match="no part"):
        part_indices([], 18)


def test_interpolation_alphas_span_zero_to_one_inclusive():
    assert interpolation_alphas(5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    with pytest.raises(ValueError, match="n_steps=1"):
        interpolation_alphas(1)


@pytest.mark.parametrize("parts", [[NOSE], [NOSE, MOUTH], list(range(1, 19))])
def test_generate_and_perturb_change_exactly_the_requested_codes(parts):
    mu = torch.randn(2, 18, 16)
    expected = [p - 1 for p in parts]
    generated = generate_codes(mu, parts, n_samples=3, generator=torch.Generator().manual_seed(0))
    perturbed = perturb_codes(mu, parts, 0.5, n_samples=3, generator=torch.Generator().manual_seed(0))
    assert generated.shape == perturbed.shape == (2, 3, 18, 16)
    assert changed_parts(generated, mu) == expected
    assert changed_parts(perturbed, mu) == expected
    # same noise: perturb = mu + 0.5 * eps and generate = eps on the edited parts
    torch.testing.assert_close(perturbed[:, :, expected], mu[:, None, expected] + 0.5 * generated[:, :, expected])


def test_perturb_with_zero_strength_keeps_mu():
    mu = torch.randn(1, 18, 16)
    assert torch.equal(perturb_codes(mu, [NOSE], 0.0, n_samples=2), mu[:, None].expand(1, 2, 18, 16))


def test_interpolate_codes_mix_only_the_parts_and_are_exact_at_the_ends():
    mu, target = torch.randn(2, 18, 16), torch.randn(2, 18, 16)
    codes = interpolate_codes(mu, target, [NOSE, MOUTH], torch.tensor([0.0, 0.5, 1.0]))
    assert codes.shape == (2, 3, 18, 16)
    assert changed_parts(codes, mu) == [1, 9]
    assert torch.equal(codes[:, 0], mu)
    assert torch.equal(codes[:, 2, [1, 9]], target[:, [1, 9]])
    torch.testing.assert_close(codes[:, 1, [1, 9]], (mu[:, [1, 9]] + target[:, [1, 9]]) / 2)
    assert torch.equal(swap_codes(mu, target, [NOSE, MOUTH])[:, 0], codes[:, 2])
    with pytest.raises(ValueError, match="alphas"):
        interpolate_codes(mu, target, [NOSE], torch.tensor([1.5]))


def spy_decode(editor, calls):
    original = editor.model.decode

    def decode(codes):
        calls.append(codes.clone())
        return original(codes)

    editor.model.decode = decode


@pytest.mark.parametrize("mode", ["generate", "perturb", "interpolate", "swap"])
def test_decode_receives_codes_that_differ_only_in_the_edited_part(mode):
    editor, labels = tiny_editor(), random_labels()
    mu = editor.encode(labels)
    calls = []
    spy_decode(editor, calls)
    out = editor.edit(
        mode,
        labels,
        [NOSE],
        target_labels=random_labels(seed=1),
        n_samples=3,
        n_steps=4,
        generator=torch.Generator().manual_seed(0),
    )
    assert len(calls) == 1  # every variant, the whole alpha strip included, in ONE decode batch
    K = out.codes.shape[1]
    assert calls[0].shape == (2 * K, 18, 16)
    assert torch.equal(calls[0], out.codes.flatten(0, 1))
    assert changed_parts(out.codes, mu) == [NOSE - 1]
    assert out.masks.shape == (2, K, 32, 32) and out.logits.shape == (2, K, 19, 32, 32)
    assert torch.equal(out.masks, out.logits.argmax(2))


def test_all_mode_draws_every_code_from_noise():
    editor, labels = tiny_editor(), random_labels()
    mu = editor.encode(labels)
    out = editor.edit("all", labels, n_samples=2, generator=torch.Generator().manual_seed(0))
    assert out.codes.shape == (2, 2, 18, 16)
    assert changed_parts(out.codes, mu) == list(range(18))
    assert (out.codes != mu[:, None]).all()


def test_generate_is_repeatable_with_a_seed_and_differs_with_another():
    editor, labels = tiny_editor(), random_labels()
    first, again, other = (editor.generate(labels, [NOSE], 2, torch.Generator().manual_seed(s)) for s in (7, 7, 8))
    assert torch.equal(first.masks, again.masks) and torch.equal(first.logits, again.logits)
    assert not torch.equal(first.codes, other.codes)
    assert not torch.equal(first.logits, other.logits)


def test_interpolation_ends_equal_reconstruction_and_swap():
    editor, labels, target = tiny_editor(), random_labels(), random_labels(seed=1)
    strip = editor.interpolate(labels, target, [NOSE, MOUTH], n_steps=5)
    recon, swap = editor.reconstruct(labels), editor.swap(labels, target, [NOSE, MOUTH])
    assert strip.alphas.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert torch.equal(strip.masks[:, 0], recon.masks[:, 0])
    assert torch.equal(strip.masks[:, -1], swap.masks[:, 0])
    torch.testing.assert_close(strip.logits[:, 0], recon.logits[:, 0])
    torch.testing.assert_close(strip.logits[:, -1], swap.logits[:, 0])


def test_reconstruct_equals_the_vae_reconstruction():
    vae, labels = tiny_vae(), random_labels()
    expected = vae.reconstruct(torch.nn.functional.one_hot(labels[:, 0], 19).permute(0, 3, 1, 2).float())
    torch.testing.assert_close(MaskEditor(vae).reconstruct(labels).logits[:, 0], expected)


def test_the_editor_neither_keeps_nor_changes_the_model():
    vae = tiny_vae().train()
    editor = MaskEditor(vae)
    assert vae.training and all(value is not vae for value in vars(editor).values())
    assert MaskEditor(editor.model).model is editor.model  # an inference object is used as it is


def test_edit_rejects_unknown_modes_and_missing_targets():
    editor, labels = tiny_editor(), random_labels()
    with pytest.raises(ValueError, match="attribute"):
        editor.edit("attribute", labels, [NOSE])
    with pytest.raises(ValueError, match="target_labels"):
        editor.edit("swap", labels, [NOSE])
    with pytest.raises(ValueError, match="background"):
        editor.generate(labels, [0])


def save_payload(vae, path, **config_overrides):
    config = {**asdict(vae.config), **config_overrides}
    torch.save({"state_dict": vae.state_dict(), "config": config, "step": 3}, path)


def test_load_shape_vae_rebuilds_the_network_from_its_checkpoint(tmp_path):
    vae, labels = tiny_vae(), random_labels()
    save_payload(vae, tmp_path / "latest_net_G.pth")
    loaded = load_shape_vae(tmp_path / "latest_net_G.pth", "cpu", expect={"label_nc": 19, "crop_size": 32})
    assert loaded.config == vae.config and not loaded.training
    expected = MaskEditor(vae).reconstruct(labels).logits
    torch.testing.assert_close(MaskEditor(loaded).reconstruct(labels).logits, expected)


def test_load_shape_vae_names_the_file_and_the_differing_values(tmp_path):
    vae = tiny_vae()
    path = tmp_path / "7_net_G.pth"
    save_payload(vae, path)
    with pytest.raises(ValueError, match=r"7_net_G\.pth.*crop_size=32 in the checkpoint but crop_size=64 here"):
        load_shape_vae(path, expect={"crop_size": 64})
    save_payload(vae, path, ngf=8)  # weights of ngf=4 under a config that says 8: strict load fails
    with pytest.raises(ValueError, match=r"do not fit this network.*7_net_G\.pth"):
        load_shape_vae(path)
    torch.save({"weights": 1}, path)
    with pytest.raises(ValueError, match=r"7_net_G\.pth is not a shape VAE checkpoint"):
        load_shape_vae(path)
    with pytest.raises(FileNotFoundError):
        load_shape_vae(tmp_path / "missing.pth")

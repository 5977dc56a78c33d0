"""The fast paths (shape_editor/fast.py) compute what the plain modules compute.

Inference (`compile_for_inference`): logits allclose and argmax masks equal, per component and for the
whole VAE and every edit. Training (`TrainingForward`): loss and gradients allclose. The plain modules
are the reference throughout; there is no other copy of the network.
"""

from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from data.synthetic_faces import synthetic_face
from shape_editor.config import ShapeVAEConfig
from shape_editor.editor import MaskEditor
from shape_editor.fast import (
    FastMaskDecoder,
    FastPartEncoder,
    FastShapeVAE,
    TrainingForward,
    add_upsampled_,
    compile_for_inference,
    compose_1x1,
    default_channels_last,
    inference_model,
    norm_silu,
    subpixel_weight,
)
from shape_editor.losses import shape_vae_loss
from shape_editor.mask_decoder import MaskDecoder, UpBlock, group_norm, upsample2x
from shape_editor.masks import labels_to_onehot
from shape_editor.part_encoder import PartEncoder
from shape_editor.shape_vae import ShapeVAE

SIZES = [dict(crop_size=32, enc_size=16), dict(crop_size=64, enc_size=32, ngf=16)]
LAYOUTS = [True, False]  # channels_last
NOSE, MOUTH = 2, 10


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny nets run faster on one thread, especially while other jobs share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def face_labels(batch, size, seed=7):
    """[B, 1, size, size] int64 synthetic face masks (realistic content: parts of realistic sizes)."""
    faces = [synthetic_face(seed, i, size=size, with_image=False).label for i in range(batch)]
    return torch.from_numpy(np.stack(faces).astype("int64"))[:, None]


def tiny_vae(seed=0, **overrides):
    """A small ShapeVAE with a non-zero decoder (a trained one has no zero convs)."""
    torch.manual_seed(seed)
    cfg = ShapeVAEConfig(**{**dict(crop_size=32, enc_size=16, enc_widths=(64, 32), ngf=8, groups=8), **overrides})
    vae = ShapeVAE(cfg)
    for block in vae.decoder.blocks:
        nn.init.normal_(block.conv_out.weight, std=0.1)
    return vae


def assert_same_logits(got, expected, atol=1e-4, rtol=1e-4):
    torch.testing.assert_close(got, expected, atol=atol, rtol=rtol)
    assert torch.equal(got.argmax(1), expected.argmax(1))


# --- the exact rewrites ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("shape, c_out, with_bias", [((2, 3, 4, 5), 6, True), ((1, 8, 7, 3), 4, False)])
def test_subpixel_transposed_conv_equals_conv_of_upsampled_input(shape, c_out, with_bias, layout):
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64).contiguous(memory_format=layout).requires_grad_()
    weight = torch.randn(c_out, shape[1], 3, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(c_out, dtype=torch.float64, requires_grad=True) if with_bias else None
    fast = F.conv_transpose2d(x, subpixel_weight(weight), bias, stride=2, padding=1)
    plain = F.conv2d(upsample2x(x), weight, bias, padding=1)
    torch.testing.assert_close(fast, plain)
    assert fast.is_contiguous(memory_format=layout)
    grad_out = torch.randn_like(plain)
    inputs = [t for t in (x, weight, bias) if t is not None]
    grads = zip(torch.autograd.grad(fast, inputs, grad_out), torch.autograd.grad(plain, inputs, grad_out))
    for g_fast, g_plain in grads:
        torch.testing.assert_close(g_fast, g_plain)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_add_upsampled_adds_the_explicit_upsampling_in_place(layout):
    x = torch.randn(2, 3, 8, 6).contiguous(memory_format=layout)
    low = torch.randn(2, 3, 4, 3).contiguous(memory_format=layout)
    expected = x + upsample2x(low)
    assert add_upsampled_(x, low) is x
    torch.testing.assert_close(x, expected)


@pytest.mark.parametrize("kernel, with_bias, with_project_bias", [(3, True, True), (1, False, True), (3, True, False)])
def test_compose_1x1_is_the_1x1_conv_after_the_conv(kernel, with_bias, with_project_bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 5, kernel, padding=kernel // 2, bias=with_bias).double()
    project = nn.Conv2d(5, 3, 1).double()
    x = torch.randn(2, 6, 7, 4, dtype=torch.float64)
    project_bias = project.bias if with_project_bias else None
    weight, bias = compose_1x1(project.weight, project_bias, conv.weight, conv.bias)
    expected = project(conv(x)) - (0 if with_project_bias else project.bias[:, None, None])
    folded = F.conv2d(x, weight, bias, padding=kernel // 2)
    torch.testing.assert_close(folded, expected)
    grad_out = torch.randn_like(expected)
    params = [*conv.parameters(), *project.parameters()][: None if with_project_bias else -1]
    grads = zip(torch.autograd.grad(folded, params, grad_out), torch.autograd.grad(expected, params, grad_out))
    for got, want in grads:
        torch.testing.assert_close(got, want)


def saved_for_backward(fn):
    """(output, bytes autograd keeps for backward) of fn()."""
    sizes = []

    def pack(t):
        sizes.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(sizes)


def test_recomputed_norm_silu_keeps_less_for_backward_with_the_same_gradients():
    torch.manual_seed(0)
    norm = group_norm(8, 4)
    x = torch.randn(2, 8, 16, 16, requires_grad=True)
    recomputed, recomputed_bytes = saved_for_backward(lambda: norm_silu(norm, x, recompute=True))
    plain, plain_bytes = saved_for_backward(lambda: F.silu(norm(x)))
    assert recomputed_bytes < plain_bytes
    torch.testing.assert_close(recomputed, plain)
    grad = torch.randn_like(plain)
    inputs = (x, norm.weight, norm.bias)
    grads = zip(torch.autograd.grad(recomputed, inputs, grad), torch.autograd.grad(plain, inputs, grad))
    for g_fast, g_plain in grads:
        torch.testing.assert_close(g_fast, g_plain)


# --- inference: each component, the whole VAE, the edits -------------------------------------------------------


def one_hot_parts(ids, num_parts):
    """[B, E, E] ids -> [B, P, E, E] float binary channels of parts 1..P."""
    return F.one_hot(ids, num_parts + 1)[..., 1:].permute(0, 3, 1, 2).float()


def test_encoder_gathers_the_same_first_layer_as_the_dense_matmul():
    torch.manual_seed(0)
    encoder = PartEncoder(enc_size=16, widths=(64, 32, 32), latent_dim=256)
    ids = torch.randint(0, 6, (3, 16, 16), generator=torch.Generator().manual_seed(1))
    ids[1][ids[1] == 4] = 0  # part 4 absent from the second mask: an empty bag
    ids[2] = 0  # a mask of background only
    with torch.no_grad():
        expected = encoder(one_hot_parts(ids, 5))
        fast = FastPartEncoder(encoder)
        from_ids = fast.heads(fast.first_layer_of_ids(ids, 5), 3, 5)
        from_parts = fast.heads(fast.first_layer_of_parts(one_hot_parts(ids, 5)), 3, 5)
    for got in (from_ids, from_parts):
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e)


@pytest.mark.parametrize("size", SIZES)
def test_encode_and_mix_match_the_plain_modules(size):
    vae = tiny_vae(**size)
    fast = compile_for_inference(vae)
    labels = face_labels(3, size["crop_size"])
    with torch.no_grad():
        mu, logvar = vae.encode(labels_to_onehot(labels, 19))
        for masks in (labels, labels[:, 0], labels_to_onehot(labels, 19)):  # ids [B, 1, H, W], [B, H, W], one-hot
            got_mu, got_logvar = fast.encode(masks)
            torch.testing.assert_close(got_mu, mu)
            torch.testing.assert_close(got_logvar, logvar)
        torch.testing.assert_close(fast.mix(mu), vae.mix(mu))


@pytest.mark.parametrize("channels_last", LAYOUTS)
@pytest.mark.parametrize("widths, latent_dim", [((16, 8), 256), ((16, 8, 4), 256), ((16,), 64)])
def test_decoder_matches_the_plain_module(widths, latent_dim, channels_last):
    torch.manual_seed(0)
    decoder = MaskDecoder(num_parts=18, num_classes=19, widths=widths, norm_layer=lambda c: group_norm(c, 4))
    for block in decoder.blocks:
        nn.init.normal_(block.conv_out.weight, std=0.1)
    codes = torch.randn(2, 18, latent_dim)
    with torch.no_grad():
        expected = decoder(codes)
        got = FastMaskDecoder(decoder, channels_last)(codes)
    assert_same_logits(got, expected)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    assert got.is_contiguous(memory_format=layout)  # channels-last logits: argmax over classes is faster on the CPU


@pytest.mark.parametrize("channels_last", LAYOUTS)
@pytest.mark.parametrize("size", SIZES)
def test_whole_vae_matches_the_plain_modules(size, channels_last):
    vae = tiny_vae(**size)
    labels = face_labels(3, size["crop_size"])
    with torch.no_grad():
        expected = vae.eval()(labels_to_onehot(labels, 19)).logits
    fast = compile_for_inference(vae, channels_last=channels_last)
    assert_same_logits(fast.reconstruct(labels), expected)
    assert_same_logits(fast.reconstruct(labels_to_onehot(labels, 19)), expected)


ABLATIONS = [dict(use_lstm=False), dict(bg_mode="heuristic"), dict(lstm_layers=1, bidirectional=False)]


@pytest.mark.parametrize("overrides", ABLATIONS)
def test_ablations_and_the_heuristic_background_match_the_plain_modules(overrides):
    vae = tiny_vae(**overrides)
    labels = face_labels(2, 32)
    with torch.no_grad():
        expected = vae.reconstruct(labels)
    got = compile_for_inference(vae).reconstruct(labels)
    assert got.shape == expected.shape == (2, 19, 32, 32)
    assert_same_logits(got, expected)


def test_a_vae_without_up_blocks_folds_the_output_conv_into_the_input_conv():
    vae = tiny_vae(crop_size=16, enc_size=16, latent_dim=256)
    assert len(vae.decoder.blocks) == 0
    labels = face_labels(2, 16)
    with torch.no_grad():
        assert_same_logits(compile_for_inference(vae).reconstruct(labels), vae.reconstruct(labels))


@pytest.mark.parametrize("mode", ["reconstruct", "generate", "perturb", "interpolate", "swap", "all"])
def test_every_edit_decodes_what_the_plain_modules_decode(mode):
    vae = tiny_vae()
    editor = MaskEditor(vae)
    labels, targets = face_labels(2, 32), face_labels(2, 32, seed=8)
    out = editor.edit(
        mode,
        labels,
        [NOSE, MOUTH],
        target_labels=targets,
        n_samples=2,
        n_steps=3,
        generator=torch.Generator().manual_seed(0),
    )
    with torch.no_grad():
        expected = vae.decode(out.codes.flatten(0, 1))  # the plain decode of the very codes the editor decoded
        if mode != "all":
            mu = vae.encode(labels)[0]
            torch.testing.assert_close(editor.encode(labels), mu)
    assert_same_logits(out.logits.flatten(0, 1), expected)
    assert torch.equal(out.masks.flatten(0, 1), expected.argmax(1))


def test_bf16_autocast_masks_agree_with_the_fp32_plain_modules():
    vae = tiny_vae()
    labels = face_labels(4, 32)
    optimizer = torch.optim.Adam(vae.parameters(), lr=3e-3)
    for step in range(30):  # a few steps, so the logits have the margins of a trained model
        out = vae.train()(labels, torch.Generator().manual_seed(step))
        optimizer.zero_grad()
        sum(shape_vae_loss(out, labels, None, 0.0005).values()).backward()
        optimizer.step()
    with torch.no_grad():
        expected = vae.eval().reconstruct(labels).argmax(1)
    fast = compile_for_inference(vae)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = fast.reconstruct(labels)
    assert logits.dtype == torch.bfloat16
    assert (logits.argmax(1) == expected).float().mean() >= 0.99


def test_the_layout_is_a_build_time_choice_with_a_per_device_default():
    assert default_channels_last(torch.device("cpu")) and not default_channels_last(torch.device("cuda"))
    vae = tiny_vae()
    assert compile_for_inference(vae).channels_last  # built on the CPU
    fast = compile_for_inference(vae, channels_last=False)
    assert not fast.channels_last and fast.reconstruct(face_labels(1, 32)).is_contiguous()


# --- the inference object is frozen ------------------------------------------------------------------------------


def tensors_of(fast: FastShapeVAE):
    """Every tensor the inference object runs with."""
    encoder, decoder = fast.encoder, fast.decoder
    found = [
        encoder.rows,
        encoder.first_bias,
        *encoder.mu,
        *encoder.logvar,
        *(t for wb in encoder.hidden for t in wb),
        *decoder.in_conv,
    ]
    for weights, norm_in, norm_out in decoder.blocks:
        found += [w for w in weights if w is not None] + [*norm_in.parameters(), *norm_out.parameters()]
    return found + ([] if fast.sequence is None else list(fast.sequence.parameters()))


def test_the_inference_object_shares_no_storage_with_the_model():
    vae = tiny_vae()
    fast = compile_for_inference(vae)
    ours = {t.untyped_storage().data_ptr() for t in tensors_of(fast)}
    theirs = {p.untyped_storage().data_ptr() for p in vae.parameters()}
    assert not ours & theirs
    assert not any(t.requires_grad for t in tensors_of(fast))
    assert inference_model(fast) is fast


def change_in_place(vae):
    with torch.no_grad():
        for p in vae.parameters():
            p.data.mul_(0.5)  # through .data: no version bump (what the old cache missed)


def change_by_fused_adam(vae):
    vae.eval()  # a step taken in eval mode (what the old cache missed as well)
    optimizer = torch.optim.Adam(vae.parameters(), lr=0.05, fused=True)
    labels = face_labels(2, 32)
    sum(shape_vae_loss(vae(labels), labels, None, 0.0005).values()).backward()
    optimizer.step()


def change_by_loading(vae):
    vae.load_state_dict(tiny_vae(seed=1).state_dict())


@pytest.mark.parametrize("change", [change_in_place, change_by_fused_adam, change_by_loading])
def test_changing_the_model_leaves_the_built_object_alone_and_a_rebuild_follows(change):
    vae = tiny_vae()
    labels = face_labels(2, 32)
    fast = compile_for_inference(vae)
    before = fast.reconstruct(labels).clone()
    change(vae)
    with torch.no_grad():
        now = vae.reconstruct(labels)
    assert not torch.allclose(now, before, atol=1e-3)  # the change is real
    assert torch.equal(fast.reconstruct(labels), before)  # the built object is not affected
    assert_same_logits(compile_for_inference(vae).reconstruct(labels), now)


# --- training -----------------------------------------------------------------------------------------------------

FLAGS = [
    dict(fast_decoder=True, checkpoint_activations=True),
    dict(fast_decoder=True, checkpoint_activations=False),
    dict(fast_decoder=False, checkpoint_activations=True),
    dict(fast_decoder=False, checkpoint_activations=False),
]


def loss_and_gradients(vae, forward, masks, labels, weights):
    vae.zero_grad(set_to_none=True)
    out = forward(vae.train(), masks, torch.Generator().manual_seed(5))
    losses = shape_vae_loss(out, labels, weights, 0.0005)
    sum(losses.values()).backward()
    return {k: v.detach() for k, v in losses.items()}, {name: p.grad.clone() for name, p in vae.named_parameters()}


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("size", SIZES)
def test_training_forward_has_the_plain_loss_and_gradients(size, flags):
    vae = tiny_vae(**size)
    labels = face_labels(2, size["crop_size"])
    weights = torch.rand(19, generator=torch.Generator().manual_seed(1))
    plain_losses, plain_grads = loss_and_gradients(
        vae, ShapeVAE.__call__, labels_to_onehot(labels, 19), labels, weights
    )
    losses, grads = loss_and_gradients(vae, TrainingForward(**flags), labels, labels, weights)
    for name, value in plain_losses.items():
        torch.testing.assert_close(losses[name], value, rtol=1e-5, atol=1e-6)
    for name, grad in plain_grads.items():
        torch.testing.assert_close(grads[name], grad, atol=1e-5, rtol=1e-4, msg=name)


def test_training_forward_does_not_depend_on_grad_mode_and_uses_mu_in_eval():
    vae = tiny_vae()
    labels = face_labels(2, 32)
    with torch.no_grad():
        out = TrainingForward()(vae.eval(), labels)
        plain = vae(labels)
    assert torch.equal(out.codes, out.mu)
    torch.testing.assert_close(out.logits, plain.logits, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("fast_decoder", [True, False])
def test_checkpoint_activations_keeps_less_for_backward_with_the_same_gradients(fast_decoder):
    vae = tiny_vae()
    labels = face_labels(2, 32)
    kept, grads = {}, {}
    for recompute in (True, False):
        forward = TrainingForward(fast_decoder=fast_decoder, checkpoint_activations=recompute)
        vae.zero_grad(set_to_none=True)
        generator = torch.Generator().manual_seed(5)
        out, kept[recompute] = saved_for_backward(partial(forward, vae.train(), labels, generator))
        sum(shape_vae_loss(out, labels, None, 0.0005).values()).backward()
        grads[recompute] = {name: p.grad.clone() for name, p in vae.named_parameters()}
    assert kept[True] < kept[False]
    for name, grad in grads[False].items():
        torch.testing.assert_close(grads[True][name], grad, msg=name)


def test_the_fast_training_block_is_the_plain_block_with_the_output_conv_folded_in():
    from shape_editor.fast import block_weights, fused_up_block

    torch.manual_seed(0)
    block, project = UpBlock(8, 4, group_norm), nn.Conv2d(4, 19, 1)
    nn.init.normal_(block.conv_out.weight, std=0.1)
    x = torch.randn(2, 8, 5, 5)
    fused = fused_up_block(x, block_weights(block, project), block.norm_in, block.norm_out)
    torch.testing.assert_close(fused, project(block(x)))
    torch.testing.assert_close(fused_up_block(x, block_weights(block), block.norm_in, block.norm_out), block(x))


def test_building_the_fast_path_leaves_the_global_rng_alone():
    """Evaluating during training builds a fast object; that must not change the run's later noise draws."""
    vae = tiny_vae()
    state = torch.random.get_rng_state()
    compile_for_inference(vae)
    assert torch.equal(torch.random.get_rng_state(), state)

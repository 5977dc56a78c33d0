import pytest
import torch
import torch.nn.functional as F
from torch import nn

from shape_editor.mask_decoder import (
    MaskDecoder, UpBlock, add_upsampled_, block_layout, compose_1x1, group_norm, norm_silu, subpixel_weight,
)


def upsample(x):
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("shape, c_out, with_bias", [((2, 3, 4, 5), 6, True), ((1, 8, 7, 3), 4, False)])
def test_subpixel_transposed_conv_equals_conv_of_upsampled_input(shape, c_out, with_bias, layout):
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64).contiguous(memory_format=layout).requires_grad_()
    weight = torch.randn(c_out, shape[1], 3, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(c_out, dtype=torch.float64, requires_grad=True) if with_bias else None
    fast = F.conv_transpose2d(x, subpixel_weight(weight), bias, stride=2, padding=1)
    reference = F.conv2d(upsample(x), weight, bias, padding=1)
    torch.testing.assert_close(fast, reference)
    assert fast.is_contiguous(memory_format=layout)
    grad_out = torch.randn_like(reference)
    inputs = [t for t in (x, weight, bias) if t is not None]
    for g_fast, g_ref in zip(torch.autograd.grad(fast, inputs, grad_out), torch.autograd.grad(reference, inputs, grad_out)):
        torch.testing.assert_close(g_fast, g_ref)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_add_upsampled_adds_the_explicit_upsampling_in_place(layout):
    x = torch.randn(2, 3, 8, 6).contiguous(memory_format=layout)
    low = torch.randn(2, 3, 4, 3).contiguous(memory_format=layout)
    expected = x + upsample(low)
    assert add_upsampled_(x, low) is x
    torch.testing.assert_close(x, expected)


def test_group_norm_uses_a_valid_group_count():
    assert group_norm(512).num_groups == 32
    assert group_norm(24).num_groups == 8
    assert group_norm(4, groups=32).num_groups == 4


def test_up_block_starts_as_its_skip_path():
    torch.manual_seed(0)
    block = UpBlock(8, 4, group_norm)
    assert torch.count_nonzero(block.conv_out.weight) == 0 and torch.count_nonzero(block.conv_out.bias) == 0
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(block(x), block.skip(upsample(x)))


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_up_block_matches_the_unfused_definition(layout):
    torch.manual_seed(0)
    block = UpBlock(8, 4, group_norm)
    nn.init.normal_(block.conv_out.weight, std=0.1)
    x = torch.randn(2, 8, 5, 5).contiguous(memory_format=layout)
    h = block.conv_in(upsample(F.silu(block.norm_in(x))))
    h = block.conv_out(F.silu(block.norm_out(h)))
    torch.testing.assert_close(block(x), h + block.skip(upsample(x)))


@pytest.mark.parametrize("kernel, with_bias, with_project_bias", [(3, True, True), (1, False, True), (3, True, False)])
def test_compose_1x1_is_the_1x1_conv_after_the_conv(kernel, with_bias, with_project_bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 5, kernel, padding=kernel // 2, bias=with_bias).double()
    project = nn.Conv2d(5, 3, 1).double()
    x = torch.randn(2, 6, 7, 4, dtype=torch.float64)
    weight, bias = compose_1x1(project, conv.weight, conv.bias, with_project_bias)
    expected = project(conv(x)) - (0 if with_project_bias else project.bias[:, None, None])
    folded = F.conv2d(x, weight, bias, padding=kernel // 2)
    torch.testing.assert_close(folded, expected)
    grad_out = torch.randn_like(expected)
    params = [*conv.parameters(), *project.parameters()][: None if with_project_bias else -1]
    for got, want in zip(torch.autograd.grad(folded, params, grad_out), torch.autograd.grad(expected, params, grad_out)):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_last_block_with_the_output_conv_folded_in_equals_the_two_convs(layout):
    torch.manual_seed(0)
    block, project = UpBlock(8, 4, group_norm), nn.Conv2d(4, 19, 1)
    nn.init.normal_(block.conv_out.weight, std=0.1)
    x = torch.randn(2, 8, 5, 5).contiguous(memory_format=layout)
    torch.testing.assert_close(block(x, project=project), project(block(x)))
    with torch.no_grad():  # the inference path: cached, channels-last derived weights
        expected = project(block.eval()(x))
        torch.testing.assert_close(block(x, project=project), expected)


def test_block_weights_are_derived_once_at_inference_and_every_step_in_training():
    block = UpBlock(8, 4, group_norm)
    assert block.block_weights(None) is not block.block_weights(None)  # training: in the graph each time
    with torch.no_grad():
        block.eval()
        cached = block.block_weights(None)
        assert block.block_weights(None) is cached
        block.train()
        block.eval()
        recomputed = block.block_weights(None)
        assert recomputed is not cached  # train() dropped the cache
        assert block.block_weights(nn.Conv2d(4, 3, 1)) is not recomputed  # another projection is another key


@pytest.mark.parametrize("latent_dim, widths, size", [(256, (16, 8), 32), (256, (16, 8, 4), 64), (64, (16, 8), 16)])
def test_output_shape(latent_dim, widths, size):
    decoder = MaskDecoder(num_parts=18, num_classes=19, widths=widths, norm_layer=lambda c: group_norm(c, 4))
    logits = decoder(torch.randn(2, 18, latent_dim))
    assert logits.shape == (2, 19, size, size) and logits.is_contiguous()


def test_norm_layer_is_injected():
    decoder = MaskDecoder(num_parts=3, num_classes=4, widths=(8, 4), norm_layer=lambda c: nn.GroupNorm(1, c))
    assert decoder.blocks[0].norm_in.num_groups == 1 and decoder.blocks[0].norm_out.num_groups == 1


def test_paper_sized_parameter_counts():
    with torch.device("meta"):
        decoder = MaskDecoder(num_parts=18, num_classes=19, widths=(512, 256, 128, 64, 32))

    def block(c_in, c_out):  # norm_in, conv_in, norm_out, conv_out, skip
        return 2 * c_in + (9 * c_in * c_out + c_out) + 2 * c_out + (9 * c_out * c_out + c_out) + (c_in * c_out + c_out)

    counts = [sum(p.numel() for p in b.parameters()) for b in decoder.blocks]
    assert counts == [block(512, 256), block(256, 128), block(128, 64), block(64, 32)]
    assert counts == [1_902_848, 476_288, 119_360, 29_984]
    assert sum(p.numel() for p in decoder.in_conv.parameters()) == 18 * 512 + 512
    assert sum(p.numel() for p in decoder.out_conv.parameters()) == 32 * 19 + 19
    assert sum(p.numel() for p in decoder.parameters()) == 2_538_835


def test_blocks_run_channels_last_only_without_autograd():
    assert block_layout() == torch.contiguous_format
    with torch.no_grad():
        assert block_layout() == torch.channels_last
    with torch.inference_mode():
        assert block_layout() == torch.channels_last


def test_decoder_output_does_not_depend_on_the_layout_choice():
    torch.manual_seed(0)
    decoder = MaskDecoder(num_parts=18, num_classes=19, widths=(16, 8, 4), norm_layer=lambda c: group_norm(c, 4))
    for block in decoder.blocks:
        nn.init.normal_(block.conv_out.weight, std=0.1)
    codes = torch.randn(2, 18, 256)
    with_grad = decoder(codes)
    with torch.inference_mode():
        without = decoder(codes)
    assert with_grad.is_contiguous()
    assert without.is_contiguous(memory_format=torch.channels_last)  # argmax over classes is faster there
    torch.testing.assert_close(without, with_grad.detach())


def saved_for_backward(fn):
    """(output, bytes autograd keeps for backward) of fn()."""
    sizes = []

    def pack(t):
        sizes.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(sizes)


def test_norm_silu_keeps_less_for_backward_with_the_same_gradients():
    torch.manual_seed(0)
    norm = group_norm(8, 4)
    x = torch.randn(2, 8, 16, 16, requires_grad=True)
    fast, fast_bytes = saved_for_backward(lambda: norm_silu(norm, x))
    plain, plain_bytes = saved_for_backward(lambda: F.silu(norm(x)))
    assert fast_bytes < plain_bytes
    torch.testing.assert_close(fast, plain)
    grad = torch.randn_like(plain)
    inputs = (x, norm.weight, norm.bias)
    for g_fast, g_plain in zip(torch.autograd.grad(fast, inputs, grad), torch.autograd.grad(plain, inputs, grad)):
        torch.testing.assert_close(g_fast, g_plain)

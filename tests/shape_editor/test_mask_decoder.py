import pytest
import torch
from torch import nn

from shape_editor.mask_decoder import MaskDecoder, UpBlock, group_norm, upsample2x


def test_group_norm_uses_a_valid_group_count():
    assert group_norm(512).num_groups == 32
    assert group_norm(24).num_groups == 8
    assert group_norm(4, groups=32).num_groups == 4


def test_up_block_starts_as_its_skip_path():
    torch.manual_seed(0)
    block = UpBlock(8, 4, group_norm)
    assert torch.count_nonzero(block.conv_out.weight) == 0 and torch.count_nonzero(block.conv_out.bias) == 0
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(block(x), block.skip(upsample2x(x)))


@pytest.mark.parametrize("latent_dim, widths, size", [(256, (16, 8), 32), (256, (16, 8, 4), 64), (64, (16, 8), 16)])
def test_output_shape(latent_dim, widths, size):
    decoder = MaskDecoder(num_parts=18, num_classes=19, widths=widths, norm_layer=lambda c: group_norm(c, 4))
    logits = decoder(torch.randn(2, 18, latent_dim))
    assert logits.shape == (2, 19, size, size) and logits.is_contiguous()


def test_state_dict_keys_name_the_paper_components():
    decoder = MaskDecoder(num_parts=3, num_classes=4, widths=(8, 4))
    names = ("norm_in", "conv_in", "norm_out", "conv_out", "skip")
    block = [f"blocks.0.{m}.{p}" for m in names for p in ("weight", "bias")]
    assert list(decoder.state_dict()) == ["in_conv.weight", "in_conv.bias", *block, "out_conv.weight", "out_conv.bias"]


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

import pytest
import torch
import torch.nn.functional as F

from models.networks import MultiscaleDiscriminator, PatchDiscriminator


def test_multiscale_output_shapes():
    torch.manual_seed(0)
    discriminator = MultiscaleDiscriminator(input_nc=22, ndf=4, n_layers=3, num_d=2)
    outputs = discriminator(torch.randn(2, 22, 64, 64))
    shapes = [[tuple(f.shape) for f in scale] for scale in outputs]
    # 4x4 convs with padding 2: stride 2 gives floor(s / 2) + 1, stride 1 gives s + 1; scale 2 sees 32x32.
    assert shapes == [
        [(2, 4, 33, 33), (2, 8, 17, 17), (2, 16, 18, 18), (2, 1, 19, 19)],
        [(2, 4, 17, 17), (2, 8, 9, 9), (2, 16, 10, 10), (2, 1, 11, 11)],
    ]


def test_second_scale_sees_the_average_pooled_input():
    torch.manual_seed(0)
    discriminator = MultiscaleDiscriminator(input_nc=5, ndf=4, n_layers=2, num_d=2).eval()  # fixed spectral norm
    x = torch.randn(1, 5, 16, 16)
    pooled = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
    torch.testing.assert_close(discriminator(x)[1][-1], discriminator.discriminator_1(pooled)[-1])


def test_patch_discriminator_layers_and_widths_cap_at_512():
    discriminator = PatchDiscriminator(input_nc=3, ndf=256, n_layers=3)
    assert [name for name, _ in discriminator.named_children()] == ["model0", "model1", "model2", "model3"]
    assert discriminator.model2[0][0].out_channels == 512
    assert discriminator.model1[0][0].bias is None and discriminator.model0[0].bias is not None


def test_invalid_sizes_raise():
    with pytest.raises(ValueError, match="0"):
        PatchDiscriminator(input_nc=3, n_layers=0)
    with pytest.raises(ValueError, match="0"):
        MultiscaleDiscriminator(input_nc=3, num_d=0)

import pytest
import torch
import torch.nn.functional as F

from models.networks import MultiscaleDiscriminator, SEANGenerator, feature_matching_loss, hinge_loss_g

LABEL_NC, CROP, STYLE_DIM = 19, 32, 16


@pytest.fixture
def generator():
    torch.manual_seed(0)
    return SEANGenerator(LABEL_NC, ngf=8, crop_size=CROP, style_dim=STYLE_DIM, encoder_ngf=8, spade_hidden=16)


@pytest.fixture
def batch():
    torch.manual_seed(1)
    masks = F.one_hot(torch.randint(0, LABEL_NC, (2, CROP // 8, CROP // 8)), LABEL_NC).permute(0, 3, 1, 2).float()
    masks = F.interpolate(masks, size=(CROP, CROP), mode="nearest")  # blocky regions, like face parts
    return masks, torch.rand(2, 3, CROP, CROP) * 2 - 1


def test_forward_shape_and_range(generator, batch):
    masks, image = batch
    fake = generator(masks, generator.encode_style(image, masks))
    assert fake.shape == (2, 3, CROP, CROP)
    assert fake.min() >= -1 and fake.max() <= 1


def test_blocks_and_upsampling_layout(generator):
    assert generator.latent_size == CROP // 32
    assert [generator.fc.out_channels, generator.up_0.conv_1.out_channels, generator.up_3.conv_1.out_channels] == [
        128,
        64,
        8,
    ]
    assert not generator.up_3.ace_0.use_style and generator.up_2.ace_0.use_style
    assert not generator.head_0.learned_shortcut and generator.up_0.learned_shortcut


def test_eval_with_zero_noise_is_deterministic(generator, batch):
    masks, image = batch
    generator.eval()
    with torch.no_grad():
        codes = generator.encode_style(image, masks)
        assert torch.equal(generator(masks, codes), generator(masks, codes))


def test_output_depends_on_style_codes(generator, batch):
    masks, image = batch  # train mode: batch statistics keep activations in tanh's range at init
    with torch.no_grad():
        fake = generator(masks, generator.encode_style(image, masks))
        other_style = generator(masks, generator.encode_style(-image, masks))
    assert (fake - other_style).abs().max() > 1e-4


def test_noise_is_reproducible_with_a_generator(generator, batch):
    masks, image = batch
    generator.eval()
    with torch.no_grad():
        for module in generator.modules():
            if hasattr(module, "noise_var"):
                module.noise_var.fill_(0.5)
        codes = generator.encode_style(image, masks)
        run = [generator(masks, codes, generator=torch.Generator().manual_seed(s)) for s in (3, 3, 4)]
    assert torch.equal(run[0], run[1])
    assert (run[0] - run[2]).abs().max() > 1e-6


def test_gradients_reach_every_generator_parameter(generator, batch):
    masks, image = batch
    discriminator = MultiscaleDiscriminator(LABEL_NC + 3, ndf=8, n_layers=3, num_d=2)
    fake = generator(masks, generator.encode_style(image, masks))
    fake_outputs = discriminator(torch.cat([masks, fake], 1))
    real_outputs = discriminator(torch.cat([masks, image], 1))
    (hinge_loss_g(fake_outputs) + feature_matching_loss(real_outputs, fake_outputs)).backward()
    no_grad = [n for n, p in generator.named_parameters() if p.grad is None and not _unused_by_design(n)]
    assert no_grad == []
    assert generator.Zencoder.model[1].weight.grad.abs().sum() > 0
    assert generator.head_0.ace_0.noise_var.grad.abs().sum() > 0


def _unused_by_design(name: str) -> bool:
    """up_3 is SPADE-only: its blending scalars exist only for checkpoint compatibility."""
    return name.startswith("up_3.") and "blending" in name


def test_bad_arguments_raise(generator, batch):
    masks, image = batch
    with pytest.raises(ValueError, match="100"):
        SEANGenerator(crop_size=100)
    with pytest.raises(ValueError, match=r"\(2, 18, 32, 32\)"):
        generator(masks[:, :18], torch.zeros(2, LABEL_NC, STYLE_DIM))
    with pytest.raises(ValueError, match=r"\(2, 19, 8\)"):
        generator(masks, torch.zeros(2, LABEL_NC, 8))

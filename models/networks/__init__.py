"""SEAN networks (generator, style encoder, discriminator) and their losses, built from plain arguments."""

from models.networks.discriminator import MultiscaleDiscriminator, PatchDiscriminator
from models.networks.gan_losses import (
    VGGPerceptualLoss,
    build_vgg_loss,
    feature_matching_loss,
    hinge_loss_d,
    hinge_loss_g,
)
from models.networks.official_keys import KeyDiff, OfficialKeys, diff_state_dict, read_official_keys
from models.networks.sean_blocks import SEANResBlock, init_xavier_
from models.networks.sean_generator import SEANGenerator
from models.networks.sean_norm import SPADE, PerClassLinear, SEANNorm, broadcast_styles
from models.networks.style_encoder import StyleEncoder, pool_regions

__all__ = [
    "KeyDiff",
    "MultiscaleDiscriminator",
    "OfficialKeys",
    "PatchDiscriminator",
    "PerClassLinear",
    "SEANGenerator",
    "SEANNorm",
    "SEANResBlock",
    "SPADE",
    "StyleEncoder",
    "VGGPerceptualLoss",
    "broadcast_styles",
    "build_vgg_loss",
    "diff_state_dict",
    "feature_matching_loss",
    "hinge_loss_d",
    "hinge_loss_g",
    "init_xavier_",
    "pool_regions",
    "read_official_keys",
]

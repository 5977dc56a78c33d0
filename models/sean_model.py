"""`--model sean`: the SEAN semantic image synthesis stage (mask + photo style -> photo).

This adapter turns options into network arguments in one place, checks that the data has photos, and
provides what the trainer, the training page and the testers need: one-hot inputs, the reconstruction
path (style codes from the real photo and its mask, then the generator), visuals and held-out metrics.
Network files are plain state dicts (`latest_net_G.pth`, `latest_net_D.pth`) with the official key
names, so official SEAN checkpoints dropped into `checkpoints/<name>/` load unchanged.
"""

from __future__ import annotations

import argparse
import logging
from itertools import islice
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import Tensor, nn

from models.base_model import BaseModel
from models.networks import MultiscaleDiscriminator, SEANGenerator, SEANNorm
from shape_editor.eval_mode import eval_mode
from shape_editor.masks import labels_to_onehot

logger = logging.getLogger(__name__)

EVAL_BATCHES = 2  # held-out evaluation stays cheap: it runs at the end of every epoch


class PhotoReconstructor(nn.Module):
    """Encode each class's style from a photo, then paint its mask with those styles.

    Both halves run in one `forward`, so a DistributedDataParallel wrapper sees (and syncs) the style
    encoder's gradients too. Holds no weights of its own: its state dict is the generator's, prefixed.
    """

    def __init__(self, generator: SEANGenerator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, masks: Tensor, image: Tensor) -> Tensor:
        """masks: [B, C, H, W] one-hot; image: [B, 3, H, W] in [-1, 1] -> [B, 3, crop, crop] in [-1, 1]."""
        return self.generator(masks, self.generator.encode_style(image, masks))


def reconstruction_metrics(fake: Tensor, real: Tensor) -> dict[str, Tensor]:
    """Per-image L1 (in [-1, 1] units) and PSNR (dB, images mapped to [0, 1]): [B, 3, H, W] x 2 -> {name: [B]}."""
    diff = (fake.float() - real.float()).flatten(1)
    mse = (diff / 2).square().mean(1)  # in [0, 1] units
    return {"L1": diff.abs().mean(1), "PSNR": 10 * torch.log10(1 / mse.clamp_min(1e-10))}


class SEANModel(BaseModel):
    """SEAN generator (+ multiscale discriminator when training)."""

    architecture_options = ("ngf", "style_dim", "encoder_ngf", "spade_hidden", "ndf", "n_layers_D", "num_D")

    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        parser.add_argument(
            "--ngf", type=int, default=64, help="generator width: the first blocks have 16*ngf channels"
        )
        parser.add_argument("--style_dim", type=int, default=512, help="size of each class's style code")
        parser.add_argument("--encoder_ngf", type=int, default=32, help="first width of the style encoder")
        parser.add_argument("--spade_hidden", type=int, default=128, help="width of SPADE's shared conv")
        if is_train:
            parser.add_argument("--ndf", type=int, default=64, help="discriminator width of the first layer")
            parser.add_argument("--n_layers_D", type=int, default=3, help="layers of each PatchGAN")
            parser.add_argument("--num_D", type=int, default=2, help="number of discriminator scales")
            parser.add_argument(
                "--no_TTUR",
                action="store_true",
                help="one lr and --beta1/--beta2 for G and D; default (TTUR): lr/2 for G, 2*lr for D, betas (0, 0.9)",
            )
            parser.add_argument("--D_steps_per_G", type=int, default=1, help="discriminator steps per generator step")
            parser.add_argument("--lambda_feat", type=float, default=10.0, help="weight of feature matching (0: off)")
            parser.add_argument("--lambda_vgg", type=float, default=10.0, help="weight of the VGG19 loss (0: off)")
            parser.add_argument(
                "--vgg_weights",
                type=str,
                default=None,
                help="local torchvision vgg19 state dict (e.g. vgg19-dcbb9e9d.pth); without it the VGG loss is off",
            )
            parser.set_defaults(beta1=0.0, beta2=0.9)
        else:
            parser.add_argument(
                "--shape_which_epoch",
                type=str,
                default="latest",
                help="with --shape_name: which checkpoint of the shape VAE run to load",
            )
            parser.add_argument(
                "--keep_unedited",
                action="store_true",
                help="with --shape_name: take from the edit only the pixels it changes (vs the VAE's "
                "reconstruction) and keep the original mask elsewhere",
            )
        return parser

    def __init__(
        self,
        generator: SEANGenerator,
        checkpoint_dir: str | Path,
        dataset_mode: str,
        discriminator: MultiscaleDiscriminator | None = None,
    ) -> None:
        """Args: the generator; the run folder; the dataset mode (named in errors); D when training."""
        super().__init__(checkpoint_dir)
        self.label_nc = generator.label_nc
        self.dataset_mode = dataset_mode
        self.netG = generator
        freeze_unused_blending(self.netG)
        self.network_names = {"G": "netG"}
        if discriminator is not None:
            self.netD = discriminator
            self.network_names["D"] = "netD"

    @classmethod
    def from_opt(cls, opt: argparse.Namespace) -> SEANModel:
        generator = SEANGenerator(
            opt.label_nc,
            opt.ngf,
            opt.crop_size,
            opt.style_dim,
            encoder_ngf=opt.encoder_ngf,
            spade_hidden=opt.spade_hidden,
        )
        discriminator = (
            MultiscaleDiscriminator(opt.label_nc + 3, opt.ndf, opt.n_layers_D, opt.num_D) if opt.isTrain else None
        )
        return cls(generator, Path(opt.checkpoints_dir) / opt.name, opt.dataset_mode, discriminator)

    # --- inputs --------------------------------------------------------------------------------------
    def inputs(self, batch: dict[str, Any]) -> tuple[Tensor, Tensor]:
        """One-hot masks [B, C, H, W] and photos [B, 3, H, W] of a batch, on the model's device.

        Raises:
            ValueError: the batch has no photos (a masks-only dataset).
        """
        if "image" not in batch:
            raise ValueError(masks_only_message(self.dataset_mode))
        masks = labels_to_onehot(batch["label"].to(self.device, non_blocking=True), self.label_nc)
        return masks, batch["image"].to(self.device, non_blocking=True)

    def setup(self, train_set: Any, is_main: bool = True) -> None:
        """Fail before the first step when the training data has no photos to learn from."""
        if len(train_set) and "image" not in train_set[0]:
            raise ValueError(masks_only_message(self.dataset_mode))

    # --- inference -----------------------------------------------------------------------------------
    def discriminator_input(self, masks: Tensor, image: Tensor) -> Tensor:
        """What D sees: the one-hot mask and the photo stacked, [B, C + 3, H, W]."""
        return torch.cat([masks, image.to(masks.dtype)], dim=1)

    @torch.no_grad()
    def reconstruct(self, masks: Tensor, image: Tensor) -> Tensor:
        """Photos [B, 3, H, W] re-synthesised from their masks [B, C, H, W] and their own styles (eval mode)."""
        with eval_mode(self):
            return PhotoReconstructor(self.netG)(masks, image)

    def visuals(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """Mask, real photo and the photo synthesised from them, for the training page (SPADE's names)."""
        masks, image = self.inputs({key: value[:1] for key, value in batch.items() if key in ("label", "image")})
        fake = self.reconstruct(masks, image)
        return {"input_label": batch["label"][:1], "real_image": image, "synthesized_image": fake}

    def evaluate(self, loader: Iterable[dict[str, Any]]) -> dict[str, float]:
        """Reconstruction L1 and PSNR, averaged over the images of the first EVAL_BATCHES held-out batches."""
        totals: dict[str, float] = {}
        count = 0
        for batch in islice(loader, EVAL_BATCHES):
            masks, real = self.inputs(batch)
            for name, values in reconstruction_metrics(self.reconstruct(masks, real), real).items():
                totals[name] = totals.get(name, 0.0) + float(values.sum())
            count += real.shape[0]
        return {name: total / max(count, 1) for name, total in totals.items()}


def freeze_unused_blending(generator: SEANGenerator) -> None:
    """Stop gradients to the blending scalars of SPADE-only norms (the last block).

    Official checkpoints carry them, so they exist, but their forward never reads them; DDP would wait
    forever for their gradients.
    """
    for module in generator.modules():
        if isinstance(module, SEANNorm) and not module.use_style:
            module.blending_gamma.requires_grad_(False)
            module.blending_beta.requires_grad_(False)


def masks_only_message(dataset_mode: str) -> str:
    """The error for data without photos, naming how to get them for each dataset mode."""
    hints = {
        "synthetic": "drop --no_synthetic_images",
        "celebamaskhq": "add <dataroot>/<phase>/images/ (or CelebA-HQ-img/ next to the raw mask folder)",
        "custom": "pass --image_dir with photos paired to the labels by file stem",
    }
    hint = hints.get(dataset_mode, "use a dataset that has photos")
    return (
        f"--model sean needs photos, but dataset mode {dataset_mode!r} gives masks only "
        f"(SEAN takes its style codes from the real photo): {hint}"
    )

"""`--model shapevae`: the SPADE-style adapter around `shape_editor.ShapeVAE`.

This is the one place where command-line options and `ShapeVAEConfig` meet, both ways (`config_from_opt`,
`opt_from_config`); nothing below it sees `opt`. It also owns the class weights of the paper's Eq. 1,
computed once from the training set.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from data.fingerprint import dataset_fingerprint
from models.base_model import BaseModel
from shape_editor import ShapeVAE, ShapeVAEConfig, ShapeVAEOutput
from shape_editor.config import BG_MODES
from shape_editor.eval_mode import eval_mode
from shape_editor.fileio import atomic_write_json
from shape_editor.labels import LABEL_NAMES
from shape_editor.fast import TrainingForward, compile_for_inference
from shape_editor.losses import CLASS_WEIGHTINGS, class_weights, count_class_pixels, shape_vae_loss
from shape_editor.masks import logits_to_labels
from shape_editor.metrics import confusion_matrix, mean_iou, pixel_accuracy
from shape_editor.recipe import LR_SCHEDULES, RECIPES, VAE_INITS, TrainingRecipe, init_narrow_posterior

logger = logging.getLogger(__name__)


def parse_widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(w) for w in str(text).split(",") if w.strip())
    except ValueError as err:
        raise ValueError(f"--enc_widths must be comma-separated integers, got {text!r}") from err


def config_from_opt(opt: argparse.Namespace) -> ShapeVAEConfig:
    """Translate flags into the network's typed config (the only place that reads them)."""
    return ShapeVAEConfig(
        label_nc=opt.label_nc,
        crop_size=opt.crop_size,
        enc_size=opt.enc_size,
        enc_widths=parse_widths(opt.enc_widths),
        latent_dim=opt.latent_dim,
        use_lstm=not opt.no_lstm,
        lstm_layers=opt.lstm_layers,
        bidirectional=not opt.no_bidir,
        ngf=opt.ngf,
        weighted_ce=not opt.no_weighted_ce,
        lambda_kl=opt.lambda_kl,
        bg_mode=opt.bg_mode,
    )


def recipe_from_opt(opt: argparse.Namespace) -> TrainingRecipe:
    """The training recipe the resolved flags describe (`--recipe` gave their defaults, each flag may override).

    Flags that only training has (lr, ...) keep the recipe's value at test time.
    """
    defaults = RECIPES[getattr(opt, "recipe", "ours")].as_flags()  # runs saved before recipes existed: ours
    return TrainingRecipe(**{k: getattr(opt, k, v) for k, v in defaults.items()})


def opt_from_config(config: ShapeVAEConfig) -> dict[str, Any]:
    """The `--model shapevae` flags that rebuild `config` (the inverse of `config_from_opt`), as opt.json holds them."""
    return {
        "model": "shapevae",
        "label_nc": config.label_nc,
        "crop_size": config.crop_size,
        "load_size": config.crop_size,
        "enc_size": config.enc_size,
        "enc_widths": ",".join(str(w) for w in config.enc_widths),
        "latent_dim": config.latent_dim,
        "lstm_layers": config.lstm_layers,
        "no_lstm": not config.use_lstm,
        "no_bidir": not config.bidirectional,
        "ngf": config.ngf,
        "no_weighted_ce": not config.weighted_ce,
        "lambda_kl": config.lambda_kl,
        "bg_mode": config.bg_mode,
    }


class ShapeVAEModel(BaseModel):
    """Class-wise shape VAE: a latent code per face part, an LSTM that lets parts adapt, a conv decoder."""

    network_names = {"G": "vae"}
    architecture_options = (
        "enc_size",
        "enc_widths",
        "latent_dim",
        "lstm_layers",
        "no_lstm",
        "no_bidir",
        "ngf",
        "no_weighted_ce",
        "bg_mode",
        "recipe",  # not the network, but resuming under another recipe would not continue the same run
    )

    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        parser.add_argument(
            "--enc_size",
            type=int,
            default=None,
            help="each part is resized to this before the encoder; None: min(128, --crop_size)",
        )
        parser.add_argument("--enc_widths", type=str, default="1024,512,256", help="widths of the part encoder's MLP")
        parser.add_argument("--latent_dim", type=int, default=256, help="size of each part's latent code")
        parser.add_argument("--lstm_layers", type=int, default=3, help="layers of the sequence LSTM")
        parser.add_argument("--no_lstm", action="store_true", help="ablation: no sequence block")
        parser.add_argument("--no_bidir", action="store_true", help="ablation: unidirectional LSTM")
        parser.add_argument("--ngf", type=int, default=64, help="decoder width: first block has 8*ngf channels")
        parser.add_argument("--no_weighted_ce", action="store_true", help="ablation: plain cross-entropy")
        parser.add_argument(
            "--recipe",
            type=str,
            default="ours",
            choices=tuple(RECIPES),
            help="defaults of the training flags below: paper = the paper's training (Eq. 1 weights, "
            "CE + 0.0005 KL, Adam 1e-4); ours = what measured best (shape_editor/recipe.py)",
        )
        parser.add_argument("--lambda_kl", type=float, help="weight of the KL term (paper: 0.0005)")
        parser.add_argument(
            "--class_weighting",
            type=str,
            choices=CLASS_WEIGHTINGS,
            help="CE class weights: eq1 = 1 - pixel share (paper); inverse_power = share^-weight_power, "
            "median = median-frequency, uniform = none (ours)",
        )
        parser.add_argument("--weight_power", type=float, help="exponent of --class_weighting inverse_power (ours)")
        parser.add_argument(
            "--lambda_dice",
            type=float,
            help="weight of a soft Dice loss over the classes present (ours; the paper has none: 0)",
        )
        parser.add_argument(
            "--vae_init",
            type=str,
            choices=VAE_INITS,
            help="pytorch = PyTorch's default init (paper); narrow = He-init encoder and a narrow "
            "initial posterior (ours)",
        )
        parser.add_argument(
            "--bg_mode",
            type=str,
            default="learned",
            choices=BG_MODES,
            help="learned: background has its own logit; heuristic: the official Semantic-VAE rule "
            "(18 part logits, background where they sum to <= 0)",
        )
        # bf16 where it is native: 1.6x the fp32 step at 256 px, batch 8, and the same held-out mIoU within
        # 0.5 points over 3 seeds (benchmarks/bench.py, benchmarks/amp_accuracy.py); fp32 everywhere else.
        parser.set_defaults(amp="auto")
        if is_train:
            parser.add_argument("--lr_warmup_steps", type=int, help="steps of linear learning-rate warm-up (ours)")
            parser.add_argument(
                "--lr_schedule",
                type=str,
                choices=LR_SCHEDULES,
                help="constant = SPADE's per-epoch schedule alone (paper); cosine = times a per-step "
                "cosine to 0 at the last step (ours)",
            )
            parser.add_argument(
                "--fast_decoder",
                action=argparse.BooleanOptionalAction,
                default=True,
                help="training forward through shape_editor.fast: each decoder 3x3 conv after nearest "
                "upsampling as one sub-pixel transposed conv, the output 1x1 conv folded into the "
                "last block, over the same parameters (same loss and gradients up to float "
                "rounding, a faster step); --no-fast_decoder runs the plain modules",
            )
            parser.add_argument(
                "--checkpoint_activations",
                action=argparse.BooleanOptionalAction,
                default=True,
                help="recompute the decoder's GroupNorm + SiLU in backward instead of storing their "
                "outputs (same gradients, a lower memory peak, a little more compute)",
            )
        return parser

    @staticmethod
    def option_defaults(opt: argparse.Namespace) -> dict[str, Any]:
        """Flag defaults that depend on other flags: the chosen `--recipe`'s."""
        return RECIPES[opt.recipe].as_flags()

    def resolve_options(opt: argparse.Namespace) -> None:
        if opt.enc_size is None:
            opt.enc_size = min(128, opt.crop_size)

    def __init__(
        self,
        config: ShapeVAEConfig,
        checkpoint_dir: str | Path,
        workers: int = 0,
        training_forward: TrainingForward | None = None,
        recipe: TrainingRecipe | None = None,
    ) -> None:
        """Args: the network's config; the run folder (class weights are stored there); data-loading workers;
        how `forward` runs the VAE (default: the plain modules); how it is trained (default: the paper's)."""
        super().__init__(checkpoint_dir)
        self.config = config
        self.recipe = recipe or RECIPES["paper"]
        self.workers = workers
        self.vae = ShapeVAE(config)
        self.register_buffer("class_weights", torch.ones(config.label_nc))
        self.training_forward = training_forward or TrainingForward(fast_decoder=False, checkpoint_activations=False)

    @classmethod
    def from_opt(cls, opt: argparse.Namespace) -> ShapeVAEModel:
        forward = TrainingForward(opt.fast_decoder, opt.checkpoint_activations, opt.compile) if opt.isTrain else None
        return cls(
            config_from_opt(opt),
            Path(opt.checkpoints_dir) / opt.name,
            workers=opt.nThreads,
            training_forward=forward,
            recipe=recipe_from_opt(opt),
        )

    # --- training ------------------------------------------------------------------------------------
    def setup(self, train_set: Dataset, is_main: bool = True) -> None:
        """Initialise the network as the recipe says; load the class pixel shares from the checkpoint folder, or
        compute them once from the data, and turn them into the recipe's class weights."""
        if self.recipe.vae_init == "narrow":
            init_narrow_posterior(self.vae.encoder)
        if not self.config.weighted_ce:
            return
        path = self.checkpoint_dir / "class_weights.json"
        label_nc = self.config.label_nc
        dataset = dataset_fingerprint(train_set)  # weights of another dataset are recomputed, never reused
        saved = json.loads(path.read_text()) if path.is_file() else {}
        reuse = saved.get("dataset") == dataset and saved.get("label_nc") == label_nc
        shares = (
            torch.tensor(saved["shares"], dtype=torch.float64)
            if reuse
            else class_shares(train_set, label_nc, self.workers)
        )
        weights = class_weights(shares, self.recipe.class_weighting, self.recipe.weight_power)
        if not reuse and is_main:
            record = {
                "dataset": dataset,
                "label_nc": label_nc,
                "shares": shares.tolist(),
                "weights": weights.tolist(),
                "samples": len(train_set),
            }
            atomic_write_json(path, record, indent=2)
        self.class_weights.copy_(weights)

    def forward(self, batch: dict[str, Any]) -> tuple[dict[str, Tensor], ShapeVAEOutput]:
        """Losses {"CE", "KL"[, "Dice"]} (each already weighted) and the network output for a batch."""
        labels = batch["label"].to(self.device, non_blocking=True)
        output = self.training_forward(self.vae, labels)  # ids: one-hot only at the encoder's size (4x smaller)
        weight = self.class_weights if self.config.weighted_ce else None
        losses = shape_vae_loss(output, labels, weight, self.config.lambda_kl, self.recipe.lambda_dice)
        return losses, output

    # --- inspection ----------------------------------------------------------------------------------
    @torch.no_grad()
    def visuals(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """Input mask, its reconstruction, and the reconstruction with one random part drawn from noise."""
        labels = batch["label"][:1].to(self.device)
        with eval_mode(self):
            mu, _ = self.vae.encode(labels)
            generator = torch.Generator().manual_seed(int(labels.sum()))
            part = int(torch.randint(mu.shape[1], (1,), generator=generator))
            edited = mu.clone()
            edited[:, part] = torch.randn(mu.shape[-1], generator=generator).to(mu)
            return {
                "input_mask": labels,
                "reconstruction": logits_to_labels(self.vae.decode(mu)).unsqueeze(1),
                f"generated_{LABEL_NAMES[part + 1]}": logits_to_labels(self.vae.decode(edited)).unsqueeze(1),
            }

    @torch.no_grad()
    def evaluate(self, loader: DataLoader) -> dict[str, float]:
        """Reconstruction mIoU and pixel accuracy (in %) over a held-out loader, from mu."""
        label_nc = self.config.label_nc
        conf = torch.zeros(label_nc, label_nc, dtype=torch.int64, device=self.device)
        fast = compile_for_inference(self.vae)  # built from the current weights, for this evaluation only
        for batch in tqdm(loader, desc="held-out evaluation", leave=False):
            labels = batch["label"].to(self.device)
            logits = fast.reconstruct(labels)
            conf += confusion_matrix(logits_to_labels(logits), labels.squeeze(1), label_nc)
        return {"mIoU": 100 * float(mean_iou(conf)), "accuracy": 100 * float(pixel_accuracy(conf))}

    def network_payload(self, label: str, step: int) -> dict[str, Any]:
        """A self-describing checkpoint: weights, the config that rebuilds the network, and the step."""
        return {"state_dict": self.vae.state_dict(), "config": asdict(self.config), "step": step}


def class_shares(dataset: Dataset, num_classes: int, num_workers: int) -> Tensor:
    """Pixel share of every class over a dataset, with a progress bar ([C], sums to 1)."""
    loader = DataLoader(dataset, batch_size=16, num_workers=num_workers)
    counts = torch.zeros(num_classes, dtype=torch.int64)
    for batch in tqdm(loader, desc="class pixel shares (Eq. 1 weights)"):
        counts += count_class_pixels(batch["label"], num_classes)
    return counts.double() / counts.sum().clamp_min(1)

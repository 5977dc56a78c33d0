"""`--model shapevae`: the SPADE-style adapter around `shape_editor.ShapeVAE`.

This is the one place where command-line options become constructor arguments; nothing below it
sees `opt`. It also owns the class weights of the paper's Eq. 1, computed once from the training set.
"""
from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from data.fingerprint import dataset_fingerprint
from data.labels import LABEL_NAMES
from models.base_model import BaseModel
from shape_editor import ShapeVAE, ShapeVAEConfig, ShapeVAEOutput
from shape_editor.config import BG_MODES
from shape_editor.losses import class_weights_from_shares, count_class_pixels, shape_vae_loss
from shape_editor.masks import logits_to_labels
from shape_editor.metrics import confusion_matrix, mean_iou, pixel_accuracy
from util.fileio import atomic_write_json

logger = logging.getLogger(__name__)


def parse_widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(w) for w in str(text).split(",") if w.strip())
    except ValueError as err:
        raise ValueError(f"--enc_widths must be comma-separated integers, got {text!r}") from err


def config_from_opt(opt: argparse.Namespace) -> ShapeVAEConfig:
    """Translate flags into the network's typed config (the only place that reads them)."""
    return ShapeVAEConfig(
        label_nc=opt.label_nc, crop_size=opt.crop_size, enc_size=opt.enc_size,
        enc_widths=parse_widths(opt.enc_widths), latent_dim=opt.latent_dim, use_lstm=not opt.no_lstm,
        lstm_layers=opt.lstm_layers, bidirectional=not opt.no_bidir, ngf=opt.ngf,
        weighted_ce=not opt.no_weighted_ce, lambda_kl=opt.lambda_kl, bg_mode=opt.bg_mode,
    )


class ShapeVAEModel(BaseModel):
    """Class-wise shape VAE: a latent code per face part, an LSTM that lets parts adapt, a conv decoder."""

    network_names = {"G": "vae"}
    architecture_options = ("enc_size", "enc_widths", "latent_dim", "lstm_layers", "no_lstm", "no_bidir", "ngf",
                            "no_weighted_ce", "bg_mode")

    @staticmethod
    def modify_commandline_options(parser: argparse.ArgumentParser, is_train: bool) -> argparse.ArgumentParser:
        parser.add_argument("--enc_size", type=int, default=None,
                            help="each part is resized to this before the encoder; None: min(128, --crop_size)")
        parser.add_argument("--enc_widths", type=str, default="1024,512,256", help="widths of the part encoder's MLP")
        parser.add_argument("--latent_dim", type=int, default=256, help="size of each part's latent code")
        parser.add_argument("--lstm_layers", type=int, default=3, help="layers of the sequence LSTM")
        parser.add_argument("--no_lstm", action="store_true", help="ablation: no sequence block")
        parser.add_argument("--no_bidir", action="store_true", help="ablation: unidirectional LSTM")
        parser.add_argument("--ngf", type=int, default=64, help="decoder width: first block has 8*ngf channels")
        parser.add_argument("--no_weighted_ce", action="store_true", help="ablation: plain cross-entropy")
        parser.add_argument("--lambda_kl", type=float, default=0.0005, help="weight of the KL term")
        parser.add_argument("--bg_mode", type=str, default="learned", choices=BG_MODES,
                            help="learned: background has its own logit; heuristic: the official Semantic-VAE rule "
                                 "(18 part logits, background where they sum to <= 0)")
        if is_train:
            parser.set_defaults(lr=0.0001, beta1=0.9, beta2=0.999)
        return parser

    @staticmethod
    def resolve_options(opt: argparse.Namespace) -> None:
        if opt.enc_size is None:
            opt.enc_size = min(128, opt.crop_size)

    def __init__(self, opt: argparse.Namespace) -> None:
        super().__init__(opt)
        self.config = config_from_opt(opt)
        self.vae = ShapeVAE(self.config)
        self.register_buffer("class_weights", torch.ones(opt.label_nc))

    # --- training ------------------------------------------------------------------------------------
    def setup(self, train_set: Dataset, is_main: bool = True) -> None:
        """Load the class weights of Eq. 1 from the checkpoint folder, or compute them once from the data."""
        if not self.config.weighted_ce:
            return
        path = self.checkpoint_dir / "class_weights.json"
        dataset = dataset_fingerprint(train_set)  # weights of another dataset are recomputed, never reused
        saved = json.loads(path.read_text()) if path.is_file() else {}
        if saved.get("dataset") == dataset and saved.get("label_nc") == self.opt.label_nc:
            shares = torch.tensor(saved["shares"])
        else:
            shares = class_shares(train_set, self.opt.label_nc, self.opt.nThreads)
            if is_main:
                record = {"dataset": dataset, "label_nc": self.opt.label_nc, "shares": shares.tolist(),
                          "weights": class_weights_from_shares(shares).tolist(), "samples": len(train_set)}
                atomic_write_json(path, record, indent=2)
        self.class_weights.copy_(class_weights_from_shares(shares))

    def forward(self, batch: dict[str, Any]) -> tuple[dict[str, Tensor], ShapeVAEOutput]:
        """Losses {"CE", "KL"} (KL already weighted) and the network output for a batch."""
        labels = batch["label"].to(self.device, non_blocking=True)
        output = self.vae(labels)  # ids: one-hot only at the encoder's size (4x smaller at the defaults)
        weight = self.class_weights if self.config.weighted_ce else None
        return shape_vae_loss(output, labels, weight, self.config.lambda_kl), output

    # --- inspection ----------------------------------------------------------------------------------
    @torch.no_grad()
    def visuals(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """Input mask, its reconstruction, and the reconstruction with one random part drawn from noise."""
        was_training = self.training
        self.eval()
        labels = batch["label"][:1].to(self.device)
        mu, _ = self.vae.encode(labels)
        generator = torch.Generator().manual_seed(int(labels.sum()))
        part = int(torch.randint(mu.shape[1], (1,), generator=generator))
        edited = mu.clone()
        edited[:, part] = torch.randn(mu.shape[-1], generator=generator).to(mu)
        self.train(was_training)
        return {
            "input_mask": labels,
            "reconstruction": logits_to_labels(self.vae.decode(mu)).unsqueeze(1),
            f"generated_{LABEL_NAMES[part + 1]}": logits_to_labels(self.vae.decode(edited)).unsqueeze(1),
        }

    @torch.no_grad()
    def evaluate(self, loader: DataLoader) -> dict[str, float]:
        """Reconstruction mIoU and pixel accuracy (in %) over a held-out loader, from mu."""
        was_training = self.training
        self.eval()
        conf = torch.zeros(self.opt.label_nc, self.opt.label_nc, dtype=torch.int64, device=self.device)
        for batch in tqdm(loader, desc="held-out evaluation", leave=False):
            labels = batch["label"].to(self.device)
            logits = self.vae.reconstruct(labels)
            conf += confusion_matrix(logits_to_labels(logits), labels.squeeze(1), self.opt.label_nc)
        self.train(was_training)
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

"""`python test.py --model sean [--shape_name <shapevae run> --edit_part nose --edit_mode generate]`.

Without `--shape_name` this is SEAN's test: every test photo is re-synthesised from its own mask and
style codes (photo | mask | synthesized). With it, the plugin pipeline runs: the shape VAE edits the
mask, and SEAN paints both the original and the edited mask with the *same* style codes, taken from
the photo and its original mask (photo | mask | edited mask | synthesized from mask | synthesized from
edited mask). A class that the edit brings in but the original mask lacks has a zero style code; SEAN
then paints it from the per-class bias of its style layers and its mask-only SPADE branch, i.e. a
generic look for that class rather than this person's (`unstyled_pixel_share` in metrics.json).
`--export_dir` writes the edited masks (testers/export.py) and, next to them, the synthesised photos.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm

import data
import models
from models.sean_model import masks_only_message, reconstruction_metrics
from shape_editor.editor import EditOutput
from shape_editor.fileio import atomic_write_json
from shape_editor.labels import LABEL_NAMES
from shape_editor.masks import labels_to_onehot
from testers.base_tester import BaseTester
from testers.export import MaskExporter, check_export_target
from testers.pipeline import ShapePlugin
from testers.shapevae_tester import TARGET_MODES, caption, fixed_target, paired_targets
from util.checkpoint import check_options_match
from util.image import save_image, tensor_to_image, to_numpy
from util.overlay import changed_pixels_overlay
from util.visualizer import Visual, save_results_page

logger = logging.getLogger(__name__)

ARCHITECTURE_KEYS = ["label_nc", "crop_size", "ngf", "style_dim", "encoder_ngf", "spade_hidden"]
DEFINITIONS = {
    "L1": "mean absolute difference between each test photo and its re-synthesis from its own mask, in [-1, 1] units",
    "PSNR": "peak signal-to-noise ratio of that re-synthesis, images in [0, 1] (dB)",
    "unstyled_pixel_share": "share of edited-mask pixels whose class is absent from the original mask: they get a "
    "zero style code (SEAN paints them from its learned bias and the mask alone)",
}


def unstyled_share(labels: Tensor, edited: Tensor, num_classes: int) -> Tensor:
    """Per input, the share of edited pixels whose class is missing from the original mask.

    Args:
        labels: [B, 1, H, W] original ids.
        edited: [B, K, H, W] edited ids.

    Returns:
        [B] float in [0, 1].
    """
    absent = labels_to_onehot(labels, num_classes).amax((2, 3)) == 0  # (B, C)
    return absent.gather(1, edited.flatten(1)).float().mean(1)


class SEANTester(BaseTester):
    """Re-synthesis of the test photos, optionally from masks edited by a shape VAE run."""

    def __init__(self, opt: argparse.Namespace, device: torch.device) -> None:
        super().__init__(opt, device)
        self.model = models.create_model(opt)
        check_options_match(self.model.checkpoint_dir / "opt.json", vars(opt), ARCHITECTURE_KEYS)
        self.model.load_networks(opt.which_epoch, ["G"])
        self.model.to(device).eval()
        self.dataset = data.create_dataset(opt, phase=opt.phase)
        self.count = min(len(self.dataset), opt.how_many)
        if self.count < 1:
            raise ValueError(
                f"nothing to test: the {opt.phase} split has {len(self.dataset)} samples, --how_many {opt.how_many}"
            )
        if "image" not in self.dataset[0]:
            raise ValueError(masks_only_message(opt.dataset_mode))
        self.plugin = ShapePlugin(opt, device) if opt.shape_name else None
        self.plan = None if self.plugin is None else self.plugin.plan
        self.target = fixed_target(opt, self.dataset) if self.plan and self.plan.mode in TARGET_MODES else None
        if opt.export_dir and self.plugin is None:
            raise ValueError("--export_dir needs --shape_name (and an edit): SEAN alone makes no new masks")
        if opt.export_dir:
            check_export_target(
                opt.export_dir, [opt.dataroot, getattr(opt, "label_dir", None), getattr(opt, "image_dir", None)]
            )

    @torch.no_grad()
    def run(self) -> Path:
        opt, plan = self.opt, self.plan
        tic = time.perf_counter()
        generator = torch.Generator(self.device).manual_seed(opt.seed)
        exporter = (
            MaskExporter(opt.export_dir, part=plan.name, mode=plan.mode, seed=opt.seed) if opt.export_dir else None
        )
        loader = DataLoader(
            Subset(self.dataset, range(self.count)), batch_size=opt.batchSize, shuffle=False, num_workers=opt.nThreads
        )
        totals = {"L1": 0.0, "PSNR": 0.0, "unstyled": 0.0}  # sums over inputs
        rows: list[tuple[str, dict[str, Visual]]] = []
        done = 0
        for batch in tqdm(loader, desc=f"test {opt.name}", unit="batch"):
            masks, photos = self.model.inputs(batch)
            labels = batch["label"].to(self.device)
            done += labels.shape[0]
            targets, edit = None, None
            if self.plugin is not None:
                if plan.mode in TARGET_MODES:
                    targets = paired_targets(labels, self.target, self.dataset, done, self.count)
                edit = self.plugin.edit(
                    labels,
                    targets,
                    n_samples=opt.n_samples,
                    n_steps=opt.n_steps,
                    strength=opt.edit_strength,
                    generator=generator,
                )
                totals["unstyled"] += float(unstyled_share(labels, edit.masks, opt.label_nc).sum())
            fake, fake_edited = self.synthesize(masks, photos, edit, generator)
            for name, values in reconstruction_metrics(fake, photos).items():
                totals[name] += float(values.sum())
            if exporter is not None:
                self.export(exporter, batch["path"], edit, fake_edited)
            rows += self.page_rows(batch, done - labels.shape[0], fake, targets, edit, fake_edited)
        if exporter is not None:
            logger.info("exported %d masks and photos; manifest %s", len(exporter.rows), exporter.close())
        return self.write_page(self.summarise(totals, done, time.perf_counter() - tic), rows)

    def synthesize(
        self, masks: Tensor, photos: Tensor, edit: EditOutput | None, generator: torch.Generator
    ) -> tuple[Tensor, Tensor | None]:
        """Paint the original masks [B, C, H, W] and the edited ones with the photos' style codes.

        Returns:
            from the original masks [B, 3, H, W]; from the edited masks [B, K, 3, H, W] (None without an edit).
        """
        netG = self.model.netG
        styles = netG.encode_style(photos, masks)  # (B, C, style_dim), from the original mask
        if edit is None:
            return netG(masks, styles, generator), None
        B, K = edit.masks.shape[:2]
        edited = labels_to_onehot(edit.masks.flatten(0, 1), self.opt.label_nc)  # (B*K, C, H, W)
        images = netG(torch.cat([masks, edited]), torch.cat([styles, styles.repeat_interleave(K, 0)]), generator)
        return images[:B], images[B:].unflatten(0, (B, K))

    def export(self, exporter: MaskExporter, sources: list[str], edit: EditOutput, fake_edited: Tensor) -> None:
        """Edited masks through the exporter, and each synthesised photo as images/<same stem>.jpg."""
        label_files = exporter.add(sources, edit.masks, None, edit.alphas)
        for label_file, image in zip(label_files, fake_edited.flatten(0, 1)):
            save_image(tensor_to_image(image), exporter.root / "images" / f"{label_file.stem}.jpg")

    def page_rows(
        self,
        batch: dict[str, Any],
        start: int,
        fake: Tensor,
        targets: Tensor | None,
        edit: EditOutput | None,
        fake_edited: Tensor | None,
    ) -> list[tuple[str, dict[str, Visual]]]:
        """One row per input (SEAN) or per edited variant (pipeline), columns in display order."""
        rows = []
        for b, path in enumerate(batch["path"]):
            name = f"input {start + b} · {Path(path).stem}"
            source = {"photo": batch["image"][b], "mask": batch["label"][b]}
            if edit is None:
                rows.append((name, {**source, "synthesized": fake[b]}))
                continue
            for k in range(edit.masks.shape[1]):
                label = caption(self.plan, edit, k)
                visuals = dict(source) if targets is None else {**source, "target mask": targets[b]}
                changed = changed_pixels_overlay(to_numpy(batch["label"][b, 0]), to_numpy(edit.masks[b, k]))
                visuals.update(
                    {
                        f"edited mask ({label})": edit.masks[b, k],
                        "changed pixels vs mask": changed,
                        "synthesized from mask": fake[b],
                        f"synthesized from edited mask ({label})": fake_edited[b, k],
                    }
                )
                rows.append((f"{name} · {label}", visuals))
        return rows

    def summarise(self, totals: dict[str, float], inputs: int, seconds: float) -> dict[str, Any]:
        """metrics.json: reconstruction quality over all inputs and, for the pipeline, the edit."""
        metrics: dict[str, Any] = {
            "checkpoint": str(self.model.network_file(self.opt.which_epoch, "G")),
            "inputs": inputs,
            "seconds": round(seconds, 3),
            "reconstruction": {"L1": totals["L1"] / inputs, "PSNR": totals["PSNR"] / inputs},
            "definitions": {k: v for k, v in DEFINITIONS.items() if k != "unstyled_pixel_share"},
        }
        if self.plan is not None:
            metrics["edit"] = {
                "shape_checkpoint": str(self.plugin.checkpoint),
                "mode": self.plan.mode,
                "parts": [LABEL_NAMES[p] for p in self.plan.parts],
                "n_samples": self.opt.n_samples,
                "seed": self.opt.seed,
                "unstyled_pixel_share": totals["unstyled"] / inputs,
            }
            metrics["definitions"] = dict(DEFINITIONS)
        return metrics

    def write_page(self, metrics: dict[str, Any], rows: list[tuple[str, dict[str, Visual]]]) -> Path:
        web_dir = self.web_dir
        web_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(web_dir / "metrics.json", metrics, indent=2)
        what = f"{self.opt.shape_name} {self.plan.mode} {self.plan.name}" if self.plan else "reconstruction"
        shown = {
            "inputs": metrics["inputs"],
            **metrics["reconstruction"],
            **{k: v for k, v in metrics.get("edit", {}).items() if not isinstance(v, list)},
            "seconds": metrics["seconds"],
        }
        return save_results_page(
            web_dir,
            f"{self.opt.name} ({self.opt.which_epoch}): {what}",
            rows,
            shown,
            image_width=self.opt.display_winsize,
            definitions=metrics["definitions"],
        )

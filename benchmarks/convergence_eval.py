"""One point of a convergence curve: what the current weights reconstruct and how their edits behave.

Reconstruction goes through the same fast inference path and the same dataset-level confusion matrix as
`ShapeVAEModel.evaluate` (so its mIoU and accuracy are the training run's held-out figures), with the
per-class IoU by class name on top. The edits are the tester's (`testers.shapevae_tester.score_edits`)
on the first `EditProbe.inputs` held-out masks, with a fixed noise seed, so successive points differ
only by the weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from shape_editor.editor import MaskEditor
from shape_editor.labels import LABEL_NAMES, parse_parts
from shape_editor.metrics import confusion_matrix, per_class_iou, pixel_accuracy
from shape_editor.shape_vae import ShapeVAE
from testers.shapevae_tester import EditPlan, finite_or_none, score_edits


@dataclass(frozen=True)
class EditProbe:
    """The edits measured at every point: `generate` of each part, `perturb` of one part at each strength."""

    generate_parts: tuple[str, ...] = ("nose", "mouth", "hair")
    perturb_part: str = "nose"
    strengths: tuple[float, ...] = (0.5, 1.0)
    n_samples: int = 4
    inputs: int = 32
    seed: int = 0


def reconstruct_held_out(
    editor: MaskEditor, loader: DataLoader, label_nc: int, keep: int
) -> tuple[Tensor, Tensor, Tensor]:
    """(confusion [C, C] over the loader, the first `keep` inputs [N, H, W] and their reconstructions)."""
    conf = torch.zeros(label_nc, label_nc, dtype=torch.int64, device=editor.device)
    inputs, recons = [], []
    kept = 0
    for batch in loader:
        labels = batch["label"].to(editor.device)
        recon = editor.reconstruct(labels).masks[:, 0]  # (B, H, W)
        conf += confusion_matrix(recon, labels[:, 0], label_nc)
        take = min(keep - kept, labels.shape[0])
        if take > 0:
            inputs.append(labels[:take, 0])
            recons.append(recon[:take])
            kept += take
    return conf, torch.cat(inputs), torch.cat(recons)


def edit_scores(
    editor: MaskEditor, inputs: Tensor, recons: Tensor, mode: str, part: str, probe: EditProbe, strength: float = 1.0
) -> dict[str, float]:
    """Means of the tester's edit metrics for one edit; `new_classes` = share of masks that gain a class."""
    parts = parse_parts(part)
    generator = torch.Generator(editor.device).manual_seed(probe.seed)
    edit = editor.edit(mode, inputs, parts, n_samples=probe.n_samples, strength=strength, generator=generator)
    radius = max(1, inputs.shape[-1] // 32)  # the tester's locality band
    scores = score_edits(EditPlan(mode, parts, part), inputs, recons, edit, radius)
    means = {name: float(value.double().mean()) for name, value in scores.items()}
    return {
        "validity": means["validity"],
        "new_classes": 1 - means["no_new_classes"],
        "locality": means["locality"],
        "diversity": means.get("diversity", math.nan),
    }


def evaluate_point(vae: ShapeVAE, loader: DataLoader, probe: EditProbe) -> dict[str, Any]:
    """mIoU and accuracy (%), per-class IoU (%, by class name; None for a class seen nowhere) and the edits.

    Edits are keyed `generate <part>` and `perturb <part> x<strength>`, each {validity, new_classes,
    locality, diversity} in [0, 1]. The global random state is left as it was (building the inference
    object initialises modules, which draws from it), so a run's training is the same with or without points.
    """
    with torch.random.fork_rng():
        return measure_point(vae, loader, probe)


@torch.no_grad()
def measure_point(vae: ShapeVAE, loader: DataLoader, probe: EditProbe) -> dict[str, Any]:
    editor = MaskEditor(vae)  # built from the current weights, for this point only
    label_nc = vae.config.label_nc
    conf, inputs, recons = reconstruct_held_out(editor, loader, label_nc, probe.inputs)
    iou = per_class_iou(conf.cpu()) * 100
    names = [LABEL_NAMES[c] if c < len(LABEL_NAMES) else str(c) for c in range(label_nc)]
    edits = {
        f"generate {part}": edit_scores(editor, inputs, recons, "generate", part, probe)
        for part in probe.generate_parts
    }
    edits.update(
        {
            f"perturb {probe.perturb_part} x{s:g}": edit_scores(
                editor, inputs, recons, "perturb", probe.perturb_part, probe, s
            )
            for s in probe.strengths
        }
    )
    return {
        "mIoU": float(iou.nanmean()),
        "accuracy": 100 * float(pixel_accuracy(conf.cpu())),
        "per_class_iou": {n: finite_or_none(float(v)) for n, v in zip(names, iou)},
        "edits": {name: {k: finite_or_none(v) for k, v in scores.items()} for name, scores in edits.items()},
    }

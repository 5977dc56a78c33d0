"""The plugin pipeline's mask side: a trained shape VAE edits the test masks at its own resolution.

SEAN and the shape VAE may be trained at different crop sizes. Label maps go to the VAE's crop and
the edited masks come back to the SIS model's size, both with nearest-neighbour resizing (ids must
never be blended). Targets for interpolate/swap are `--target` (a test-set index or a label file) or,
by default, the next test input.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from shape_editor.checkpoint import load_shape_vae
from shape_editor.editor import EditOutput, MaskEditor
from testers.shapevae_tester import EditPlan, edit_plan, load_target_file

TARGET_MODES = ("interpolate", "swap")


def resize_labels(labels: Tensor, size: tuple[int, int]) -> Tensor:
    """Nearest-neighbour resize of ids [B, K, H, W] (any K, e.g. 1) to [B, K, *size]; a no-op at that size."""
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(labels.float(), size=size, mode="nearest-exact").to(labels.dtype)


def pipeline_plan(opt: argparse.Namespace, num_parts: int) -> EditPlan:
    """The edit of `--edit_part/--edit_mode`; without one the VAE only reconstructs (mask -> VAE -> SEAN)."""
    return edit_plan(opt, num_parts) or EditPlan("reconstruct", [], "shapevae")


class ShapePlugin:
    """A trained shape VAE as SEAN's mask source.

    Args:
        checkpoint: a shape VAE network file (`checkpoints/<shape_name>/<which>_net_G.pth`).
        label_nc: classes of the SIS model; the VAE must have the same.
        device: where the VAE runs.
    """

    def __init__(self, checkpoint: str | Path, label_nc: int, device: torch.device) -> None:
        self.checkpoint = Path(checkpoint)
        self.editor = MaskEditor(load_shape_vae(self.checkpoint, device, expect={"label_nc": label_nc}))
        self.size = (self.editor.vae.config.crop_size, self.editor.vae.config.crop_size)

    @property
    def num_parts(self) -> int:
        return self.editor.num_parts

    def edit(self, plan: EditPlan, labels: Tensor, targets: Tensor | None = None, *, n_samples: int = 1,
             n_steps: int = 5, strength: float = 1.0, generator: torch.Generator | None = None) -> EditOutput:
        """Edit label maps [B, 1, H, W]; the result's `masks` are [B, K, H, W] ids at the input's size.

        `logits` stay at the VAE's resolution; `targets` ([B, 1, H', W'] ids) are resized like the inputs.
        """
        small = resize_labels(labels, self.size)
        small_targets = None if targets is None else resize_labels(targets, self.size)
        edit = self.editor.edit(plan.mode, small, plan.parts, target_labels=small_targets, n_samples=n_samples,
                                n_steps=n_steps, strength=strength, generator=generator)
        return edit._replace(masks=resize_labels(edit.masks, tuple(labels.shape[-2:])))


def fixed_target(opt: argparse.Namespace, dataset: Dataset) -> Tensor | None:
    """`--target` as ids [1, 1, H, W]: a test-set index or a label file; None when not given."""
    if opt.target is None:
        return None
    if opt.target.strip().isdigit():
        index = int(opt.target)
        if index >= len(dataset):
            raise ValueError(f"--target {index} is outside the {opt.phase} set of {len(dataset)} samples")
        return dataset[index]["label"][None]
    return load_target_file(opt.target, opt)


def paired_targets(labels: Tensor, fixed: Tensor | None, dataset: Dataset, end: int, count: int) -> Tensor:
    """Targets of inputs end-B .. end-1: the fixed target, or input i takes input (i + 1) % count."""
    if fixed is not None:
        return fixed.to(labels.device).expand_as(labels)
    following = dataset[end % count]["label"][None].to(labels.device)
    return torch.cat([labels[1:], following])

"""The plugin pipeline's mask side: a trained shape VAE edits the test masks at its own resolution.

SEAN and the shape VAE may be trained at different crop sizes. Label maps go to the VAE's crop and
the edited masks come back to the SIS model's size, both with nearest-neighbour resizing (ids must
never be blended). Edits are those of the shapevae tester (`edit_plan`), attribute edits included.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

import data
from shape_editor.attribute_directions import attribute_edit, load_or_fit_directions
from shape_editor.checkpoint import load_shape_vae
from shape_editor.editor import EditOutput
from shape_editor.fast import compile_for_inference
from shape_editor.fileio import safe_child
from testers.output import directions_path, prior_path
from testers.shapevae_tester import EditPlan, edit_plan, plan_editor


def resize_nearest_exact(labels: Tensor, size: tuple[int, int]) -> Tensor:
    """Nearest-exact (pixel-centre) resize of ids [B, K, H, W] (any K, e.g. 1) to [B, K, *size], any aspect.

    Unlike `shape_editor.masks.resize_labels` (square, `nearest`, what the encoder's one-hot sees), this maps
    masks between the editor's and the generator's resolutions; a no-op at that size.
    """
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(labels.float(), size=size, mode="nearest-exact").to(labels.dtype)


def moved_part_pixels(recon: Tensor, edited: Tensor, parts: list[int]) -> Tensor:
    """Pixels that enter or leave one of `parts`: what an edit did, net of the VAE's reconstruction error.

    Args:
        recon: [B, 1, H, W] ids of the VAE's reconstruction.
        edited: [B, K, H, W] ids of the edited masks.
        parts: the edited standard ids.

    Returns:
        bool [B, K, H, W].
    """
    ids = torch.tensor(parts, dtype=edited.dtype, device=edited.device)
    return (edited != recon) & (torch.isin(edited, ids) | torch.isin(recon, ids))


class ShapePlugin:
    """The shape VAE of run `--shape_name` as SEAN's mask source, with the edit `--edit_part/--edit_mode` asks for.

    Without `--edit_part` the VAE only reconstructs (mask -> VAE -> SEAN). With `--keep_unedited` only the
    pixels that enter or leave an edited part (edited mask vs the VAE's reconstruction) come from the edit;
    the rest keeps the original mask, so the VAE's reconstruction error (e.g. lost eyes) never reaches SEAN. Attribute directions
    and the latent prior (`--sample_from`) are read from the cache of the shape run's checkpoint under `--results_dir`
    (`testers.output`, keyed by the checkpoint's content hash), or fitted on the training split of the test data at
    the VAE's crop size and saved there; nothing is written into the checkpoint folder.

    Args:
        opt: the test options of the SEAN run (`shape_name`, `shape_which_epoch`, the edit flags).
        device: where the VAE runs.
    """

    def __init__(self, opt: argparse.Namespace, device: torch.device) -> None:
        run_dir = safe_child(opt.checkpoints_dir, opt.shape_name)
        self.checkpoint = safe_child(run_dir, f"{opt.shape_which_epoch}_net_G.pth")
        vae = load_shape_vae(self.checkpoint, device, expect={"label_nc": opt.label_nc})
        model = compile_for_inference(vae)
        self.size = (vae.config.crop_size, vae.config.crop_size)
        self.keep_unedited = opt.keep_unedited
        plan = edit_plan(opt, model.config.num_parts)
        vae_opt = argparse.Namespace(**{**vars(opt), "load_size": self.size[0], "crop_size": self.size[0]})

        def train_set() -> Dataset:  # the training split of the test data at the VAE's crop size
            return data.create_dataset(vae_opt, phase="train")

        self.editor, _ = plan_editor(
            model, plan, opt, prior_path(opt, opt.shape_name, self.checkpoint), self.checkpoint, train_set
        )
        self.plan: EditPlan = plan or EditPlan("reconstruct", [], "shapevae")
        self.directions = None
        if self.plan.mode == "attribute":
            self.directions = load_or_fit_directions(
                directions_path(opt, opt.shape_name, self.checkpoint),
                model,
                train_set,
                self.plan.parts[0],
                opt.attribute_samples,
            )

    def edit(
        self,
        labels: Tensor,
        targets: Tensor | None = None,
        *,
        n_samples: int = 1,
        n_steps: int = 5,
        strength: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> EditOutput:
        """Edit label maps [B, 1, H, W]; the result's `masks` are [B, K, H, W] ids at the input's size.

        `logits` stay at the VAE's resolution; `targets` ([B, 1, H', W'] ids) are resized like the inputs.
        """
        plan, small = self.plan, resize_nearest_exact(labels, self.size)
        if self.directions is not None:
            edit = attribute_edit(self.editor, small, self.directions, plan.parts[0], plan.attribute, plan.strengths)
        else:
            small_targets = None if targets is None else resize_nearest_exact(targets, self.size)
            edit = self.editor.edit(
                plan.mode,
                small,
                plan.parts,
                target_labels=small_targets,
                n_samples=n_samples,
                n_steps=n_steps,
                strength=strength,
                generator=generator,
            )
        size = tuple(labels.shape[-2:])
        masks = resize_nearest_exact(edit.masks, size)
        if self.keep_unedited:
            moved = moved_part_pixels(self.editor.reconstruct(small).masks, edit.masks, plan.parts)
            masks = torch.where(resize_nearest_exact(moved, size), masks, labels)
        return edit._replace(masks=masks)

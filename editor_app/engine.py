"""Part edits on one label map, as the editor needs them: numpy ids in, numpy ids out, one seed per edit.

The masks the user sees are at the data's size; the VAE runs at its own crop size (nearest resizing both
ways, `testers.pipeline.resize_nearest_exact`). Everything goes through `MaskEditor`'s public `encode`/`decode`
and the pure `*_codes` functions, so the editor gets whatever inference path `MaskEditor` uses.

With `keep_others` (the default in the page) only the pixels that enter or leave an edited part take
the decoded labels; every other pixel keeps the current mask, so the VAE's reconstruction error never
touches what the user did not ask to change. Without it the whole decoded mask is shown: the
neighbours adapt to the edited part.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from shape_editor.attribute_directions import AttributeDirections, attribute_codes
from shape_editor.attributes import measure_attributes
from shape_editor.editor import (
    MaskEditor,
    generate_codes,
    interpolate_codes,
    perturb_codes,
)
from testers.pipeline import resize_nearest_exact

CodeEdit = Callable[[Tensor], Tensor]  # mu [1, P, D] -> codes [1, 1, P, D]


def keep_other_parts(current: np.ndarray, edited: np.ndarray, parts: Sequence[int]) -> np.ndarray:
    """Take `edited` only where an edited part is (in either mask); keep `current` everywhere else."""
    ids = np.asarray(parts)
    moved = np.isin(edited, ids) | np.isin(current, ids)
    return np.where(moved, edited, current).astype(np.uint8)


class EditEngine:
    """Edits of single masks with a trained shape VAE.

    Args:
        editor: the `MaskEditor` of the shape VAE.
        directions: part id -> its fitted attribute directions (fitted and stored on first use), or None
            when the run has no training data to fit them on.
    """

    def __init__(self, editor: MaskEditor, directions: Callable[[int], AttributeDirections] | None = None) -> None:
        self.editor = editor
        self.directions = directions
        size = editor.model.config.crop_size
        self.size = (size, size)

    def _decode(self, mask: np.ndarray, edit_codes: CodeEdit) -> np.ndarray:
        """Encode `mask` [H, W] at the VAE's size, edit its codes, decode, and resize back to [H, W]."""
        labels = torch.from_numpy(np.ascontiguousarray(mask)).long()[None, None]  # (1, 1, H, W)
        mu = self.editor.encode(resize_nearest_exact(labels, self.size))  # (1, P, D)
        masks = self.editor.decode(edit_codes(mu)).masks  # (1, 1, h, w)
        return resize_nearest_exact(masks.cpu(), mask.shape)[0, 0].numpy().astype(np.uint8)

    def _part_edit(self, mask: np.ndarray, parts: Sequence[int], edit_codes: CodeEdit, keep_others: bool) -> np.ndarray:
        edited = self._decode(mask, edit_codes)
        return keep_other_parts(mask, edited, parts) if keep_others else edited

    def _generator(self, seed: int) -> torch.Generator:
        return torch.Generator(self.editor.device).manual_seed(int(seed))

    def reconstruct(self, mask: np.ndarray) -> np.ndarray:
        """The whole mask through the VAE: after painting, this lets the other parts adapt."""
        return self._decode(mask, lambda mu: mu[:, None])

    def generate(self, mask: np.ndarray, parts: Sequence[int], seed: int, keep_others: bool = True) -> np.ndarray:
        """Redraw `parts` from the editor's sampling prior (N(0, I) unless built with one) with `seed`."""
        return self._part_edit(
            mask,
            parts,
            lambda mu: generate_codes(mu, parts, 1, self._generator(seed), self.editor.sample_prior),
            keep_others,
        )

    def perturb(
        self, mask: np.ndarray, parts: Sequence[int], strength: float, seed: int, keep_others: bool = True
    ) -> np.ndarray:
        """Move `parts` to mu + strength * eps, eps drawn with `seed`."""
        return self._part_edit(
            mask,
            parts,
            lambda mu: perturb_codes(mu, parts, strength, 1, self._generator(seed), self.editor.perturb_scale),
            keep_others,
        )

    def blend(
        self, mask: np.ndarray, target: np.ndarray, parts: Sequence[int], alpha: float, keep_others: bool = True
    ) -> np.ndarray:
        """Interpolate `parts` toward the target's by `alpha` (1 = swap them in)."""
        labels = torch.from_numpy(np.ascontiguousarray(target)).long()[None, None]
        target_mu = self.editor.encode(resize_nearest_exact(labels, self.size))
        alphas = torch.tensor([float(alpha)])
        return self._part_edit(mask, parts, lambda mu: interpolate_codes(mu, target_mu, parts, alphas), keep_others)

    def attribute(
        self, mask: np.ndarray, part: int, name: str, strength: float, keep_others: bool = True
    ) -> tuple[np.ndarray, float]:
        """Push `part` along attribute `name` by `strength` standard deviations.

        Returns:
            (the edited mask, the change of the attribute measured on it versus `mask`, in standard
            deviations of the fitting set; NaN when the part is absent from either mask).

        Raises:
            ValueError: the run has no attribute directions.
        """
        if self.directions is None:
            raise ValueError("attribute edits need fitted directions, and this run has no training data to fit them on")
        directions = self.directions(part)
        step, strengths = directions.step(part, name), torch.tensor([float(strength)])
        edited = self._part_edit(mask, [part], lambda mu: attribute_codes(mu, part, step, strengths), keep_others)
        pair = torch.from_numpy(np.stack([mask, edited])).long()  # (2, H, W)
        before, after = measure_attributes(pair, [part])[(part, name)].tolist()
        return edited, (after - before) / directions.std(part, name)

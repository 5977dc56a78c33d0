"""How good is an edit? Validity, locality, diversity and interpolation smoothness, as pure functions.

All take integer label maps (class ids) and standard part ids (the class values of the edited parts).
The *reference* is the mask the edit is compared with: the tester passes the input mask for validity
(a class the source face lacks has no photo to paint it from) and the reconstruction decode(mu) for
locality (so reconstruction error is not counted as an effect of the edit). Shapes: N masks, K samples,
S interpolation steps, H x W pixels. Connectivity is 8-neighbour (scipy.ndimage.label).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import Tensor

# 8-connectivity inside each map, and no connection between the stacked maps of a [M, H, W] array.
_EIGHT_CONNECTED_2D = np.zeros((3, 3, 3), dtype=bool)
_EIGHT_CONNECTED_2D[1] = True


class Validity(NamedTuple):
    """Per-mask [N] bool results of `edit_validity`; `valid` is the conjunction of the three checks."""

    present: Tensor
    connected: Tensor
    no_new_classes: Tensor
    valid: Tensor


def _part_regions(labels: Tensor, parts: Sequence[int]) -> Tensor:
    """[..., H, W] ids -> [..., Q, H, W] bool, one map per part in `parts`."""
    if not parts:
        raise ValueError("no parts given")
    ids = torch.as_tensor(list(parts), device=labels.device)
    return labels.unsqueeze(-3) == ids[:, None, None]


def _check_pair(reference: Tensor, edited: Tensor) -> None:
    if reference.shape != edited.shape or reference.dim() != 3:
        raise ValueError(f"reference {tuple(reference.shape)} and edited {tuple(edited.shape)} must both be [N, H, W]")


def count_components(regions: Tensor) -> Tensor:
    """Number of 8-connected components in each binary map: [M, H, W] bool -> [M] int64."""
    array = regions.detach().cpu().numpy().astype(bool)
    labelled, total = ndimage.label(array, structure=_EIGHT_CONNECTED_2D)
    owner = np.zeros(total + 1, dtype=np.int64)  # owner[component] = map it lies in (labels are per map)
    owner[labelled] = np.arange(array.shape[0])[:, None, None]
    return torch.from_numpy(np.bincount(owner[1:], minlength=array.shape[0]))


def class_counts(labels: Tensor, num_classes: int) -> Tensor:
    """Pixels of every class in every map: [N, H, W] ids -> [N, C] int64."""
    N = labels.shape[0]
    index = torch.arange(N, device=labels.device)[:, None] * num_classes + labels.flatten(1).long()
    return torch.bincount(index.flatten(), minlength=N * num_classes).view(N, num_classes)


def edit_validity(
    reference: Tensor, edited: Tensor, parts: Sequence[int], new_class_fraction: float = 0.001
) -> Validity:
    """Is each edited mask a plausible face layout?

    A mask is valid when (1) every edited part is present (>= 1 pixel), (2) every edited part is one
    8-connected component, and (3) no class other than the edited parts that is absent from the
    reference covers more than `new_class_fraction` of the pixels (a few stray pixels are tolerated).

    Args:
        reference, edited: [N, H, W] class ids.
        parts: standard ids of the edited parts.
        new_class_fraction: largest tolerated share of pixels of a class new to the mask.
    """
    _check_pair(reference, edited)
    N, H, W = edited.shape
    regions = _part_regions(edited, parts)  # (N, Q, H, W)
    present = regions.flatten(2).any(2).all(1)
    connected = (count_components(regions.flatten(0, 1)).view(N, len(parts)) == 1).all(1).to(edited.device)
    num_classes = int(max(reference.max(), edited.max())) + 1
    new = (class_counts(reference, num_classes) == 0) & (class_counts(edited, num_classes) > new_class_fraction * H * W)
    new[:, [p for p in parts if p < num_classes]] = False
    no_new = ~new.any(1)
    return Validity(present, connected, no_new, present & connected & no_new)


def edit_locality(reference: Tensor, edited: Tensor, parts: Sequence[int], radius: int = 2) -> Tensor:
    """Share of pixels away from the edited parts that keep their label (1 = perfectly local).

    band = the union of the edited parts' regions in the reference and in the edited mask, dilated by
    `radius` pixels with a (2r+1) x (2r+1) square (every pixel within Chebyshev distance r).
    locality = 1 - changed_outside / pixels_outside, where changed_outside counts pixels outside the
    band whose label differs between reference and edited; 1.0 when the band covers the whole mask.

    Args:
        reference, edited: [N, H, W] class ids.
        parts: standard ids of the edited parts.
        radius: dilation radius r >= 0 in pixels.

    Returns:
        [N] float64.
    """
    _check_pair(reference, edited)
    if radius < 0:
        raise ValueError(f"radius={radius} must be >= 0")
    touched = (_part_regions(reference, parts) | _part_regions(edited, parts)).any(1)  # (N, H, W)
    band = F.max_pool2d(touched[:, None].float(), 2 * radius + 1, stride=1, padding=radius)[:, 0] > 0
    outside = ~band
    changed = ((reference != edited) & outside).flatten(1).sum(1).double()
    pixels = outside.flatten(1).sum(1).double()
    return torch.where(pixels > 0, 1 - changed / pixels.clamp_min(1), torch.ones_like(pixels))


def sample_diversity(samples: Tensor, parts: Sequence[int]) -> Tensor:
    """Mean pairwise dissimilarity of the edited parts over the K samples of each input.

    For a pair of samples, d = 1 - (mean IoU over the edited parts present in either sample); a part
    absent from both is skipped, and d = 0 when every edited part is absent from both (two empty
    regions are identical). For one part this is 1 - IoU. The result averages d over the K(K-1)/2 pairs:
    0 = all samples identical, 1 = no overlap at all.

    Args:
        samples: [N, K, H, W] class ids, K >= 2.
        parts: standard ids of the edited parts.

    Returns:
        [N] float64.
    """
    if samples.dim() != 4 or samples.shape[1] < 2:
        raise ValueError(f"samples must be [N, K, H, W] with K >= 2, got {tuple(samples.shape)}")
    K = samples.shape[1]
    regions = _part_regions(samples, parts).flatten(3).double()  # (N, K, Q, HW)
    inter = torch.einsum("nkqx,nlqx->nklq", regions, regions)  # (N, K, K, Q)
    area = regions.sum(3)  # (N, K, Q)
    union = area[:, :, None] + area[:, None] - inter
    present = union > 0
    iou = inter / union.clamp_min(1)
    mean_iou = (iou * present).sum(3) / present.sum(3).clamp_min(1)  # (N, K, K)
    distance = torch.where(present.any(3), 1 - mean_iou, torch.zeros_like(mean_iou))
    first, second = torch.triu_indices(K, K, 1, device=samples.device)
    return distance[:, first, second].mean(1)


def interpolation_smoothness(strip: Tensor) -> Tensor:
    """How evenly an interpolation strip changes: largest step change over the mean step change.

    step change s = share of pixels whose label differs between alpha_s and alpha_{s+1}. 1.0 = every
    step changes as much (also when nothing changes at all); S - 1 = the whole change in one step.

    Args:
        strip: [N, S, H, W] class ids along alpha = 0..1, S >= 2.

    Returns:
        [N] float64, >= 1.
    """
    if strip.dim() != 4 or strip.shape[1] < 2:
        raise ValueError(f"strip must be [N, S, H, W] with S >= 2, got {tuple(strip.shape)}")
    steps = (strip[:, 1:] != strip[:, :-1]).flatten(2).double().mean(2)  # (N, S-1)
    mean = steps.mean(1)
    return torch.where(mean > 0, steps.max(1).values / mean.clamp_min(1e-300), torch.ones_like(mean))


def metric_definitions(radius: int, new_class_fraction: float) -> dict[str, str]:
    """One-line definitions of the edit metrics with their parameters, for result pages."""
    return {
        "validity": "share of edited masks in which every edited part is present, forms one 8-connected "
        "component, and no class absent from the input mask (other than the edited parts) covers "
        f"more than {new_class_fraction:.2%} of the pixels",
        "present": "share of edited masks in which every edited part has at least one pixel",
        "connected": "share of edited masks in which every edited part is one 8-connected component",
        "no_new_classes": f"share of edited masks in which no class absent from the input (edited parts aside) "
        f"covers more than {new_class_fraction:.2%} of the pixels",
        "reconstruction_validity": "validity of the unedited reconstructions (the baseline an edit starts from)",
        "locality": "1 - changed/total pixels outside the band = edited parts' old and new regions dilated by "
        f"{radius} px (square); compared with the reconstruction; 1 = perfectly local",
        "diversity": "mean over sample pairs of 1 - mean IoU of the edited parts present in either sample "
        "(both empty = 0); 0 = identical samples",
        "smoothness": "largest over mean share of pixels changing between consecutive alphas; 1 = perfectly even "
        "(also when nothing changes)",
    }

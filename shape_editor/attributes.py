"""Measurable shape attributes of a part, and how much an attribute-directed edit moved them.

Every attribute is a plain number per mask, in units of the image size, so the same definition works
at any resolution and on inputs as well as on decoded masks. Pixel (i, j) has its centre at
y = (i + 0.5) / H, x = (j + 0.5) / W. For the pixels of a part:

- `area`: share of the image's pixels that belong to the part.
- `centroid_x`, `centroid_y`: mean x and y of the part's pixel centres, in [0, 1].
- `height`, `width`: side of the axis-aligned rectangle with the same second moments,
  sqrt(12 * Var(y) + 1 / H^2) (and likewise in x). For a filled axis-aligned rectangle this is exactly
  its bounding-box extent (rows / H); unlike the bounding box it is not thrown by a few stray pixels and
  it changes smoothly, which is what an edit-versus-strength curve needs.
- `elongation`: height / width.

Hair (id 13) also has two coverages, each the share of a band of the image that is hair:
- `above_brows`: band = pixel rows whose centre lies above the brows' top edge (the top of the
  equal-moment rectangle of l_brow and r_brow together): fringe, hairline and volume on top.
- `below_ears`: band = pixel rows whose centre lies below the ears' bottom edge (same construction
  for l_ear and r_ear): long hair on the shoulders.

A part absent from a mask has NaN for all its attributes; a hair coverage is also NaN when the
brows (ears) are absent or the band is empty.

The second half scores an edit strip (`AttributeSweep`): the measured change versus the edit strength
(correlation, monotonicity, slope) and the edit's locality.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch import Tensor

from shape_editor.edit_metrics import edit_locality
from shape_editor.labels import NUM_CLASSES, part_id

SHAPE_ATTRIBUTES: tuple[str, ...] = ("area", "height", "width", "elongation", "centroid_x", "centroid_y")
HAIR_ATTRIBUTES: tuple[str, ...] = ("above_brows", "below_ears")
HAIR = part_id("hair")
BROWS = (part_id("l_brow"), part_id("r_brow"))
EARS = (part_id("l_ear"), part_id("r_ear"))


class Moments(NamedTuple):
    """First and second moments of regions, in image-size units ([...] float64 each)."""

    pixels: Tensor  # pixels in the region
    cy: Tensor  # mean y of the pixel centres (NaN for an empty region)
    cx: Tensor
    height: Tensor  # sqrt(12 Var(y) + 1/H^2): side of the rectangle with the same moments
    width: Tensor


def attribute_names(part: int) -> tuple[str, ...]:
    """Attributes defined for a standard part id: the shape attributes, plus the coverages for hair."""
    if not 1 <= part < NUM_CLASSES:
        raise ValueError(f"part id {part} has no attributes; choose a part id in 1..{NUM_CLASSES - 1}")
    return SHAPE_ATTRIBUTES + HAIR_ATTRIBUTES if part == HAIR else SHAPE_ATTRIBUTES


def check_attribute(part: int, name: str) -> None:
    """Raise ValueError naming the valid attributes when `name` is not one of `part`'s."""
    names = attribute_names(part)
    if name not in names:
        raise ValueError(f"attribute {name!r} is not defined for part {part}; choose one of {names}")


def _as_label_maps(labels: Tensor) -> Tensor:
    """[B, 1, H, W] or [B, H, W] integer ids -> [B, H, W]."""
    if labels.dim() == 4 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.dim() != 3 or labels.is_floating_point():
        raise ValueError(
            f"labels must be integer ids of shape [B, H, W] or [B, 1, H, W], got {labels.dtype} {tuple(labels.shape)}"
        )
    return labels


def _centres(size: int, device: torch.device) -> Tensor:
    """Pixel-centre coordinates (i + 0.5) / size, [size] float64."""
    return (torch.arange(size, dtype=torch.float64, device=device) + 0.5) / size


def region_moments(regions: Tensor) -> Moments:
    """Moments of binary regions: [..., H, W] bool -> `Moments` of [...] float64 (NaN where empty)."""
    H, W = regions.shape[-2:]
    mass = regions.to(torch.float64)
    rows, cols = mass.sum(-1), mass.sum(-2)  # (..., H), (..., W)
    count = rows.sum(-1)
    ys, xs = _centres(H, regions.device), _centres(W, regions.device)
    cy, cx = rows @ ys / count, cols @ xs / count  # NaN for empty regions (0 / 0)
    var_y = rows @ ys.square() / count - cy.square()
    var_x = cols @ xs.square() / count - cx.square()
    # Clamp the rounding error of E[y^2] - E[y]^2 so that a one-pixel-high region is exactly 1 / H high.
    height = (12 * var_y.clamp_min(0) + 1 / H**2).sqrt()
    width = (12 * var_x.clamp_min(0) + 1 / W**2).sqrt()
    return Moments(count, cy, cx, height, width)


def _band_coverage(part: Tensor, band_rows: Tensor) -> Tensor:
    """Share of the pixels in a band of whole rows ([B, H] bool) that belong to `part` ([B, H, W] bool)."""
    W = part.shape[-1]
    inside = (part & band_rows[:, :, None]).flatten(1).sum(1).double()
    return inside / (band_rows.sum(1).double() * W)  # NaN for an empty band


def hair_coverages(labels: Tensor) -> dict[str, Tensor]:
    """`above_brows` and `below_ears` of every map (see module docstring): ids -> {name: [B] float64}."""
    labels = _as_label_maps(labels)
    ys = _centres(labels.shape[1], labels.device)
    groups = torch.tensor([BROWS, EARS], device=labels.device)  # (2, 2)
    refs = region_moments((labels[:, None, None] == groups[None, :, :, None, None]).any(2))  # (B, 2): brows, ears
    brow_top = refs.cy[:, 0] - refs.height[:, 0] / 2  # NaN without brows
    ear_bottom = refs.cy[:, 1] + refs.height[:, 1] / 2
    hair = labels == HAIR
    above = _band_coverage(hair, ys[None] < brow_top[:, None])
    below = _band_coverage(hair, ys[None] > ear_bottom[:, None])
    nan = torch.full_like(above, float("nan"))
    return {
        "above_brows": torch.where(refs.pixels[:, 0] > 0, above, nan),
        "below_ears": torch.where(refs.pixels[:, 1] > 0, below, nan),
    }


def measure_attributes(labels: Tensor, parts: Sequence[int]) -> dict[tuple[int, str], Tensor]:
    """Every attribute of several parts in every map, all parts measured at once.

    Args:
        labels: [B, H, W] or [B, 1, H, W] integer class ids (standard order).
        parts: standard part ids (1..18), e.g. [2] for the nose.

    Returns:
        {(part id, name): [B] float64} for every name in `attribute_names(part)`; NaN where the part is absent.
    """
    names = {part: attribute_names(part) for part in parts}
    labels = _as_label_maps(labels)
    H, W = labels.shape[1:]
    ids = torch.tensor(list(names), device=labels.device)
    m = region_moments(labels[:, None] == ids[None, :, None, None])  # fields (B, Q)
    values = {
        "area": m.pixels / (H * W),
        "height": m.height,
        "width": m.width,
        "elongation": m.height / m.width,
        "centroid_x": m.cx,
        "centroid_y": m.cy,
    }
    absent = m.pixels == 0  # (B, Q)
    if HAIR in names:
        coverages = hair_coverages(labels)
        values.update({k: v[:, None].expand_as(m.pixels) for k, v in coverages.items()})
    return {
        (part, name): values[name][:, q].masked_fill(absent[:, q], float("nan"))
        for q, part in enumerate(names)
        for name in names[part]
    }


def part_attributes(labels: Tensor, part: int) -> dict[str, Tensor]:
    """Every attribute of one part: [B, H, W] ids -> {name: [B] float64}, NaN where the part is absent."""
    return {name: value for (_, name), value in measure_attributes(labels, [part]).items()}


class AttributeSweep(NamedTuple):
    """What an attribute edit did to B inputs at K strengths."""

    strengths: Tensor  # [K] in standard deviations of the attribute
    changes: Tensor  # [B, K] measured change versus the reference, in standard deviations (NaN: part absent)
    locality: Tensor  # [B, K] `edit_metrics.edit_locality` versus the reference


def measure_sweep(
    reference: Tensor, masks: Tensor, strengths: Tensor, part: int, name: str, std: float | Tensor, radius: int = 2
) -> AttributeSweep:
    """Measure an attribute edit on its decoded masks.

    Args:
        reference: [B, H, W] ids the edit is compared with (the reconstruction decode(mu)).
        masks: [B, K, H, W] edited ids, one per strength.
        strengths: [K]; part, name: the attribute measured.
        std: the attribute's standard deviation (`AttributeDirections.stds`): changes are in these units.
        radius: band of `edit_locality` around the part.
    """
    B, K = masks.shape[:2]
    flat = masks.flatten(0, 1)
    values = measure_attributes(torch.cat([reference, flat]), [part])[(part, name)]  # (B + B*K,)
    changes = (values[B:].view(B, K) - values[:B, None]) / float(std)
    locality = edit_locality(reference.repeat_interleave(K, 0), flat, [part], radius).view(B, K)
    return AttributeSweep(strengths.cpu(), changes.cpu(), locality.cpu())


def concat_sweeps(sweeps: Sequence[AttributeSweep]) -> AttributeSweep:
    """Join the sweeps of several batches (same strengths) into one over all inputs."""
    return AttributeSweep(
        sweeps[0].strengths, torch.cat([s.changes for s in sweeps]), torch.cat([s.locality for s in sweeps])
    )


def strength_correlation(strengths: Tensor, changes: Tensor) -> Tensor:
    """Pearson correlation between strength and measured change over all finite (input, strength) pairs.

    Args:
        strengths: [K]; changes: [B, K].

    Returns:
        float64 scalar in [-1, 1]; NaN with fewer than 2 pairs or no spread.
    """
    s = strengths.double().expand_as(changes)
    finite = torch.isfinite(changes)
    pairs = torch.stack([s[finite], changes[finite].double()])
    return torch.corrcoef(pairs)[0, 1] if pairs.shape[1] >= 2 else torch.tensor(float("nan"), dtype=torch.float64)


def monotonicity(strengths: Tensor, changes: Tensor) -> Tensor:
    """Share of consecutive strength steps (sorted) whose measured attribute strictly increases.

    Steps with a NaN end are skipped; a flat step counts as not increasing, so an edit that does
    nothing scores 0. Args: strengths [K], changes [B, K]. Returns: [B] float64 (NaN: no valid step).
    """
    order = strengths.argsort()
    ordered = changes[:, order].double()
    steps = ordered[:, 1:] - ordered[:, :-1]  # (B, K-1)
    valid = torch.isfinite(steps)
    return (steps > 0).logical_and(valid).sum(1).double() / valid.sum(1).double()


def summarise_sweep(sweep: AttributeSweep) -> dict[str, float]:
    """The numbers of a results page: correlation, monotonicity, calibration slope, locality, presence."""
    finite = torch.isfinite(sweep.changes)
    x = sweep.strengths.double().expand_as(sweep.changes)[finite]
    slope = ((x - x.mean()) * sweep.changes[finite]).sum() / (x - x.mean()).square().sum()
    return {
        "correlation": float(strength_correlation(sweep.strengths, sweep.changes)),
        "monotonicity": float(monotonicity(sweep.strengths, sweep.changes).nanmean()),
        "slope": float(slope),
        "locality": float(sweep.locality.double().mean()),
        "present": float(finite.double().mean()),
    }


def response_curves(sweep: AttributeSweep) -> dict[str, list[tuple[float, float]]]:
    """Mean measured change and mean locality per strength, as (strength, value) points for a plot."""
    strengths = sweep.strengths.tolist()
    return {
        "measured change (std)": list(zip(strengths, sweep.changes.nanmean(0).tolist())),
        "locality": list(zip(strengths, sweep.locality.double().mean(0).tolist())),
    }


def sweep_definitions(radius: int) -> dict[str, str]:
    """One-line definitions of `summarise_sweep`'s numbers, for result pages."""
    return {
        "correlation": "Pearson correlation between edit strength and the attribute's change on the decoded mask "
        "(versus the reconstruction), over all inputs and strengths",
        "monotonicity": "share of consecutive strength steps where the measured attribute strictly increases, "
        "averaged over inputs",
        "slope": "least-squares slope of the measured change (in standard deviations) versus strength; 1 = calibrated",
        "locality": f"1 - changed/total pixels outside the edited part's old and new regions dilated by {radius} px",
        "present": "share of edited masks in which the part is still present",
    }

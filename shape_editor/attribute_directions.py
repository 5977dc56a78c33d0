"""Attribute-directed edits: a direction per (part, attribute) in that part's latent space.

The fit takes an attribute measured on the *input* masks (`shape_editor.attributes`), standardised to
zero mean and unit variance (z), and the part's posterior means mu_p (X, centred, [N, D]):
- the step is the code displacement that goes with +1 standard deviation of the attribute in the data,
  Cov(X, z) = X^T z / (N - 1): it moves the code the way the training codes move with the attribute, so
  it stays where the decoder has seen codes. (The least-squares direction w / |w|^2 of a linear model
  predicting z from X is shorter and points into directions the codes hardly vary along; the decoder,
  which also sees the other parts through the LSTM, then barely responds: a +1 std step changed a
  quick-start model's nose height by 0.01 std.)
- `calibrate` then rescales each step by the decoder's measured response, so that `--edit_strength s`
  changes the decoded attribute by about s standard deviations (`gains` keeps the response before).
- `r2` reports how linearly the codes carry the attribute: ridge least squares, w = argmin
  ||X w - z||^2 + lambda ||w||^2 with lambda = ridge * trace(X^T X) / D.

Everything is saved as a plain dict of tensors and strings, loadable with `weights_only=True`, in a
file the caller keys by the checkpoint's content (test runs: `results/<name>/cache/`); a file of an
older format is refitted.
Shapes: N samples, B inputs, K strengths, P parts, D latent size, H x W pixels.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from shape_editor.attributes import attribute_names, measure_attributes
from shape_editor.checkpoint_io import atomic_torch_save, load_checkpoint
from shape_editor.editor import EditOutput, MaskEditor, part_indices
from shape_editor.fast import FastShapeVAE, inference_model
from shape_editor.shape_vae import ShapeVAE

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
TENSOR_FIELDS = ("steps", "means", "stds", "r2", "samples", "gains")
CALIBRATION_MASKS = 128  # fitting masks decoded to measure the response of each step
MIN_GAIN = 0.05  # a smaller response (std per step) is too weak to rescale: the step is kept as fitted


class AttributeDirections(NamedTuple):
    """Fitted steps for K (part, attribute) keys; row k of every tensor belongs to `keys[k]`."""

    keys: list[tuple[int, str]]  # (standard part id, attribute name)
    steps: Tensor  # [K, D] code displacement for +1 standard deviation of the attribute
    means: Tensor  # [K] attribute mean over the fitting set
    stds: Tensor  # [K] attribute standard deviation over the fitting set
    r2: Tensor  # [K] share of the attribute's variance the linear fit explains (fitting set)
    samples: Tensor  # [K] masks with the part present, used for the fit
    gains: Tensor  # [K] decoded change (std) per fitted step before `calibrate`; 1 where not calibrated

    def row(self, part: int, name: str) -> int:
        """Row of (part, name), or ValueError listing what was fitted."""
        if (part, name) not in self.keys:
            raise ValueError(f"no direction fitted for part {part} attribute {name!r}; fitted: {self.keys}")
        return self.keys.index((part, name))

    def step(self, part: int, name: str) -> Tensor:
        """[D] code displacement for +1 standard deviation of attribute `name` of `part`."""
        return self.steps[self.row(part, name)]

    def std(self, part: int, name: str) -> float:
        """The attribute's standard deviation over the fitting set: the unit of edit strengths."""
        return float(self.stds[self.row(part, name)])

    def merged(self, other: AttributeDirections) -> AttributeDirections:
        """These directions plus `other`'s; a key fitted in both takes `other`'s row."""
        keep = [k for k, key in enumerate(self.keys) if key not in other.keys]
        return AttributeDirections(
            [self.keys[k] for k in keep] + list(other.keys),
            *(torch.cat([getattr(self, f)[keep], getattr(other, f)]) for f in TENSOR_FIELDS),
        )

    def state_dict(self) -> dict[str, Any]:
        """Plain tensors, ints and strings only, so `torch.load(weights_only=True)` reads it back."""
        return {
            "version": FORMAT_VERSION,
            "parts": [p for p, _ in self.keys],
            "names": [n for _, n in self.keys],
            **{field: getattr(self, field) for field in TENSOR_FIELDS},
        }

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> AttributeDirections:
        """Inverse of `state_dict`; ValueError for another format version."""
        if state.get("version") != FORMAT_VERSION:
            raise ValueError(f"attribute directions of format {state.get('version')!r}; expected {FORMAT_VERSION}")
        keys = [(int(p), str(n)) for p, n in zip(state["parts"], state["names"])]
        return cls(keys, *(state[field] for field in TENSOR_FIELDS))

    def save(self, path: str | Path) -> Path:
        atomic_torch_save(self.state_dict(), path)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> AttributeDirections:
        """Read a file written by `save` (weights only); ValueError names the file when it is not one."""
        state = load_checkpoint(path)
        if not isinstance(state, dict) or "steps" not in state:
            raise ValueError(f"{path} is not an attribute-directions file (no 'steps')")
        try:
            return cls.from_state_dict(state)
        except (KeyError, ValueError) as err:
            raise ValueError(f"{path}: {err}") from err


def ridge_direction(x: Tensor, y: Tensor, ridge: float) -> Tensor:
    """Ridge least squares on centred data: x [N, D], y [N] -> w [D] (float64)."""
    x = (x - x.mean(0)).double()
    y = (y - y.mean()).double()
    gram = x.T @ x  # (D, D)
    if gram.trace() == 0:
        raise ValueError("the codes do not vary over the fitting set, so no direction can be fitted")
    lam = ridge * gram.trace() / x.shape[1]
    eye = torch.eye(x.shape[1], dtype=gram.dtype, device=gram.device)
    return torch.linalg.solve(gram + lam * eye, x.T @ y)


def fit_attribute_directions(
    mu: Tensor, attributes: Mapping[tuple[int, str], Tensor], ridge: float = 0.05, min_samples: int = 8
) -> AttributeDirections:
    """Fit one step per (part, attribute) key from encoded masks and their measured attributes.

    Args:
        mu: [N, P, D] posterior means of N masks.
        attributes: {(standard part id, name): [N]} values, NaN where the part is absent (those masks are
            skipped); any per-mask target works, e.g. a ground-truth generating parameter.
        ridge: ridge strength relative to the mean per-dimension energy of the codes.
        min_samples: fewest masks with a finite value (and a non-constant one) needed per key.

    Returns:
        `AttributeDirections` with the keys in the given order.
    """
    P = mu.shape[1]
    mu = mu.detach().cpu().double()
    steps, stats = [], []
    for (part, name), values in attributes.items():  # a handful of keys, each its own D x D solve
        index = part_indices([part], P)[0]
        values = values.detach().cpu().double()
        finite = torch.isfinite(values)
        y = values[finite]
        if y.numel() < min_samples or y.std() == 0:
            raise ValueError(
                f"part {part} attribute {name!r}: {y.numel()} finite, non-constant values; need at least {min_samples}"
            )
        x = mu[finite, index]
        z = (y - y.mean()) / y.std()  # the attribute in standard deviations
        try:
            w = ridge_direction(x, z, ridge)
        except ValueError as err:
            raise ValueError(f"part {part} attribute {name!r}: {err}") from err
        r2 = 1 - ((x - x.mean(0)) @ w - z).square().mean() / z.square().mean()
        steps.append((x - x.mean(0)).T @ z / (z.numel() - 1))  # (D,) Cov(X, z)
        stats.append(torch.stack([y.mean(), y.std(), r2, torch.tensor(float(y.numel()), dtype=torch.float64)]))
    means, stds, r2s, counts = torch.stack(stats).T  # (K,) each
    return AttributeDirections(
        list(attributes),
        torch.stack(steps).float(),
        means.float(),
        stds.float(),
        r2s.float(),
        counts.long(),
        torch.ones(len(steps)),
    )


@torch.no_grad()
def calibrate(editor: MaskEditor, labels: Tensor, directions: AttributeDirections) -> AttributeDirections:
    """Rescale every step so that one step changes the decoded attribute by one standard deviation.

    The response is measured on `labels` [B, 1, H, W] (fitting masks): half the mean change of the
    attribute between decode(mu + step) and decode(mu - step), in standard deviations. A step whose
    response is below MIN_GAIN is kept as it is (the decoder does not follow it; the gain says so).
    """
    steps, gains = directions.steps.clone(), torch.ones(len(directions.keys))
    mu = editor.encode(labels)  # (B, P, D), once for every key
    for k, (part, name) in enumerate(directions.keys):
        codes = attribute_codes(mu, part, directions.steps[k], torch.tensor([-1.0, 1.0]))  # (B, 2, P, D)
        masks = editor.decode(codes).masks  # (B, 2, H, W)
        values = measure_attributes(masks.flatten(0, 1), [part])[(part, name)].view(-1, 2).double()
        gain = float((values[:, 1] - values[:, 0]).nanmean()) / 2 / directions.std(part, name)
        gains[k] = gain if math.isfinite(gain) else 0.0
        if gains[k] >= MIN_GAIN:
            steps[k] /= gains[k]
    return directions._replace(steps=steps, gains=gains)


@torch.no_grad()
def encode_dataset(
    vae: ShapeVAE | FastShapeVAE,
    dataset: Dataset,
    parts: Sequence[int],
    max_samples: int | None = None,
    batch_size: int = 32,
    num_workers: int = 0,
) -> tuple[Tensor, dict[tuple[int, str], Tensor]]:
    """mu of every mask and the attributes of `parts` measured on the input masks.

    Args:
        vae: the trained model, or its inference object (built here from a `ShapeVAE`).
        dataset: items are dicts with 'label' [1, H, W] integer ids at the VAE's crop size.

    Returns:
        (mu [N, P, D] on the CPU, {(part, name): [N] float64}).
    """
    total = len(dataset)  # type: ignore[arg-type]  # map-style datasets have a length; Dataset does not declare it
    count = total if max_samples is None else min(total, max_samples)
    loader = DataLoader(Subset(dataset, range(count)), batch_size=batch_size, num_workers=num_workers)
    model = inference_model(vae)
    mus, measured = [], []
    for batch in tqdm(loader, desc="encode training masks", leave=False):
        labels = batch["label"].to(model.device)
        mus.append(model.encode(labels)[0].cpu())  # integer ids: the fast path needs no one-hot
        measured.append(measure_attributes(labels, parts))
    if not mus:
        raise ValueError("no masks to fit attribute directions on: the dataset is empty")
    attributes = {key: torch.cat([m[key] for m in measured]).cpu() for key in measured[0]}
    return torch.cat(mus), attributes


def fit_from_dataset(
    vae: ShapeVAE | FastShapeVAE,
    dataset: Dataset,
    parts: Sequence[int],
    max_samples: int | None = None,
    batch_size: int = 32,
    ridge: float = 0.05,
) -> AttributeDirections:
    """Encode (mu) up to `max_samples` training masks, fit a step for every attribute of `parts`, calibrate.

    The calibration decodes the first CALIBRATION_MASKS of those masks (`calibrate`).
    """
    model = inference_model(vae)  # built once, for the encoding and the calibration
    mu, attributes = encode_dataset(model, dataset, parts, max_samples, batch_size)
    directions = fit_attribute_directions(mu, attributes, ridge)
    labels = torch.stack([dataset[i]["label"] for i in range(min(CALIBRATION_MASKS, mu.shape[0]))])
    directions = calibrate(MaskEditor(model), labels.to(model.device), directions)
    logger.info(
        "fitted %d attribute directions on %d masks; R^2: %s; decoder response per fitted step (std): %s",
        len(directions.keys),
        mu.shape[0],
        {f"{p}/{n}": round(float(r), 3) for (p, n), r in zip(directions.keys, directions.r2)},
        {f"{p}/{n}": round(float(g), 3) for (p, n), g in zip(directions.keys, directions.gains)},
    )
    return directions


def stored_directions(path: Path) -> AttributeDirections | None:
    """The directions stored at `path`; None when there is no file or it holds an older format (refit it)."""
    if not path.is_file():
        return None
    state = load_checkpoint(path)
    if isinstance(state, dict) and "steps" in state and state.get("version") != FORMAT_VERSION:
        logger.info("%s holds attribute directions of format %s; refitting", path, state.get("version"))
        return None
    return AttributeDirections.load(path)


def load_or_fit_directions(
    path: str | Path,
    vae: ShapeVAE | FastShapeVAE,
    train_set: Callable[[], Dataset],
    part: int,
    max_samples: int | None = None,
) -> AttributeDirections:
    """The directions of every attribute of `part` stored for a checkpoint, fitted (and saved) when missing.

    Args:
        path: the directions file of this checkpoint (one per checkpoint content); other parts' directions
            in it are kept.
        train_set: builds the training split (only called when a fit is needed).
    """
    path = Path(path)
    stored = stored_directions(path)
    if stored is not None and all((part, name) in stored.keys for name in attribute_names(part)):
        return stored
    fitted = fit_from_dataset(vae, train_set(), [part], max_samples)
    directions = fitted if stored is None else stored.merged(fitted)
    directions.save(path)
    logger.info("saved attribute directions to %s", path)
    return directions


def attribute_codes(mu: Tensor, part: int, step: Tensor, strengths: Tensor) -> Tensor:
    """Move one part's code along its attribute step: [B, P, D] -> [B, K, P, D], K = len(strengths).

    codes[b, k, part - 1] = mu[b, part - 1] + strengths[k] * step; every other part keeps its code exactly.
    """
    if strengths.dim() != 1:
        raise ValueError(f"strengths must be a 1-d tensor, got shape {tuple(strengths.shape)}")
    index = part_indices([part], mu.shape[1])[0]
    codes = mu[:, None].repeat(1, strengths.numel(), 1, 1)  # (B, K, P, D)
    codes[:, :, index] += strengths.to(mu)[None, :, None] * step.to(mu)
    return codes


def attribute_strengths(strength: float, n_steps: int) -> Tensor:
    """The strip of an attribute edit: `n_steps` strengths from 0 (the reconstruction) to `strength`, [K] float32."""
    if n_steps < 2:
        raise ValueError(f"n_steps={n_steps}: an attribute strip needs at least 2 steps (0 and the strength)")
    return torch.linspace(0.0, strength, n_steps)


@torch.no_grad()
def attribute_edit(
    editor: MaskEditor, labels: Tensor, directions: AttributeDirections, part: int, name: str, strengths: Tensor
) -> EditOutput:
    """Move `part` along the direction of attribute `name` at every strength; all B*K masks decode as one batch.

    Args:
        labels: [B, 1, H, W] or [B, H, W] input ids.
        strengths: [K] in standard deviations of the attribute.

    Returns:
        `EditOutput` with codes [B, K, P, D], logits and masks [B, K, H, W] (alphas None).
    """
    mu = editor.encode(labels)
    return editor.decode(attribute_codes(mu, part, directions.step(part, name), strengths))

"""What every control of the editor does, as plain functions: session state and inputs in, what to show out.

Nothing here imports Gradio: `layout` wires these functions to the page and turns the `ValueError` /
`FileNotFoundError` they raise for bad input into the page's error line, keeping the previous state.
Every edit returns a `Shown`: the new session, the image of the mask (palette, or the changed-pixels
overlay against the previous mask) and a status line.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from torch.utils.data import Dataset

from shape_editor.labels import LABEL_NAMES, colorize, part_id
from editor_app.engine import EditEngine
from editor_app.history import History
from editor_app.images import legend_html, load_upload, mask_view, painted_mask
from util.image import safe_filename, save_image, save_label_png


class Session(NamedTuple):
    """One browser tab's state: the history of masks and the face they came from."""

    history: History
    photo: np.ndarray | None  # float32 [3, H, W] in [-1, 1], the style source of the SEAN render
    name: str  # shown in notes and download file names


class Shown(NamedTuple):
    session: Session
    image: np.ndarray  # uint8 [H', W', 3] view of the current mask
    status: str


class EditorContext(NamedTuple):
    """What the callbacks share across sessions."""

    engine: EditEngine
    dataset: Dataset  # the test split: the gallery and the second faces of interpolate / swap
    opt: argparse.Namespace  # data options, to read uploads like the test set
    downloads_dir: Path


def view(session: Session, overlay: bool) -> np.ndarray:
    history = session.history
    return mask_view(history.current.mask, history.previous if overlay else None)


def show(session: Session, overlay: bool) -> Shown:
    """What the page shows for `session`: the mask view and a status line naming the step."""
    history = session.history
    changed = int((history.current.mask != history.previous).sum())
    line = f"{history.current.note} ({changed} pixels changed; step {history.position} of {len(history.entries) - 1})"
    return Shown(session, view(session, overlay), line)


def dataset_face(ctx: EditorContext, index: float) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Mask, photo and name of test face `index` of the dataset."""
    count = len(ctx.dataset)
    if not isinstance(index, (int, float)) or math.isnan(index) or not 0 <= int(index) < count:
        raise ValueError(f"test face {index!r} does not exist: choose an index in 0..{count - 1}")
    item = ctx.dataset[int(index)]
    photo = item["image"].numpy() if "image" in item else None
    return item["label"][0].numpy().astype(np.uint8), photo, f"test {int(index)} {Path(item['path']).stem}"


def gallery_items(ctx: EditorContext, count: int) -> list[tuple[np.ndarray, str]]:
    """Thumbnails (palette view) and captions of the first `count` test faces."""
    items = []
    for index in range(min(count, len(ctx.dataset))):
        mask, _, name = dataset_face(ctx, index)
        items.append((colorize(mask), name))
    return items


def load_test_face(ctx: EditorContext, index: float, overlay: bool = False) -> tuple[Shown, str]:
    """Start a session on test face `index`; also returns the legend."""
    mask, photo, name = dataset_face(ctx, index)
    session = Session(History.start(mask, f"loaded {name}"), photo, name)
    return show(session, overlay), legend_html(mask)


def load_uploaded(
    ctx: EditorContext, label_file: str | None, photo_file: str | None, overlay: bool = False
) -> tuple[Shown, str]:
    """Start a session on an uploaded label map (any format the loaders read) and optional photo."""
    if label_file is None:
        raise ValueError("no label map uploaded: choose an id, colour or palette PNG")
    mask, photo = load_upload(label_file, photo_file, ctx.opt)
    name = f"upload {Path(label_file).stem}"
    session = Session(History.start(mask, f"loaded {name}"), photo, name)
    return show(session, overlay), legend_html(mask)


def chosen_parts(names: Sequence[str] | str | None) -> list[int]:
    """Standard ids of the parts picked by name; at least one, never background."""
    names = [names] if isinstance(names, str) else list(names or [])
    if not names:
        raise ValueError("no part chosen: pick one or more parts to edit")
    ids = sorted({part_id(name) for name in names})
    if 0 in ids:
        raise ValueError("background is not an editable part: it is what no part covers")
    return ids


def part_label(parts: Sequence[int]) -> str:
    return "+".join(LABEL_NAMES[p] for p in parts)


def checked_seed(seed: float | None) -> int:
    if seed is None or not float(seed).is_integer() or not 0 <= seed < 2**63:
        raise ValueError(f"seed {seed!r} must be a whole number >= 0")
    return int(seed)


def generate(
    ctx: EditorContext,
    session: Session,
    parts: Sequence[str],
    seed: float,
    keep_others: bool = True,
    overlay: bool = False,
) -> tuple[Shown, int]:
    """Redraw the chosen parts from noise with `seed`; also returns the next seed for the seed box."""
    ids, seed = chosen_parts(parts), checked_seed(seed)
    mask = ctx.engine.generate(session.history.current.mask, ids, seed, keep_others)
    history = session.history.push(mask, f"generate {part_label(ids)} (seed {seed})")
    return show(session._replace(history=history), overlay), seed + 1


def perturb(
    ctx: EditorContext,
    session: Session,
    parts: Sequence[str],
    strength: float,
    seed: float,
    keep_others: bool = True,
    overlay: bool = False,
    slider: bool = False,
) -> tuple[Shown, int]:
    """Move the chosen parts by `strength` * noise(seed); also returns the seed for the seed box.

    The button makes a new step and moves the seed on, like generate. The slider keeps its seed, and
    moving it again replaces its own step, recomputed from the mask before it, so it only sets the strength.
    """
    ids, seed = chosen_parts(parts), checked_seed(seed)
    key = ("perturb", tuple(ids), seed, keep_others) if slider else ()
    mask = ctx.engine.perturb(session.history.base_for(key), ids, float(strength), seed, keep_others)
    history = session.history.push(mask, f"perturb {part_label(ids)} by {float(strength):.2f} (seed {seed})", key)
    return show(session._replace(history=history), overlay), seed if slider else seed + 1


def reconstruct(
    ctx: EditorContext,
    session: Session,
    overlay: bool = False,
    note: str = "reconstruct (the whole mask through the VAE)",
) -> Shown:
    """Pass the whole current mask through the VAE (after painting: the parts adapt to the strokes)."""
    mask = ctx.engine.reconstruct(session.history.current.mask)
    return show(session._replace(history=session.history.push(mask, note)), overlay)


def blend(
    ctx: EditorContext,
    session: Session,
    parts: Sequence[str],
    target_index: float,
    alpha: float,
    keep_others: bool = True,
    overlay: bool = False,
) -> Shown:
    """Interpolate the chosen parts toward test face `target_index` (alpha 1 = swap them in)."""
    ids = chosen_parts(parts)
    if not 0 <= float(alpha) <= 1:
        raise ValueError(f"alpha {alpha} must be in [0, 1]")
    target, _, name = dataset_face(ctx, target_index)
    key = ("blend", tuple(ids), name, keep_others)
    mask = ctx.engine.blend(session.history.base_for(key), target, ids, float(alpha), keep_others)
    verb = "swap in" if float(alpha) == 1 else f"interpolate (alpha {float(alpha):.2f}) toward"
    history = session.history.push(mask, f"{verb} the {part_label(ids)} of {name}", key)
    return show(session._replace(history=history), overlay)


def attribute(
    ctx: EditorContext,
    session: Session,
    parts: Sequence[str],
    name: str,
    strength: float,
    keep_others: bool = True,
    overlay: bool = False,
) -> tuple[Shown, str]:
    """Push the first chosen part along attribute `name`; also returns the measured change as text."""
    part = chosen_parts(parts)[0]
    key = ("attribute", part, name, keep_others)
    mask, change = ctx.engine.attribute(session.history.base_for(key), part, name, float(strength), keep_others)
    measured = "part absent" if math.isnan(change) else f"{change:+.2f} std"
    history = session.history.push(mask, f"{LABEL_NAMES[part]} {name} {float(strength):+.2f} std", key)
    return show(
        session._replace(history=history), overlay
    ), f"asked {float(strength):+.2f} std, measured {measured} ({LABEL_NAMES[part]} {name})"


def paint(session: Session, editor_value: dict[str, Any] | None, class_name: str, overlay: bool = False) -> Shown:
    """Apply the brush strokes with class `class_name` (any class, background included)."""
    class_id = part_id(class_name)
    mask = painted_mask(session.history.current.mask, editor_value, class_id)
    if np.array_equal(mask, session.history.current.mask):
        raise ValueError("nothing painted: draw on the mask with the brush first")
    return show(session._replace(history=session.history.push(mask, f"paint {LABEL_NAMES[class_id]}")), overlay)


def undo(session: Session, overlay: bool = False) -> Shown:
    return show(session._replace(history=session.history.undo()), overlay)


def redo(session: Session, overlay: bool = False) -> Shown:
    return show(session._replace(history=session.history.redo()), overlay)


def reset(session: Session, overlay: bool = False) -> Shown:
    return show(session._replace(history=session.history.reset()), overlay)


def save_downloads(
    ctx: EditorContext, session: Session, rendered: np.ndarray | None = None, session_id: str = "session"
) -> list[Path | None]:
    """Write the current mask as an id PNG and a colour PNG (and the rendered photo) for the download buttons."""
    folder = ctx.downloads_dir / safe_filename(session_id)
    mask = session.history.current.mask
    # Named by content too: after an undo the same step number holds another mask, and rewriting a file
    # the browser may be fetching breaks that response ("Too much data for declared Content-Length").
    digest = hashlib.sha1(mask.tobytes()).hexdigest()[:8]
    stem = safe_filename(f"{session.name}_step{session.history.position}_{digest}")
    ids, colour = folder / f"{stem}_ids.png", folder / f"{stem}_colour.png"
    save_label_png(mask, ids)
    save_image(colorize(mask), colour)
    photo = None
    if rendered is not None:
        photo = folder / f"{stem}_rendered.png"
        save_image(rendered, photo)
    return [ids, colour, photo]

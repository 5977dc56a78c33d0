"""Procedural, aligned frontal face masks in the standard CelebAMask-HQ order: the embedded dataset.

Every sample is drawn from a `FaceParams` record of plain numbers, so a test or an attribute edit knows
the ground truth (a larger `nose_length` draws a taller nose). The part shapes live in
`data.synthetic_render`; here they are painted in a painter's order so that every pixel gets exactly
one id. Lengths are in units of the image size, so `size` only changes the resolution; the layout
follows aligned 512x512 CelebAMask-HQ masks (eyes near y=0.48, l_eye on the image's right).

The head is drawn in a frame `(u, v)` centred on the face oval (`center_x, center_y`) and rolled by
`roll_deg` about a pivot at the neck; the neck and the clothes stay upright.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import numpy as np

from data.face_params import BALD, LONG_HAIR, NO_FRINGE, SHORT_HAIR, FaceParams
from data.synthetic_render import (
    bald_skin_region,
    brow_region,
    cloth_region,
    ear_region,
    earring_region,
    eye_region,
    face_region,
    front_hair_region,
    glasses_region,
    hair_region,
    hat_region,
    lip_region,
    neck_region,
    necklace_region,
    nose_region,
    render_face_image,
    shoulder_hair_region,
)
from shape_editor.labels import LABEL_NAMES, part_id

__all__ = ["FaceParams", "SyntheticFace", "draw_face_mask", "render_face_image", "sample_face_params", "synthetic_face"]

_PIVOT_DY = 0.25  # the head rolls about a point this far below the face centre (the neck)
_SIDES = ((1.0, "l"), (-1.0, "r"))  # l_* is the person's left = the image's right = u > 0
_ID = {name: part_id(name) for name in LABEL_NAMES[1:]}  # every part of the standard label order


class SyntheticFace(NamedTuple):
    """One sample: `label` uint8 [H, W] ids, `image` uint8 [H, W, 3] (None when not rendered)."""

    label: np.ndarray
    image: np.ndarray | None
    params: FaceParams


def sample_face_params(rng: np.random.Generator) -> FaceParams:
    """Draw one plausible face from `rng` (deterministic given its state).

    The ranges and probabilities are tuned so that class pixel shares over many samples match
    aligned CelebAMask-HQ (docs/ARCHITECTURE.md, "Labels"); `tests/data/test_synthetic_faces.py` checks them.
    """
    u = rng.uniform
    face_height = u(0.62, 0.70)
    hair_style = int(rng.choice(3, p=[0.05, 0.3, 0.65]))
    eye_y = -0.041 + u(-0.012, 0.012)
    brow_height = u(0.05, 0.078)
    hairline = -face_height / 2 + u(0.03, 0.08)
    brow_top = eye_y - brow_height - 0.02
    mouth_y = 0.232 + u(-0.015, 0.015)
    hair_top = -face_height / 2 - u(0.06, 0.14)
    nose_length = u(0.13, min(0.185, mouth_y - eye_y - 0.075))
    return FaceParams(
        center_x=0.5 + u(-0.015, 0.015),
        center_y=0.52 + u(-0.015, 0.015),
        roll_deg=float(np.clip(rng.normal(0.0, 3.5), -8.0, 8.0)),
        face_width=u(0.52, 0.6),
        face_height=face_height,
        face_squareness=u(2.2, 3.0),
        chin_roundness=u(1.8, 2.6),
        hair_style=hair_style,
        fringe=int(rng.choice(3, p=[0.4, 0.35, 0.25])) if hair_style else NO_FRINGE,
        fringe_side=float(rng.choice([-1.0, 1.0])),
        fringe_depth=u(0.03, max(0.04, brow_top - hairline)),
        hair_volume=u(0.06, 0.15),
        hair_top=hair_top,
        hair_length=u(0.08, 0.18) if hair_style == SHORT_HAIR else u(0.45, 0.65),
        hairline=hairline,
        temple_drop=u(0.07, 0.15),
        eye_y=eye_y,
        eye_spacing=u(0.235, 0.265),
        eye_size=u(0.075, 0.1),
        eye_openness=u(0.32, 0.5),
        eye_tilt_deg=u(-3.0, 8.0),
        brow_height=brow_height,
        brow_length=u(0.11, 0.15),
        brow_thickness=u(0.02, 0.032),
        brow_arch=u(0.004, 0.02),
        nose_length=nose_length,
        nose_width=u(0.14, 0.18),
        mouth_y=mouth_y,
        mouth_width=u(0.16, 0.22),
        mouth_open=0.0 if u() < 0.4 else u(0.1, 1.0),
        lip_thickness=u(0.018, 0.03),
        smile=u(-0.004, 0.012),
        ear_y=0.08 + u(-0.015, 0.015),
        ear_size=u(0.13, 0.17),
        neck_width=u(0.28, 0.36),
        cloth_height=u(0.035, 0.1),
        neckline_depth=u(0.02, 0.08),
        glasses=bool(u() < 0.15),
        glasses_frame=u(0.008, 0.016),
        hat=bool(u() < 0.007),
        hat_height=hairline - hair_top + u(0.02, 0.06),
        earrings=bool(u() < 0.4),
        earring_size=u(0.02, 0.035),
        necklace=bool(u() < 0.12),
        necklace_y=u(0.34, 0.42),
    )


Region = Callable[[np.ndarray, np.ndarray, FaceParams], np.ndarray]
Box = tuple[float, float, float, float]  # (u0, u1, v0, v1) around a region, in its own frame


class _Canvas:
    """The label map being painted plus every pixel centre's coordinates in both frames.

    Head frame (u, v): centred on the face oval, rolled by `roll_deg` about the neck pivot. Body frame
    (bx, y): upright, bx = x - center_x. `paint` evaluates a region only inside the pixel window around
    its box, so small parts stay cheap at any resolution.
    """

    def __init__(self, p: FaceParams, size: int) -> None:
        self.p, self.size = p, size
        coords = (np.arange(size, dtype=np.float32) + 0.5) / size
        self.y, x = np.meshgrid(coords, coords, indexing="ij")  # [H, W] each
        self.bx = x - np.float32(p.center_x)
        angle = np.deg2rad(p.roll_deg)
        self.cos, self.sin = np.float32(np.cos(angle)), np.float32(np.sin(angle))
        dy = self.y - np.float32(p.center_y + _PIVOT_DY)
        self.u = self.cos * self.bx + self.sin * dy
        self.v = -self.sin * self.bx + self.cos * dy + np.float32(_PIVOT_DY)
        self.label = np.zeros((size, size), dtype=np.uint8)

    def _window(self, box: Box, mirror: float, head: bool) -> tuple[slice, slice]:
        """Pixel rows/cols covering `box` (its corners mapped to the image), with a 1-pixel margin."""
        us, vs = mirror * np.array(box[:2])[[0, 1, 0, 1]], np.array(box[2:])[[0, 0, 1, 1]]
        if head:
            dv = vs - _PIVOT_DY
            xs = self.p.center_x + self.cos * us - self.sin * dv
            ys = self.p.center_y + _PIVOT_DY + self.sin * us + self.cos * dv
        else:
            xs, ys = self.p.center_x + us, vs

        def span(lo: float, hi: float) -> slice:
            return slice(
                int(np.clip(np.floor(lo * self.size) - 1, 0, self.size)),
                int(np.clip(np.ceil(hi * self.size) + 1, 0, self.size)),
            )

        return span(ys.min(), ys.max()), span(xs.min(), xs.max())

    def paint(
        self, class_id: int, region: Region, box: Box | None = None, *, mirror: float = 1.0, head: bool = True
    ) -> None:
        """Give `class_id` to every pixel inside `region` (mirrored horizontally when mirror = -1)."""
        rows, cols = self._window(box, mirror, head) if box else (slice(None), slice(None))
        a, b = (mirror * self.u[rows, cols], self.v[rows, cols]) if head else (self.bx[rows, cols], self.y[rows, cols])
        self.label[rows, cols][region(a, b, self.p)] = class_id


def draw_face_mask(params: FaceParams, size: int) -> np.ndarray:
    """Paint one face as a label map.

    Painter's order (later overwrites earlier): background, hair behind the head, neck, necklace,
    cloth, long hair over the shoulders, ears, skin, earrings, nose, eyes, brows, lips and mouth, front
    hair (hairline/fringe), glasses, hat.

    Args:
        params: the face to draw (see `sample_face_params`).
        size: output height and width in pixels.

    Returns:
        uint8 [size, size] ids in the standard CelebAMask-HQ order (shape_editor/labels.py).
    """
    if int(size) != size or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}")
    p, canvas = params, _Canvas(params, int(size))
    hair_w, face_w, face_h = p.face_width / 2 + p.hair_volume, p.face_width / 2, p.face_height / 2
    if p.hair_style != BALD:
        canvas.paint(_ID["hair"], hair_region, (-1.5 * hair_w, 1.5 * hair_w, p.hair_top, p.hair_length))
    canvas.paint(_ID["neck"], neck_region, head=False)
    if p.necklace:
        canvas.paint(_ID["neck_l"], necklace_region, (-p.neck_width, p.neck_width, 0.0, 1.0), head=False)
    canvas.paint(_ID["cloth"], cloth_region, head=False)
    if p.hair_style == LONG_HAIR:
        canvas.paint(_ID["hair"], shoulder_hair_region, (-1.5 * hair_w, 1.5 * hair_w, 0.3, p.hair_length))
    ear_box = (
        face_w - 0.25 * p.ear_size,
        face_w + 0.25 * p.ear_size,
        p.ear_y - p.ear_size / 2,
        p.ear_y + p.ear_size / 2,
    )
    for side, name in _SIDES:
        canvas.paint(_ID[f"{name}_ear"], ear_region, ear_box, mirror=side)
    if p.hair_style == BALD:
        canvas.paint(_ID["skin"], bald_skin_region, (-face_w, face_w, p.hair_top, face_h))
    else:
        canvas.paint(_ID["skin"], face_region, (-face_w, face_w, -face_h, face_h))
    if p.earrings:
        top = p.ear_y + 0.45 * p.ear_size
        for side, _ in _SIDES:
            canvas.paint(
                _ID["ear_r"], earring_region, (face_w, face_w + 0.03, top, top + 2 * p.earring_size), mirror=side
            )
    canvas.paint(_ID["nose"], nose_region, (-p.nose_width / 2, p.nose_width / 2, p.eye_y, p.eye_y + p.nose_length))
    eye_box = (
        p.eye_spacing / 2 - 0.6 * p.eye_size,
        p.eye_spacing / 2 + 0.6 * p.eye_size,
        p.eye_y - 0.4 * p.eye_size,
        p.eye_y + 0.4 * p.eye_size,
    )
    brow_y = p.eye_y - p.brow_height
    brow_box = (
        p.eye_spacing / 2 - p.brow_length,
        p.eye_spacing / 2 + p.brow_length,
        brow_y - p.brow_arch - p.brow_thickness - 0.02,
        brow_y + p.brow_thickness + 0.02,
    )
    for side, name in _SIDES:
        canvas.paint(_ID[f"{name}_eye"], eye_region, eye_box, mirror=side)
        canvas.paint(_ID[f"{name}_brow"], brow_region, brow_box, mirror=side)
    mouth_box = (
        -p.mouth_width / 2,
        p.mouth_width / 2,
        p.mouth_y - 0.04 - p.lip_thickness,
        p.mouth_y + 0.04 + 1.2 * p.lip_thickness,
    )
    for part, name in enumerate(("u_lip", "mouth", "l_lip")):
        canvas.paint(_ID[name], functools.partial(lip_region, part=part), mouth_box)
    if p.hair_style != BALD:
        lowest = p.hairline + p.temple_drop + p.fringe_depth + 0.01
        canvas.paint(_ID["hair"], front_hair_region, (-hair_w, hair_w, p.hair_top, lowest))
    if p.glasses:
        reach = 0.3 * p.eye_spacing
        canvas.paint(_ID["eye_g"], glasses_region, (-face_w - 0.02, face_w + 0.02, p.eye_y - reach, p.eye_y + reach))
    if p.hat:
        base = p.hairline + 0.02
        canvas.paint(_ID["hat"], hat_region, (-hair_w - 0.07, hair_w + 0.07, base - p.hat_height, base + 0.02))
    return canvas.label


def synthetic_face(seed: int, index: int, size: int = 256, with_image: bool = True) -> SyntheticFace:
    """Sample `index` of the synthetic dataset `seed`: the same pair always gives the same face.

    The generator is seeded with `[seed, index]`, so samples do not depend on the order of calls.
    """
    rng = np.random.default_rng([seed, index])
    params = sample_face_params(rng)
    label = draw_face_mask(params, size)
    image = render_face_image(label, params, rng) if with_image else None
    return SyntheticFace(label, image, params)

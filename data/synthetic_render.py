"""How a synthetic face looks: the region of every part, and the painting of a mask as a photo.

Part regions are implicit shapes (superellipses, lens shapes, strokes along parametric curves) that
take coordinate grids and a `FaceParams` and return a bool mask; `data.synthetic_faces` paints them in
order. Head parts take the head frame `(u, v)`: centred on the face oval, y down, lengths in units of
the image size. Paired parts (eyes, brows, ears, earrings) take a mirrored `u` (`u` for the person's
left = image right, `-u` for the right), so each is written once with its outer side at larger `u`.
Body parts (neck, cloth, necklace) take the upright frame `(bx, y)`, `bx = x - center_x`.

`render_face_image` gives each class a per-sample base colour (skin tones, hair colours, clothes
vary), then smooth shading (a global light gradient, a rounder falloff towards the edge of the head,
darkening next to region borders), an iris in each eye and a little texture noise (streaky on hair),
so that a mask->photo GAN has something to learn. All randomness comes from the `rng` passed in.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from data.face_params import BANGS, LONG_HAIR, SIDE_FRINGE, FaceParams
from shape_editor.labels import NUM_CLASSES, part_id

_SKIN_LIGHT, _SKIN_DARK = np.array([240, 205, 180]), np.array([90, 58, 40])
_HAIR = np.array([[25, 20, 18], [70, 45, 28], [120, 80, 45], [205, 170, 110], [150, 60, 30], [175, 172, 168]])
_IRIS = np.array([[70, 45, 25], [40, 30, 25], [70, 110, 150], [80, 110, 70]])
_METAL = np.array([[212, 175, 55], [200, 200, 210], [190, 120, 80]])
_EYES = (part_id("l_eye"), part_id("r_eye"))
# Relative strength of the texture noise per class: strongest (and streaky) on hair.
_TEXTURE = np.full(NUM_CLASSES, 0.02, dtype=np.float32)
_TEXTURE[[part_id("hair"), part_id("hat"), part_id("cloth"), part_id("background")]] = (0.1, 0.05, 0.05, 0.03)


def _superellipse(u: np.ndarray, v: np.ndarray, rx: float, ry: float, power: float) -> np.ndarray:
    """Inside of |u/rx|^p + |v/ry|^p <= 1 (p = 2 is an ellipse, larger p is boxier)."""
    return np.abs(u / rx) ** power + np.abs(v / ry) ** power <= 1.0


def _band(
    u: np.ndarray, v: np.ndarray, half_length: float, center: np.ndarray, half_thickness: np.ndarray | float
) -> np.ndarray:
    """A stroke along the curve `v = center(u)` for |u| <= half_length."""
    return (np.abs(u) <= half_length) & (np.abs(v - center) <= half_thickness)


def face_region(u: np.ndarray, v: np.ndarray, p: FaceParams) -> np.ndarray:
    """Face oval: a boxy superellipse above the centre, a softer one (the jaw) below."""
    rx, ry = p.face_width / 2, p.face_height / 2
    power = np.where(v < 0, p.face_squareness, p.chin_roundness)
    half_width = rx * np.clip(1.0 - np.abs(v / ry) ** power, 0.0, None) ** (1.0 / power)
    return (np.abs(v) <= ry) & (np.abs(u) <= half_width)


def eye_region(u: np.ndarray, v: np.ndarray, p: FaceParams) -> np.ndarray:
    """Almond eye (mirrored `u`), its upper lid rounder than the lower one."""
    tilt = np.deg2rad(p.eye_tilt_deg)
    du, dv = u - p.eye_spacing / 2, v - p.eye_y
    a, b = np.cos(tilt) * du - np.sin(tilt) * dv, np.sin(tilt) * du + np.cos(tilt) * dv
    t = a / (p.eye_size / 2)
    lid = np.clip(1.0 - t**2, 0.0, None) ** 0.6 * p.eye_size * p.eye_openness
    return (np.abs(t) < 1.0) & (b > -0.58 * lid) & (b < 0.42 * lid)


def brow_region(u: np.ndarray, v: np.ndarray, p: FaceParams) -> np.ndarray:
    """Arched stroke above the eye, thick at the inner end and tapering outwards."""
    half = p.brow_length / 2
    t = (u - p.eye_spacing / 2 - 0.1 * half) / half
    center = p.eye_y - p.brow_height - p.brow_arch * (1.0 - t**2) + 0.01 * t
    return _band(t, v, 1.0, center, p.brow_thickness / 2 * (1.0 - 0.3 * (t + 1.0)))


def ear_region(u: np.ndarray, v: np.ndarray, p: FaceParams) -> np.ndarray:
    """Upright ellipse half hidden behind the face side (skin is painted over it)."""
    return _superellipse(u - p.face_width / 2 + 0.004, v - p.ear_y, 0.24 * p.ear_size, p.ear_size / 2, 2.0)


def earring_region(u: np.ndarray, v: np.ndarray, p: FaceParams) -> np.ndarray:
    """A drop hanging from the ear lobe."""
    top = p.ear_y + 0.45 * p.ear_size
    return _superellipse(
        u - p.face_width / 2 - 0.012, v - top - p.earring_size, 0.6 * p.earring_size, p.earring_size, 2.0
    )


def nose_region(u: np.ndarray, v: np.ndarray, p: FaceParams) -> np.ndarray:
    """Bridge from the eye line widening to rounded nostrils; its height is exactly `nose_length`."""
    lobe = 0.25 * p.nose_width
    bottom = p.eye_y + p.nose_length
    t = np.clip((v - p.eye_y) / (p.nose_length - lobe), 0.0, 1.0)
    half_width = p.nose_width / 2 * (0.55 + 0.45 * t**1.6)
    ridge = (v >= p.eye_y) & (v <= bottom - lobe) & (np.abs(u) <= half_width)
    return ridge | _superellipse(u, v - bottom + lobe, p.nose_width / 2, lobe, 2.2)


def lip_region(u: np.ndarray, v: np.ndarray, p: FaceParams, part: int) -> np.ndarray:
    """Part 0 upper lip, 1 the opening (mouth), 2 lower lip: the lips meet on a smiling line and the
    opening between them grows with `mouth_open`."""
    t = u / (p.mouth_width / 2)
    arc = np.sqrt(np.clip(1.0 - t**2, 0.0, None))
    line = p.mouth_y - p.smile * t**2
    gap = 0.05 * p.mouth_open * arc
    cupid = 1.0 - 0.3 * np.exp(-((t / 0.12) ** 2))
    bounds = (
        line - gap / 2 - p.lip_thickness * arc**0.7 * cupid,
        line - gap / 2,
        line + gap / 2,
        line + gap / 2 + 1.2 * p.lip_thickness * arc**0.8,
    )
    return (np.abs(t) < 1.0) & (v >= bounds[part]) & (v < bounds[part + 1])


def glasses_region(u: np.ndarray, v: np.ndarray, p: FaceParams) -> np.ndarray:
    """Two rounded-rectangle rims, a bridge and the temple arms (lenses stay see-through)."""
    rx, ry, w = 0.33 * p.eye_spacing, 0.23 * p.eye_spacing, p.glasses_frame
    dm, dv = np.abs(u) - p.eye_spacing / 2, v - p.eye_y - 0.01
    rims = _superellipse(dm, dv, rx, ry, 3.0) & ~_superellipse(dm, dv, rx - w, ry - w, 3.0)
    bridge = _band(u, dv + 0.35 * ry, p.eye_spacing / 2 - rx + w, 0.0, w / 2)
    arm = (p.face_width / 2 + 0.015 - p.eye_spacing / 2 - rx) / 2
    arms = _band(dm - rx - arm, dv + 0.5 * ry, arm, 0.0, 0.35 * w)
    return rims | bridge | arms


def hair_region(u: np.ndarray, v: np.ndarray, p: FaceParams) -> np.ndarray:
    """The hair mass around the skull; long hair continues down to `hair_length`, widening."""
    rx, top = p.face_width / 2 + p.hair_volume, -p.hair_top
    head = _superellipse(u, v, rx, top, 2.3)
    if p.hair_style == LONG_HAIR:
        flare = 1.0 + 0.5 * np.clip(v / p.hair_length, 0.0, 1.0)
        head |= (v >= 0) & (np.abs(u) <= rx * flare)
    return head & (v <= p.hair_length)


def front_hair_region(u: np.ndarray, v: np.ndarray, p: FaceParams) -> np.ndarray:
    """Hair painted over the face: everything of the hair mass above the hairline."""
    return hair_region(u, v, p) & (v < _hairline(u, p))


def shoulder_hair_region(u: np.ndarray, v: np.ndarray, p: FaceParams) -> np.ndarray:
    """Long hair falling in front of the shoulders, beside the neck."""
    return hair_region(u, v, p) & (v > 0.3) & (np.abs(u) > p.neck_width / 2)


def bald_skin_region(u: np.ndarray, v: np.ndarray, p: FaceParams) -> np.ndarray:
    """Face plus the bare skull above it."""
    skull = _superellipse(u, v, 1.03 * p.face_width / 2, -p.hair_top - 0.04, p.face_squareness)
    return face_region(u, v, p) | ((v < 0) & skull)


def _hairline(u: np.ndarray, p: FaceParams) -> np.ndarray:
    """Lowest point of the front hair per column: arched, falling at the temples, plus the fringe."""
    side = np.clip(np.abs(u) / (p.face_width / 2), 0.0, 1.0)
    line = p.hairline + p.temple_drop * side**3
    if p.fringe == SIDE_FRINGE:
        line = line + p.fringe_depth * 0.5 * (1.0 + np.tanh(p.fringe_side * u / 0.05))
    elif p.fringe == BANGS:
        wave = 0.006 * np.cos(u / p.face_width * 40.0)
        line = np.maximum(line, p.hairline + p.fringe_depth * (1.0 - 0.4 * side**2) + wave)
    return line


def hat_region(u: np.ndarray, v: np.ndarray, p: FaceParams) -> np.ndarray:
    """Dome over the head with a brim resting just above the hairline."""
    base = p.hairline + 0.02
    rx = p.face_width / 2 + p.hair_volume + 0.01
    dome = (v <= base) & _superellipse(u, v - base, rx, p.hat_height, 2.5)
    return dome | _band(u, v - base, rx + 0.05, 0.0, 0.015)


def neck_region(bx: np.ndarray, y: np.ndarray, p: FaceParams) -> np.ndarray:
    """Upright column from under the jaw to the bottom edge, flaring towards the shoulders."""
    base = p.center_y + p.face_height / 2
    flare = 1.0 + 0.4 * np.clip((y - base) / 0.15, 0.0, 1.0) ** 2
    return (y >= p.center_y) & (np.abs(bx) <= p.neck_width / 2 * flare)


def cloth_region(bx: np.ndarray, y: np.ndarray, p: FaceParams) -> np.ndarray:
    """Shoulders along the bottom edge, cut by a round neckline that shows the neck."""
    top = 1.0 - p.cloth_height + 0.1 * np.clip(np.abs(bx) - 0.3, 0.0, None)
    neckline = top + p.neckline_depth * np.clip(1.0 - (bx / (0.45 * p.neck_width)) ** 2, 0.0, None)
    return y >= neckline


def necklace_region(bx: np.ndarray, y: np.ndarray, p: FaceParams) -> np.ndarray:
    """A chain hanging in a shallow arc across the neck (only where the neck is)."""
    sag = p.center_y + p.necklace_y + 0.04 * (1.0 - (bx / (p.neck_width / 2)) ** 2)
    return _band(bx, y, p.neck_width / 2, sag, 0.008) & neck_region(bx, y, p)


def _class_colors(rng: np.random.Generator) -> np.ndarray:
    """Base colour of every class for one sample -> float [NUM_CLASSES, 3] in 0..255."""
    skin = _SKIN_LIGHT + rng.uniform(0.0, 1.0) ** 1.5 * (_SKIN_DARK - _SKIN_LIGHT) + rng.normal(0, 6, 3)
    hair = _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.85, 1.15) + rng.normal(0, 6, 3)
    lips = 0.55 * skin + 0.45 * np.array([185, 70, 80]) + rng.normal(0, 8, 3)
    colors = {
        "background": rng.uniform(30, 230, 3),
        "skin": skin,
        "nose": 1.04 * skin,
        "neck": 0.88 * skin,
        "l_ear": 0.94 * skin,
        "r_ear": 0.94 * skin,
        "l_eye": np.array([236, 232, 226]),
        "r_eye": np.array([236, 232, 226]),
        "l_brow": 0.6 * hair + 10,
        "r_brow": 0.6 * hair + 10,
        "u_lip": lips,
        "l_lip": 1.06 * lips,
        "mouth": np.array([70, 25, 30]),
        "hair": hair,
        "eye_g": rng.choice([20.0, 60.0, 150.0]) + rng.normal(0, 10, 3),
        "hat": rng.uniform(20, 235, 3),
        "ear_r": _METAL[rng.integers(len(_METAL))],
        "neck_l": _METAL[rng.integers(len(_METAL))],
        "cloth": rng.uniform(15, 240, 3),
    }
    table = np.zeros((NUM_CLASSES, 3))
    for name, color in colors.items():
        table[part_id(name)] = color
    return np.clip(table, 0, 255)


def _stretch(a: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Linearly resample `a` (>= 2 samples along `axis`) to `size` samples, pixel centres aligned."""
    n = a.shape[axis]
    pos = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
    first = np.minimum(pos.astype(np.int64), n - 2)
    weight = (pos - first).astype(a.dtype).reshape([-1 if d == axis else 1 for d in range(a.ndim)])
    return np.take(a, first, axis) * (1 - weight) + np.take(a, first + 1, axis) * weight


def _border_shade(label: np.ndarray) -> np.ndarray:
    """1 far from any class border, down to 0.75 on it -> float32 [H, W].

    The distance is measured on a label map subsampled to ~128 px (the falloff spans ~2% of the
    image, so that is plenty) and interpolated back up, which keeps this cheap at 512 px.
    """
    size = label.shape[0]
    step = max(1, size // 128)
    small = label[::step, ::step]
    edge = np.zeros(small.shape, dtype=bool)
    edge[:-1] |= small[:-1] != small[1:]
    edge[1:] |= small[:-1] != small[1:]
    edge[:, :-1] |= small[:, :-1] != small[:, 1:]
    edge[:, 1:] |= small[:, :-1] != small[:, 1:]
    distance = ndimage.distance_transform_edt(~edge).astype(np.float32) * (step / size)
    shade = 1.0 - 0.25 * np.exp(-distance / 0.02)
    return shade if step == 1 else _stretch(_stretch(shade, size, 0), size, 1)


def _paint_irises(image: np.ndarray, label: np.ndarray, iris_color: np.ndarray) -> None:
    """Paint an iris and a pupil (discs at each eye's centroid, sized by its area) into `image` in place."""
    ys, xs = np.nonzero((label == _EYES[0]) | (label == _EYES[1]))
    which = label[ys, xs]
    count = np.bincount(which, minlength=NUM_CLASSES).clip(1)
    cy = np.bincount(which, weights=ys, minlength=NUM_CLASSES) / count
    cx = np.bincount(which, weights=xs, minlength=NUM_CLASSES) / count
    radius = 0.75 * np.sqrt(count / np.pi) + 0.5
    dist = np.hypot(ys - cy[which], xs - cx[which]) / radius[which]
    iris = dist < 1.0
    image[ys[iris], xs[iris]] = iris_color
    pupil = dist < 0.35
    image[ys[pupil], xs[pupil]] = 15.0


def _texture(label: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Relative brightness noise -> float32 [H, W]: fine grain everywhere, vertical streaks on hair."""
    size = label.shape[0]
    grain = ndimage.gaussian_filter(rng.standard_normal((size, size), dtype=np.float32), 0.6)
    rows = max(2, size // 8)  # streaks are long vertically: draw them coarse in y, stretch back up
    coarse = ndimage.gaussian_filter(rng.standard_normal((rows, size), dtype=np.float32), (rows / 40, size / 400))
    streaks = _stretch(coarse, size, 0)
    return _TEXTURE[label] * np.where(label == part_id("hair"), 3.0 * streaks, grain)


def render_face_image(label: np.ndarray, params: FaceParams, rng: np.random.Generator) -> np.ndarray:
    """Paint `label` (uint8 [H, W] standard ids, square) as a shaded RGB face -> uint8 [H, W, 3].

    `params` places the head (its centre and size drive the round shading); `rng` picks the colours
    and the noise, so the same rng state gives the same image.
    """
    if label.ndim != 2 or label.shape[0] != label.shape[1]:
        raise ValueError(f"label must be a square [H, W] id map, got shape {label.shape}")
    size = label.shape[0]
    image = _class_colors(rng).astype(np.float32)[label]  # [H, W, 3]
    _paint_irises(image, label, _IRIS[rng.integers(len(_IRIS))] * rng.uniform(0.8, 1.2))

    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    y, x = coords[:, None], coords[None, :]
    light = rng.normal(0.0, 0.25, 2).astype(np.float32)
    gradient = 1.0 + light[0] * (x - 0.5) + light[1] * (y - 0.5)
    rx, ry = 0.6 * params.face_width, 0.6 * params.face_height
    r2 = ((x - params.center_x) / rx) ** 2 + ((y - params.center_y) / ry) ** 2
    roundness = np.where(label > 0, 1.0 - 0.18 * np.clip(r2, 0.0, 1.5), 1.0)
    shade = gradient * roundness * _border_shade(label) * (1.0 + _texture(label, rng))
    image *= shade[..., None]
    image = ndimage.gaussian_filter(image, (0.5, 0.5, 0))
    return np.clip(image, 0, 255).astype(np.uint8)

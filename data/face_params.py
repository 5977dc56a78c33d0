"""`FaceParams`: every number that shapes one synthetic face, shared by the drawing (`data.synthetic_faces`)
and the part shapes (`data.synthetic_render`), which both read it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

BALD, SHORT_HAIR, LONG_HAIR = 0, 1, 2  # FaceParams.hair_style
NO_FRINGE, SIDE_FRINGE, BANGS = 0, 1, 2  # FaceParams.fringe


@dataclass(frozen=True)
class FaceParams:
    """Every number that shapes one synthetic face. Lengths are fractions of the image size.

    Vertical feature positions (`eye_y`, `mouth_y`, `ear_y`, `hairline`, ...) are offsets from the face
    centre in the head frame (positive = down); `nose_length` runs from the eye line to the nose tip.
    """

    center_x: float = 0.5
    center_y: float = 0.52
    roll_deg: float = 0.0  # in-plane tilt; positive turns the head clockwise on screen (l_eye drops)
    face_width: float = 0.5
    face_height: float = 0.66
    face_squareness: float = 2.4  # superellipse exponent of the forehead half (2 = ellipse)
    chin_roundness: float = 2.0  # exponent of the jaw half (lower = pointier chin)
    hair_style: int = SHORT_HAIR  # 0 bald, 1 short, 2 long
    fringe: int = NO_FRINGE  # 0 none, 1 side-swept, 2 straight bangs
    fringe_side: float = 1.0  # +1 sweeps to the image's right, -1 to the left
    fringe_depth: float = 0.08
    hair_volume: float = 0.07  # how far the hair reaches beyond the face sides
    hair_top: float = -0.42  # top of the hair (or hat-less skull) above the face centre
    hair_length: float = 0.1  # lowest point of the hair below the face centre
    hairline: float = -0.25
    temple_drop: float = 0.14  # how far the hairline falls at the temples
    eye_y: float = -0.041
    eye_spacing: float = 0.25  # distance between the eye centres
    eye_size: float = 0.09  # eye width
    eye_openness: float = 0.4  # eye height / width
    eye_tilt_deg: float = 3.0  # outer corners up
    brow_height: float = 0.065  # brow centre line above the eye centre
    brow_length: float = 0.13
    brow_thickness: float = 0.022
    brow_arch: float = 0.012
    nose_length: float = 0.155
    nose_width: float = 0.13  # width at the nostrils
    mouth_y: float = 0.232
    mouth_width: float = 0.19
    mouth_open: float = 0.0  # 0 closed .. 1 wide open
    lip_thickness: float = 0.024
    smile: float = 0.004  # mouth corners raised by this much
    ear_y: float = 0.08
    ear_size: float = 0.15  # ear height
    neck_width: float = 0.24
    cloth_height: float = 0.06
    neckline_depth: float = 0.05
    glasses: bool = False
    glasses_frame: float = 0.012
    hat: bool = False
    hat_height: float = 0.16
    earrings: bool = False
    earring_size: float = 0.022
    necklace: bool = False
    necklace_y: float = 0.37

    def as_dict(self) -> dict[str, float]:
        """All fields as floats (bools -> 0/1), same keys in the same order for every sample."""
        return {k: float(v) for k, v in dataclasses.asdict(self).items()}

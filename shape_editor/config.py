"""`ShapeVAEConfig`: every size and switch of the shape VAE in one frozen, checkpointable dataclass.

A checkpoint stores `dataclasses.asdict(config)`; `ShapeVAEConfig(**that_dict)` rebuilds the model,
also after a JSON round trip (lists are turned back into tuples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BG_MODES = ("learned", "heuristic")


@dataclass(frozen=True)
class ShapeVAEConfig:
    """Sizes and ablation switches of the shape VAE (defaults: the paper's full model, docs/ARCHITECTURE.md)."""

    label_nc: int = 19  # classes C, background (id 0) included; P = C - 1 parts are encoded
    crop_size: int = 256  # side of the input/output masks; must be sqrt(latent_dim) * 2**k
    enc_size: int = 128  # each part channel is nearest-resized to enc_size^2 before the MLP
    enc_widths: tuple[int, ...] = (1024, 512, 256)  # hidden widths of the part MLP (Linear -> ReLU each)
    latent_dim: int = 256  # D, code size per part; a perfect square (the decoder reshapes it to a square)
    use_lstm: bool = True  # False = the "w/o LSTM block" ablation: codes go straight to the decoder
    lstm_layers: int = 3  # stacked LSTM layers of the sequence block (ablations: 1 or 3)
    bidirectional: bool = True  # bidirectional LSTM (ablation: unidirectional)
    lstm_hidden: int = 256  # hidden size per LSTM direction
    ff_hidden: int = 1024  # width of the feed-forward block after the LSTM
    ngf: int = 64  # decoder width unit: first width 8*ngf, halved by every up block
    groups: int = 32  # GroupNorm groups (gcd with the width, so small test widths work)
    weighted_ce: bool = True  # weight CE by 1 - class pixel share (paper Eq. 1); False = plain CE
    lambda_kl: float = 0.0005  # weight of the KL term in the training loss
    bg_mode: str = "learned"  # "learned": background has its own logit; "heuristic": the official Semantic-VAE
    # rule, the decoder predicts the P part logits only and background is 1 where they sum to <= 0 (background.py)

    def __post_init__(self) -> None:
        object.__setattr__(self, "enc_widths", tuple(self.enc_widths))
        positive = {
            "label_nc": self.label_nc - 1,
            "crop_size": self.crop_size,
            "enc_size": self.enc_size,
            "latent_dim": self.latent_dim,
            "lstm_layers": self.lstm_layers,
            "lstm_hidden": self.lstm_hidden,
            "ff_hidden": self.ff_hidden,
            "ngf": self.ngf,
            "groups": self.groups,
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"{name}={getattr(self, name)} is too small")
        if not self.enc_widths or min(self.enc_widths) < 1:
            raise ValueError(f"enc_widths={self.enc_widths} must be a non-empty tuple of positive widths")
        if self.enc_size > self.crop_size:
            raise ValueError(f"enc_size={self.enc_size} must not exceed crop_size={self.crop_size}")
        side = math.isqrt(self.latent_dim)
        if side * side != self.latent_dim:
            raise ValueError(f"latent_dim={self.latent_dim} must be a perfect square (it is decoded as a square map)")
        ratio = self.crop_size // side
        if ratio * side != self.crop_size or ratio & (ratio - 1):
            raise ValueError(
                f"crop_size={self.crop_size} must be sqrt(latent_dim)={side} times a power of two (e.g. 16, 32, 256)"
            )
        if (8 * self.ngf) % (2**self.num_up_blocks):
            raise ValueError(
                f"ngf={self.ngf}: 8*ngf must be divisible by 2**{self.num_up_blocks} (one halving per up block)"
            )
        if self.lambda_kl < 0:
            raise ValueError(f"lambda_kl={self.lambda_kl} must be >= 0")
        if self.bg_mode not in BG_MODES:
            raise ValueError(f"bg_mode={self.bg_mode!r} is not supported; choose one of {BG_MODES}")

    @property
    def num_parts(self) -> int:
        """P: foreground parts, one code each."""
        return self.label_nc - 1

    @property
    def decoder_channels(self) -> int:
        """Logits the conv decoder predicts: C with a learned background, P = C - 1 with the heuristic one."""
        return self.label_nc if self.bg_mode == "learned" else self.num_parts

    @property
    def seed_size(self) -> int:
        """Side of the square map each code is reshaped to (16 for D = 256)."""
        return math.isqrt(self.latent_dim)

    @property
    def num_up_blocks(self) -> int:
        """Decoder 2x up blocks: log2(crop_size / seed_size), 4 for 256 px."""
        return (self.crop_size // self.seed_size).bit_length() - 1

    @property
    def decoder_widths(self) -> tuple[int, ...]:
        """Widths before and after every up block: (512, 256, 128, 64, 32) for ngf=64 at 256 px."""
        return tuple(8 * self.ngf // 2**i for i in range(self.num_up_blocks + 1))

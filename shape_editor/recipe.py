"""Training recipes: how the shape VAE is trained. The network is the paper's under every recipe.

`paper` is the paper's training: CE weighted by Eq. 1 (1 - pixel share) + 0.0005 * KL, Adam at a constant
learning rate, PyTorch's default initialisation.

`ours` is what measured best on the synthetic faces at the budgets of a laptop (benchmarks/convergence.py;
docs/ARCHITECTURE.md, "Training recipes"). Each of its departures is one flag:
- `--class_weighting inverse_power`: w_c ~ share_c^-1/2, so eyes, brows and lips carry loss (Eq. 1 is 0.7-1.0);
- `--lambda_dice 1.0`: soft Dice over the classes present, which rewards thin parts by overlap, not pixels;
- `--lambda_kl 1e-5`: at 0.0005 the posterior collapses on small masks (a total KL of 10-40 nats for
  18 parts: the decoder draws the mean face whatever the input);
- `--vae_init narrow`: He-initialised encoder and a narrow initial posterior (sigma = exp(-5)), so the
  decoder sees the codes rather than unit noise from the first step;
- `--lr 0.001 --lr_warmup_steps 50 --lr_schedule cosine`: a larger step, warmed up and decayed per step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from torch import nn

from shape_editor.losses import CLASS_WEIGHTINGS
from shape_editor.part_encoder import PartEncoder

LR_SCHEDULES = ("constant", "cosine")
VAE_INITS = ("pytorch", "narrow")
NARROW_LOGVAR = -10.0  # initial posterior log-variance under `--vae_init narrow`: sigma = exp(-5) = 0.007


@dataclass(frozen=True)
class TrainingRecipe:
    """Defaults of the training flags that a recipe sets (each flag given on the command line wins)."""

    class_weighting: str = "eq1"
    weight_power: float = 0.5  # exponent of `inverse_power` weighting
    lambda_kl: float = 0.0005
    lambda_dice: float = 0.0
    vae_init: str = "pytorch"
    lr: float = 0.0001
    beta1: float = 0.9
    beta2: float = 0.999
    lr_warmup_steps: int = 0
    lr_schedule: str = "constant"  # constant: SPADE's per-epoch schedule alone; cosine: times a per-step cosine

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("class_weighting", self.class_weighting, CLASS_WEIGHTINGS),
            ("lr_schedule", self.lr_schedule, LR_SCHEDULES),
            ("vae_init", self.vae_init, VAE_INITS),
        ):
            if value not in allowed:
                raise ValueError(f"{name}={value!r} is unknown; choose one of {allowed}")

    def as_flags(self) -> dict[str, object]:
        """The recipe as flag defaults, named like the flags."""
        return asdict(self)


RECIPES = {
    "paper": TrainingRecipe(),
    "ours": TrainingRecipe(
        class_weighting="inverse_power",
        lambda_kl=1e-5,
        lambda_dice=1.0,
        vae_init="narrow",
        lr=0.001,
        lr_warmup_steps=50,
        lr_schedule="cosine",
    ),
}


def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str) -> float:
    """Multiplier of the learning rate at optimisation step `step` (0-based) of `total_steps`.

    A linear warm-up from 1 / warmup_steps to 1 over the first `warmup_steps` steps, times, for "cosine",
    0.5 (1 + cos(pi * step / total_steps)), which reaches 0 after the last step.
    """
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule={schedule!r} is unknown; choose one of {LR_SCHEDULES}")
    factor = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    if schedule == "cosine":
        factor *= 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))
    return factor


def init_narrow_posterior(encoder: PartEncoder, logvar: float = NARROW_LOGVAR) -> None:
    """`--vae_init narrow`: He-normal hidden layers, a unit-gain mu head and a constant, narrow log-variance.

    With PyTorch's default init the mu head starts near 0.01 while the sample's noise has sigma 1, so the
    decoder first learns to ignore the codes; here the codes start at unit scale and nearly noise-free.
    """
    heads = {encoder.mu, encoder.logvar}
    for layer in encoder.modules():
        if isinstance(layer, nn.Linear) and layer not in heads:
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    nn.init.normal_(encoder.mu.weight, std=encoder.mu.in_features**-0.5)
    nn.init.zeros_(encoder.mu.bias)
    nn.init.zeros_(encoder.logvar.weight)
    nn.init.constant_(encoder.logvar.bias, logvar)

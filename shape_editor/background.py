"""Background for decoders that predict the foreground parts only (`ShapeVAEConfig(bg_mode="heuristic")`).

The paper's released Semantic-VAE decodes the P = 18 part logits and *adds* background afterwards,
without learning it: the background channel is 1 where the part logits sum to <= 0 and 0 elsewhere,
and that channel is put in front of the part logits (id 0) before the softmax / argmax. Its weights
were trained with exactly this rule, so running them faithfully means keeping it:

- where the part logits sum to > 0, some part logit is > 0 = the background logit, so a part wins;
- where they sum to <= 0, background (logit 1) wins unless some part logit exceeds 1
  (a tie goes to background: argmax takes the first maximum).

The rule has no parameters, so it adds no state_dict keys.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def heuristic_background(part_logits: Tensor) -> Tensor:
    """The background channel: [B, P, H, W] part logits -> [B, 1, H, W], 1.0 where sum_p <= 0, else 0.0."""
    return (part_logits.sum(1, keepdim=True) <= 0).to(part_logits.dtype)


class HeuristicBackground(nn.Module):
    """Prepend the non-learned background channel: [B, P, H, W] -> [B, P + 1, H, W] logits (background = id 0)."""

    def forward(self, part_logits: Tensor) -> Tensor:
        return torch.cat([heuristic_background(part_logits), part_logits], dim=1)

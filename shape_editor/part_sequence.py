"""Sequence block: lets the part codes see each other before decoding.

The P part codes are read as a sequence in label order by an LSTM, so that when one part changes
(a longer nose) the decoded neighbours can adapt (the mouth moves down). A feed-forward block with a
linear residual maps the LSTM states back to the code size.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class PartSequence(nn.Module):
    """LSTM over the part codes, then FF(GELU) + linear residual back to latent_dim.

    Args:
        latent_dim: D, size of each part code (input and output).
        hidden: LSTM hidden size per direction.
        num_layers: stacked LSTM layers.
        bidirectional: read the parts in both label orders.
        ff_hidden: width of the feed-forward block.
    """

    def __init__(self, latent_dim: int, hidden: int, num_layers: int, bidirectional: bool, ff_hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(latent_dim, hidden, num_layers=num_layers, batch_first=True, bidirectional=bidirectional)
        states = 2 * hidden if bidirectional else hidden
        self.feedforward = nn.Sequential(nn.Linear(states, ff_hidden), nn.GELU(), nn.Linear(ff_hidden, latent_dim))
        self.residual = nn.Linear(states, latent_dim)

    def forward(self, codes: Tensor) -> Tensor:
        """Mix the part codes.

        Args:
            codes: [B, P, D] part codes in label order.

        Returns:
            [B, P, D] mixed codes, ready for the mask decoder.
        """
        device = codes.device.type
        if torch.is_autocast_enabled(device):
            # Under CPU bf16 autocast the LSTM casts its weights but not an fp32 input, and oneDNN then refuses
            # the mixed primitive ("could not create a primitive descriptor"): hand it the autocast dtype.
            codes = codes.to(torch.get_autocast_dtype(device))
        states, _ = self.lstm(codes)  # (B, P, H_out), zero initial state
        return self.feedforward(states) + self.residual(states)

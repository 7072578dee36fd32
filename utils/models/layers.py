"""Building blocks shared by the CNN and Transformer: time embeddings, masked pooling, the head."""

from __future__ import annotations

import math

import torch
from torch import nn


class ContinuousTimeEmbedding(nn.Module):
    """Sin/cos of time (days) at log-spaced periods from 1 to 1000 days, then a linear map.

    Unlike position indices it knows how far apart irregular observations are.
    """

    def __init__(self, d_model: int, n_frequencies: int = 16, min_period: float = 1.0, max_period: float = 1000.0):
        super().__init__()
        periods = torch.logspace(math.log10(min_period), math.log10(max_period), n_frequencies)
        self.register_buffer("angular", 2 * math.pi / periods, persistent=False)
        self.project = nn.Linear(2 * n_frequencies, d_model)

    def forward(self, time: torch.Tensor) -> torch.Tensor:
        phase = time.unsqueeze(-1) * self.angular
        return self.project(torch.cat([phase.sin(), phase.cos()], dim=-1))


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """The classic fixed position encoding (length, d_model): the starter design's choice, blind to time gaps."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate)[:, : d_model // 2]
    return table


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Mean over `dim` of values (..., C) where mask (...) is True; 0 where nothing is observed."""
    weights = mask.unsqueeze(-1).to(values.dtype)
    return (values * weights).sum(dim) / weights.sum(dim).clamp(min=1.0)


def masked_softmax_pool(values: torch.Tensor, scores: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Attention pooling: softmax of scores (...) over observed steps, weighted sum of values (..., C)."""
    scores = scores.masked_fill(~mask, -math.inf)
    weights = torch.softmax(scores, dim=dim)
    weights = torch.nan_to_num(weights, nan=0.0)  # rows with no observation at all
    return (values * weights.unsqueeze(-1)).sum(dim)


class AttentionPool(nn.Module):
    """Learned attention pooling over a sequence (B, L, C) -> (B, C)."""

    def __init__(self, channels: int):
        super().__init__()
        self.score = nn.Linear(channels, 1)

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return masked_softmax_pool(values, self.score(values).squeeze(-1), mask, dim=1)


class Head(nn.Module):
    """MLP from (encoding, object vector) to a TDE logit and, when asked, SpecType-group logits."""

    def __init__(self, in_features: int, hidden: int, dropout: float, n_aux: int = 0):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_features, hidden), nn.GELU(), nn.Dropout(dropout))
        self.tde = nn.Linear(hidden, 1)
        self.aux = nn.Linear(hidden, n_aux) if n_aux else None

    def forward(self, encoded: torch.Tensor, objects: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.body(torch.cat([encoded, objects], dim=1))
        out = {"logit": self.tde(hidden).squeeze(1)}
        if self.aux is not None:
            out["aux_logits"] = self.aux(hidden)
        return out

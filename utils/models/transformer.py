"""Transformers over observations: the starter design's per-band encoders with cross-band attention, and one
multi-band token sequence with continuous time embeddings."""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .. import BANDS
from .grid import grid_branch, grid_width, join_grid
from .inputs import encode, object_channels, observation_channels
from .layers import AttentionPool, ContinuousTimeEmbedding, Head, masked_mean, sinusoidal_positions

N_BANDS = len(BANDS)
TIME_ENCODINGS = ("position", "time")


class EncoderLayer(nn.Module):
    """Pre-norm Transformer encoder layer (same parameters as nn.TransformerEncoderLayer).

    Dropout acts after attention and the MLP but not on the attention weights: that dropout sends
    PyTorch's CPU attention down a path about 4x slower, and tiny models gain nothing from it.
    """

    def __init__(self, d_model: int, n_heads: int, ff_dim: int, dropout: float):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.n_heads = n_heads
        self.norm_attention = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.norm_mlp = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, ff_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff_dim, d_model))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, attend: torch.Tensor) -> torch.Tensor:
        """x (B, L, d); attend (B, L) True where a step may be attended to."""
        size, length, d_model = x.shape
        q, k, v = self.qkv(self.norm_attention(x)).view(size, length, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)
        mixed = F.scaled_dot_product_attention(q, k, v, attn_mask=attend[:, None, None, :])
        x = x + self.dropout(self.out(mixed.transpose(1, 2).reshape(size, length, d_model)))
        return x + self.dropout(self.mlp(self.norm_mlp(x)))


class Encoder(nn.Module):
    """A stack of EncoderLayers; steps where `mask` is False are never attended to."""

    def __init__(self, settings: Mapping[str, Any], n_layers: int | None = None):
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderLayer(settings["d_model"], settings["n_heads"], settings["ff_dim"], settings["dropout"])
            for _ in range(n_layers or settings["n_layers"]))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        attend = attendable(mask)
        for layer in self.layers:
            x = layer(x, attend)
        return x


def attendable(mask: torch.Tensor) -> torch.Tensor:
    """The mask, except that a row with no observation may attend to its first (zero) step, so the
    softmax stays finite; pooling later ignores that step."""
    attend = mask.clone()
    attend[..., 0] |= ~mask.any(-1)
    return attend


class _TimeOrPosition(nn.Module):
    """Adds either continuous time embeddings or the starter design's fixed position encodings."""

    def __init__(self, d_model: int, time_encoding: str, max_length: int = 4096):
        super().__init__()
        if time_encoding not in TIME_ENCODINGS:
            raise ValueError(f"time_encoding must be one of {TIME_ENCODINGS}, not {time_encoding!r}")
        self.time_encoding = time_encoding
        if time_encoding == "time":
            self.embed = ContinuousTimeEmbedding(d_model)
        else:
            self.register_buffer("positions", sinusoidal_positions(max_length, d_model), persistent=False)

    def forward(self, time: torch.Tensor) -> torch.Tensor:
        if self.time_encoding == "time":
            return self.embed(time)
        return self.positions[: time.shape[-1]].expand(*time.shape, -1)


class LightCurveTransformer(nn.Module):
    """The starter design: a Transformer encoder per band, pooled, then attention across the six bands."""

    STEP_ENCODER = ("project", "when", "bands")  # the modules `encode_steps` runs (what pretraining trains)

    def __init__(self, settings: Mapping[str, Any], n_extra: int = 0, n_aux: int = 0):
        super().__init__()
        d_model = self.step_channels = settings["d_model"]
        self.encoding = {key: settings[key] for key in ("flux_scaling", "rest_frame", "time_reference")}
        self.project = nn.Linear(observation_channels(settings["flux_scaling"]), d_model)
        self.when = _TimeOrPosition(d_model, settings["time_encoding"])
        self.bands = nn.ModuleList(Encoder(settings) for _ in BANDS)
        self.band_embedding = nn.Parameter(torch.zeros(N_BANDS, d_model))
        self.cross_band = Encoder(settings, n_layers=1)
        self.grid_encoder = grid_branch(settings)
        self.head = Head(N_BANDS * d_model + grid_width(self.grid_encoder)
                         + object_channels(settings["flux_scaling"], n_extra),
                         settings["head_hidden"], settings["dropout"], n_aux)

    def encode_steps(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Each band encoder's per-step output (B, 6, L, d) and the object vector (B, M)."""
        features, time, objects = encode(batch, **self.encoding)
        mask = batch["mask"]  # (B, 6, L)
        tokens = self.project(features) + self.when(time)
        steps = torch.stack([encoder(tokens[:, b], mask[:, b]) for b, encoder in enumerate(self.bands)], dim=1)
        return steps, objects

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        steps, objects = self.encode_steps(batch)
        mask = batch["mask"]  # (B, 6, L)
        pooled = masked_mean(steps, mask, dim=2)  # (B, 6, d)
        band_present = mask.any(-1)
        mixed = self.cross_band(pooled + self.band_embedding, band_present)
        mixed = mixed * band_present.unsqueeze(-1)
        return self.head(join_grid(mixed.flatten(1), self.grid_encoder, batch), objects)


class TokenTransformer(nn.Module):
    """One time-ordered sequence of all bands' observations: token = values + band + time embeddings."""

    STEP_ENCODER = ("project", "band_embedding", "when", "encoder", "norm")  # what `encode_steps` runs

    def __init__(self, settings: Mapping[str, Any], n_extra: int = 0, n_aux: int = 0):
        super().__init__()
        d_model = self.step_channels = settings["d_model"]
        self.encoding = {key: settings[key] for key in ("flux_scaling", "rest_frame", "time_reference")}
        self.project = nn.Linear(observation_channels(settings["flux_scaling"]), d_model)
        self.band_embedding = nn.Embedding(N_BANDS, d_model)
        self.when = _TimeOrPosition(d_model, settings["time_encoding"])
        self.encoder = Encoder(settings)
        self.norm = nn.LayerNorm(d_model)
        self.pool = AttentionPool(d_model)
        self.grid_encoder = grid_branch(settings)
        self.head = Head(2 * d_model + grid_width(self.grid_encoder)
                         + object_channels(settings["flux_scaling"], n_extra),
                         settings["head_hidden"], settings["dropout"], n_aux)

    def encode_steps(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's per-token output (B, L, d) and the object vector (B, M)."""
        features, time, objects = encode(batch, **self.encoding)
        tokens = self.project(features) + self.band_embedding(batch["band"]) + self.when(time)
        return self.norm(self.encoder(tokens, batch["mask"])), objects

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hidden, objects = self.encode_steps(batch)
        mask = batch["mask"]  # (B, L)
        pooled = torch.cat([self.pool(hidden, mask), masked_mean(hidden, mask, dim=1)], dim=1)
        return self.head(join_grid(pooled, self.grid_encoder, batch), objects)

"""Per-band 1D CNN: each band has its own 4-layer encoder (one grouped convolution for all six)."""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from .. import BANDS
from .grid import grid_branch, grid_width, join_grid
from .inputs import encode, object_channels, observation_channels
from .layers import Head, masked_softmax_pool

N_BANDS = len(BANDS)


class LightCurveCNN(nn.Module):
    """Per-band conv encoders -> global pooling per band -> concat with the object vector (and, with
    settings['gp_grid'], the GP grid's embedding, grid.py) -> MLP.

    `pooling="mean_max"` (model "cnn") or `"attention"` (model "cnn_attn"). Padded steps are zeroed
    after every layer, so they never leak into observed ones (the padding sits at the end of each band).
    """

    STEP_ENCODER = ("convs",)  # the modules `encode_steps` runs: what self-supervised pretraining trains

    def __init__(self, settings: Mapping[str, Any], n_extra: int = 0, n_aux: int = 0, pooling: str = "mean_max"):
        super().__init__()
        if pooling not in ("mean_max", "attention"):
            raise ValueError(f"pooling must be 'mean_max' or 'attention', not {pooling!r}")
        self.encoding = {key: settings[key] for key in ("flux_scaling", "rest_frame", "time_reference")}
        self.pooling = pooling
        widths = [observation_channels(settings["flux_scaling"]) + 1, *settings["cnn_channels"]]  # +1: mask channel
        kernel = settings["kernel_size"]
        self.convs = nn.ModuleList(
            nn.Conv1d(N_BANDS * c_in, N_BANDS * c_out, kernel, padding=kernel // 2, groups=N_BANDS)
            for c_in, c_out in zip(widths[:-1], widths[1:])
        )
        self.activation = nn.GELU()
        self.dropout = nn.Dropout(settings["dropout"])
        channels = self.step_channels = widths[-1]
        if pooling == "attention":
            self.score = nn.Conv1d(N_BANDS * channels, N_BANDS, 1, groups=N_BANDS)
        pooled = channels * (2 if pooling == "mean_max" else 1)
        self.grid_encoder = grid_branch(settings)
        self.head = Head(N_BANDS * pooled + grid_width(self.grid_encoder)
                         + object_channels(settings["flux_scaling"], n_extra),
                         settings["head_hidden"], settings["dropout"], n_aux)

    def encode_steps(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-step encodings (B, 6, L, C), zero at unobserved steps, and the object vector (B, M)."""
        features, _, objects = encode(batch, **self.encoding)
        mask = batch["mask"]  # (B, 6, L)
        size, _, length = mask.shape
        step_mask = mask.unsqueeze(2).to(features.dtype)  # (B, 6, 1, L)
        x = torch.cat([features, mask.unsqueeze(-1).to(features.dtype)], dim=-1).transpose(2, 3)  # (B, 6, C, L)
        for conv in self.convs:
            x = self.activation(conv(x.reshape(size, -1, length))).view(size, N_BANDS, -1, length) * step_mask
        return x.transpose(2, 3), objects

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        steps, objects = self.encode_steps(batch)
        mask = batch["mask"]  # (B, 6, L)
        size, _, length = mask.shape
        x = steps.transpose(2, 3)  # (B, 6, C, L)
        if self.pooling == "mean_max":
            count = mask.unsqueeze(2).to(x.dtype).sum(-1).clamp(min=1.0)
            maximum = x.masked_fill(~mask.unsqueeze(2), -torch.inf).amax(-1)
            maximum = torch.where(torch.isfinite(maximum), maximum, torch.zeros_like(maximum))
            pooled = torch.cat([x.sum(-1) / count, maximum], dim=-1)
        else:
            scores = self.score(x.reshape(size, -1, length))  # (B, 6, L)
            pooled = masked_softmax_pool(steps, scores, mask, dim=2)
        return self.head(join_grid(self.dropout(pooled.flatten(1)), self.grid_encoder, batch), objects)

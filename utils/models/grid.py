"""The optional GP-grid branch (settings['gp_grid']), shared by the CNN and the Transformers.

The batch's ``gp_grid`` (B, 12, T) holds each object's GP mean (6 band rows) and standard deviation
(6 rows) on T rest-frame days around the peak (utils.training.gp_grid). A small 1-D CNN over time, whose
12 input channels mix the bands, then average pooling to GRID_BINS coarse time bins (so where a feature
sits relative to the peak survives), gives an embedding that joins the pooled light-curve encoding in
front of the head MLP.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from .. import BANDS

GRID_CHANNELS = 2 * len(BANDS)
GRID_WIDTH = 16  # convolution channels
GRID_BINS = 8  # time bins after pooling: ~50 rest-frame days each over the 400-day window
GRID_EMBEDDING = 32


class GridEncoder(nn.Module):
    """(B, 12, T) GP mean and std -> (B, GRID_EMBEDDING); any T >= GRID_BINS."""

    def __init__(self, width: int = GRID_WIDTH, bins: int = GRID_BINS, embedding: int = GRID_EMBEDDING):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv1d(GRID_CHANNELS, width, 5, padding=2), nn.GELU(),
            nn.Conv1d(width, width, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(width, width, 5, padding=2), nn.GELU())
        self.pool = nn.AdaptiveAvgPool1d(bins)
        self.project = nn.Sequential(nn.Linear(width * bins, embedding), nn.GELU())
        self.embedding = embedding

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        return self.project(self.pool(self.convs(grid)).flatten(1))


def grid_branch(settings: Mapping[str, Any]) -> GridEncoder | None:
    """The branch when settings['gp_grid'] is on (settings saved before the option existed: off)."""
    return GridEncoder() if settings.get("gp_grid", False) else None


def grid_width(branch: GridEncoder | None) -> int:
    """What the branch adds to the head's input."""
    return 0 if branch is None else branch.embedding


def join_grid(encoded: torch.Tensor, branch: GridEncoder | None, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The light-curve encoding (B, E), with the grid's embedding appended when the network has the branch."""
    if branch is None:
        return encoded
    if "gp_grid" not in batch:
        raise ValueError("this network reads the GP grid (settings['gp_grid'] is on) but the batch has no 'gp_grid'; "
                         "build the arrays with utils.training.prepare_inputs")
    return torch.cat([encoded, branch(batch["gp_grid"])], dim=1)

"""Losses for a rare positive class: focal loss and weighted binary cross-entropy."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F

LOSSES = ("focal", "bce")


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.75, gamma: float = 2.0) -> torch.Tensor:
    """Mean of -alpha_t (1 - p_t)^gamma log p_t (Lin et al. 2017); alpha weighs the positive class."""
    targets = targets.to(logits.dtype)
    log_p_t = -F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = log_p_t.exp()
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (-alpha_t * (1 - p_t) ** gamma * log_p_t).mean()


def weighted_bce(logits: torch.Tensor, targets: torch.Tensor, pos_weight: float = 5.0) -> torch.Tensor:
    """Binary cross-entropy with positives counted `pos_weight` times."""
    weight = torch.tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), pos_weight=weight)


def make_loss(settings: Mapping[str, Any]) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss that settings['loss'] names, with its parameters bound."""
    if settings["loss"] == "focal":
        return lambda logits, y: focal_loss(logits, y, settings["focal_alpha"], settings["focal_gamma"])
    if settings["loss"] == "bce":
        return lambda logits, y: weighted_bce(logits, y, settings["bce_pos_weight"])
    raise ValueError(f"unknown loss {settings['loss']!r}; choose one of {LOSSES}")

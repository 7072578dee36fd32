"""The project's decision rule: a change is kept only if its paired gain over seeds beats one standard error.

    gain, error = paired_gain(with_change, without_change)    # per-seed scores, paired by seed
    if beats_one_se(with_change, without_change): ...
"""

from __future__ import annotations

import numpy as np


def paired_gain(scores: np.ndarray, baseline: np.ndarray) -> tuple[float, float]:
    """Mean of the paired differences scores - baseline and its standard error (sd with ddof=1, / sqrt(n))."""
    diff = np.asarray(scores, dtype=float) - np.asarray(baseline, dtype=float)
    if diff.ndim != 1 or len(diff) < 2:
        raise ValueError(f"paired_gain needs two equal-length score lists of at least 2 seeds, not shape {diff.shape}")
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))


def beats_one_se(scores: np.ndarray, baseline: np.ndarray) -> bool:
    """Whether the mean paired gain is above one standard error."""
    gain, error = paired_gain(scores, baseline)
    return gain > error

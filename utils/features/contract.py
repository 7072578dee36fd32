"""What every feature group promises: `NAMES` (its columns) and `extract(obj) -> dict` over those names.

A batch group (one model over many objects) has `extract_batch(objects, progress=...)` instead, and
`redshifts(dataset, kind)` saying which redshifts its model sees.
"""

from __future__ import annotations

import numpy as np


def empty_features(names) -> dict[str, float]:
    """Every feature a group promises, as NaN, so each object returns the same columns."""
    return dict.fromkeys(names, np.nan)

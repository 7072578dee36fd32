"""How every model in the project is split: stratified, shuffled K-fold, seeded, repeatable.

    for repeat, fit_rows, score_rows in repeated_folds(labels, n_splits=5, n_repeats=3, seed=42): ...
    splits = stratified_folds(labels, n_splits=5, seed=42)     # one shuffle: [(fit_rows, score_rows), ...]

Repeat r shuffles with seed + r, so the first repeat of any call is the single split of the same seed.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from sklearn.model_selection import StratifiedKFold


def fold_count(strata: np.ndarray, n_splits: int) -> int:
    """`n_splits` lowered to the smallest stratum's size (every fold must hold each stratum), at least 2."""
    _, counts = np.unique(np.asarray(strata), return_counts=True)
    return max(2, min(n_splits, int(counts.min())))


def stratified_folds(strata: np.ndarray, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit rows, score rows) of one stratified, shuffled K-fold split."""
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros(len(strata)), strata))


def repeated_folds(strata: np.ndarray, n_splits: int, n_repeats: int,
                   seed: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(repeat, fit rows, score rows) for n_repeats shuffles (seeds seed, seed + 1, ...) of a stratified K-fold."""
    for repeat in range(n_repeats):
        for fit_rows, score_rows in stratified_folds(strata, n_splits, seed + repeat):
            yield repeat, fit_rows, score_rows

"""One score scale for the K fold networks of a cross-validation, learned from the test objects they all scored.

Networks trained on different folds (early-stopped at different epochs, under focal loss and oversampling)
agree on the order of objects far more than on the scale of their scores: in the MALLORN run of README
"Results" the CNN fold networks' median test logit ranged from -2.5 to -5.8. Pooled out-of-fold scores then
mix five scales, which blurs the pooled ranking, a single threshold and a blend fitted across folds.

`align_fold_scores` maps each fold network's logits through its own quantiles on the shared test objects
onto the mean of all folds' quantile functions (the folds' 1-D Wasserstein barycentre). The map is
monotone, so each fold keeps its own ranking, and it uses no labels.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..evaluation.blend import logit, sigmoid
from ..evaluation.cv_result import FoldAlignment


def quantile_map(values: np.ndarray, source_sorted: np.ndarray, target_sorted: np.ndarray) -> np.ndarray:
    """Send each value to the target quantile at its rank among `source_sorted`.

    Outside the source's range the map continues with slope 1 from the end points, so the order of
    values beyond the last test score is kept.
    """
    mapped = np.interp(values, source_sorted, target_sorted)
    below, above = values < source_sorted[0], values > source_sorted[-1]
    mapped[below] = target_sorted[0] + (values[below] - source_sorted[0])
    mapped[above] = target_sorted[-1] + (values[above] - source_sorted[-1])
    return mapped


def align_fold_scores(oof_prob: np.ndarray, fold_of: np.ndarray,
                      test_prob_by_fold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(aligned OOF probabilities, test probabilities averaged over the aligned fold networks).

    `fold_of[i]` is the fold whose network scored OOF row i; `test_prob_by_fold[k]` are fold k's network's
    probabilities for every test object (the same objects for every fold).
    """
    oof_prob = np.asarray(oof_prob, dtype=float)
    fold_of = np.asarray(fold_of)
    test_logits = logit(np.asarray(test_prob_by_fold, dtype=float))
    if test_logits.ndim != 2 or test_logits.shape[1] == 0:
        raise ValueError(f"test probabilities must be (folds, test objects) with objects, got {test_logits.shape}")
    n_folds = len(test_logits)
    if len(fold_of) != len(oof_prob) or not np.isin(fold_of, np.arange(n_folds)).all():
        raise ValueError(f"every OOF row needs a fold in 0..{n_folds - 1} (one test row per fold network)")
    sorted_by_fold = np.sort(test_logits, axis=1)
    barycentre = sorted_by_fold.mean(axis=0)
    oof_logits = logit(oof_prob)
    aligned_oof = np.empty_like(oof_logits)
    aligned_test = np.empty_like(test_logits)
    for k in range(n_folds):
        rows = fold_of == k
        aligned_oof[rows] = quantile_map(oof_logits[rows], sorted_by_fold[k], barycentre)
        aligned_test[k] = quantile_map(test_logits[k], sorted_by_fold[k], barycentre)
    return sigmoid(aligned_oof), sigmoid(aligned_test).mean(axis=0)


def alignment_path(run_dir: str | os.PathLike, model: str) -> Path:
    return Path(run_dir) / "models" / model / "alignment.npz"


def save_fold_alignment(run_dir: str | os.PathLike, model: str, alignment: FoldAlignment) -> Path:
    """Store a deep model's fold alignment next to its fold checkpoints."""
    path = alignment_path(run_dir, model)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, sorted_logits=alignment.sorted_logits, barycentre=alignment.barycentre)
    return path


def load_fold_alignment(path: str | os.PathLike) -> FoldAlignment:
    with np.load(path, allow_pickle=False) as stored:
        return FoldAlignment(stored["sorted_logits"], stored["barycentre"])


def aligned_mean(prob_by_fold: np.ndarray, alignment: FoldAlignment | None) -> np.ndarray:
    """The fold networks' probabilities (folds, objects) put on their common scale and averaged, exactly as
    `align_fold_scores` did for the run's test set; without an alignment, their plain mean."""
    prob_by_fold = np.asarray(prob_by_fold, dtype=float)
    if alignment is None:
        return np.mean(prob_by_fold, axis=0)
    if len(prob_by_fold) != len(alignment.sorted_logits):
        raise DataError(f"{len(prob_by_fold)} fold networks but an alignment for {len(alignment.sorted_logits)}")
    logits = logit(prob_by_fold)
    aligned = np.empty_like(logits)
    for k in range(len(logits)):
        aligned[k] = quantile_map(logits[k], alignment.sorted_logits[k], alignment.barycentre)
    return sigmoid(aligned).mean(axis=0)

"""Covariate shift between the training and the test objects, measured and corrected by a train-vs-test classifier.

* `adversarial_auc`: how well a classifier tells train from test rows (0.5: indistinguishable);
  `train_vs_test` keeps that classifier, so `adversarial_weights(fitted=...)` can reuse it.
* `adversarial_weights`: per-object density ratio p(test | x) / p(train | x) from the same train-vs-test
  classifier's out-of-fold probabilities; `cross_validate_gbdt(sample_weight=...)` multiplies it into the class
  weights, so the models lean toward the training objects that look like test objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ..errors import DataError
from ..evaluation.folds import repeated_folds
from .lightgbm import PARAMS, LightGBMModel

ADVERSARIAL_TREES = 200  # the train-vs-test classifier's trees (notebook 05's default profile)
WEIGHT_CLIP = (0.2, 5.0)  # adversarial weights: no object below 1/5 or above 5 times the average


@dataclass
class TrainVsTest:
    """One out-of-fold train-vs-test classifier: what adversarial_auc reports and adversarial_weights reads."""

    train_features: pd.DataFrame
    test_features: pd.DataFrame
    n_splits: int
    seed: int
    params: dict | None
    prob: np.ndarray  # out-of-fold P(test | x) of every train row, then every test row
    is_test: np.ndarray  # 0/1 truth in the same order
    gains: pd.Series  # each shared column's share of the gain, summed over the folds

    @property
    def auc(self) -> float:
        return float(roc_auc_score(self.is_test, self.prob))

    @property
    def telling(self) -> pd.Series:
        """The columns that tell train from test, most telling first (share of gain)."""
        return self.gains.sort_values(ascending=False)

    def fitted_on(self, train_features: pd.DataFrame, test_features: pd.DataFrame, *, n_splits: int, seed: int,
                  params: dict | None) -> bool:
        """Whether train_vs_test with these arguments would give this classifier (same inputs, same fit)."""
        return ((self.n_splits, self.seed, self.params) == (n_splits, seed, params)
                and self.train_features.equals(train_features) and self.test_features.equals(test_features))


def train_vs_test(train_features: pd.DataFrame, test_features: pd.DataFrame, *, n_splits: int = 5, seed: int = 0,
                  params: dict | None = None) -> TrainVsTest:
    """A LightGBM told train rows (0) from test rows (1), by stratified K-fold on their shared columns."""
    columns = train_features.columns.intersection(test_features.columns)
    if columns.empty:
        raise DataError("train and test feature tables share no column to tell them apart by")
    rows = pd.concat([train_features[columns], test_features[columns]], ignore_index=True)
    is_test = np.r_[np.zeros(len(train_features)), np.ones(len(test_features))].astype(int)
    fit_params = {**PARAMS, "n_estimators": ADVERSARIAL_TREES, **(params or {})}
    prob = np.zeros(len(rows))
    gains = pd.Series(0.0, index=columns)
    for _, fit_rows, score_rows in repeated_folds(is_test, n_splits, 1, seed):
        model = LightGBMModel.fit(rows.iloc[fit_rows], is_test[fit_rows], np.ones(len(fit_rows)), multiclass=False,
                                  seed=seed, params=fit_params)
        prob[score_rows] = model.predict_proba(rows.iloc[score_rows])[:, 1]
        gains += model.gain()
    return TrainVsTest(train_features, test_features, n_splits, seed, params, prob, is_test, gains / gains.sum())


def adversarial_auc(train_features: pd.DataFrame, test_features: pd.DataFrame, *, n_splits: int = 5,
                    seed: int = 0, params: dict | None = None) -> tuple[float, pd.Series]:
    """CV ROC AUC of telling train rows (0) from test rows (1), and the features that tell them apart."""
    result = train_vs_test(train_features, test_features, n_splits=n_splits, seed=seed, params=params)
    return result.auc, result.telling


def adversarial_weights(train_features: pd.DataFrame | Sequence[pd.DataFrame], test_features: pd.DataFrame, *,
                        seed: int, n_splits: int = 5, clip: tuple[float, float] = WEIGHT_CLIP,
                        params: dict | None = None, fitted: Iterable[TrainVsTest] = ()) -> pd.Series:
    """Importance weights that make the training objects look like the test set (covariate shift).

    For every training object, the out-of-fold P(test | x) of the train-vs-test classifier behind
    `adversarial_auc` gives the density ratio w = p / (1 − p) · n_train / n_test (the second factor
    undoes the classifier's prior), clipped to `clip` and scaled to mean 1 (the scale is solved for
    with the clip in place, so both hold). Out-of-fold, so an object's weight never comes from a model
    that saw it. Returns a Series indexed by the training object ids (for `cross_validate`).

    Which columns it sees: every column the two tables share, *with the training tables built under the
    perturbed redshift* (utils.features.perturbed_redshift), the tables the models train on. Built with
    the spectroscopic Z instead, Z and every rest-frame column would tell exact from photometric
    redshifts apart, and the weights would chase the measurement error the perturbation already models
    rather than the population difference (class mix, redshift range, cadence, depth) that weighting is
    for. Z and Z-derived columns stay in: a test set deeper or shallower in Z than the training set is
    exactly such a difference. Z_err is not a feature column, so it is not seen. Given several tables
    (one per redshift draw, same objects), P(test | x) is averaged over them, so a weight does not hang
    on one draw; the weight is then per object, applied in every draw.

    `clip` (lo <= 1 <= hi): no object counts less than lo or more than hi times the average, which keeps
    the effective sample size (`weight_summary`) from collapsing onto a few test-like objects.

    `fitted`: classifiers train_vs_test already gave (e.g. for the adversarial AUC); one fitted on the same
    table, test table, folds, seed and parameters stands in for its fit (the same numbers, one fit less).
    """
    tables = [train_features] if isinstance(train_features, pd.DataFrame) else list(train_features)
    if not tables:
        raise DataError("adversarial_weights needs at least one training feature table")
    for other in tables[1:]:
        if not other.index.equals(tables[0].index):
            raise DataError("every training feature table must hold the same object_ids in the same order")
    low, high = clip
    if not 0 < low <= 1 <= high:
        raise ValueError(f"clip must satisfy 0 < lo <= 1 <= hi so that mean-1 weights exist, not {clip}")
    n_train = len(tables[0])
    fitted = list(fitted)
    separations = []
    for table in tables:
        reused = next((r for r in fitted
                       if r.fitted_on(table, test_features, n_splits=n_splits, seed=seed, params=params)), None)
        if reused is None:
            reused = train_vs_test(table, test_features, n_splits=n_splits, seed=seed, params=params)
        separations.append(reused)
    prob = np.mean([separation.prob[:n_train] for separation in separations], axis=0)
    prob = np.clip(prob, 1e-6, 1 - 1e-6)
    ratio = prob / (1 - prob) * n_train / len(test_features)
    return pd.Series(_clipped_mean_one(ratio, low, high), index=tables[0].index, name="adversarial_weight")


def _clipped_mean_one(ratio: np.ndarray, low: float, high: float) -> np.ndarray:
    """clip(s · ratio, low, high) with the scale s that makes its mean 1 (bisection on log s)."""
    log_ratio = np.log(ratio)
    # At log s = a every weight clips to low (mean <= 1), at b every weight to high (mean >= 1).
    a, b = np.log(low) - log_ratio.max(), np.log(high) - log_ratio.min()
    for _ in range(200):
        middle = (a + b) / 2
        if np.clip(np.exp(log_ratio + middle), low, high).mean() < 1:
            a = middle
        else:
            b = middle
        if b - a < 1e-14:
            break
    return np.clip(np.exp(log_ratio + b), low, high)


def weight_summary(weights: pd.Series | np.ndarray) -> dict[str, float]:
    """min / median / max, and the effective sample size (Σw)² / Σw² with its share of n (1: unweighted)."""
    w = np.asarray(weights, dtype=float)
    ess = float(w.sum() ** 2 / (w ** 2).sum())
    return {"min": float(w.min()), "median": float(np.median(w)), "max": float(w.max()), "mean": float(w.mean()),
            "effective_sample_size": ess, "effective_fraction": ess / len(w), "n": int(len(w))}

"""Blend the members' probabilities (GBDT, CNN, Transformer, ...) into one score, honestly.

Members are columns of a DataFrame of probabilities indexed by object_id. Blending happens in logit
space, where models with different calibrations add up sensibly:

* 'mean':     equal weights.
* 'weights':  non-negative weights summing to 1, picked on a grid to maximise average precision (AP
              is smooth in the scores, but rewards ranking over the whole PR curve).
* 'f1':       the same grid, picked to maximise F1 at the best threshold: the quantity the submission is
              judged by. On MALLORN the AP-picked blend leaned on the CNN, ranked better overall and
              scored lower F1 than the GBDT alone (README, Results: the blend-methods table).
* 'logistic': a logistic-regression stacker on the members' logits.

`cross_validated_blend` fits the blender on K-1 folds and applies it to the K-th, so the blended OOF
scores never saw their own labels through the weights; optionally averaged over several fold splits.
Any non-empty subset of members works; one member passes through unchanged.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from ..errors import DataError
from .folds import fold_count, repeated_folds
from .metrics import best_threshold, f1_at, nested_threshold_predictions
from .paired import paired_gain

METHODS = ("mean", "weights", "f1", "logistic")
WEIGHT_STEP = 0.1
EPSILON = 1e-6


def logit(prob: np.ndarray) -> np.ndarray:
    prob = np.clip(np.asarray(prob, dtype=float), EPSILON, 1 - EPSILON)
    return np.log(prob / (1 - prob))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def weight_grid(n_members: int, step: float = WEIGHT_STEP) -> np.ndarray:
    """All weight vectors on the simplex with the given step, e.g. (0, 1), (0.1, 0.9), ... for 2."""
    ticks = int(round(1 / step))
    rows = [c for c in itertools.product(range(ticks + 1), repeat=n_members) if sum(c) == ticks]
    return np.array(rows, dtype=float) / ticks


@dataclass
class Blender:
    method: str
    members: tuple[str, ...]
    weights: np.ndarray  # per member (for 'logistic': the stacker's coefficients)
    intercept: float = 0.0

    def blended_logits(self, probabilities: pd.DataFrame) -> np.ndarray:
        """The blend's score before the sigmoid (averaging these across blenders keeps the logit scale)."""
        missing = [m for m in self.members if m not in probabilities.columns]
        if missing:
            raise DataError(f"blend needs members {missing}, absent from the probabilities given")
        return logit(probabilities[list(self.members)].to_numpy()) @ self.weights + self.intercept

    def predict(self, probabilities: pd.DataFrame) -> pd.Series:
        return pd.Series(sigmoid(self.blended_logits(probabilities)), index=probabilities.index, name="prob")

    def describe(self) -> dict:
        return {"method": self.method, "weights": dict(zip(self.members, np.round(self.weights, 4).tolist())),
                "intercept": round(float(self.intercept), 4)}


def fit_blender(probabilities: pd.DataFrame, target: pd.Series, method: str = "weights") -> Blender:
    """Fit a blender on OOF probabilities (columns = members) against the 0/1 target."""
    if method not in METHODS:
        raise ValueError(f"blend method must be one of {METHODS}, not {method!r}")
    members = tuple(probabilities.columns)
    if not members:
        raise DataError("no ensemble members: need at least one model's probabilities")
    y = target.reindex(probabilities.index).to_numpy().astype(int)
    x = logit(probabilities.to_numpy())
    if len(members) == 1 or method == "mean":
        return Blender(method, members, np.full(len(members), 1 / len(members)))
    if method in ("weights", "f1"):
        grid = weight_grid(len(members))
        score = average_precision_score if method == "weights" else (lambda labels, s: best_threshold(labels, s)[1])
        scores = np.array([score(y, x @ w) for w in grid])
        # Among ties, the most even weights: they rely least on one member's quirks.
        tied = np.flatnonzero(scores >= scores.max() - 1e-12)
        evenness = np.abs(grid[tied] - 1 / len(members)).sum(axis=1)
        return Blender(method, members, grid[tied[np.argmin(evenness)]])
    stacker = LogisticRegression(C=1.0).fit(x, y)
    return Blender(method, members, stacker.coef_[0], float(stacker.intercept_[0]))


def cross_validated_blend(probabilities: pd.DataFrame, target: pd.Series, method: str = "weights",
                          n_splits: int = 5, seed: int = 0, n_repeats: int = 1) -> pd.Series:
    """Blended OOF scores where each fold is scored by a blender fitted on the other folds.

    With `n_repeats` > 1 this is done for fold splits seed, seed + 1, ... and each object's blended logits
    are averaged: every blender an object's score comes from was fitted without it. One split is fragile
    when its folds coincide with the members' own CV folds (the deep models' fold networks differ in
    calibration, so weights fitted on four folds' networks meet a fifth network on the scored fold);
    averaging over 5 splits narrowed the spread of the blend's nested F1 on MALLORN (README, Results).
    """
    y = target.reindex(probabilities.index).to_numpy().astype(int)
    n_repeats = max(1, n_repeats)
    blended_logits = np.zeros((n_repeats, len(y)))
    for repeat, fit_rows, score_rows in repeated_folds(y, fold_count(y, n_splits), n_repeats, seed):
        blender = fit_blender(probabilities.iloc[fit_rows], target, method)
        blended_logits[repeat, score_rows] = blender.blended_logits(probabilities.iloc[score_rows])
    return pd.Series(sigmoid(blended_logits.mean(axis=0)), index=probabilities.index, name="prob")


def align_members(predictions: dict[str, pd.Series]) -> pd.DataFrame:
    """Members' probabilities side by side, on the object ids all of them scored."""
    if not predictions:
        raise DataError("no ensemble members: need at least one model's probabilities")
    table = pd.concat({name: series for name, series in predictions.items()}, axis=1, join="inner")
    if table.empty:
        raise DataError(f"members {list(predictions)} share no object_id")
    return table


def select_members(probabilities: pd.DataFrame, target: pd.Series, method: str, *, anchor: str,
                   seed: int = 0, n_splits_seeds: int = 5, nested_seed: int = 0) -> tuple[list[str], pd.DataFrame]:
    """Members that earn their place in the blend, decided by measurement, and the table that says why.

    Backward elimination from all members: for each member other than `anchor` (the strongest model, always
    kept), the cross-validated blend's nested F1 with it and without it is measured on `n_splits_seeds`
    blender fold splits (seeds seed, seed + 1, ...; one split each), paired by split. The member whose
    paired gain is smallest is dropped when that gain is not above one standard error of the paired
    differences; the survivors are measured again, until every remaining member's gain is beyond one
    standard error (or only the anchor is left). Every blender is fitted without the fold it scores.
    """
    if anchor not in probabilities.columns:
        raise DataError(f"anchor member {anchor!r} is not among the members {list(probabilities.columns)}")
    y = target.reindex(probabilities.index).to_numpy().astype(int)
    seeds = [seed + k for k in range(max(2, n_splits_seeds))]
    cache: dict[tuple[str, ...], np.ndarray] = {}

    def nested_f1(columns: tuple[str, ...]) -> np.ndarray:
        if columns not in cache:
            scores = []
            for split_seed in seeds:
                blended = cross_validated_blend(probabilities[list(columns)], target, method, seed=split_seed)
                predictions, _ = nested_threshold_predictions(y, blended.to_numpy(), seed=nested_seed)
                scores.append(f1_at(y, predictions, 0.5))
            cache[columns] = np.array(scores)
        return cache[columns]

    kept = list(probabilities.columns)
    rows = []
    while len(kept) > 1:
        with_all = nested_f1(tuple(kept))
        gains = {}
        for member in (m for m in kept if m != anchor):
            gains[member] = paired_gain(with_all, nested_f1(tuple(m for m in kept if m != member)))
        weakest = min(gains, key=lambda m: gains[m][0] - gains[m][1])
        gain, error = gains[weakest]
        keep = gain > error
        rows.append({"members": " + ".join(kept), "nested F1": float(with_all.mean()), "member tested": weakest,
                     "gain from it": gain, "standard error": error,
                     "decision": f"keep {weakest} (+{gain:.3f} > {error:.3f})" if keep else
                                 f"drop {weakest} ({gain:+.3f} not above {error:.3f})"})
        if keep:
            break
        kept.remove(weakest)
    if len(kept) == 1:
        rows.append({"members": anchor, "nested F1": float(nested_f1((anchor,)).mean()), "member tested": None,
                     "gain from it": np.nan, "standard error": np.nan, "decision": f"{anchor} alone"})
    return kept, pd.DataFrame(rows)

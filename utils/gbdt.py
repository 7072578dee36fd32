"""LightGBM with repeated stratified CV: binary, and multiclass-then-sum over SpecType groups.

* `cross_validate`: OOF probabilities (averaged over repeats), test probabilities from models refitted
  on all training rows (one per repeat seed), gain importances, and run time.
* Redshift: pass one training table per repeat, each extracted under its own draw of the
  photometric-redshift perturbation; predictions then average over the redshift error.
* Multiclass-then-sum: learn AGN / SN Ia / SN II / other SN / TDE, report P(TDE) as the score. The
  extra labels teach the trees what the look-alikes are; the TDE column is the one that is scored.
* Pseudo-labelling (optional): each model is refitted with the test objects it labels with class
  probability >= `pseudo_confidence` added under that label. Inside CV the pseudo-labels come from the
  fold's own model, so the scored fold never leaks into them.
* `adversarial_auc`: how well a classifier tells train from test rows (0.5: indistinguishable);
  `train_vs_test` keeps that classifier, so `adversarial_weights(fitted=...)` can reuse it.
* `adversarial_weights`: per-object density ratio p(test | x) / p(train | x) from the same train-vs-test
  classifier's out-of-fold probabilities; `cross_validate(sample_weight=...)` multiplies it into the class
  weights, so the models lean toward the training objects that look like test objects.

The number of trees is fixed (no early stopping), so no OOF row ever influences its own model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .classes import class_group as spec_group  # SpecType -> TDE, AGN, SN Ia, SN II, other
from .evaluation.folds import fold_count, repeated_folds
from .evaluation.cv_result import CVResult, fold_table
from .errors import DataError
from .data.copies import source_of
from .evaluation.metrics import honest_summary
from .progress import progress_line

TDE = "TDE"
LGBM_PARAMS = {
    # Small trees and few columns per tree: 118 TDEs among ~220 noisy features. Extremely randomised split
    # thresholds (with twice the trees, as each learns less) gave the best nested F1 over 8 CV seeds
    # (benchmarks/ablate_gbdt.py --experiment tuning); the rest was chosen by repeated-CV AP.
    "n_estimators": 1600, "learning_rate": 0.03, "num_leaves": 7, "min_child_samples": 10, "extra_trees": True,
    "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.3, "reg_lambda": 1.0,
    "verbose": -1, "n_jobs": 1,  # OpenMP threads spin and crawl when other work shares the 2 cores
}
ADVERSARIAL_TREES = 200  # the train-vs-test classifier's trees (notebook 05's default profile)
WEIGHT_CLIP = (0.2, 5.0)  # adversarial weights: no object below 1/5 or above 5 times the average


def class_weights(labels: np.ndarray, scheme: str | None) -> np.ndarray:
    """Per-row weights: 'balanced' (n / (k · n_class)), 'sqrt' (its square root) or None (all 1)."""
    if scheme is None:
        return np.ones(len(labels))
    if scheme not in ("balanced", "sqrt"):
        raise ValueError(f"class weight scheme must be 'balanced', 'sqrt' or None, not {scheme!r}")
    values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    weight = len(labels) / (len(values) * counts)
    return (weight if scheme == "balanced" else np.sqrt(weight))[inverse]


def _fit(features: pd.DataFrame, labels: np.ndarray, weight: np.ndarray, params: dict, multiclass: bool,
         seed: int) -> lgb.LGBMClassifier:
    model = lgb.LGBMClassifier(**params, random_state=seed,
                               objective="multiclass" if multiclass else "binary")
    return model.fit(features, labels, sample_weight=weight)


def _fit_with_pseudo_labels(features: pd.DataFrame, labels: np.ndarray, weight: np.ndarray, params: dict,
                            multiclass: bool, seed: int, test_features: pd.DataFrame | None,
                            confidence: float | None, class_weight_of: dict) -> tuple[lgb.LGBMClassifier, int]:
    """Fit; if `confidence` is set, refit with the confidently labelled test rows added. Returns (model, n added).

    A pseudo-labelled row carries its class's weight (`class_weight_of`), not a per-object sample weight.
    """
    model = _fit(features, labels, weight, params, multiclass, seed)
    if confidence is None or test_features is None:
        return model, 0
    proba = model.predict_proba(test_features)
    confident = proba.max(axis=1) >= confidence
    if not confident.any():
        return model, 0
    pseudo_labels = model.classes_[proba.argmax(axis=1)[confident]]
    pseudo_weight = np.array([class_weight_of[label] for label in pseudo_labels])
    model = _fit(pd.concat([features, test_features[confident]]), np.r_[labels, pseudo_labels],
                 np.r_[weight, pseudo_weight], params, multiclass, seed)
    return model, int(confident.sum())


def _tde_probability(model: lgb.LGBMClassifier, features: pd.DataFrame, positive) -> np.ndarray:
    return model.predict_proba(features)[:, list(model.classes_).index(positive)]


def cross_validate(features: pd.DataFrame | Sequence[pd.DataFrame], target: pd.Series, *,
                   spec_type: pd.Series | None = None,
                   mode: str = "binary", test_features: pd.DataFrame | None = None, n_splits: int = 5,
                   n_repeats: int = 3, seed: int = 0, class_weight: str | None = "sqrt",
                   params: dict | None = None, pseudo_confidence: float | None = None,
                   groups: Callable[[pd.Series], pd.Series] | None = None,
                   nested_repeats: int = 1, sample_weight: pd.Series | None = None,
                   copies: pd.DataFrame | Sequence[pd.DataFrame] | None = None) -> CVResult:
    """Repeated stratified CV of a LightGBM model; `mode` is 'binary' or 'multiclass' (needs spec_type).

    `features`: one table, or one per repeat (repeat r uses table r mod their number), e.g. the training
    features under independent draws of the redshift perturbation, so the OOF and test probabilities
    average over the photometric-redshift error instead of betting on one draw.
    `pseudo_confidence` (needs test_features): pseudo-label test objects at or above this class probability.
    `groups`: multiclass only, SpecType -> the class each row learns (default `spec_group`); must keep "TDE".
    `nested_repeats`: fold splits the honest summary's nested-threshold F1 averages over.
    `sample_weight`: one weight per training object (indexed by object_id, e.g. `adversarial_weights`),
    multiplied into the class weights; the same weight applies in every feature table (redshift draw).
    `copies`: features of degraded copies of training objects (`utils.lightcurve_copies`), one table or one per
    repeat like `features`; a fold trains on the copies of its training objects too (with their label and
    weight) and never scores a copy.
    The result keeps the refitted boosters (`boosters`, one per repeat) so the run can score new objects.
    """
    tables = [features] if isinstance(features, pd.DataFrame) else list(features)
    if not tables:
        raise DataError("cross_validate needs at least one feature table")
    features = tables[0]
    for other in tables[1:]:
        if not (other.index.equals(features.index) and other.columns.equals(features.columns)):
            raise DataError("every feature table must have the same object_id index and columns, in the same order")
    if mode not in ("binary", "multiclass"):
        raise ValueError(f"mode must be 'binary' or 'multiclass', not {mode!r}")
    if not features.index.equals(target.index):
        raise DataError("features and target must share the same object_id index, in the same order")
    if mode == "multiclass":
        if spec_type is None:
            raise ValueError("multiclass mode needs spec_type (the SpecType column of the training log)")
        labels = (groups or spec_group)(spec_type.reindex(features.index)).to_numpy()
        positive = TDE
        if not (labels == TDE).any():
            raise DataError(f"the multiclass labels hold no {TDE!r} class: `groups` must map TDEs to {TDE!r}")
    else:
        labels, positive = target.to_numpy().astype(int), 1
    if len(np.unique(labels)) < 2:
        raise DataError("the training labels hold a single class; CV needs both TDEs and non-TDEs")
    # Folds are stratified on the labels the model learns, so each fold sees every class.
    n_splits = fold_count(labels, n_splits)
    params = {**LGBM_PARAMS, **(params or {})}
    started = time.perf_counter()
    weight = class_weights(labels, class_weight)
    class_weight_of = dict(zip(labels, weight))  # what a pseudo-labelled test row of that class carries
    if sample_weight is not None:
        weight = weight * _object_weights(sample_weight, features.index)
    oof = np.zeros((n_repeats, len(features)))
    gains = pd.Series(0.0, index=features.columns)
    if test_features is not None:
        test_features = test_features[features.columns]
    copy_tables, copy_source = _copy_tables(copies, features)
    pseudo_counts = []
    for repeat, fit_rows, score_rows in repeated_folds(labels, n_splits, n_repeats, seed):
        table = tables[repeat % len(tables)]
        fit_table, fit_labels, fit_weight = _with_copies(table, labels, weight, fit_rows, copy_tables, copy_source,
                                                         repeat)
        model, n_pseudo = _fit_with_pseudo_labels(fit_table, fit_labels, fit_weight, params,
                                                  mode == "multiclass", seed + repeat, test_features, pseudo_confidence,
                                                  class_weight_of)
        oof[repeat, score_rows] = _tde_probability(model, table.iloc[score_rows], positive)
        gains += model.booster_.feature_importance("gain")
        pseudo_counts.append(n_pseudo)
        if len(pseudo_counts) % n_splits == 0:  # the last fold of a repeat
            progress_line(f"gbdt {mode}: CV repeat {repeat + 1}/{n_repeats} done "
                          f"({time.perf_counter() - started:.0f} s)")
    boosters, test_prob, positive_column = [], None, None
    if test_features is not None:
        test_prob = np.zeros(len(test_features))
        for repeat in range(n_repeats):
            fit_table, fit_labels, fit_weight = _with_copies(tables[repeat % len(tables)], labels, weight,
                                                             np.arange(len(labels)), copy_tables, copy_source, repeat)
            model, _ = _fit_with_pseudo_labels(fit_table, fit_labels, fit_weight, params,
                                               mode == "multiclass", seed + repeat, test_features, pseudo_confidence,
                                               class_weight_of)
            test_prob += _tde_probability(model, test_features, positive) / n_repeats
            boosters.append(model.booster_)
            positive_column = list(model.classes_).index(positive)
    settings = {"mode": mode, "n_splits": n_splits, "n_repeats": n_repeats, "seed": seed,
                "class_weight": class_weight, "params": params, "n_features": features.shape[1],
                "pseudo_confidence": pseudo_confidence, "pseudo_labels_per_fold": float(np.mean(pseudo_counts)),
                "feature_tables": len(tables), "copies_per_object": len(copy_source) / len(features),
                "sample_weight": None if sample_weight is None else weight_summary(sample_weight[features.index])}
    y = target.to_numpy().astype(int)
    oof_prob = oof.mean(axis=0)
    # The per-fold table follows the first repeat's folds.
    first_folds = np.zeros(len(y), dtype=int)
    for k, (_, _, score_rows) in enumerate(repeated_folds(labels, n_splits, 1, seed)):
        first_folds[score_rows] = k
    folds = fold_table(pd.DataFrame({"prob": oof[0], "target": y, "fold": first_folds}))
    return CVResult(
        object_ids=features.index.to_numpy(), target=y, oof_prob=oof_prob,
        test_ids=test_features.index.to_numpy() if test_features is not None else None, test_prob=test_prob,
        folds=folds, summary=honest_summary(y, oof_prob, seed=seed, repeats=nested_repeats),
        seconds=time.perf_counter() - started, settings=settings,
        importance=(gains / gains.sum()).sort_values(ascending=False), oof_by_repeat=oof,
        boosters=boosters or None, positive_column=positive_column)


def _copy_tables(copies: pd.DataFrame | Sequence[pd.DataFrame] | None,
                 features: pd.DataFrame) -> tuple[list[pd.DataFrame], np.ndarray]:
    """The copies' tables in the training columns, and the row of `features` each copy's source sits at."""
    if copies is None:
        return [], np.zeros(0, dtype=int)
    copy_tables = [copies] if isinstance(copies, pd.DataFrame) else list(copies)
    first = copy_tables[0]
    for table in copy_tables:
        if not table.index.equals(first.index):
            raise DataError("every copies table must have the same copy ids, in the same order")
        missing = features.columns.difference(table.columns)
        if len(missing):
            raise DataError(f"the copies' features lack {len(missing)} training column(s), e.g. {missing[0]!r}")
    source = source_of(first.index)
    position = features.index.get_indexer(source.to_numpy())
    if (position < 0).any():
        raise DataError(f"copy {first.index[position < 0][0]!r} has no source among the training objects")
    return [table[features.columns] for table in copy_tables], position


def _with_copies(table: pd.DataFrame, labels: np.ndarray, weight: np.ndarray, fit_rows: np.ndarray,
                 copy_tables: list[pd.DataFrame], copy_source: np.ndarray, repeat: int):
    """The fit rows of (table, labels, weight), with the copies of their objects appended, each copy carrying
    its source's label and weight."""
    if not copy_tables:
        return table.iloc[fit_rows], labels[fit_rows], weight[fit_rows]
    chosen = np.isin(copy_source, fit_rows)
    source = copy_source[chosen]
    return (pd.concat([table.iloc[fit_rows], copy_tables[repeat % len(copy_tables)][chosen]]),
            np.r_[labels[fit_rows], labels[source]], np.r_[weight[fit_rows], weight[source]])


def _object_weights(sample_weight: pd.Series, object_ids: pd.Index) -> np.ndarray:
    """`sample_weight` in the order of `object_ids`; missing ids, duplicates or bad values are refused."""
    if sample_weight.index.has_duplicates:
        repeated = sample_weight.index[sample_weight.index.duplicated()].unique()
        raise DataError(f"sample_weight holds {len(repeated)} object_id(s) more than once, e.g. {list(repeated[:5])}")
    missing = object_ids.difference(sample_weight.index)
    if len(missing):
        raise DataError(f"sample_weight has no weight for {len(missing)} of {len(object_ids)} training objects, "
                        f"e.g. {list(missing[:5])}")
    values = sample_weight.reindex(object_ids).to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise DataError(f"sample_weight must be finite and >= 0; {int(bad.sum())} are not, "
                        f"e.g. {list(object_ids[bad][:5])}")
    return values


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
    fit_params = {**LGBM_PARAMS, "n_estimators": ADVERSARIAL_TREES, **(params or {})}
    prob = np.zeros(len(rows))
    gains = pd.Series(0.0, index=columns)
    for _, fit_rows, score_rows in repeated_folds(is_test, n_splits, 1, seed):
        model = _fit(rows.iloc[fit_rows], is_test[fit_rows], np.ones(len(fit_rows)), fit_params, False, seed)
        prob[score_rows] = model.predict_proba(rows.iloc[score_rows])[:, 1]
        gains += model.booster_.feature_importance("gain")
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

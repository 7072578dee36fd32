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
* `adversarial_auc`: how well a classifier tells train from test rows (0.5: indistinguishable).

The number of trees is fixed (no early stopping), so no OOF row ever influences its own model.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from .classes import class_group as spec_group  # SpecType -> TDE, AGN, SN Ia, SN II, other
from .cv_result import CVResult, fold_table
from .errors import DataError
from .metrics import honest_summary
from .progress import progress_line

TDE = "TDE"
LGBM_PARAMS = {
    # Small trees and few columns per tree: 118 TDEs among ~210 noisy features. Extremely randomised split
    # thresholds (with twice the trees, as each learns less) gave the best nested F1 over 8 CV seeds
    # (benchmarks/ablate_gbdt.py --experiment tuning); the rest was chosen by repeated-CV AP.
    "n_estimators": 1600, "learning_rate": 0.03, "num_leaves": 7, "min_child_samples": 10, "extra_trees": True,
    "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.3, "reg_lambda": 1.0,
    "verbose": -1, "n_jobs": 1,  # OpenMP threads spin and crawl when other work shares the 2 cores
}


def class_weights(labels: np.ndarray, scheme: str | None) -> np.ndarray:
    """Per-row weights: 'balanced' (n / (k · n_class)), 'sqrt' (its square root) or None (all 1)."""
    if scheme is None:
        return np.ones(len(labels))
    if scheme not in ("balanced", "sqrt"):
        raise ValueError(f"class weight scheme must be 'balanced', 'sqrt' or None, not {scheme!r}")
    values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    weight = len(labels) / (len(values) * counts)
    return (weight if scheme == "balanced" else np.sqrt(weight))[inverse]


def repeated_folds(strata: np.ndarray, n_splits: int, n_repeats: int, seed: int):
    """(repeat, fit_rows, score_rows) for n_repeats shuffles of a stratified K-fold."""
    for repeat in range(n_repeats):
        folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed + repeat)
        for fit_rows, score_rows in folds.split(np.zeros(len(strata)), strata):
            yield repeat, fit_rows, score_rows


def _fit(features: pd.DataFrame, labels: np.ndarray, weight: np.ndarray, params: dict, multiclass: bool,
         seed: int) -> lgb.LGBMClassifier:
    model = lgb.LGBMClassifier(**params, random_state=seed,
                               objective="multiclass" if multiclass else "binary")
    return model.fit(features, labels, sample_weight=weight)


def _fit_with_pseudo_labels(features: pd.DataFrame, labels: np.ndarray, weight: np.ndarray, params: dict,
                            multiclass: bool, seed: int, test_features: pd.DataFrame | None,
                            confidence: float | None) -> tuple[lgb.LGBMClassifier, int]:
    """Fit; if `confidence` is set, refit with the confidently labelled test rows added. Returns (model, n added)."""
    model = _fit(features, labels, weight, params, multiclass, seed)
    if confidence is None or test_features is None:
        return model, 0
    proba = model.predict_proba(test_features)
    confident = proba.max(axis=1) >= confidence
    if not confident.any():
        return model, 0
    pseudo_labels = model.classes_[proba.argmax(axis=1)[confident]]
    label_weight = dict(zip(labels, weight))  # every row of a class carries that class's weight
    pseudo_weight = np.array([label_weight[label] for label in pseudo_labels])
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
                   nested_repeats: int = 1) -> CVResult:
    """Repeated stratified CV of a LightGBM model; `mode` is 'binary' or 'multiclass' (needs spec_type).

    `features`: one table, or one per repeat (repeat r uses table r mod their number), e.g. the training
    features under independent draws of the redshift perturbation, so the OOF and test probabilities
    average over the photometric-redshift error instead of betting on one draw.
    `pseudo_confidence` (needs test_features): pseudo-label test objects at or above this class probability.
    `groups`: multiclass only, SpecType -> the class each row learns (default `spec_group`); must keep "TDE".
    `nested_repeats`: fold splits the honest summary's nested-threshold F1 averages over.
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
    smallest = pd.Series(labels).value_counts().min()
    n_splits = max(2, min(n_splits, int(smallest)))
    params = {**LGBM_PARAMS, **(params or {})}
    started = time.perf_counter()
    weight = class_weights(labels, class_weight)
    oof = np.zeros((n_repeats, len(features)))
    gains = pd.Series(0.0, index=features.columns)
    if test_features is not None:
        test_features = test_features[features.columns]
    pseudo_counts = []
    for repeat, fit_rows, score_rows in repeated_folds(labels, n_splits, n_repeats, seed):
        table = tables[repeat % len(tables)]
        model, n_pseudo = _fit_with_pseudo_labels(table.iloc[fit_rows], labels[fit_rows], weight[fit_rows], params,
                                                  mode == "multiclass", seed + repeat, test_features, pseudo_confidence)
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
            model, _ = _fit_with_pseudo_labels(tables[repeat % len(tables)], labels, weight, params,
                                               mode == "multiclass", seed + repeat, test_features, pseudo_confidence)
            test_prob += _tde_probability(model, test_features, positive) / n_repeats
            boosters.append(model.booster_)
            positive_column = list(model.classes_).index(positive)
    settings = {"mode": mode, "n_splits": n_splits, "n_repeats": n_repeats, "seed": seed,
                "class_weight": class_weight, "params": params, "n_features": features.shape[1],
                "pseudo_confidence": pseudo_confidence, "pseudo_labels_per_fold": float(np.mean(pseudo_counts)),
                "feature_tables": len(tables)}
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


def adversarial_auc(train_features: pd.DataFrame, test_features: pd.DataFrame, *, n_splits: int = 5,
                    seed: int = 0, params: dict | None = None) -> tuple[float, pd.Series]:
    """CV ROC AUC of telling train rows (0) from test rows (1), and the features that tell them apart."""
    columns = train_features.columns.intersection(test_features.columns)
    rows = pd.concat([train_features[columns], test_features[columns]], ignore_index=True)
    is_test = np.r_[np.zeros(len(train_features)), np.ones(len(test_features))].astype(int)
    params = {**LGBM_PARAMS, "n_estimators": 200, **(params or {})}
    prob = np.zeros(len(rows))
    gains = pd.Series(0.0, index=columns)
    for _, fit_rows, score_rows in repeated_folds(is_test, n_splits, 1, seed):
        model = _fit(rows.iloc[fit_rows], is_test[fit_rows], np.ones(len(fit_rows)), params, False, seed)
        prob[score_rows] = model.predict_proba(rows.iloc[score_rows])[:, 1]
        gains += model.booster_.feature_importance("gain")
    return float(roc_auc_score(is_test, prob)), (gains / gains.sum()).sort_values(ascending=False)

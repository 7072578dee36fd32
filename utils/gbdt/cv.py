"""Gradient-boosted trees under repeated stratified CV: binary, and multiclass-then-sum over SpecType groups.

* `cross_validate_gbdt`: OOF probabilities (averaged over repeats), test probabilities from models refitted
  on all training rows (one per repeat seed), gain importances, and run time; `model` names the kind of
  tabular model (utils.gbdt.member.MODELS: LightGBM by default).
* Redshift: pass one training table per repeat, each extracted under its own draw of the
  photometric-redshift perturbation; predictions then average over the redshift error.
* Multiclass-then-sum: learn AGN / SN Ia / SN II / other SN / TDE, report P(TDE) as the score. The
  extra labels teach the trees what the look-alikes are; the TDE column is the one that is scored.
* Pseudo-labelling (optional): each model is refitted with the test objects it labels with class
  probability >= `pseudo_confidence` added under that label. Inside CV the pseudo-labels come from the
  fold's own model, so the scored fold never leaks into them.
* `sample_weight` (e.g. utils.gbdt.adversarial.adversarial_weights) is multiplied into the class weights.

The number of trees is fixed (no early stopping), so no OOF row ever influences its own model.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from ..classes import class_group as spec_group  # SpecType -> TDE, AGN, SN Ia, SN II, other
from ..data.copies import source_of
from ..errors import DataError
from ..evaluation.cv_result import CVResult, fold_table
from ..evaluation.folds import fold_count, repeated_folds
from ..evaluation.metrics import honest_summary
from ..progress import progress_line
from .adversarial import weight_summary
from .lightgbm import NAME as LIGHTGBM
from .member import MODELS, model_kind

TDE = "TDE"


def class_weights(labels: np.ndarray, scheme: str | None) -> np.ndarray:
    """Per-row weights: 'balanced' (n / (k · n_class)), 'sqrt' (its square root) or None (all 1)."""
    if scheme is None:
        return np.ones(len(labels))
    if scheme not in ("balanced", "sqrt"):
        raise ValueError(f"class weight scheme must be 'balanced', 'sqrt' or None, not {scheme!r}")
    values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    weight = len(labels) / (len(values) * counts)
    return (weight if scheme == "balanced" else np.sqrt(weight))[inverse]


def _fit(model: str, features: pd.DataFrame, labels: np.ndarray, weight: np.ndarray, params: dict, multiclass: bool,
         seed: int):
    return MODELS[model].fit(features, labels, weight, multiclass=multiclass, seed=seed, params=params)


def _fit_with_pseudo_labels(model: str, features: pd.DataFrame, labels: np.ndarray, weight: np.ndarray, params: dict,
                            multiclass: bool, seed: int, test_features: pd.DataFrame | None,
                            confidence: float | None, class_weight_of: dict) -> tuple[object, int]:
    """Fit; if `confidence` is set, refit with the confidently labelled test rows added. Returns (model, n added).

    A pseudo-labelled row carries its class's weight (`class_weight_of`), not a per-object sample weight.
    """
    fitted = _fit(model, features, labels, weight, params, multiclass, seed)
    if confidence is None or test_features is None:
        return fitted, 0
    proba = fitted.predict_proba(test_features)
    confident = proba.max(axis=1) >= confidence
    if not confident.any():
        return fitted, 0
    pseudo_labels = fitted.classes_[proba.argmax(axis=1)[confident]]
    pseudo_weight = np.array([class_weight_of[label] for label in pseudo_labels])
    fitted = _fit(model, pd.concat([features, test_features[confident]]), np.r_[labels, pseudo_labels],
                  np.r_[weight, pseudo_weight], params, multiclass, seed)
    return fitted, int(confident.sum())


def _fit_and_score(model: str, fit_table: pd.DataFrame, fit_labels: np.ndarray, fit_weight: np.ndarray, params: dict,
                   multiclass: bool, seed: int, test_features: pd.DataFrame | None, confidence: float | None,
                   class_weight_of: dict, score_table: pd.DataFrame | None, positive):
    """One fold: the fitted model, its P(positive) on `score_table` (None without), pseudo-labels added."""
    fitted, n_pseudo = _fit_with_pseudo_labels(model, fit_table, fit_labels, fit_weight, params, multiclass, seed,
                                               test_features, confidence, class_weight_of)
    score = None if score_table is None else _tde_probability(fitted, score_table, positive)
    return fitted, score, n_pseudo


def _run(n_jobs: int, tasks: Iterable):
    """The tasks' results in order: here one by one, or in worker processes when n_jobs != 1."""
    if n_jobs == 1:
        return (function(*args, **kwargs) for function, args, kwargs in tasks)
    return Parallel(n_jobs=n_jobs, return_as="generator")(tasks)


def _tde_probability(model, features: pd.DataFrame, positive) -> np.ndarray:
    return model.predict_proba(features)[:, list(model.classes_).index(positive)]


def cross_validate_gbdt(features: pd.DataFrame | Sequence[pd.DataFrame], target: pd.Series, *,
                   spec_type: pd.Series | None = None,
                   mode: str = "binary", test_features: pd.DataFrame | None = None, n_splits: int = 5,
                   n_repeats: int = 3, seed: int = 0, class_weight: str | None = "sqrt",
                   params: dict | None = None, pseudo_confidence: float | None = None,
                   groups: Callable[[pd.Series], pd.Series] | None = None,
                   nested_repeats: int = 1, sample_weight: pd.Series | None = None,
                   copies: pd.DataFrame | Sequence[pd.DataFrame] | None = None,
                   model: str = LIGHTGBM, n_jobs: int = 1, fit_on: pd.Series | None = None) -> CVResult:
    """Repeated stratified CV of a gradient-boosting model; `mode` is 'binary' or 'multiclass' (needs spec_type).

    `features`: one table, or one per repeat (repeat r uses table r mod their number), e.g. the training
    features under independent draws of the redshift perturbation, so the OOF and test probabilities
    average over the photometric-redshift error instead of betting on one draw.
    `pseudo_confidence` (needs test_features): pseudo-label test objects at or above this class probability.
    `groups`: multiclass only, SpecType -> the class each row learns (default `spec_group`); must keep "TDE".
    `nested_repeats`: fold splits the honest summary's nested-threshold F1 averages over.
    `sample_weight`: one weight per training object (indexed by object_id, e.g. `adversarial_weights`),
    multiplied into the class weights; the same weight applies in every feature table (redshift draw).
    `copies`: features of degraded copies of training objects (`utils.data.copies`), one table or one per
    repeat like `features`; a fold trains on the copies of its training objects too (with their label and
    weight) and never scores a copy.
    `model`: the kind of tabular model (a key of utils.gbdt.member.MODELS), with `params` over its PARAMS.
    `n_jobs`: folds fitted side by side in worker processes (-1: one per core); each fit keeps its own thread
    count (params['n_jobs']), so the result is the same, bit for bit, whatever `n_jobs`.
    `fit_on`: True for the training objects the models may learn from (indexed by object_id; default all): a
    specialist learns from some classes only, yet every object is still scored out of fold, like the test set.
    The result keeps the refitted models (`models`, one per repeat) so the run can score new objects.
    """
    kind = model_kind(model)
    tables = [features] if isinstance(features, pd.DataFrame) else list(features)
    if not tables:
        raise DataError("cross_validate_gbdt needs at least one feature table")
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
    params = {**kind.PARAMS, **(params or {})}
    started = time.perf_counter()
    learnable = _learnable_rows(fit_on, features.index, labels)
    weight = np.zeros(len(labels))
    weight[learnable] = class_weights(labels[learnable], class_weight)  # the classes' shares among what is learnt
    class_weight_of = dict(zip(labels[learnable], weight[learnable]))  # what a pseudo-labelled test row carries
    if sample_weight is not None:
        weight = weight * _object_weights(sample_weight, features.index)
    oof = np.zeros((n_repeats, len(features)))
    gains = pd.Series(0.0, index=features.columns)
    if test_features is not None:
        test_features = test_features[features.columns]
    copy_tables, copy_source = _copy_tables(copies, features)
    multiclass = mode == "multiclass"

    def fold_task(repeat: int, fit_rows: np.ndarray, score_rows: np.ndarray | None):
        fit_rows = fit_rows[learnable[fit_rows]]
        fit_table, fit_labels, fit_weight = _with_copies(tables[repeat % len(tables)], labels, weight, fit_rows,
                                                         copy_tables, copy_source, repeat)
        score_table = None if score_rows is None else tables[repeat % len(tables)].iloc[score_rows]
        return delayed(_fit_and_score)(model, fit_table, fit_labels, fit_weight, params, multiclass, seed + repeat,
                                       test_features, pseudo_confidence, class_weight_of, score_table, positive)

    splits = list(repeated_folds(labels, n_splits, n_repeats, seed))
    pseudo_counts = []
    cv_results = _run(n_jobs, (fold_task(repeat, fit_rows, score_rows) for repeat, fit_rows, score_rows in splits))
    for (repeat, _, score_rows), (fitted, score, n_pseudo) in zip(splits, cv_results):
        oof[repeat, score_rows] = score
        gains += fitted.gain()
        pseudo_counts.append(n_pseudo)
        if len(pseudo_counts) % n_splits == 0:  # the last fold of a repeat
            progress_line(f"gbdt {mode}: CV repeat {repeat + 1}/{n_repeats} done "
                          f"({time.perf_counter() - started:.0f} s)")
    refitted, test_prob, positive_column = [], None, None
    if test_features is not None:
        test_prob = np.zeros(len(test_features))
        everything = np.arange(len(labels))
        for fitted, _, _ in _run(n_jobs, (fold_task(repeat, everything, None) for repeat in range(n_repeats))):
            test_prob += _tde_probability(fitted, test_features, positive) / n_repeats
            refitted.append(fitted)
            positive_column = list(fitted.classes_).index(positive)
    settings = {"model": model, "mode": mode, "n_splits": n_splits, "n_repeats": n_repeats, "seed": seed,
                "class_weight": class_weight, "params": params, "n_features": features.shape[1],
                "pseudo_confidence": pseudo_confidence, "pseudo_labels_per_fold": float(np.mean(pseudo_counts)),
                "feature_tables": len(tables), "copies_per_object": len(copy_source) / len(features),
                "sample_weight": None if sample_weight is None else weight_summary(sample_weight[features.index]),
                "fitted_objects": int(learnable.sum())}
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
        models=refitted or None, positive_column=positive_column)


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


def _learnable_rows(fit_on: pd.Series | None, object_ids: pd.Index, labels: np.ndarray) -> np.ndarray:
    """`fit_on` as a boolean per training row (all True without it); refused unless it covers every object and
    keeps at least two classes to learn."""
    if fit_on is None:
        return np.ones(len(object_ids), dtype=bool)
    missing = object_ids.difference(fit_on.index)
    if len(missing):
        raise DataError(f"fit_on has no value for {len(missing)} of {len(object_ids)} training objects, "
                        f"e.g. {list(missing[:5])}")
    learnable = fit_on.reindex(object_ids).to_numpy(dtype=bool)
    if len(np.unique(labels[learnable])) < 2:
        raise DataError("fit_on leaves a single class to learn; a model needs TDEs and non-TDEs")
    return learnable


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

"""Soft labels for unlabelled light curves from a physics-feature GBDT, for the networks to learn from.

With settings['distill_weight'] > 0, each fold fits one LightGBM (utils.gbdt's parameters and class weights)
on its own training objects' physics features, and its P(TDE) for every unlabelled object (the test set)
becomes that object's soft target. The network then trains on each labelled batch plus as many unlabelled
objects, whose binary cross-entropy against the soft targets joins the loss at `distill_weight`.
With settings['distill_teacher'] = 'multiclass' the teacher learns the SpecType groups (utils.classes), as
notebook 05's GBDT does: its P(TDE) is the soft target, and its whole group distribution also teaches the
network's auxiliary head (is this unlabelled light curve an AGN or a SN Ia?).

Why: 118 labelled TDEs are too few for a network to learn what a TDE light curve looks like; the 7,000
unlabelled light curves, labelled softly by the model that knows the physics, are not. The network reads
nothing new: a light-curve-only network stays light-curve-only. The teacher never sees the labels of the
fold the network is scored on, so the OOF scores stay honest.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from ..atomic import write_atomically
from ..classes import CLASS_GROUPS
from ..data.load import cache_root
from ..errors import DataError
from ..gbdt.cv import class_weights
from ..gbdt.lightgbm import PARAMS as LGBM_PARAMS

TDE_GROUP = CLASS_GROUPS.index("TDE")
TEACHER_VERSION = 1  # bump when the teacher changes in a way its inputs do not show: old entries are never read


def teacher_probabilities(train_features: pd.DataFrame, y: np.ndarray, unlabelled_features: pd.DataFrame, *,
                          seed: int, groups: np.ndarray | None = None, n_jobs: int = 1) -> np.ndarray:
    """Soft targets for the unlabelled objects from a LightGBM fitted on the labelled objects' features.

    Binary (groups None): P(TDE) per unlabelled object, shape (n,). Multiclass (`groups`: each labelled object's
    position in CLASS_GROUPS): P(group) per unlabelled object, shape (n, len(CLASS_GROUPS)), column order
    CLASS_GROUPS, so P(TDE) is column CLASS_GROUPS.index('TDE'); a group absent from the labelled objects gets 0.
    `n_jobs`: LightGBM's threads; the probabilities do not depend on it (checked on the MALLORN folds, max
    difference 0.0), so the cache key leaves it out.
    """
    y = np.asarray(y).astype(int)
    if len(train_features) != len(y):
        raise DataError(f"teacher: {len(train_features)} feature rows for {len(y)} labels")
    if len(np.unique(y)) < 2:
        raise DataError("teacher: the labelled objects hold a single class")
    missing = train_features.columns.difference(unlabelled_features.columns)
    if len(missing):
        raise DataError(f"teacher: the unlabelled features lack {len(missing)} column(s), e.g. {missing[0]!r}")
    unlabelled_features = unlabelled_features[train_features.columns]
    if groups is None:
        model = lgb.LGBMClassifier(**{**LGBM_PARAMS, "n_jobs": n_jobs}, random_state=seed, objective="binary")
        model.fit(train_features, y, sample_weight=class_weights(y, "sqrt"))
        return model.predict_proba(unlabelled_features)[:, 1]
    groups = np.asarray(groups).astype(int)
    if len(groups) != len(y):
        raise DataError(f"teacher: {len(groups)} class groups for {len(y)} labels")
    if not np.array_equal(groups == TDE_GROUP, y == 1):
        raise DataError("teacher: the class groups disagree with the labels (TDE group <-> target 1)")
    model = lgb.LGBMClassifier(**{**LGBM_PARAMS, "n_jobs": n_jobs}, random_state=seed, objective="multiclass")
    model.fit(train_features, groups, sample_weight=class_weights(groups, "sqrt"))
    probs = np.zeros((len(unlabelled_features), len(CLASS_GROUPS)))
    probs[:, model.classes_] = model.predict_proba(unlabelled_features)
    return probs


def cached_teacher_probabilities(train_features: pd.DataFrame, y: np.ndarray, unlabelled_features: pd.DataFrame,
                                 *, seed: int, groups: np.ndarray | None = None, n_jobs: int = 1,
                                 cache_dir: str | os.PathLike | None = None) -> np.ndarray:
    """teacher_probabilities, kept under cache_root()/teacher by a hash of every input: notebooks 03 and 04 (and
    reruns) share a fold's teacher instead of refitting it (the multiclass one takes seconds a fold: docs/results.md,
    "Speed")."""
    path = teacher_path(train_features, y, unlabelled_features, seed=seed, groups=groups, cache_dir=cache_dir)
    if path.is_file():
        return np.load(path)
    probs = teacher_probabilities(train_features, y, unlabelled_features, seed=seed, groups=groups, n_jobs=n_jobs)
    write_atomically(path, lambda out: np.save(out, probs))
    return probs


def teacher_path(train_features: pd.DataFrame, y: np.ndarray, unlabelled_features: pd.DataFrame, *, seed: int,
                 groups: np.ndarray | None = None, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the cache keeps one teacher's soft targets: a hash of the features (values, ids, columns), the
    labels and groups, the seed, the teacher's parameters and TEACHER_VERSION."""
    digest = hashlib.sha1()
    for table in (train_features, unlabelled_features[train_features.columns]):
        digest.update(pd.util.hash_pandas_object(table, index=True).to_numpy().tobytes())
        digest.update(json.dumps(list(map(str, table.columns))).encode())
    for labels in (y, groups):
        digest.update(b"-" if labels is None else np.asarray(labels).astype(np.int64).tobytes())
    digest.update(json.dumps([TEACHER_VERSION, seed, LGBM_PARAMS], sort_keys=True).encode())
    return cache_root(cache_dir) / "teacher" / f"{digest.hexdigest()[:16]}.npy"

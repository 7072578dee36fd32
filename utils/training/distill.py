"""Soft labels for unlabelled light curves from a physics-feature GBDT, for the networks to learn from.

With settings['distill_weight'] > 0, each fold fits one LightGBM (utils.gbdt's parameters and class weights)
on its own training objects' physics features, and its P(TDE) for every unlabelled object (the test set)
becomes that object's soft target. The network then trains on each labelled batch plus as many unlabelled
objects, whose binary cross-entropy against the soft targets joins the loss at `distill_weight`.

Why: 118 labelled TDEs are too few for a network to learn what a TDE light curve looks like; the 7,000
unlabelled light curves, labelled softly by the model that knows the physics, are not. The network reads
nothing new: a light-curve-only network stays light-curve-only. The teacher never sees the labels of the
fold the network is scored on, so the OOF scores stay honest.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from ..errors import DataError
from ..gbdt import LGBM_PARAMS, class_weights


def teacher_probabilities(train_features: pd.DataFrame, y: np.ndarray, unlabelled_features: pd.DataFrame, *,
                          seed: int) -> np.ndarray:
    """P(TDE) of each unlabelled object from a binary LightGBM fitted on the labelled objects' features."""
    y = np.asarray(y).astype(int)
    if len(train_features) != len(y):
        raise DataError(f"teacher: {len(train_features)} feature rows for {len(y)} labels")
    if len(np.unique(y)) < 2:
        raise DataError("teacher: the labelled objects hold a single class")
    missing = train_features.columns.difference(unlabelled_features.columns)
    if len(missing):
        raise DataError(f"teacher: the unlabelled features lack {len(missing)} column(s), e.g. {missing[0]!r}")
    model = lgb.LGBMClassifier(**LGBM_PARAMS, random_state=seed, objective="binary")
    model.fit(train_features, y, sample_weight=class_weights(y, "sqrt"))
    return model.predict_proba(unlabelled_features[train_features.columns])[:, 1]

"""Distillation of a physics-feature GBDT into the deep models (utils/training/distill.py), on tiny data."""

import numpy as np
import pandas as pd
import pytest

from utils.data import load_dataset
from utils.errors import DataError
from utils.training import (CNN_PROFILES, cross_validate, deep_settings, fold_splits, make_deterministic,
                            prepare_inputs, train_network)
from utils.training import cv as cv_module
from utils.training.fit import predict_logits
from utils.training.distill import teacher_probabilities


def quick_settings(**overrides) -> dict:
    return deep_settings(CNN_PROFILES, "quick", **{"device": "cpu", "batch_size": 16, "distill_weight": 1.0,
                                                   **overrides})


def light_curve_summaries(dataset, kind: str) -> pd.DataFrame:
    """Stand-ins for the physics features: functions of each light curve alone."""
    grouped = dataset.lightcurves(kind).groupby("object_id")
    table = pd.DataFrame({"peak_flux": grouped["flux"].max(), "n_points": grouped["flux"].size().astype(float)})
    return table.reindex(dataset.log(kind).index)


@pytest.fixture
def dataset(kaggle_dir):
    return load_dataset(kaggle_dir)


@pytest.fixture
def inputs(dataset):
    features = (light_curve_summaries(dataset, "train"), light_curve_summaries(dataset, "test"))
    return prepare_inputs(dataset, quick_settings(), features)


def test_the_teacher_ranks_unlabelled_objects_by_what_separates_the_labelled_ones():
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    labelled = pd.DataFrame({"x": x, "noise": rng.normal(size=300)})
    unlabelled = pd.DataFrame({"noise": [0.0, 0.0], "x": [3.0, -3.0]})  # columns in another order
    probs = teacher_probabilities(labelled, (x > 1).astype(int), unlabelled, seed=0)
    assert probs.shape == (2,) and probs[0] > 0.8 and probs[1] < 0.2


def test_the_teacher_says_what_is_wrong_with_its_inputs():
    table = pd.DataFrame({"x": np.arange(40.0)})
    y = np.r_[np.zeros(20), np.ones(20)]
    with pytest.raises(DataError, match="40 feature rows for 39 labels"):
        teacher_probabilities(table, y[:39], table, seed=0)
    with pytest.raises(DataError, match="single class"):
        teacher_probabilities(table, np.zeros(40), table, seed=0)
    with pytest.raises(DataError, match="lack 1 column.*'x'"):
        teacher_probabilities(table, y, table.rename(columns={"x": "y"}), seed=0)


def test_prepare_inputs_hands_the_teacher_its_features_and_the_network_none(inputs, dataset):
    assert "extra" not in inputs.train.tensors and inputs.scaler is None  # quick: light curves only
    train_features, test_features = inputs.teacher_features
    assert np.array_equal(train_features.index, inputs.train.object_ids)
    assert np.array_equal(test_features.index, inputs.test.object_ids)
    assert prepare_inputs(dataset, quick_settings(distill_weight=0.0)).teacher_features is None


def test_each_fold_teacher_learns_from_that_fold_training_objects_only(inputs, monkeypatch):
    seen = []

    def recording_teacher(train_features, y, unlabelled_features, *, seed):
        seen.append((set(train_features.index), np.asarray(y).copy(), list(unlabelled_features.index)))
        return np.full(len(unlabelled_features), 0.5)

    monkeypatch.setattr(cv_module, "teacher_probabilities", recording_teacher)
    settings = quick_settings(n_folds=2, epochs=1)
    result = cross_validate(settings, inputs.train, inputs.y, inputs.aux, inputs.test,
                            teacher_features=inputs.teacher_features)
    assert result.complete and len(seen) == 2
    for (train_rows, val_rows), (taught_on, labels, unlabelled) in zip(fold_splits(inputs.y, 2, settings["cv_seed"]),
                                                                       seen):
        assert taught_on == set(inputs.train.object_ids[train_rows])
        assert taught_on.isdisjoint(inputs.train.object_ids[val_rows])
        assert np.array_equal(labels, inputs.y[train_rows])
        assert unlabelled == list(inputs.test.object_ids)


def test_the_soft_targets_pull_the_unlabelled_predictions_their_way(inputs):
    settings = quick_settings(epochs=6, distill_weight=5.0, val_fraction=0.0, oversample=0.0)
    means = []
    for target in (0.05, 0.95):
        make_deterministic(0)
        network, history = train_network(settings, inputs.train, inputs.y, inputs.aux, None, None, seed=0,
                                         unlabelled=inputs.test, soft_targets=np.full(len(inputs.test), target))
        means.append((1 / (1 + np.exp(-predict_logits(network, inputs.test, "cpu")))).mean())
        assert np.isfinite(history[-1]["loss"])
    assert means[1] > means[0] + 0.2


def test_distillation_without_its_inputs_says_what_is_missing(inputs):
    settings = quick_settings(n_folds=2, epochs=1)
    with pytest.raises(ValueError, match="needs teacher_features"):
        cross_validate(settings, inputs.train, inputs.y, inputs.aux, inputs.test)
    with pytest.raises(ValueError, match="needs unlabelled light curves"):
        cross_validate(settings, inputs.train, inputs.y, inputs.aux, None, teacher_features=inputs.teacher_features)
    train_features, test_features = inputs.teacher_features
    with pytest.raises(ValueError, match="the unlabelled table's object_ids differ"):
        cross_validate(settings, inputs.train, inputs.y, inputs.aux, inputs.test,
                       teacher_features=(train_features, test_features.iloc[::-1]))
    with pytest.raises(ValueError, match="one soft target per unlabelled object"):
        train_network(settings, inputs.train, inputs.y, inputs.aux, None, None, seed=0, unlabelled=inputs.test,
                      soft_targets=np.zeros(3))

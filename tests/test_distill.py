"""Distillation of a physics-feature GBDT into the deep models (utils/training/distill.py), on tiny data."""

import numpy as np
import pandas as pd
import pytest
import torch

from utils.classes import CLASS_GROUPS
from utils.data.load import load_dataset
from utils.errors import DataError
from utils.evaluation.folds import stratified_folds
from utils.training import (CNN_PROFILES, cross_validate_network, deep_settings, make_deterministic, prepare_inputs,
                            train_network)
from utils.training import distill as distill_module
from utils.training.cv import teacher_threads
from utils.training.distill import TDE_GROUP, teacher_probabilities
from utils.training.fit import predict_logits


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


def test_the_teacher_gives_the_same_probabilities_on_one_thread_or_two():
    rng = np.random.default_rng(1)
    labelled = pd.DataFrame(rng.normal(size=(400, 6)), columns=list("abcdef"))
    groups = np.digitize(labelled["a"] + 0.5 * rng.normal(size=400), [-0.8, 0.0, 0.8])
    unlabelled = pd.DataFrame(rng.normal(size=(50, 6)), columns=list("abcdef"))
    one, two = (teacher_probabilities(labelled, (groups == TDE_GROUP).astype(int), unlabelled, seed=3,
                                      groups=groups, n_jobs=n_jobs) for n_jobs in (1, 2))
    assert np.array_equal(one, two)  # why the cache key may leave the thread count out


def test_teacher_threads_follow_the_network_threads():
    assert teacher_threads({"threads": 1}) == 1
    assert teacher_threads({"threads": None}) == torch.get_num_threads()


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

    def recording_teacher(train_features, y, unlabelled_features, *, seed, groups=None, n_jobs=1):
        assert groups is None  # a binary teacher learns the labels alone
        assert n_jobs == 1  # the network's `threads`: a run that shares the cores keeps its teacher to one thread
        seen.append((set(train_features.index), np.asarray(y).copy(), list(unlabelled_features.index)))
        return np.full(len(unlabelled_features), 0.5)

    monkeypatch.setattr(distill_module, "teacher_probabilities", recording_teacher)
    settings = quick_settings(n_folds=2, epochs=1, distill_teacher="binary", threads=1)
    result = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test,
                            teacher_features=inputs.teacher_features)
    assert result.complete and len(seen) == 2
    for (train_rows, val_rows), (taught_on, labels, unlabelled) in zip(stratified_folds(inputs.y, 2, settings["cv_seed"]),
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
        cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test)
    with pytest.raises(ValueError, match="needs unlabelled light curves"):
        cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, None, teacher_features=inputs.teacher_features)
    train_features, test_features = inputs.teacher_features
    with pytest.raises(ValueError, match="the unlabelled table's object_ids differ"):
        cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test,
                       teacher_features=(train_features, test_features.iloc[::-1]))
    with pytest.raises(ValueError, match="one soft target per unlabelled object"):
        train_network(settings, inputs.train, inputs.y, inputs.aux, None, None, seed=0, unlabelled=inputs.test,
                      soft_targets=np.zeros(3))


def test_a_multiclass_teacher_gives_each_unlabelled_object_its_group_distribution():
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 4, size=400)  # TDE, AGN, SN Ia, SN II; no 'other' among the labelled
    # five noisy indicators per group: the teacher's trees each see 30 % of the columns
    labelled = pd.DataFrame({f"is_{g}_{copy}": (groups == g) + rng.normal(scale=0.3, size=400)
                             for g in range(4) for copy in range(5)})
    unlabelled = pd.DataFrame(np.repeat(np.eye(4)[[3, 0]], 5, axis=1), columns=labelled.columns)[labelled.columns[::-1]]
    probs = teacher_probabilities(labelled, (groups == 0).astype(int), unlabelled, seed=0, groups=groups)
    assert probs.shape == (2, len(CLASS_GROUPS))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs[0, CLASS_GROUPS.index("SN II")] > 0.8 and probs[1, TDE_GROUP] > 0.8
    assert (probs[:, CLASS_GROUPS.index("other")] == 0).all()  # a group no labelled object holds
    with pytest.raises(DataError, match="disagree with the labels"):
        teacher_probabilities(labelled, (groups == 1).astype(int), unlabelled, seed=0, groups=groups)
    with pytest.raises(DataError, match="399 class groups for 400 labels"):
        teacher_probabilities(labelled, (groups == 0).astype(int), unlabelled, seed=0, groups=groups[1:])


def test_multiclass_soft_targets_teach_the_auxiliary_head_too(inputs):
    settings = quick_settings(epochs=6, distill_weight=5.0, val_fraction=0.0, oversample=0.0, aux_weight=1.0)
    agn, supernova = CLASS_GROUPS.index("AGN"), CLASS_GROUPS.index("SN Ia")
    shares = []
    for group in (agn, supernova):
        soft = np.zeros((len(inputs.test), len(CLASS_GROUPS)))
        soft[:, group] = 1.0
        make_deterministic(0)
        network, _ = train_network(settings, inputs.train, inputs.y, inputs.aux, None, None, seed=0,
                                   unlabelled=inputs.test, soft_targets=soft)
        with torch.no_grad():
            logits = network(inputs.test.batch(np.arange(len(inputs.test)), "cpu"))["aux_logits"]
        shares.append(torch.softmax(logits, dim=1)[:, agn].mean().item())
    assert shares[0] > shares[1] + 0.2
    with pytest.raises(ValueError, match="need 5 columns"):
        train_network(settings, inputs.train, inputs.y, inputs.aux, None, None, seed=0, unlabelled=inputs.test,
                      soft_targets=np.zeros((len(inputs.test), 3)))


def test_a_multiclass_teacher_learns_each_fold_training_objects_groups(inputs, monkeypatch):
    seen = []

    def recording_teacher(train_features, y, unlabelled_features, *, seed, groups=None, n_jobs=1):
        seen.append((np.asarray(y).copy(), groups))
        return np.full((len(unlabelled_features), len(CLASS_GROUPS)), 1 / len(CLASS_GROUPS))

    monkeypatch.setattr(distill_module, "teacher_probabilities", recording_teacher)
    settings = quick_settings(n_folds=2, epochs=1, distill_teacher="multiclass")
    result = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test,
                            teacher_features=inputs.teacher_features)
    assert result.complete and len(seen) == 2
    for (train_rows, _), (labels, groups) in zip(stratified_folds(inputs.y, 2, settings["cv_seed"]), seen):
        assert np.array_equal(groups, inputs.aux[train_rows]) and np.array_equal(labels, inputs.y[train_rows])
    with pytest.raises(ValueError, match="needs each training object's class group"):
        cross_validate_network(settings, inputs.train, inputs.y, None, inputs.test, teacher_features=inputs.teacher_features)
    with pytest.raises(ValueError, match="'binary' or 'multiclass', not 'ternary'"):
        cross_validate_network(quick_settings(n_folds=2, epochs=1, distill_teacher="ternary"), inputs.train, inputs.y,
                       inputs.aux, inputs.test, teacher_features=inputs.teacher_features)


def test_a_fold_teacher_is_fitted_once_and_read_back_from_the_cache(monkeypatch, cache_dir):
    rng = np.random.default_rng(2)
    x = rng.normal(size=200)
    labelled = pd.DataFrame({"x": x, "noise": rng.normal(size=200)}, index=[f"id{i}" for i in range(200)])
    unlabelled = pd.DataFrame({"noise": [0.0, 0.0], "x": [3.0, -3.0]})
    y = (x > 1).astype(int)
    first = distill_module.cached_teacher_probabilities(labelled, y, unlabelled, seed=0)
    np.testing.assert_array_equal(first, teacher_probabilities(labelled, y, unlabelled, seed=0))

    def no_refit(*args, **kwargs):
        raise AssertionError("the teacher was fitted again")

    monkeypatch.setattr(distill_module, "teacher_probabilities", no_refit)
    np.testing.assert_array_equal(distill_module.cached_teacher_probabilities(labelled, y, unlabelled, seed=0), first)
    assert [path.name for path in (cache_dir / "teacher").iterdir()] == [
        distill_module.teacher_path(labelled, y, unlabelled, seed=0).name]
    # any other input is another teacher
    paths = {distill_module.teacher_path(labelled, y, unlabelled, seed=0),
             distill_module.teacher_path(labelled, y, unlabelled, seed=1),
             distill_module.teacher_path(labelled, 1 - y, unlabelled, seed=0),
             distill_module.teacher_path(labelled, y, unlabelled, seed=0, groups=1 - y),
             distill_module.teacher_path(labelled.set_axis([f"other{i}" for i in range(200)]), y, unlabelled, seed=0),
             distill_module.teacher_path(labelled, y, unlabelled.assign(x=[3.0, -2.0]), seed=0)}
    assert len(paths) == 6

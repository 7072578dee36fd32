"""Degraded copies of training light curves, and the GBDT folds that train on them."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import utils.gbdt.cv as gbdt
from utils.data.copies import MIN_POINTS, NOISE_MAX_SIGMAS, degraded_copies, source_of
from utils.data.load import Dataset
from utils.errors import DataError
from utils.gbdt import cross_validate_gbdt

FAST = {"n_estimators": 30, "learning_rate": 0.1, "min_child_samples": 3}
MEMORISING = {"n_estimators": 200, "learning_rate": 0.3, "min_child_samples": 2, "num_leaves": 64,
              "extra_trees": False, "colsample_bytree": 1.0}  # able to learn a key -> label lookup


def flat_dataset(n_objects=4, n_points=2000, flux=10.0, flux_err=1.0):
    """Noise-free constant light curves, so whatever a copy adds is its own noise."""
    ids = [f"obj{i}" for i in range(n_objects)]
    log = pd.DataFrame({"Z": 0.1, "Z_err": np.nan, "EBV": 0.02, "SpecType": "TDE", "split": "split_01", "target": 1},
                       index=pd.Index(ids, name="object_id"))
    lc = pd.DataFrame({"object_id": np.repeat(ids, n_points), "time": np.tile(np.arange(n_points, dtype=float), n_objects),
                       "flux": flux, "flux_err": flux_err,
                       "band": pd.Categorical(np.tile(list("ugrizy"), n_objects * n_points // 6 + 1)[:n_objects * n_points],
                                              categories=list("ugrizy"))})
    return Dataset(train_log=log, test_log=log.iloc[:0], train_lc=lc, test_lc=lc.iloc[:0], data_dir=None,
                   fingerprint="abc")


def test_copies_keep_the_log_drop_points_and_add_the_noise_their_errors_say():
    dataset = flat_dataset()
    copied = degraded_copies(dataset, copies=3, seed=1)
    assert len(copied.train_log) == 12 and copied.fingerprint != dataset.fingerprint
    assert source_of(copied.train_log.index).tolist() == [f"obj{i}" for i in range(4)] * 3
    for k in range(3):
        pd.testing.assert_frame_equal(copied.train_log.iloc[4 * k:4 * k + 4].set_axis(dataset.train_log.index),
                                      dataset.train_log)
    assert copied.test_lc is dataset.test_lc
    for object_id, points in copied.train_lc.groupby("object_id"):
        assert MIN_POINTS <= len(points) <= 2000
        extra = np.sqrt(points["flux_err"].iloc[0] ** 2 - 1.0)  # the added noise's sigma in units of Flux_err
        assert (points["flux_err"] >= 1.0).all() and extra <= NOISE_MAX_SIGMAS + 1e-9
        assert np.std(points["flux"] - 10.0) == pytest.approx(extra, rel=0.1, abs=0.01)
    counts = copied.train_lc.groupby("object_id").size()
    assert counts.min() < 2000  # some points dropped
    again = degraded_copies(dataset, copies=3, seed=1)
    pd.testing.assert_frame_equal(again.train_lc, copied.train_lc)
    assert not degraded_copies(dataset, copies=3, seed=2).train_lc["flux"].equals(copied.train_lc["flux"])


def test_a_short_light_curve_is_copied_whole():
    copied = degraded_copies(flat_dataset(n_points=4), copies=5, seed=0)
    assert (copied.train_lc.groupby("object_id").size() == 4).all()


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        degraded_copies(flat_dataset(), copies=0)
    with pytest.raises(DataError, match="not copies"):
        source_of(pd.Index(["obj1~copy0", "obj2"]))


def memorisable(n=240, copies=2, seed=0):
    """Labels that are pure noise, and a per-object key that the copies share with their source."""
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"o{i}" for i in range(n)], name="object_id")
    target = pd.Series((rng.random(n) < 0.3).astype(int), index=ids)
    features = pd.DataFrame({"key": rng.permutation(n).astype(float), "noise": rng.normal(size=n)}, index=ids)
    copy_tables = [pd.DataFrame({"key": features["key"].to_numpy(), "noise": rng.normal(size=n)},
                                index=ids + f"~copy{k}") for k in range(copies)]
    return features, target, pd.concat(copy_tables)


def test_no_fold_trains_on_a_copy_of_an_object_it_scores():
    # If a fold saw the copies of its scored objects, the shared key would give their noise labels away.
    features, target, copies = memorisable()
    honest = cross_validate_gbdt(features, target, n_splits=4, n_repeats=1, params=MEMORISING, copies=copies)
    assert roc_auc_score(target, honest.oof_prob) < 0.65
    assert honest.settings["copies_per_object"] == 2


def test_the_leak_test_would_catch_a_leak(monkeypatch):
    features, target, copies = memorisable()

    def leaky(table, labels, weight, fit_rows, copy_tables, copy_source, repeat):
        return (pd.concat([table.iloc[fit_rows], copy_tables[0]]), np.r_[labels[fit_rows], labels[copy_source]],
                np.r_[weight[fit_rows], weight[copy_source]])

    monkeypatch.setattr(gbdt, "_with_copies", leaky)
    leaked = cross_validate_gbdt(features, target, n_splits=4, n_repeats=1, params=MEMORISING, copies=copies)
    assert roc_auc_score(target, leaked.oof_prob) > 0.75


def test_copies_train_each_fold_with_their_source_label_and_weight(monkeypatch):
    features, target, copies = memorisable(n=40, copies=1)
    seen = []
    real_fit = gbdt._fit

    def recording_fit(model, table, labels, weight, params, multiclass, seed):
        seen.append((table.index, labels, weight))
        return real_fit(model, table, labels, weight, params, multiclass, seed)

    monkeypatch.setattr(gbdt, "_fit", recording_fit)
    cross_validate_gbdt(features, target, n_splits=4, n_repeats=1, params=FAST, copies=copies,
                   sample_weight=pd.Series(np.arange(1, 41, dtype=float), index=features.index))
    for index, labels, weight in seen:
        originals = [i for i in index if "~copy" not in i]
        copied = [i for i in index if "~copy" in i]
        assert sorted(source_of(pd.Index(copied))) == sorted(originals)
        by_id = pd.DataFrame({"label": labels, "weight": weight}, index=index)
        sources = source_of(pd.Index(copied)).to_numpy()
        assert (by_id.loc[copied].to_numpy() == by_id.loc[sources].to_numpy()).all()


def test_copies_must_match_the_training_objects():
    features, target, copies = memorisable(n=40)
    with pytest.raises(DataError, match="no source"):
        cross_validate_gbdt(features.iloc[:20], target.iloc[:20], n_splits=2, n_repeats=1, params=FAST, copies=copies)
    with pytest.raises(DataError, match="lack"):
        cross_validate_gbdt(features, target, n_splits=2, n_repeats=1, params=FAST, copies=copies[["key"]])


def test_feature_table_of_the_copies(kaggle_dir):
    from utils.data.load import load_dataset
    from utils.features import feature_table

    dataset = load_dataset(kaggle_dir)
    table = feature_table(dataset, "train", groups=["meta", "photometry"], copies=2, n_jobs=1, progress=False)
    assert table.index.tolist() == [f"{i}~copy{k}" for k in range(2) for i in dataset.train_log.index]
    originals = feature_table(dataset, "train", groups=["meta", "photometry"], n_jobs=1, progress=False)
    twice = pd.concat([originals, originals]).set_axis(table.index)
    pd.testing.assert_frame_equal(table[["z", "ebv"]], twice[["z", "ebv"]])  # the copies keep their log rows
    flux_based = [c for c in table if c not in ("z", "ebv", "distance_modulus")]
    assert (table[flux_based] != twice[flux_based]).any(axis=1).mean() > 0.9  # and see other light curves
    with pytest.raises(ValueError, match="training objects only"):
        feature_table(dataset, "test", copies=1, progress=False)

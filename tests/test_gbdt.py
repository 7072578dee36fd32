"""LightGBM CV: OOF shapes and honesty, both modes, class weights, pseudo-labels, adversarial AUC and weights."""

import numpy as np
import pandas as pd
import pytest

import utils.gbdt.adversarial as adversarial
from utils.classes import class_group as spec_group
from utils.errors import DataError
from utils.gbdt import (adversarial_auc, adversarial_weights, class_weights, cross_validate_gbdt, train_vs_test,
                        weight_summary)

FAST = {"n_estimators": 30, "learning_rate": 0.1, "min_child_samples": 3}  # extra trees learn slowly at 0.03


def separable(n=120, seed=0):
    """Two informative columns and one noise column; 25% positives among four SpecTypes."""
    rng = np.random.default_rng(seed)
    spec = pd.Series(np.array(["TDE", "AGN", "SN Ia", "SN II"])[np.arange(n) % 4],
                     index=[f"o{i}" for i in range(n)])
    target = (spec == "TDE").astype(int)
    shift = spec.map({"TDE": 2.0, "AGN": -2.0, "SN Ia": 0.0, "SN II": 0.5}).to_numpy()
    features = pd.DataFrame({"a": shift + rng.normal(0, 0.5, n), "b": -shift + rng.normal(0, 0.5, n),
                             "noise": rng.normal(0, 1, n)}, index=spec.index)
    return features, target, spec


@pytest.mark.parametrize("mode", ["binary", "multiclass"])
def test_cross_validation_returns_oof_and_test_probabilities(mode):
    features, target, spec = separable()
    result = cross_validate_gbdt(features, target, spec_type=spec, mode=mode, test_features=features.iloc[:10],
                            n_splits=3, n_repeats=2, params=FAST)
    assert (result.object_ids == features.index.to_numpy()).all() and result.oof.prob.between(0, 1).all()
    assert result.oof_by_repeat.shape == (2, len(features))
    assert result.test.object_id.tolist() == features.index[:10].tolist()
    assert result.oof_series[target == 1].mean() > result.oof_series[target == 0].mean() + 0.3
    assert result.importance.sum() == pytest.approx(1.0)
    assert result.importance.index[-1] == "noise"
    assert len(result.folds) == 3 and result.folds["n"].sum() == len(features)  # the first repeat's folds
    assert len(result.models) == 2 and 0 < result.summary["threshold"] < 1


def test_folds_fitted_side_by_side_give_the_same_models_bit_for_bit():
    features, target, spec = separable(seed=4)
    test = features.iloc[:15] + 0.1
    kwargs = dict(spec_type=spec, mode="multiclass", test_features=test, n_splits=3, n_repeats=2, params=FAST,
                  pseudo_confidence=0.5, copies=features.iloc[:30].set_axis([f"o{i}~copy0" for i in range(30)]) * 1.01)
    alone, side_by_side = (cross_validate_gbdt(features, target, n_jobs=jobs, **kwargs) for jobs in (1, 2))
    assert np.array_equal(alone.oof_by_repeat, side_by_side.oof_by_repeat)
    assert np.array_equal(alone.test_prob, side_by_side.test_prob)
    assert alone.importance.equals(side_by_side.importance)
    assert side_by_side.settings["pseudo_labels_per_fold"] == alone.settings["pseudo_labels_per_fold"] > 0


def test_oof_rows_never_train_their_own_model():
    # Labels that are pure noise: honest OOF scores cannot beat chance by much.
    rng = np.random.default_rng(1)
    features = pd.DataFrame(rng.normal(size=(200, 5)), index=[f"o{i}" for i in range(200)])
    target = pd.Series((rng.random(200) < 0.3).astype(int), index=features.index)
    result = cross_validate_gbdt(features, target, n_splits=4, n_repeats=1, params=FAST)
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(target, result.oof_prob) < 0.65


def test_pseudo_labelling_adds_confident_test_rows():
    features, target, spec = separable()
    result = cross_validate_gbdt(features, target, spec_type=spec, mode="multiclass", test_features=features + 0.01,
                            n_splits=3, n_repeats=1, params=FAST, pseudo_confidence=0.5)
    assert result.settings["pseudo_labels_per_fold"] > 0
    assert result.test.prob.between(0, 1).all()


def test_spec_group_and_class_weights():
    spec = pd.Series(["TDE", "AGN", "SN Ia-91T-like", "SN IIn", "SLSN-I", "SN Ic", None])
    assert spec_group(spec).tolist() == ["TDE", "AGN", "SN Ia", "SN II", "other", "other", "other"]
    labels = np.array([1, 0, 0, 0])
    assert class_weights(labels, "balanced") == pytest.approx([2.0, 2 / 3, 2 / 3, 2 / 3])
    assert class_weights(labels, "sqrt") == pytest.approx(np.sqrt([2.0, 2 / 3, 2 / 3, 2 / 3]))
    assert class_weights(labels, None) == pytest.approx(np.ones(4))
    with pytest.raises(ValueError, match="class weight scheme"):
        class_weights(labels, "inverse")


def test_bad_input_is_refused_clearly():
    features, target, spec = separable()
    with pytest.raises(ValueError, match="mode must be"):
        cross_validate_gbdt(features, target, mode="regression")
    with pytest.raises(ValueError, match="needs spec_type"):
        cross_validate_gbdt(features, target, mode="multiclass")
    with pytest.raises(DataError, match="same object_id index"):
        cross_validate_gbdt(features, target.iloc[::-1])
    with pytest.raises(DataError, match="single class"):
        cross_validate_gbdt(features, target * 0)


def test_adversarial_auc_sees_a_shift_and_no_shift():
    rng = np.random.default_rng(2)
    train = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    same = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    shifted = same.assign(x=same["x"] + 3)
    auc_same, _ = adversarial_auc(train, same, params=FAST)
    auc_shifted, telling = adversarial_auc(train, shifted, params=FAST)
    assert auc_same < 0.65 and auc_shifted > 0.95
    assert telling.index[0] == "x"


def test_one_feature_table_per_repeat():
    features, target, spec = separable()
    # A change the trees can see: the informative column "a" replaced by noise (a constant shift or any
    # monotonic change of a column would bin to the same trees and prove nothing).
    blurred = features.assign(a=np.random.default_rng(9).normal(0, 1, len(features)))
    result = cross_validate_gbdt([features, blurred], target, n_splits=3, n_repeats=2, params=FAST,
                            test_features=features.iloc[:5])
    assert result.settings["feature_tables"] == 2
    # Repeat 0 trains on the first table, repeat 1 on the second, each exactly as a run on that table alone.
    on_features = cross_validate_gbdt(features, target, n_splits=3, n_repeats=2, params=FAST)
    on_blurred = cross_validate_gbdt(blurred, target, n_splits=3, n_repeats=2, params=FAST)
    assert (result.oof_by_repeat[0] == on_features.oof_by_repeat[0]).all()
    assert (result.oof_by_repeat[1] == on_blurred.oof_by_repeat[1]).all()
    assert not np.allclose(on_blurred.oof_by_repeat[1], on_features.oof_by_repeat[1])
    with pytest.raises(DataError, match="same object_id index and columns"):
        cross_validate_gbdt([features, features.iloc[::-1]], target, n_repeats=2)


def test_custom_class_groups_change_what_the_multiclass_model_learns():
    features, target, spec = separable()
    default = cross_validate_gbdt(features, target, spec_type=spec, mode="multiclass", n_splits=3, n_repeats=1, params=FAST)
    merged = cross_validate_gbdt(features, target, spec_type=spec, mode="multiclass", n_splits=3, n_repeats=1, params=FAST,
                            groups=lambda s: s.where(s.isin(["TDE", "AGN"]), "SN"))
    assert not np.allclose(default.oof_prob, merged.oof_prob)  # 3 classes instead of 4: other trees, other scores
    with pytest.raises(DataError, match="no 'TDE' class"):
        cross_validate_gbdt(features, target, spec_type=spec, mode="multiclass", params=FAST,
                       groups=lambda s: s.replace("TDE", "flare"))


def two_samples(n_train=600, n_test=900, shift=0.0, seed=3):
    """Train and test tables of the same two columns; test's `x` moved by `shift`."""
    rng = np.random.default_rng(seed)
    train = pd.DataFrame({"x": rng.normal(size=n_train), "y": rng.normal(size=n_train)},
                         index=[f"train{i}" for i in range(n_train)])
    test = pd.DataFrame({"x": rng.normal(size=n_test) + shift, "y": rng.normal(size=n_test)})
    return train, test


def test_adversarial_weights_stay_near_one_when_train_and_test_match():
    train, test = two_samples()
    weights = adversarial_weights(train, test, seed=0, params=FAST)
    summary = weight_summary(weights)
    assert weights.index.equals(train.index) and summary["mean"] == pytest.approx(1.0)
    # Chance alone keeps the effective share at 0.98-0.99 (three data seeds); a shift of half a standard
    # deviation in x already brings it to 0.83-0.90, one standard deviation to ~0.65.
    assert summary["effective_fraction"] > 0.95
    assert 0.8 < summary["median"] < 1.2


def test_adversarial_weights_favour_the_test_like_region():
    train, test = two_samples(shift=1.0)
    weights = adversarial_weights(train, test, seed=0, params=FAST, clip=(0.05, 20.0))
    # True ratio N(x; 1, 1) / N(x; 0, 1) = exp(x - 1/2): increasing in x, ~1.6 at x = 1, ~0.2 at x = -1.
    high, low = weights[train["x"] > 1].median(), weights[train["x"] < -1].median()
    assert high > 1.3 and low < 0.6
    assert np.corrcoef(train["x"], np.log(weights))[0, 1] > 0.8
    assert weight_summary(weights)["effective_fraction"] < 0.8  # weighting now costs effective samples


def test_adversarial_weights_respect_the_clip_and_average_one():
    train, test = two_samples(shift=2.0)
    weights = adversarial_weights([train, train + 0.01], test, seed=1, params=FAST, clip=(0.5, 2.0))
    assert weights.min() >= 0.5 - 1e-12 and weights.max() <= 2.0 + 1e-12
    assert weights.mean() == pytest.approx(1.0, abs=1e-9)
    assert np.isclose(weights, 2.0).sum() > 10 and np.isclose(weights, 0.5).sum() > 10  # the clip binds
    with pytest.raises(ValueError, match="0 < lo <= 1 <= hi"):
        adversarial_weights(train, test, seed=0, clip=(1.5, 3.0))
    with pytest.raises(DataError, match="same object_ids"):
        adversarial_weights([train, train.iloc[::-1]], test, seed=0)


def test_sample_weight_of_ones_changes_nothing_and_other_weights_do():
    features, target, spec = separable()
    kwargs = dict(spec_type=spec, mode="multiclass", n_splits=3, n_repeats=1, params=FAST)
    plain = cross_validate_gbdt(features, target, **kwargs)
    ones = cross_validate_gbdt(features, target, sample_weight=pd.Series(1.0, index=features.index[::-1]), **kwargs)
    np.testing.assert_array_equal(plain.oof_prob, ones.oof_prob)
    assert ones.settings["sample_weight"]["effective_fraction"] == pytest.approx(1.0)
    rng = np.random.default_rng(4)
    varied = cross_validate_gbdt(features, target, sample_weight=pd.Series(rng.uniform(0.2, 5, len(features)),
                                                                      index=features.index), **kwargs)
    assert not np.allclose(plain.oof_prob, varied.oof_prob)


def test_sample_weight_must_cover_every_training_object():
    features, target, spec = separable()
    with pytest.raises(DataError, match="no weight for 2 of 120 training objects, e.g. \\['o0', 'o1'\\]"):
        cross_validate_gbdt(features, target, n_splits=3, n_repeats=1, params=FAST,
                       sample_weight=pd.Series(1.0, index=features.index[2:]))
    with pytest.raises(DataError, match="finite and >= 0"):
        cross_validate_gbdt(features, target, n_splits=3, n_repeats=1, params=FAST,
                       sample_weight=pd.Series(-1.0, index=features.index))


def test_adversarial_weights_reuse_a_classifier_fitted_on_the_same_inputs(monkeypatch):
    """Notebook 05's AUC classifier on the first draw stands in for that draw's fit: same weights, one fit less."""
    train, test = two_samples(shift=0.5)
    draws = [train, train + 0.01, train - 0.01]
    fresh = adversarial_weights(draws, test, seed=4, params=FAST)
    separation = train_vs_test(draws[0], test, seed=4, params=FAST)
    auc, telling = adversarial_auc(draws[0], test, seed=4, params=FAST)
    assert auc == separation.auc and telling.equals(separation.telling)
    other_seed = train_vs_test(draws[1], test, seed=5, params=FAST)  # another fit: must not stand in
    fits = []
    monkeypatch.setattr(adversarial, "train_vs_test", lambda *a, **k: fits.append(1) or train_vs_test(*a, **k))
    reused = adversarial_weights(draws, test, seed=4, params=FAST, fitted=[other_seed, separation])
    assert len(fits) == 2
    pd.testing.assert_series_equal(reused, fresh, check_exact=True)
    fits.clear()
    adversarial_weights(draws, test.assign(x=test["x"] + 1e-9), seed=4, params=FAST, fitted=[separation])
    assert len(fits) == 3  # another test table: nothing reused


def test_fit_on_learns_from_some_classes_only_and_scores_every_object():
    features, target, spec = separable(n=160, seed=5)
    features.loc[spec == "SN Ia", ["a", "b"]] = features.loc[spec == "TDE", ["a", "b"]].to_numpy()  # TDE twins
    fit_on = spec.isin(["TDE", "AGN"])
    common = {"spec_type": spec, "mode": "binary", "n_splits": 4, "n_repeats": 1, "params": FAST, "test_features": features}
    everyone, specialist = cross_validate_gbdt(features, target, **common), \
        cross_validate_gbdt(features, target, fit_on=fit_on, **common)
    twins = (spec == "SN Ia").to_numpy()
    # Learning from the twins as negatives pulls their scores (and the TDEs') down; never seeing them, the
    # specialist scores them as the TDEs they resemble, out of fold and refitted alike.
    assert specialist.oof_prob[twins].mean() > 0.8 > everyone.oof_prob[twins].mean()
    assert specialist.test_prob[twins].mean() > 0.8 > everyone.test_prob[twins].mean()
    assert np.isfinite(specialist.oof_prob).all() and len(specialist.oof_prob) == len(features)
    assert specialist.settings["fitted_objects"] == fit_on.sum() < everyone.settings["fitted_objects"] == len(features)


def test_fit_on_must_cover_every_object_and_keep_two_classes():
    features, target, spec = separable()
    with pytest.raises(DataError, match="fit_on has no value for 1 of 120"):
        cross_validate_gbdt(features, target, n_splits=3, n_repeats=1, params=FAST, fit_on=pd.Series(True, index=spec.index[1:]))
    with pytest.raises(DataError, match="single class"):
        cross_validate_gbdt(features, target, n_splits=3, n_repeats=1, params=FAST, fit_on=spec == "AGN")

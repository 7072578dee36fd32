"""The production-path estimate: the held-out part never reaches a fit, its redshifts are photometric-like, and
each cut rule does what it says on scores with known answers."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import utils.gbdt.cv as gbdt_cv
from utils.data.redshift import NEIGHBOURS, perturbed_redshift_and_error
from utils.evaluation.metrics import best_threshold
from utils.steps import production
from utils.steps.gbdt import GBDTFeatures, notebook05_settings
from utils.steps.production import (CUT_RULES, HeldOutFold, ProductionEstimate, _weighted_best_threshold, compare, compare_rules,
                                    held_out_fold, outer_strata)

MEMORISING = {"n_estimators": 60, "learning_rate": 0.3, "num_leaves": 15, "min_child_samples": 1,
              "colsample_bytree": 1.0, "subsample": 1.0, "extra_trees": False}


def memorisable(n=160, seed=0):
    """Labels unrelated to anything but each object's own random key: only a fit that saw an object's label
    can score it well."""
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"o{i}" for i in range(n)], name="object_id")
    spec = pd.Series(np.where(rng.uniform(size=n) < 0.3, "TDE", np.where(rng.uniform(size=n) < 0.5, "AGN", "SN Ia")),
                     index=ids)
    log = pd.DataFrame({"SpecType": spec, "target": (spec == "TDE").astype(int)})
    table = pd.DataFrame({"key": rng.permutation(n).astype(float), "noise": rng.normal(size=n)}, index=ids)
    copies = table.set_axis([f"{i}~copy0" for i in ids]) + 0.001
    test = pd.DataFrame({"key": rng.uniform(0, n, 50), "noise": rng.normal(size=50)},
                        index=pd.Index([f"t{i}" for i in range(50)], name="object_id"))
    return SimpleNamespace(train_log=log), GBDTFeatures(table, test, [table, table], [copies, copies], 0.0)


def quick_cfg(**overrides):
    return notebook05_settings("quick", n_repeats=2, modes=["multiclass"], adversarial_weighting=True, **overrides)


def held_out_auc(monkeypatch, leak: bool, seed=0) -> float:
    dataset, features = memorisable(seed=seed)
    cfg = quick_cfg()
    held_ids = features.train.index[::4]
    rest_ids = features.train.index.difference(held_ids) if not leak else features.train.index
    original = gbdt_cv.cross_validate_gbdt
    monkeypatch.setattr(production, "fit_gbdt", lambda f, log, c, s, mode, w: original(
        f.draws, log["target"], spec_type=log["SpecType"], mode=mode, test_features=f.test, n_splits=3, n_repeats=2,
        seed=s, params=MEMORISING, sample_weight=w, copies=f.copies))
    part = held_out_fold(dataset, features, features.train.loc[held_ids], rest_ids, cfg, seed=1)
    return roc_auc_score(dataset.train_log["target"].loc[held_ids], part.held_prob)


def test_a_planted_leak_is_caught_and_the_honest_path_has_none(monkeypatch):
    assert held_out_auc(monkeypatch, leak=True) > 0.75  # a fit that saw the held-out labels memorises them
    assert 0.3 < np.mean([held_out_auc(monkeypatch, leak=False, seed=s) for s in range(3)]) < 0.7


def test_no_fit_and_no_weight_sees_a_held_out_object_or_its_copies(monkeypatch):
    dataset, features = memorisable()
    held_ids = features.train.index[1::5]
    rest_ids = features.train.index.difference(held_ids)
    seen = []
    real_fit = gbdt_cv._fit
    monkeypatch.setattr(gbdt_cv, "_fit", lambda model, table, *a: seen.append(table.index) or real_fit(model, table, *a))
    weights = []
    real_weights = production.adversarial_sample_weights
    monkeypatch.setattr(production, "adversarial_sample_weights",
                        lambda f, cfg, seed: weights.append(real_weights(f, cfg, seed)) or weights[-1])
    part = held_out_fold(dataset, features, features.train.loc[held_ids], rest_ids, quick_cfg(), seed=3)
    assert seen and all(not index.isin(held_ids).any() for index in seen)
    sources = [i.split("~copy")[0] for index in seen for i in index if "~copy" in i]
    assert sources and not set(sources) & set(held_ids)
    assert weights[0].index.equals(rest_ids)  # weights for the training part only: the held-out part is unlabelled
    assert list(part.held_ids) == list(held_ids) and len(part.test_prob) == len(features.test)


def test_held_out_redshifts_keep_the_test_sets_error_at_their_redshift():
    rng = np.random.default_rng(0)
    test = pd.DataFrame({"Z": rng.uniform(0, 1, 400)})
    test["Z_err"] = 0.02 + 0.2 * test["Z"]  # errors grow with Z, as photometric ones do
    train = pd.DataFrame({"Z": rng.uniform(0.05, 0.95, 300)})
    z, sigma = perturbed_redshift_and_error(train, test, seed=production.HELD_OUT_DRAW)
    expected = 0.02 + 0.2 * train["Z"]
    assert np.abs(sigma - expected).max() < 0.2 * (NEIGHBOURS + 1) / len(test) * 1.5  # a neighbour's error
    pulls = (z - train["Z"]) / sigma
    assert abs(pulls.mean()) < 0.2 and 0.8 < pulls.std() < 1.2


def fold(oof_prob, oof_target, threshold, held_prob, test_prob):
    return HeldOutFold(np.array([f"h{i}" for i in range(len(held_prob))]), np.asarray(held_prob, float), threshold,
                       np.asarray(oof_prob, float), np.asarray(oof_target), np.asarray(test_prob, float))


def test_the_oof_threshold_rule_is_notebook_05s_cut():
    part = fold([0.1, 0.9], [0, 1], 0.37, [0.2, 0.5], [0.3])
    assert CUT_RULES["oof_threshold"](part) == 0.37


def test_the_rate_rule_flags_the_oof_share_of_the_unlabelled_objects():
    oof = np.linspace(0, 1, 100, endpoint=False)  # 10 of 100 above 0.9
    unlabelled = np.random.default_rng(1).uniform(size=1000)
    part = fold(oof, (oof > 0.95).astype(int), 0.9, unlabelled[:200], unlabelled[200:])
    cut = CUT_RULES["oof_rate"](part)
    assert np.mean(unlabelled >= cut) == pytest.approx(0.10, abs=0.002)


def test_the_prior_rule_keeps_the_cut_without_a_shift_and_lowers_it_for_more_positives():
    rng = np.random.default_rng(2)
    target = (rng.uniform(size=4000) < 0.1).astype(int)
    prob = np.clip(np.where(target == 1, rng.normal(0.7, 0.15, 4000), rng.normal(0.3, 0.15, 4000)), 0.001, 0.999)
    same = fold(prob, target, 0.5, prob[:1000], prob[1000:])
    assert CUT_RULES["prior_corrected"](same) == pytest.approx(best_threshold(target, prob)[0], abs=0.03)
    positives = prob[target == 1]
    richer = np.r_[prob, np.repeat(positives, 3)]  # three times the positives among the unlabelled
    shifted = fold(prob, target, 0.5, richer[:1000], richer[1000:])
    assert CUT_RULES["prior_corrected"](shifted) < CUT_RULES["prior_corrected"](same) - 0.02


def test_the_bagged_cut_sits_in_the_gap_of_separable_scores_and_moves_less_than_one_best_cut():
    separable = np.r_[np.linspace(0.0, 0.4, 200), np.linspace(0.6, 1.0, 20)]
    target = np.r_[np.zeros(200), np.ones(20)].astype(int)
    assert 0.4 < CUT_RULES["bagged"](fold(separable, target, 0.5, [0.5], [0.5])) < 0.6
    rng = np.random.default_rng(4)
    single, bagged = [], []
    for _ in range(8):  # noisy OOF rows from one score model: the bagged cut varies less between draws
        target = (rng.uniform(size=600) < 0.1).astype(int)
        prob = np.clip(rng.normal(0.3 + 0.3 * target, 0.15), 0.001, 0.999)
        single.append(best_threshold(target, prob)[0])
        bagged.append(CUT_RULES["bagged"](fold(prob, target, 0.5, [0.5], [0.5])))
    assert np.std(bagged) < np.std(single)


def test_the_calibrated_half_cut_is_half_the_best_f1_on_calibrated_scores():
    rng = np.random.default_rng(5)
    prob = rng.beta(0.5, 6, 20000)
    target = (rng.uniform(size=prob.size) < prob).astype(int)  # calibrated: P(TDE | score) = score
    best_f1 = best_threshold(target, prob)[1]
    assert CUT_RULES["calibrated_half"](fold(prob, target, 0.5, [0.5], [0.5])) == pytest.approx(best_f1 / 2, abs=0.02)
    squashed = prob ** 2  # the same ranking, miscalibrated: the cut follows the scores
    cut = CUT_RULES["calibrated_half"](fold(squashed, target, 0.5, [0.5], [0.5]))
    assert cut == pytest.approx((best_f1 / 2) ** 2, abs=0.02)


def test_the_weighted_cut_with_unit_weights_is_the_f1_best_cut():
    rng = np.random.default_rng(3)
    target = (rng.uniform(size=500) < 0.2).astype(int)
    prob = rng.uniform(size=500) * 0.6 + 0.4 * target
    assert _weighted_best_threshold(target, prob, np.ones(500)) == pytest.approx(best_threshold(target, prob)[0])


def test_metrics_pool_every_held_out_part_of_a_seed():
    ids = pd.Index(["a", "b", "c", "d"])
    estimate = ProductionEstimate(pd.Series(["TDE", "AGN", "TDE", "SN IIn"], index=ids), pd.Series([1, 0, 1, 0], index=ids))
    estimate.folds[0] = [HeldOutFold(np.array(["a", "b"]), np.array([0.9, 0.6]), 0.5, np.zeros(1), np.zeros(1), np.zeros(1)),
                         HeldOutFold(np.array(["c", "d"]), np.array([0.4, 0.2]), 0.3, np.zeros(1), np.zeros(1), np.zeros(1))]
    metrics = estimate.seed_metrics(0)
    assert (metrics["true_positives"], metrics["false_positives"]) == (2, 1)
    assert metrics["precision"] == pytest.approx(2 / 3) and metrics["recall"] == 1.0
    assert metrics["flagged_fraction"] == 0.75
    assert estimate.flag_rates().loc["AGN", "share"] == 1.0 and estimate.flag_rates().loc["SN IIn", "share"] == 0.0


def test_a_seed_with_some_parts_held_out_is_measured_on_those_objects_only():
    ids = pd.Index(["a", "b", "c", "d"])
    estimate = ProductionEstimate(pd.Series(["TDE", "AGN", "TDE", "SN IIn"], index=ids), pd.Series([1, 0, 1, 0], index=ids))
    estimate.folds[0] = [HeldOutFold(np.array(["a", "b"]), np.array([0.9, 0.2]), 0.5, np.zeros(1), np.zeros(1), np.zeros(1))]
    metrics = estimate.seed_metrics(0)  # c (a TDE) and d were not held out: neither a miss nor a true negative
    assert (metrics["true_positives"], metrics["false_positives"], metrics["recall"]) == (1, 0, 1.0)
    assert metrics["flagged_fraction"] == 0.5 and metrics["average_precision"] == 1.0
    rates = estimate.flag_rates()
    assert set(rates.index) == {"TDE", "AGN"} and rates.loc["TDE", "objects"] == 1


def test_parts_are_stored_one_by_one_and_read_back(monkeypatch, tmp_path):
    dataset, features = memorisable()
    dataset.fingerprint = "synthetic"
    calls = []

    def fake_fold(ds, f, held, rest_ids, cfg, seed):
        calls.append(len(held))
        return HeldOutFold(held.index.to_numpy(), np.linspace(0, 1, len(held)), 0.5, np.zeros(1), np.zeros(1), np.zeros(1))

    monkeypatch.setattr(production, "load_gbdt_features", lambda *a: features)
    monkeypatch.setattr(production, "held_out_features", lambda ds, s, cfg, g: features.train)
    monkeypatch.setattr(production, "held_out_fold", fake_fold)
    cfg = quick_cfg()
    one = production.production_estimate(dataset, cfg, outer_seeds=[0, 1], parts=1, store=tmp_path)
    assert len(calls) == 2 and [len(one.folds[s]) for s in (0, 1)] == [1, 1]
    assert sum(len(p.held_ids) for p in one.folds[0]) == pytest.approx(len(features.train) / 5, abs=2)
    every = production.production_estimate(dataset, cfg, outer_seeds=[0, 1], store=tmp_path)
    assert len(calls) == 2 + 8  # the stored first parts are read back, the other four of each seed computed
    assert np.array_equal(every.folds[0][0].held_ids, one.folds[0][0].held_ids)
    assert sorted(np.concatenate([p.held_ids for p in every.folds[1]])) == sorted(features.train.index)
    with pytest.raises(ValueError, match="parts must be between 1 and n_folds"):
        production.production_estimate(dataset, cfg, outer_seeds=[0], parts=6)


def test_cut_rules_are_compared_paired_by_seed():
    ids = pd.Index(list("abcd"))
    estimate = ProductionEstimate(pd.Series(["TDE", "AGN", "TDE", "SN Ia"], index=ids), pd.Series([1, 0, 1, 0], index=ids))
    for seed, b_prob in ((0, 0.55), (1, 0.65)):
        # the OOF threshold 0.5 flags the AGN b at both seeds; the rate rule flags half of the 8 unlabelled scores
        # (as half of the OOF rows pass 0.5): its cut is 0.8, which keeps a and c only
        estimate.folds[seed] = [HeldOutFold(ids.to_numpy(), np.array([0.9, b_prob, 0.8, 0.1]), 0.5,
                                            np.array([0.9, 0.6, 0.2, 0.1]), np.array([1, 1, 0, 0]),
                                            np.array([0.95, 0.85, 0.3, 0.2]))]
    table = compare_rules(estimate)
    assert table.loc["oof_threshold", "f1"] == pytest.approx(0.8)
    assert table.loc["oof_rate", "f1"] == 1.0 and table.loc["oof_rate", "Δf1"] == pytest.approx(0.2)
    assert table.loc["oof_rate", "Δf1 se"] == pytest.approx(0.0)


def test_variants_are_compared_paired_by_seed():
    ids = pd.Index(list("abcd"))

    def estimate(agn_prob):
        e = ProductionEstimate(pd.Series(["TDE", "AGN", "TDE", "SN Ia"], index=ids), pd.Series([1, 0, 1, 0], index=ids))
        for seed in (0, 1):
            e.folds[seed] = [HeldOutFold(ids.to_numpy(), np.array([0.9, agn_prob, 0.8, 0.1]), 0.5, np.zeros(1),
                                         np.zeros(1), np.zeros(1))]
        return e

    table = compare({"flags the AGN": estimate(0.6), "does not": estimate(0.4)})
    assert list(table.index) == ["flags the AGN", "does not"] and np.isnan(table.loc["flags the AGN", "Δf1"])
    assert table.loc["does not", "Δf1"] == pytest.approx(0.2) and table.loc["does not", "Δprecision"] == pytest.approx(1 / 3)
    assert table.loc["does not", "Δf1 se"] == 0.0


def test_outer_strata_pool_the_rare_spectypes():
    spec = pd.Series(["TDE"] * 20 + ["AGN"] * 30 + ["SLSN-I"] * 3 + ["SN Ib"] * 2)
    strata = outer_strata(spec)
    assert set(strata) == {"TDE", "AGN", "rare"}


def test_lookalike_weight_and_grouping_reach_the_gbdt(monkeypatch):
    import utils.steps.gbdt as steps_gbdt
    from utils.classes import lookalike_group

    seen = {}
    monkeypatch.setattr(steps_gbdt, "cross_validate_gbdt", lambda *a, **k: seen.update(k))
    ids = pd.Index(["a", "b", "c"])
    log = pd.DataFrame({"SpecType": ["TDE", "SN IIn", "AGN"], "target": [1, 0, 0]}, index=ids)
    features = GBDTFeatures(pd.DataFrame({"x": [1.0, 2, 3]}, index=ids), None, [], None, 0.0)
    cfg = notebook05_settings("quick", lookalike_weight=3.0, class_groups="lookalike")
    steps_gbdt.fit_gbdt(features, log, cfg, 0, "multiclass", pd.Series([1.0, 0.5, 2.0], index=ids))
    assert seen["sample_weight"].tolist() == [1.0, 1.5, 2.0] and seen["groups"] is lookalike_group
    steps_gbdt.fit_gbdt(features, log, notebook05_settings("quick", lookalike_weight=2.0), 0, "multiclass", None)
    assert seen["sample_weight"].tolist() == [1.0, 2.0, 1.0]
    with pytest.raises(ValueError, match="class_groups must be one of"):
        notebook05_settings("quick", class_groups="colours")


def test_the_specialist_mode_is_a_binary_gbdt_that_learns_from_tdes_and_look_alikes_only(monkeypatch):
    import utils.steps.gbdt as steps_gbdt

    seen = {}
    monkeypatch.setattr(steps_gbdt, "cross_validate_gbdt", lambda *a, **k: seen.update(k))
    ids = pd.Index(["a", "b", "c", "d", "e"])
    log = pd.DataFrame({"SpecType": ["TDE", "SN IIn", "AGN", "SN Ia", "SLSN-I"], "target": [1, 0, 0, 0, 0]}, index=ids)
    features = GBDTFeatures(pd.DataFrame({"x": [1.0, 2, 3, 4, 5]}, index=ids), None, [], None, 0.0)
    steps_gbdt.fit_gbdt(features, log, notebook05_settings("quick"), 0, "specialist", None)
    assert seen["mode"] == "binary" and seen["fit_on"].tolist() == [True, True, True, False, True]
    steps_gbdt.fit_gbdt(features, log, notebook05_settings("quick"), 0, "multiclass", None)
    assert seen["mode"] == "multiclass" and seen["fit_on"] is None
    assert steps_gbdt.gbdt_member_name("specialist") == "gbdt_specialist"
    with pytest.raises(ValueError, match="modes must be a non-empty list of"):
        notebook05_settings("quick", modes=["multiclass", "expert"])
    assert notebook05_settings("quick", modes="multiclass+specialist")["modes"] == ["multiclass", "specialist"]

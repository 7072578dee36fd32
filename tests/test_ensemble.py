"""Blending: any subset of members, weights that find the good member, and no peeking across folds."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from utils.errors import DataError
from utils.evaluation.blend import METHODS, align_members, cross_validated_blend, fit_blender, logit, weight_grid
from utils.evaluation.metrics import best_threshold


def members(n=300, seed=0):
    rng = np.random.default_rng(seed)
    target = pd.Series((rng.random(n) < 0.2).astype(int), index=[f"o{i}" for i in range(n)])
    good = np.clip(0.1 + 0.7 * target + rng.normal(0, 0.15, n), 0.01, 0.99)
    weak = np.clip(0.3 + 0.2 * target + rng.normal(0, 0.25, n), 0.01, 0.99)
    noise = rng.uniform(0.01, 0.99, n)
    return pd.DataFrame({"gbdt": good, "cnn": weak, "transformer": noise}, index=target.index), target


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("subset", [["gbdt"], ["cnn"], ["gbdt", "cnn"], ["gbdt", "transformer"],
                                    ["gbdt", "cnn", "transformer"]])
def test_any_subset_of_members_blends(method, subset):
    probabilities, target = members()
    blended = cross_validated_blend(probabilities[subset], target, method)
    assert blended.index.equals(probabilities.index)
    blender = fit_blender(probabilities[subset], target, method)
    assert blender.members == tuple(subset)
    # A sigmoid is always within [0, 1], so the check is that the blend carries its members' signal: ranked well
    # above chance (AUC 0.5; the noise member alone 0.52, the weakest informative one 0.69). NaN fails here too.
    for scores in (blended, blender.predict(probabilities[subset])):
        assert roc_auc_score(target, scores) > 0.65


def test_a_single_member_passes_through_unchanged():
    probabilities, target = members()
    blender = fit_blender(probabilities[["cnn"]], target, "weights")
    assert blender.predict(probabilities).to_numpy() == pytest.approx(probabilities["cnn"].to_numpy())


@pytest.mark.parametrize("method", ["weights", "f1"])
def test_weights_favour_the_informative_member(method):
    probabilities, target = members()
    weights = fit_blender(probabilities, target, method).describe()["weights"]
    assert weights["gbdt"] >= 0.6 and weights["transformer"] <= 0.1


def test_each_weights_method_maximises_its_own_score():
    """`top` ranks 9 of 10 positives first and 1 last (best F1); `broad` ranks 8 positives, 2 negatives,
    then 2 positives (best AP). The 'f1' blend must reach at least the F1 of the 'weights' blend and
    vice versa for AP, and here they disagree."""
    n = 100
    target = pd.Series(np.r_[np.ones(10), np.zeros(n - 10)].astype(int), index=[f"o{i}" for i in range(n)])
    top_order = [*range(9), *range(10, n), 9]  # object 9, a positive, ranked last
    broad_order = [*range(8), 10, 11, 8, 9, *range(12, n)]
    rank_score = lambda order: pd.Series(np.linspace(0.99, 0.01, n), index=target.index[order])
    probabilities = pd.DataFrame({"top": rank_score(top_order), "broad": rank_score(broad_order)}).reindex(target.index)
    by_f1, by_ap = (fit_blender(probabilities, target, m) for m in ("f1", "weights"))
    f1_of = lambda blender: best_threshold(target, blender.predict(probabilities))[1]
    ap_of = lambda blender: average_precision_score(target, blender.predict(probabilities))
    assert f1_of(by_f1) >= f1_of(by_ap) and ap_of(by_ap) >= ap_of(by_f1)
    assert by_f1.describe()["weights"] != by_ap.describe()["weights"]


def test_each_fold_is_blended_by_a_blender_that_never_saw_it():
    probabilities, target = members()
    blended = cross_validated_blend(probabilities, target, "logistic", n_splits=5, seed=7)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=7).split(np.zeros(len(target)), target)
    for fit_rows, score_rows in folds:
        # A blender fitted with the scored fold removed entirely gives exactly the same scores.
        outside = fit_blender(probabilities.iloc[fit_rows], target.iloc[fit_rows], "logistic")
        assert blended.iloc[score_rows].to_numpy() == pytest.approx(
            outside.predict(probabilities.iloc[score_rows]).to_numpy())


def test_repeated_splits_average_blenders_that_never_saw_the_object():
    probabilities, target = members()
    blended = cross_validated_blend(probabilities, target, "f1", n_splits=5, seed=3, n_repeats=3)
    expected = np.zeros(len(target))
    for seed in (3, 4, 5):
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed).split(np.zeros(len(target)), target)
        for fit_rows, score_rows in folds:
            outside = fit_blender(probabilities.iloc[fit_rows], target.iloc[fit_rows], "f1")
            expected[score_rows] += outside.blended_logits(probabilities.iloc[score_rows]) / 3
    assert logit(blended.to_numpy()) == pytest.approx(expected)
    assert not np.allclose(blended, cross_validated_blend(probabilities, target, "f1", n_splits=5, seed=3))


def test_weight_grid_and_logit():
    grid = weight_grid(3, 0.5)
    assert grid.sum(axis=1) == pytest.approx(np.ones(len(grid))) and len(grid) == 6
    assert np.isfinite(logit(np.array([0.0, 1.0]))).all()


def test_no_members_or_no_shared_ids_is_an_error():
    probabilities, target = members()
    with pytest.raises(DataError, match="no ensemble members"):
        align_members({})
    with pytest.raises(DataError, match="share no object_id"):
        align_members({"a": probabilities["gbdt"].iloc[:10], "b": probabilities["cnn"].iloc[10:20]})
    with pytest.raises(DataError, match="absent"):
        fit_blender(probabilities, target, "mean").predict(probabilities[["gbdt"]])
    with pytest.raises(ValueError, match="blend method"):
        fit_blender(probabilities, target, "median")


def test_align_members_keeps_the_shared_ids():
    probabilities, _ = members()
    table = align_members({"gbdt": probabilities["gbdt"], "cnn": probabilities["cnn"].iloc[:50]})
    assert list(table.columns) == ["gbdt", "cnn"] and len(table) == 50


def _members_for_selection(seed: int = 0, n: int = 600, positives: int = 60) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(positives), np.zeros(n - positives)].astype(int)
    ids = [f"o{i}" for i in range(n)]

    def noisy_view() -> np.ndarray:
        return 1 / (1 + np.exp(-(2.0 * y - 2.0 + rng.normal(0, 1.2, n))))

    table = pd.DataFrame({"gbdt": noisy_view(), "helpful": noisy_view(), "useless": rng.uniform(0.01, 0.99, n)},
                         index=ids)
    return table, pd.Series(y, index=ids)


def test_select_members_keeps_an_independent_view_and_drops_noise():
    from utils.evaluation.blend import select_members

    table, target = _members_for_selection()
    kept, decisions = select_members(table, target, "f1", anchor="gbdt", seed=0, n_splits_seeds=5)
    assert kept == ["gbdt", "helpful"]
    assert decisions["member tested"].iloc[0] == "useless" and decisions["decision"].iloc[0].startswith("drop")
    assert decisions["decision"].iloc[-1].startswith("keep helpful")


def test_select_members_never_drops_the_anchor_and_checks_it_exists():
    from utils.evaluation.blend import select_members

    table, target = _members_for_selection()
    kept, decisions = select_members(table[["gbdt", "useless"]], target, "f1", anchor="gbdt", n_splits_seeds=3)
    assert kept == ["gbdt"] and decisions["decision"].iloc[-1] == "gbdt alone"
    with pytest.raises(DataError, match="anchor member 'cnn'"):
        select_members(table, target, "f1", anchor="cnn")

"""Thresholds: the nested choice never sees the fold it scores; F1 curves and summaries."""

import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from utils.evaluation.metrics import (best_threshold, f1_at, f1_by_threshold, honest_summary,
                                      nested_threshold_predictions)


def scores(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    return y, np.clip(0.2 + 0.5 * y + rng.normal(0, 0.2, n), 0, 1)


def test_nested_threshold_of_a_fold_comes_from_the_other_folds_only():
    y, prob = scores()
    _, thresholds = nested_threshold_predictions(y, prob, n_splits=5, seed=3)
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=3).split(prob, y))
    for fit_rows, score_rows in folds:
        expected, _ = best_threshold(y[fit_rows], prob[fit_rows])
        assert thresholds[score_rows] == pytest.approx(expected)
        # Scrambling the scored fold's scores leaves its threshold untouched.
        scrambled = prob.copy()
        scrambled[score_rows] = np.random.default_rng(0).random(len(score_rows))
        _, again = nested_threshold_predictions(y, scrambled, n_splits=5, seed=3)
        assert again[score_rows] == pytest.approx(thresholds[score_rows])


def test_best_threshold_separates_separable_scores():
    y = np.array([0, 0, 0, 1, 1])
    prob = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    threshold, f1 = best_threshold(y, prob)
    assert f1 == 1.0 and 0.3 < threshold <= 0.7
    assert f1_at(y, prob, threshold) == 1.0


def test_f1_by_threshold_matches_sklearn_and_hand_counts():
    y, prob = scores()
    grid = np.r_[np.linspace(0.0, 1.0, 21), prob[:5]]  # and cuts exactly at scores: prob >= cut predicts 1
    expected = [f1_score(y, (prob >= t).astype(int), zero_division=0.0) for t in grid]
    assert f1_by_threshold(y, prob, grid) == pytest.approx(expected, abs=1e-12)
    # By hand: 3 positives; at 0.5, 2 of them and no negative (2·2/(2·2+0+1)); at 0.3, 3 and a negative (6/7);
    # at 0.05 all five (6/8); at 0.35 the positive scored 0.35 counts; above every score, nothing (0).
    y = np.array([0, 0, 1, 1, 1])
    prob = np.array([0.1, 0.4, 0.35, 0.8, 0.9])
    assert f1_by_threshold(y, prob, [0.5, 0.3, 0.05, 0.35, 0.95]) == pytest.approx([0.8, 6 / 7, 0.75, 6 / 7, 0.0])
    assert f1_at(y, prob, 0.5) == pytest.approx(0.8)


def test_honest_summary_is_not_above_the_oof_optimised_f1_on_average():
    nested, optimised = [], []
    for seed in range(5):
        y, prob = scores(seed=seed)
        summary = honest_summary(y, prob, seed=seed)
        nested.append(summary["f1"])
        optimised.append(summary["f1_oof_optimised"])
    assert np.mean(nested) <= np.mean(optimised)


def test_repeated_nested_f1_is_the_mean_over_split_seeds():
    y, prob = scores()
    single = [honest_summary(y, prob, seed=s)["f1"] for s in range(4)]
    repeated = honest_summary(y, prob, seed=0, repeats=4)
    assert repeated["f1"] == pytest.approx(np.mean(single))
    assert repeated["f1_nested_std"] == pytest.approx(np.std(single))
    assert isinstance(honest_summary(y, prob)["tp"], int)

"""Fold alignment: fold networks that differ only in scale end up on one scale, keeping their order."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from utils.evaluation.blend import logit, sigmoid
from utils.training.calibration import align_fold_scores, quantile_map


def folds_on_different_scales(n_oof=300, n_test=2000, seed=0):
    """Three 'networks' that all score the same latent z, each with its own affine map of the logits."""
    rng = np.random.default_rng(seed)
    z_test = rng.normal(0, 1.5, n_test)  # logits stay clear of the probability clipping at 1e-6
    z_oof = rng.uniform(-2.5, 2.5, n_oof)  # inside the test range, where the alignment is exact
    fold_of = np.arange(n_oof) % 3
    scale, shift = np.array([1.0, 0.5, 2.0]), np.array([-4.0, -1.0, 0.5])
    oof = sigmoid(scale[fold_of] * z_oof + shift[fold_of])
    test = sigmoid(scale[:, None] * z_test[None, :] + shift[:, None])
    return z_oof, z_test, fold_of, oof, test, scale, shift


def test_affinely_distorted_folds_are_mapped_onto_their_mean_scale():
    z_oof, z_test, fold_of, oof, test, scale, shift = folds_on_different_scales()
    aligned_oof, aligned_test = align_fold_scores(oof, fold_of, test)
    # The barycentre of affine images of one distribution is the mean affine image.
    assert logit(aligned_oof) == pytest.approx(scale.mean() * z_oof + shift.mean(), abs=0.02)
    assert logit(aligned_test) == pytest.approx(scale.mean() * z_test + shift.mean(), abs=1e-6)
    # Pooled, the raw scores rank the folds' objects against each other wrongly; the aligned ones do not.
    labels = z_oof > 1
    assert roc_auc_score(labels, oof) < 0.95 and roc_auc_score(labels, aligned_oof) == 1.0


def test_identical_folds_are_left_alone():
    rng = np.random.default_rng(1)
    test = np.tile(rng.uniform(0.01, 0.99, 500), (4, 1))
    oof = rng.uniform(0.05, 0.95, 100)
    aligned_oof, aligned_test = align_fold_scores(oof, np.arange(100) % 4, test)
    assert aligned_oof == pytest.approx(oof, abs=1e-3) and aligned_test == pytest.approx(test[0])


def test_each_fold_keeps_its_order_even_beyond_the_test_range():
    source = np.array([-2.0, 0.0, 2.0])
    target = np.array([-5.0, -4.0, 1.0])
    values = np.array([-10.0, -3.0, -1.0, 1.0, 3.0, 9.0])
    mapped = quantile_map(values, source, target)
    assert np.all(np.diff(mapped) > 0)
    assert mapped[[0, 1, 4, 5]] == pytest.approx([-13.0, -6.0, 2.0, 8.0])  # slope 1 past the ends
    assert mapped[[2, 3]] == pytest.approx([-4.5, -1.5])


def test_bad_shapes_and_fold_ids_are_named():
    _, _, fold_of, oof, test, _, _ = folds_on_different_scales()
    with pytest.raises(ValueError, match="every OOF row needs a fold in 0..1"):
        align_fold_scores(oof, fold_of, test[:2])
    with pytest.raises(ValueError, match="folds, test objects"):
        align_fold_scores(oof, fold_of, test[0])

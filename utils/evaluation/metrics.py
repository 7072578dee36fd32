"""F1 and decision thresholds, including a nested choice that never looks at the fold it scores."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve

from .folds import fold_count, stratified_folds


def f1_at(y_true: np.ndarray, prob: np.ndarray, threshold: float) -> float:
    """F1 of predicting 1 where prob >= threshold."""
    y_true = np.asarray(y_true).astype(bool)
    pred = np.asarray(prob) >= threshold
    tp = np.sum(pred & y_true)
    denominator = pred.sum() + y_true.sum()
    return float(2 * tp / denominator) if denominator else 0.0


def best_threshold(y_true: np.ndarray, prob: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 on these labels; the threshold sits midway between scores."""
    y_true = np.asarray(y_true).astype(int)
    prob = np.asarray(prob, dtype=float)
    if y_true.sum() == 0:
        return 0.5, 0.0
    precision, recall, thresholds = precision_recall_curve(y_true, prob)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1]))
    # Midway to the next lower score keeps the choice stable against ties and tiny shifts.
    lower = prob[prob < thresholds[best]]
    threshold = float((thresholds[best] + lower.max()) / 2) if len(lower) else float(thresholds[best])
    return threshold, float(f1[best])


def nested_threshold_predictions(y_true: np.ndarray, prob: np.ndarray, n_splits: int = 5,
                                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Honest 0/1 predictions: each fold is thresholded at the F1-best cut of the other folds.

    Returns (predictions, per-row threshold used). The fold being scored never influences its cut.
    """
    y_true = np.asarray(y_true).astype(int)
    prob = np.asarray(prob, dtype=float)
    predictions = np.zeros(len(y_true), dtype=int)
    thresholds = np.zeros(len(y_true))
    for fit_rows, score_rows in stratified_folds(y_true, fold_count(y_true, n_splits), seed):
        threshold, _ = best_threshold(y_true[fit_rows], prob[fit_rows])
        predictions[score_rows] = prob[score_rows] >= threshold
        thresholds[score_rows] = threshold
    return predictions, thresholds


def binary_summary(y_true: np.ndarray, prob: np.ndarray, threshold: float) -> dict[str, float]:
    """F1, precision, recall, average precision and counts at a given threshold."""
    y_true = np.asarray(y_true).astype(bool)
    pred = np.asarray(prob) >= threshold
    tp, fp, fn = int(np.sum(pred & y_true)), int(np.sum(pred & ~y_true)), int(np.sum(~pred & y_true))
    return {
        "f1": f1_at(y_true, prob, threshold),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "average_precision": float(average_precision_score(y_true, prob)) if y_true.any() else 0.0,
        "threshold": float(threshold),
        "tp": tp, "fp": fp, "fn": fn,
    }


def honest_summary(y_true: np.ndarray, prob: np.ndarray, seed: int = 0, repeats: int = 1) -> dict[str, float]:
    """Scores of OOF probabilities, both ways, saying which is which.

    * `f1`, `precision`, `recall`: nested thresholds (each fold cut by the others): the honest figure,
      averaged over `repeats` fold splits (seeds seed, seed+1, ...) to tame the split's luck;
      `f1_nested_std` is its spread over those splits.
    * `f1_oof_optimised`: F1 at the single threshold that is best on all OOF rows (optimistic).
    * `threshold`: that single best threshold, the one to apply to the test set.
    """
    y_true = np.asarray(y_true).astype(bool)
    nested = []
    for repeat in range(max(1, repeats)):
        predictions, _ = nested_threshold_predictions(y_true, prob, seed=seed + repeat)
        nested.append(binary_summary(y_true, predictions.astype(float), 0.5))
    threshold, f1_optimised = best_threshold(y_true, prob)
    mean = {key: float(np.mean([n[key] for n in nested])) for key in ("f1", "precision", "recall", "tp")}
    return {
        "f1": mean["f1"], "precision": mean["precision"], "recall": mean["recall"],
        "tp": int(mean["tp"]) if len(nested) == 1 else mean["tp"],
        "f1_nested_std": float(np.std([n["f1"] for n in nested])),
        "average_precision": float(average_precision_score(y_true, prob)) if y_true.any() else 0.0,
        "f1_oof_optimised": f1_optimised, "threshold": threshold,
        "threshold_method": f"nested 5-fold F1-optimal cut for scores (mean of {max(1, repeats)} splits); "
                            "full-OOF F1-optimal cut for test",
    }


def f1_by_threshold(y_true: np.ndarray, prob: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """F1 at each threshold (for F1-vs-threshold plots)."""
    return np.array([f1_at(y_true, prob, t) for t in np.asarray(thresholds, dtype=float)])

"""Stratified K-fold training: out-of-fold probabilities, a fold-averaged test prediction, checkpoints.

With settings['align_folds'] the fold networks' scores are put on one scale (calibration.py) before the
OOF rows are pooled and the test predictions averaged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from ..metrics import best_threshold, binary_summary, honest_summary
from ..progress import progress_line
from .arrays import FeatureScaler, LightCurveArrays
from .calibration import align_fold_scores
from .fit import DeepClassifier


@dataclass
class CVResult:
    oof: pd.DataFrame  # object_id, target, prob, fold (rows of the folds that ran)
    test_prob: np.ndarray | None  # mean over folds (aligned ones with settings['align_folds']), when every fold ran
    folds: pd.DataFrame  # per fold: F1, precision, recall, AP, threshold (never chosen on that fold)
    history: pd.DataFrame  # fold, seed, epoch, loss, val_ap, seconds
    summary: dict | None  # honest_summary of the OOF probabilities when every fold ran
    seconds: float

    @property
    def complete(self) -> bool:
        return self.summary is not None


def fold_splits(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, shuffled (train rows, validation rows) pairs."""
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros(len(y)), y))


def checkpoint_path(out_dir: str | Path, model: str, fold: int) -> Path:
    return Path(out_dir) / "models" / model / f"fold{fold}" / "best_model.pt"


def cross_validate(settings: Mapping[str, Any], train: LightCurveArrays, y: np.ndarray, aux: np.ndarray | None = None,
                   test: LightCurveArrays | None = None, *, scaler: FeatureScaler | None = None,
                   out_dir: str | Path | None = None, progress: bool = False) -> CVResult:
    """Train on K-1 folds, predict the held-out fold (and test); settings['fold'] = k runs fold k only.

    With `out_dir`, each fold's classifier goes to out_dir/models/<model>/fold<k>/best_model.pt.
    """
    started = time.perf_counter()
    y = np.asarray(y).astype(int)
    splits = fold_splits(y, settings["n_folds"], settings["cv_seed"])
    chosen = range(len(splits)) if settings["fold"] is None else [int(settings["fold"])]
    oof = np.full(len(y), np.nan)
    fold_of = np.full(len(y), -1)
    test_probs, histories = [], []
    for k in chosen:
        train_rows, val_rows = splits[k]
        classifier = DeepClassifier(settings, scaler).fit(
            train.subset(train_rows), y[train_rows], aux[train_rows] if aux is not None else None,
            seed=settings["seed"] + k, progress=progress, description=f"{settings['model']} fold {k}")
        oof[val_rows] = classifier.predict_proba(train.subset(val_rows))
        fold_of[val_rows] = k
        if test is not None:
            test_probs.append(classifier.predict_proba(test))
        if out_dir is not None:
            classifier.save(checkpoint_path(out_dir, settings["model"], k), fold=k)
        for bag, history in enumerate(classifier.histories):
            histories.append(pd.DataFrame(history).assign(fold=k, seed=bag))
        progress_line(f"{settings['model']} fold {k} done ({k + 1}/{len(splits)} folds, "
                      f"{time.perf_counter() - started:.0f} s)")
    ran = fold_of >= 0
    complete = bool(ran.all())
    test_prob = None
    if complete and test_probs and settings["align_folds"]:
        oof, test_prob = align_fold_scores(oof, fold_of, np.array(test_probs))
    elif complete and test_probs:
        test_prob = np.mean(test_probs, axis=0)
    oof_frame = pd.DataFrame({"object_id": train.object_ids[ran], "target": y[ran], "prob": oof[ran],
                              "fold": fold_of[ran]})
    return CVResult(
        oof=oof_frame,
        test_prob=test_prob,
        folds=fold_table(oof_frame),
        history=pd.concat(histories, ignore_index=True) if histories else pd.DataFrame(),
        summary=honest_summary(y, oof) if complete else None,
        seconds=time.perf_counter() - started,
    )


def fold_table(oof: pd.DataFrame) -> pd.DataFrame:
    """Per fold: scores at the F1-best threshold of the *other* folds' OOF rows (or of the fold itself,
    flagged 'own fold (optimistic)', when only one fold ran)."""
    rows = []
    for k, part in oof.groupby("fold"):
        others = oof[oof.fold != k]
        if len(others) and others.target.any():
            threshold, source = best_threshold(others.target, others.prob)[0], "other folds"
        else:
            threshold, source = best_threshold(part.target, part.prob)[0], "own fold (optimistic)"
        scores = binary_summary(part.target, part.prob, threshold)
        rows.append({"fold": k, "n": len(part), "tde": int(part.target.sum()), "f1": scores["f1"],
                     "precision": scores["precision"], "recall": scores["recall"],
                     "average_precision": scores["average_precision"], "threshold": threshold,
                     "threshold_from": source})
    return pd.DataFrame(rows)

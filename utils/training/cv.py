"""Stratified K-fold training: out-of-fold probabilities, a fold-averaged test prediction, checkpoints.

With settings['align_folds'] the fold networks' scores are put on one scale (calibration.py) before the
OOF rows are pooled and the test predictions averaged.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import torch

from ..evaluation.cv_result import CVResult, FoldAlignment, fold_table
from ..evaluation.folds import stratified_folds
from ..evaluation.metrics import honest_summary
from ..progress import progress_line
from .arrays import FeatureScaler, LightCurveArrays
from .calibration import align_fold_scores, save_fold_alignment  # the alignment is kept next to the checkpoints
from .distill import cached_teacher_probabilities
from .fit import DeepClassifier
from .prepare import distils
from .pretrain import pretrained_encoder


def teacher_threads(settings: Mapping[str, Any]) -> int:
    """The teacher's LightGBM threads: as many as the network's torch uses (`threads`, else torch's own count, which
    follows OMP_NUM_THREADS, one per core otherwise). The teacher and the network take turns, never both at once."""
    return int(settings["threads"] or torch.get_num_threads())


def checkpoint_path(out_dir: str | Path, model: str, fold: int) -> Path:
    return Path(out_dir) / "models" / model / f"fold{fold}" / "best_model.pt"


def cross_validate_network(settings: Mapping[str, Any], train: LightCurveArrays, y: np.ndarray, aux: np.ndarray | None = None,
                   test: LightCurveArrays | None = None, *, scaler: FeatureScaler | None = None,
                   out_dir: str | Path | None = None, progress: bool = False,
                   unlabelled: LightCurveArrays | None = None,
                   teacher_features: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> CVResult:
    """Train on K-1 folds, predict the held-out fold (and test); settings['fold'] = k runs fold k only.

    With `out_dir`, each fold's classifier goes to out_dir/models/<model>/fold<k>/best_model.pt.
    With settings['pretrain'], every fold network starts from the encoder pretrained (once, cached) on the
    light curves of `train` and `unlabelled` (default: `test`) without labels; its copy goes to
    out_dir/models/<model>/. `unlabelled` lets a run that predicts no test set still pretrain on it.
    With settings['distill_weight'] > 0, each fold's networks also learn the unlabelled light curves' soft
    labels from a GBDT fitted on that fold's training rows of `teacher_features` = (features of `train`'s
    objects, of the unlabelled objects), both in the arrays' order (distill.py); with
    settings['distill_teacher'] = 'multiclass' that GBDT learns `aux`'s class groups.
    """
    started = time.perf_counter()
    y = np.asarray(y).astype(int)
    splits = stratified_folds(y, settings["n_folds"], settings["cv_seed"])
    chosen = range(len(splits)) if settings["fold"] is None else [int(settings["fold"])]
    oof = np.full(len(y), np.nan)
    fold_of = np.full(len(y), -1)
    test_probs, histories = [], []
    unlabelled = test if unlabelled is None else unlabelled
    distil = distils(settings)
    if distil:
        _check_teacher_features(teacher_features, train, unlabelled)
    if settings["distill_teacher"] not in ("binary", "multiclass"):
        raise ValueError(f"distill_teacher must be 'binary' or 'multiclass', not {settings['distill_teacher']!r}")
    teacher_groups = None
    if distil and settings["distill_teacher"] == "multiclass":
        if aux is None:
            raise ValueError("distill_teacher='multiclass' needs each training object's class group (`aux`)")
        teacher_groups = np.asarray(aux)
    pretrained = (pretrained_encoder(settings, train, unlabelled, out_dir=out_dir, progress=progress)
                  if settings["pretrain"] else None)
    for k in chosen:
        train_rows, val_rows = splits[k]
        soft_targets = (cached_teacher_probabilities(
            teacher_features[0].iloc[train_rows], y[train_rows], teacher_features[1], seed=settings["seed"] + k,
            groups=teacher_groups[train_rows] if teacher_groups is not None else None,
            n_jobs=teacher_threads(settings)) if distil else None)
        classifier = DeepClassifier(settings, scaler).fit(
            train.subset(train_rows), y[train_rows], aux[train_rows] if aux is not None else None,
            seed=settings["seed"] + k, pretrained=pretrained, progress=progress,
            description=f"{settings['model']} fold {k}",
            unlabelled=unlabelled if distil else None, soft_targets=soft_targets)
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
    alignment = None
    if complete and test_probs and settings["align_folds"]:
        alignment = FoldAlignment.from_test_probabilities(np.array(test_probs))
    result = CVResult(
        object_ids=train.object_ids[ran], target=y[ran], oof_prob=oof[ran],
        test_ids=test.object_ids if test is not None else None, test_prob=test_prob,
        folds=fold_table(pd.DataFrame({"prob": oof[ran], "target": y[ran], "fold": fold_of[ran]})),
        summary=honest_summary(y, oof) if complete else None,
        seconds=time.perf_counter() - started,
        settings=dict(settings),
        fold_of=fold_of[ran],
        history=pd.concat(histories, ignore_index=True) if histories else pd.DataFrame(),
        alignment=alignment,
    )
    if out_dir is not None and alignment is not None:
        save_fold_alignment(out_dir, settings["model"], alignment)
    return result


def _check_teacher_features(teacher_features: tuple[pd.DataFrame, pd.DataFrame] | None, train: LightCurveArrays,
                            unlabelled: LightCurveArrays | None) -> None:
    if unlabelled is None:
        raise ValueError("distill_weight > 0 needs unlabelled light curves (a test set or `unlabelled`)")
    if teacher_features is None:
        raise ValueError("distill_weight > 0 needs teacher_features (prepare_inputs returns them when it is set)")
    for table, arrays, name in zip(teacher_features, (train, unlabelled), ("training", "unlabelled")):
        if not np.array_equal(table.index.to_numpy(), arrays.object_ids):
            raise ValueError(f"teacher_features: the {name} table's object_ids differ from its light curves' "
                             "(same objects, same order expected)")

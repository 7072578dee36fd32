"""One cross-validation result for every model (the GBDTs in utils.gbdt, the networks in utils.training.cv).

Common to all: the scored training objects with their OOF probability (and, for single-split CV, the fold
that scored them), the test objects with their probability, a per-fold table, the honest summary, the run
time and the settings. Model-specific extras are optional fields: GBDT importances, per-repeat OOF and the
refitted models; deep training histories and the learned fold alignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .blend import logit
from .metrics import best_threshold, binary_summary


@dataclass(frozen=True)
class FoldAlignment:
    """What `align_fold_scores` learned: each fold network's sorted test logits and the common quantile
    function (their mean), so the same monotone maps can be applied to objects scored later."""

    sorted_logits: np.ndarray  # (n_folds, n_reference_objects), each row ascending
    barycentre: np.ndarray  # (n_reference_objects,)

    @classmethod
    def from_test_probabilities(cls, test_prob_by_fold: np.ndarray) -> "FoldAlignment":
        sorted_logits = np.sort(logit(np.asarray(test_prob_by_fold, dtype=float)), axis=1)
        return cls(sorted_logits, sorted_logits.mean(axis=0))


@dataclass
class CVResult:
    object_ids: np.ndarray  # training objects that were scored out of fold
    target: np.ndarray  # their 0/1 labels
    oof_prob: np.ndarray  # P(TDE) out of fold (GBDT: mean over repeats)
    test_ids: np.ndarray | None  # test objects scored, when a test set was given
    test_prob: np.ndarray | None  # their P(TDE) (None when no test set, or not every fold ran)
    folds: pd.DataFrame  # per fold: n, TDEs, F1/precision/recall/AP at a threshold never chosen on that fold
    summary: dict | None  # honest_summary of the OOF probabilities (None when not every fold ran)
    seconds: float
    settings: dict = field(default_factory=dict)
    fold_of: np.ndarray | None = None  # fold that scored each OOF row (single-split CV only)
    # Model-specific extras
    importance: pd.Series | None = None  # GBDT: share of gain per feature
    oof_by_repeat: np.ndarray | None = None  # GBDT: (n_repeats, n_train)
    models: list | None = None  # GBDT: the models refitted on all training objects, one per repeat
    positive_column: int | None = None  # GBDT: the column of the models' predict_proba that is P(TDE)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # deep: fold, seed, epoch, loss, val_ap, seconds
    alignment: FoldAlignment | None = None  # deep: the fold alignment applied to the test probabilities

    @property
    def complete(self) -> bool:
        return self.summary is not None

    @property
    def oof(self) -> pd.DataFrame:
        """object_id, target, prob (and fold, for single-split CV): the frame notebook 05 reads."""
        frame = pd.DataFrame({"object_id": self.object_ids, "target": self.target, "prob": self.oof_prob})
        if self.fold_of is not None:
            frame["fold"] = self.fold_of
        return frame

    @property
    def oof_series(self) -> pd.Series:
        return pd.Series(self.oof_prob, index=pd.Index(self.object_ids, name="object_id"), name="prob")

    @property
    def test(self) -> pd.DataFrame | None:
        """object_id, prob for the test objects, or None."""
        if self.test_prob is None or self.test_ids is None:
            return None
        return pd.DataFrame({"object_id": self.test_ids, "prob": self.test_prob})


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

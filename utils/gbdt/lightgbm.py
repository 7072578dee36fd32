"""LightGBM behind the tabular-model interface (utils.gbdt.member): fit, predict_proba, gain, contributions,
save, load. Another gradient-boosting library (XGBoost, CatBoost) is one module like this one plus one line in
utils.gbdt.member.MODELS.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

NAME = "lightgbm"
SUFFIX = ".txt"  # a saved model is LightGBM's text format
PARAMS = {
    # Small trees and few columns per tree: 118 TDEs among ~220 noisy features. Extremely randomised split
    # thresholds (with twice the trees, as each learns less) won on nested F1 over 8 CV seeds
    # (docs/results.md, "Tuning"); the rest was chosen by repeated-CV AP.
    "n_estimators": 1600, "learning_rate": 0.03, "num_leaves": 7, "min_child_samples": 10, "extra_trees": True,
    "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.3, "reg_lambda": 1.0,
    "verbose": -1, "n_jobs": 1,  # OpenMP threads spin and crawl when other work shares the 2 cores
}


class LightGBMModel:
    """One fitted LightGBM classifier: its booster and the class labels of its output columns."""

    def __init__(self, booster: lgb.Booster, classes: np.ndarray | None):
        self.booster = booster
        self.classes_ = None if classes is None else np.asarray(classes)

    @classmethod
    def fit(cls, features: pd.DataFrame, labels: np.ndarray, weight: np.ndarray, *, multiclass: bool, seed: int,
            params: dict) -> "LightGBMModel":
        model = lgb.LGBMClassifier(**params, random_state=seed, objective="multiclass" if multiclass else "binary")
        model.fit(features, labels, sample_weight=weight)
        return cls(model.booster_, model.classes_)

    @property
    def feature_names(self) -> list[str]:
        return self.booster.feature_name()

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """(n, n_classes) class probabilities, columns in `classes_` order (a binary model: [1 - p, p])."""
        out = self.booster.predict(features)
        return out if out.ndim == 2 else np.vstack((1.0 - out, out)).T

    def gain(self) -> np.ndarray:
        """Total split gain per feature column."""
        return self.booster.feature_importance("gain")

    def contributions(self, values: np.ndarray, class_index: int) -> np.ndarray:
        """SHAP contributions (LightGBM's pred_contrib) to the raw score of output column `class_index`:
        (n, n_features + 1), the last column the bias; a binary model's one raw score is column 1's log-odds."""
        contributions = self.booster.predict(values, pred_contrib=True)
        n_classes = self.booster.num_model_per_iteration()
        if n_classes == 1:
            if class_index not in (None, 1):
                raise ValueError(f"a binary booster has one raw score; its class index is 1, not {class_index}")
            return contributions
        if class_index is None or not 0 <= class_index < n_classes:
            raise ValueError(f"a {n_classes}-class booster needs a class index in 0..{n_classes - 1}, not {class_index}")
        width = len(self.feature_names) + 1
        return contributions[:, class_index * width:(class_index + 1) * width]

    def save(self, path: Path) -> None:
        self.booster.save_model(str(path))

    @classmethod
    def load(cls, path: Path, classes: list | None = None) -> "LightGBMModel":
        text = Path(path).read_text()
        # LightGBM loads whatever trees a file cut short still holds and says nothing: a booster without its
        # closing line has lost trees (or more), and would score with the rest.
        if "\nend of trees\n" not in text:
            raise ValueError("the model text has no 'end of trees' line: it is cut short")
        return cls(lgb.Booster(model_str=text), classes)

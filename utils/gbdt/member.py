"""A tabular member of a run: what notebook 05 trains, the run folder keeps and `make predict` scores with.

    member = TabularMember.from_result(result)          # the CV result's models, refitted on all objects
    entry = member.save(run_dir / "model/gbdt/gbdt", relative_to=run_dir)   # a manifest entry
    member = TabularMember.load(entry, run_dir)
    p_tde = member.predict(features)                     # mean over the refitted models (one per CV repeat)

MODELS lists the model kinds (a module each, utils.gbdt.lightgbm the first): adding XGBoost or CatBoost is
a module with the same class interface (fit / predict_proba / gain / contributions / save / load, NAME,
SUFFIX, PARAMS) and one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, examples
from ..evaluation.cv_result import CVResult
from . import lightgbm

MODELS: dict[str, type] = {lightgbm.NAME: lightgbm.LightGBMModel}
KIND_MODULES = {lightgbm.NAME: lightgbm}


def model_kind(name: str):
    """The module of a model kind (its NAME, SUFFIX, PARAMS and model class)."""
    if name not in KIND_MODULES:
        raise ValueError(f"unknown tabular model {name!r}; known: {sorted(KIND_MODULES)}")
    return KIND_MODULES[name]


@dataclass
class TabularMember:
    """Fitted tabular models (one per CV repeat, each on all training objects) whose mean P(positive) is the score."""

    model: str  # a key of MODELS
    models: list
    positive_column: int
    mode: str | None = None  # "binary" | "multiclass"

    @classmethod
    def from_result(cls, result: CVResult) -> "TabularMember":
        if not result.models:
            raise ValueError("this CV result kept no refitted models (was it trained without test features?)")
        return cls(result.settings["model"], list(result.models), result.positive_column, result.settings.get("mode"))

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Mean over the models of P(positive), summed in the order cross-validation averaged them."""
        prob = np.zeros(len(features))
        for model in self.models:
            prob += model.predict_proba(features)[:, self.positive_column] / len(self.models)
        return prob

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per-object SHAP contributions to the positive class's raw score (shap_contributions)."""
        return shap_contributions(self.models, features, self.positive_column)

    def save(self, folder: Path, *, relative_to: Path) -> dict[str, Any]:
        """Write every model into `folder`; the manifest entry, with paths relative to `relative_to`."""
        kind = model_kind(self.model)
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for repeat, model in enumerate(self.models):
            path = folder / f"repeat{repeat}{kind.SUFFIX}"
            model.save(path)
            files.append(str(path.relative_to(relative_to)))
        classes = getattr(self.models[0], "classes_", None)
        return {"kind": "gbdt", "model": self.model, "boosters": files, "positive_column": self.positive_column,
                "mode": self.mode, "classes": None if classes is None else [_plain(c) for c in classes]}

    @classmethod
    def load(cls, entry: dict[str, Any], root: Path) -> "TabularMember":
        """The member a manifest entry describes (paths relative to `root`); a file that cannot be read is one
        DataError naming it."""
        name = entry.get("model", lightgbm.NAME)  # runs saved before the model kind was recorded: LightGBM
        kind = model_kind(name)
        models = []
        for relative in entry["boosters"]:
            path = root / relative
            try:
                models.append(MODELS[name].load(path, entry.get("classes")))
            except Exception as error:  # each library raises its own type for a damaged file
                reason = " ".join(str(error).split())[:200]
                raise DataError(f"{path}: cannot load this {kind.NAME} model ({type(error).__name__}: {reason}); "
                                "the run folder is damaged: copy it again or retrain the run") from None
        return cls(name, models, entry["positive_column"], entry.get("mode"))


def shap_contributions(models: Sequence, features: pd.DataFrame, positive_column: int | None = None) -> pd.DataFrame:
    """Per-object SHAP contributions averaged over `models`, in raw-score units.

    Columns: the models' feature names, then "bias"; each row sums to the mean over models of the raw score
    of output column `positive_column` (the log-odds for binary models, whose column is 1 or None).
    """
    if not models:
        raise DataError("shap_contributions needs at least one model")
    names = models[0].feature_names
    if any(model.feature_names != names for model in models[1:]):
        raise DataError("the models were trained on different feature columns; contributions cannot be averaged")
    missing = [name for name in names if name not in features.columns]
    if missing:
        raise DataError(f"features: missing column(s) the models use: {examples(missing)}")
    values = features[names].to_numpy(dtype=np.float64)
    total = np.zeros((len(features), len(names) + 1))
    for model in models:
        total += model.contributions(values, positive_column)
    return pd.DataFrame(total / len(models), index=features.index, columns=[*names, "bias"])


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value

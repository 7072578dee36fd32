"""The run folder: where notebooks put figures and predictions, and how later notebooks find them.

Contract between notebooks (all paths inside one run folder `out_dir`):

* `figures/<name>.png`                 figures a notebook saved
* `predictions/oof_<model>.csv`        object_id, target, prob   (out-of-fold, train)
* `predictions/test_<model>.csv`       object_id, prob           (test)
* `predictions/metrics_<model>.json`   that model's scores, threshold and run time
* `config_<notebook>.json`             the settings a notebook ran with
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from . import PROJECT_ROOT
from .config import save_config

SUBMISSIONS_DIR = PROJECT_ROOT / "submissions"


def resolve_out_dir(out_dir: str | os.PathLike | None) -> Path:
    """The run folder a notebook writes to: the given one, or submissions/interactive when run by hand."""
    path = Path(out_dir) if out_dir else SUBMISSIONS_DIR / "interactive"
    path = path.expanduser().resolve()
    (path / "figures").mkdir(parents=True, exist_ok=True)
    (path / "predictions").mkdir(parents=True, exist_ok=True)
    return path


def save_figure(fig, out_dir: Path, name: str) -> Path:
    """Save a matplotlib figure as figures/<name>.png (150 dpi, tight) and return the path."""
    path = Path(out_dir) / "figures" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path


def save_predictions(out_dir: Path, model: str, oof: pd.DataFrame, test: pd.DataFrame,
                     metrics: dict) -> None:
    """Write one model's OOF and test probabilities and its metrics for the ensemble notebook."""
    for frame, columns, name in ((oof, ["object_id", "target", "prob"], "oof"), (test, ["object_id", "prob"], "test")):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} predictions of {model!r} lack columns {missing}")
    folder = Path(out_dir) / "predictions"
    folder.mkdir(parents=True, exist_ok=True)
    oof[["object_id", "target", "prob"]].to_csv(folder / f"oof_{model}.csv", index=False)
    test[["object_id", "prob"]].to_csv(folder / f"test_{model}.csv", index=False)
    save_config(metrics, folder / f"metrics_{model}.json")


def load_predictions(out_dir: Path) -> dict[str, dict]:
    """All models that saved predictions in this run: {model: {"oof", "test", "metrics"}}."""
    folder = Path(out_dir) / "predictions"
    found = {}
    for oof_path in sorted(folder.glob("oof_*.csv")):
        model = oof_path.stem.removeprefix("oof_")
        test_path, metrics_path = folder / f"test_{model}.csv", folder / f"metrics_{model}.json"
        if not test_path.is_file():
            continue
        found[model] = {
            "oof": pd.read_csv(oof_path),
            "test": pd.read_csv(test_path),
            "metrics": json.loads(metrics_path.read_text()) if metrics_path.is_file() else {},
        }
    return found

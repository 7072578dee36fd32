"""Figures and tables the deep-model notebooks show: training curves, PR curve, a metrics dict."""

from __future__ import annotations

from typing import Any, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

from .cv import CVResult


def plot_training_curves(history: pd.DataFrame, title: str = "") -> plt.Figure:
    """Training loss and inner-validation AP per epoch, one line per (fold, seed)."""
    fig, (loss_ax, ap_ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    for (fold, seed), run in history.groupby(["fold", "seed"]):
        label = f"fold {fold}" + (f" seed {seed}" if history.seed.max() > 0 else "")
        loss_ax.plot(run.epoch, run.loss, lw=1, label=label)
        if "val_ap" in run:
            ap_ax.plot(run.epoch, run.val_ap, lw=1, label=label)
    loss_ax.set(xlabel="epoch", ylabel="training loss", yscale="log", title=f"{title} loss")
    ap_ax.set(xlabel="epoch", ylabel="average precision", title="inner-validation AP (early stopping)")
    ap_ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_pr_curve(oof: pd.DataFrame, summary: Mapping[str, Any] | None, title: str = "") -> plt.Figure:
    """Precision-recall curve of the OOF probabilities, with the chosen operating point."""
    precision, recall, _ = precision_recall_curve(oof.target, oof.prob)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot(recall, precision, lw=1.5, label=f"OOF (AP {np.trapezoid(precision[::-1], recall[::-1]):.3f})")
    ax.axhline(oof.target.mean(), color="0.6", ls="--", lw=0.8, label=f"chance ({oof.target.mean():.3f})")
    if summary is not None:
        ax.plot(summary["recall"], summary["precision"], "o", color="C3",
                label=f"nested threshold: F1 {summary['f1']:.3f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title=f"{title} precision-recall")
    ax.legend(fontsize=8)
    return fig


def metrics_record(result: CVResult, settings: Mapping[str, Any], n_parameters: int, seconds: float) -> dict:
    """What notebook 05 reads next to the predictions: honest scores, threshold, run time, design."""
    return {**(result.summary or {}), "n_parameters": n_parameters, "seconds": round(seconds, 1),
            "cv_seconds": round(result.seconds, 1),
            **{key: settings[key] for key in ("model", "layout", "flux_scaling", "rest_frame", "time_reference",
                                              "use_features", "aux_weight", "n_seeds", "epochs", "n_folds")}}

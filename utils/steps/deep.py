"""The steps notebooks 03 and 04 share, so each notebook keeps only what is particular to its model.

    run = prepare_deep_run("03_cnn", data_dir=None, out_dir=None, profile="default", variant="tuned",
                           model="cnn", seed=42, device="auto")   # settings, config, inputs, network size
    report = cross_validate_run(run)  # CV, checkpoints, figures, scores, predictions for notebook 05
    report.figures["pr_curve"]        # the notebook shows the figures; they are saved already
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

from ..config import save_config
from ..data.load import load_dataset
from ..models import build_model, count_parameters
from ..run.folder import resolve_out_dir, save_figure, save_predictions
from ..training.cv import CVResult, cross_validate_network
from ..training.device import make_deterministic, pick_device
from ..training.prepare import DeepInputs, prepare_inputs
from ..training.profiles import CNN_PROFILES, TRANSFORMER_PROFILES, deep_settings

# notebook -> (its profiles, the models it may train)
DEEP_NOTEBOOKS = {
    "03_cnn": (CNN_PROFILES, ("cnn", "cnn_attn")),
    "04_transformer": (TRANSFORMER_PROFILES, ("transformer",)),
}


@dataclass
class DeepRun:
    """A deep-model notebook ready to train: its settings (saved in the run folder), inputs and network size."""

    notebook: str  # "03_cnn" | "04_transformer"; its number prefixes the figure names
    settings: dict[str, Any]
    out: Path  # the run folder
    inputs: DeepInputs
    n_parameters: int
    started: float  # time.perf_counter() when the notebook started; metrics report the time since
    data_fingerprint: str  # recorded with the predictions, so notebook 05 never blends another data set's

    def settings_table(self) -> pd.DataFrame:
        return pd.Series(self.settings, dtype=object).to_frame("setting").T


@dataclass
class DeepReport:
    """What cross-validation gave: the CVResult, its figures (already saved), the score text, saved metrics."""

    cv: CVResult
    figures: dict[str, plt.Figure]  # "training_curves", "pr_curve"
    scores: str
    metrics: dict[str, Any] | None  # None when one fold ran (nothing saved for the ensemble)


def prepare_deep_run(notebook: str, *, data_dir: str | os.PathLike | None, out_dir: str | os.PathLike | None,
                     profile: str, variant: str, model: str, seed: int, device: str, **overrides: Any) -> DeepRun:
    """Settings and config (start_deep_notebook), the data set turned into tensors, the network's size.

    `overrides`: the notebook parameters that default to the profile's value when None.
    """
    started = time.perf_counter()
    settings, out = start_deep_notebook(notebook, data_dir=data_dir, out_dir=out_dir, profile=profile,
                                        variant=variant, model=model, seed=seed, device=device, **overrides)
    dataset = load_dataset(data_dir)
    inputs = prepare_inputs(dataset, settings)
    n_extra = len(inputs.scaler.names) if inputs.scaler else 0
    n_parameters = count_parameters(build_model(settings, n_extra))
    print(f"train {tuple(inputs.train.tensors['flux'].shape)}, test {tuple(inputs.test.tensors['flux'].shape)}, "
          f"{inputs.y.sum()} TDEs, {n_extra} physics features")
    print(f"{settings['model']} ({variant}): {n_parameters:,} parameters")
    return DeepRun(notebook, settings, out, inputs, n_parameters, started, dataset.fingerprint)


def cross_validate_run(run: DeepRun, *, progress: bool = True) -> DeepReport:
    """K-fold CV (checkpoints under models/), the training-curve and PR figures under figures/, and, when
    every fold ran, the predictions for notebook 05 (save_for_ensemble)."""
    settings, model = run.settings, run.settings["model"]
    inputs = run.inputs
    result = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test, scaler=inputs.scaler,
                            out_dir=run.out, progress=progress, teacher_features=inputs.teacher_features)
    print(f"cross-validation took {result.seconds:.0f} s")
    number = run.notebook[:2]
    figures = {"training_curves": plot_training_curves(result.history, model),
               "pr_curve": plot_pr_curve(result.oof, result.summary, model)}
    for name, fig in figures.items():
        save_figure(fig, run.out, f"{number}_{model}_{name}")
        plt.close(fig)  # the notebook shows it where its story needs it, not at the end of this cell
    scores = score_lines(result)
    print(scores)
    metrics = save_for_ensemble(run.out, model, result, inputs.test.object_ids, settings, run.n_parameters,
                                run.started, data_fingerprint=run.data_fingerprint)
    return DeepReport(result, figures, scores, metrics)


def start_deep_notebook(notebook: str, *, data_dir: str | os.PathLike | None, out_dir: str | os.PathLike | None,
                        profile: str, variant: str, model: str, seed: int, device: str,
                        **overrides: Any) -> tuple[dict[str, Any], Path]:
    """Settings for this notebook's model, seeds fixed, the config written into the run folder.

    `overrides` are the notebook parameters that default to the profile's value when None
    (epochs, batch_size, lr, loss, fold, use_features, ...). Returns the settings and the run folder.
    """
    settings = notebook_settings(notebook, profile=profile, variant=variant, model=model, seed=seed, device=device,
                                 **overrides)
    make_deterministic(settings["seed"], settings["threads"])
    out = resolve_out_dir(out_dir)
    save_config({"notebook": notebook, "data_dir": data_dir, "profile": profile, "variant": variant, **settings},
                out / f"config_{notebook}.json")
    print(f"device: {pick_device(settings['device'])}")
    return settings, out


def notebook_settings(notebook: str, *, profile: str, variant: str, model: str, seed: int, device: str,
                      **overrides: Any) -> dict[str, Any]:
    """The settings a deep-model notebook runs under (no side effects; start_deep_notebook applies them).

    The notebook's `seed` parameter seeds the networks and the folds and training-Z draw (cv_seed) alike.
    """
    if notebook not in DEEP_NOTEBOOKS:
        raise ValueError(f"unknown deep-model notebook {notebook!r}; have {sorted(DEEP_NOTEBOOKS)}")
    profiles, models = DEEP_NOTEBOOKS[notebook]
    if model not in models:
        others = [name for name, (_, its_models) in DEEP_NOTEBOOKS.items() if model in its_models]
        hint = f" ({model!r} is notebook {others[0]})" if others else ""
        raise ValueError(f"notebook {notebook} trains model {' or '.join(map(repr, models))}, not {model!r}{hint}")
    return deep_settings(profiles, profile, variant, model=model, seed=seed, cv_seed=seed, device=device, **overrides)


def score_lines(result: CVResult) -> str:
    """The honest (nested-threshold) OOF scores and the optimistic single-threshold F1, labelled as such."""
    if not result.complete:
        return "one fold only: no OOF scores over all objects"
    summary = result.summary
    honest = ", ".join(f"{key} {summary[key]:.3f}" for key in ("f1", "precision", "recall", "average_precision"))
    return (f"OOF (nested threshold, honest): {honest}\n"
            f"OOF F1 at the single best threshold (optimistic): {summary['f1_oof_optimised']:.3f}; "
            f"test threshold {summary['threshold']:.3f}")


def save_for_ensemble(out: Path, member: str, result: CVResult, test_ids, settings: dict[str, Any],
                      n_parameters: int, started: float, *, data_fingerprint: str) -> dict[str, Any] | None:
    """OOF and test probabilities plus metrics under `predictions/`, for notebook 05; None after one fold.

    `member` names the model in the ensemble (the notebooks pass the model's name: cnn, cnn_attn, transformer).
    """
    if not result.complete:
        print(f"fold {settings['fold']} only: no predictions saved")
        return None
    test = pd.DataFrame({"object_id": test_ids, "prob": result.test_prob})
    metrics = metrics_record(result, settings, n_parameters, time.perf_counter() - started)
    save_predictions(out, member, result.oof, test, metrics, data_fingerprint=data_fingerprint)
    print(f"saved predictions/oof_{member}.csv, test_{member}.csv, metrics_{member}.json ({metrics['seconds']:.0f} s)")
    return metrics


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

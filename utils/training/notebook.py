"""The steps notebooks 03 and 04 share, so each notebook keeps only what is particular to its model.

    settings, out = start_deep_notebook("03_cnn", profile="default", model="cnn", seed=42, ...)
    ...
    print(score_lines(result))
    save_for_ensemble(out, settings["model"], result, inputs.test.object_ids, settings, n_parameters, started,
                      data_fingerprint=dataset.fingerprint)
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import save_config
from ..runs import resolve_out_dir, save_predictions
from .cv import CVResult
from .device import make_deterministic, pick_device
from .profiles import CNN_PROFILES, TRANSFORMER_PROFILES, deep_settings
from .report import metrics_record

# notebook -> (its profiles, the models it may train)
DEEP_NOTEBOOKS = {
    "03_cnn": (CNN_PROFILES, ("cnn", "cnn_attn")),
    "04_transformer": (TRANSFORMER_PROFILES, ("transformer",)),
}


def start_deep_notebook(notebook: str, *, data_dir: str | os.PathLike | None, out_dir: str | os.PathLike | None,
                        profile: str, variant: str, model: str, seed: int, device: str,
                        **overrides: Any) -> tuple[dict[str, Any], Path]:
    """Settings for this notebook's model, seeds fixed, the config written into the run folder.

    `overrides` are the notebook parameters that default to the profile's value when None
    (epochs, batch_size, lr, loss, fold, use_features, ...). Returns the settings and the run folder.
    """
    if notebook not in DEEP_NOTEBOOKS:
        raise ValueError(f"unknown deep-model notebook {notebook!r}; have {sorted(DEEP_NOTEBOOKS)}")
    profiles, models = DEEP_NOTEBOOKS[notebook]
    if model not in models:
        others = [name for name, (_, its_models) in DEEP_NOTEBOOKS.items() if model in its_models]
        hint = f" ({model!r} is notebook {others[0]})" if others else ""
        raise ValueError(f"notebook {notebook} trains model {' or '.join(map(repr, models))}, not {model!r}{hint}")
    settings = deep_settings(profiles, profile, variant, model=model, seed=seed, cv_seed=seed, device=device,
                             **overrides)
    make_deterministic(settings["seed"], settings["threads"])
    out = resolve_out_dir(out_dir)
    save_config({"notebook": notebook, "data_dir": data_dir, "profile": profile, "variant": variant, **settings},
                out / f"config_{notebook}.json")
    print(f"device: {pick_device(settings['device'])}")
    return settings, out


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

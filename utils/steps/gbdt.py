"""Notebook 05's first half: its settings, the feature tables it reads, the train/test shift and the GBDTs.

    cfg = notebook05_settings("default", n_repeats=None, copies=None)       # None keeps the profile's value
    features = load_gbdt_features(dataset, cfg, seed)                        # cached tables (notebook 02)
    shift = measure_shift(features, cfg, seed)                               # adversarial AUC before / after
    weights = sample_weights(features, shift, cfg, seed, train_log)          # None unless adversarial_weighting
    gbdt_results, model_metrics = train_gbdts(features, train_log, cfg, seed, out, dataset.fingerprint, weights)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..classes import GROUPINGS, LOOKALIKE_TYPES, specialist_objects
from ..config import resolve
from ..data.copies import source_of
from ..evaluation.blend import METHODS
from ..evaluation.cv_result import CVResult
from ..features import TableRequest, feature_group, feature_table
from ..features.table import DRAWS
from ..gbdt import adversarial_weights, cross_validate_gbdt, train_vs_test, weight_summary
from ..gbdt.adversarial import TrainVsTest
from ..gbdt.lightgbm import PARAMS as LGBM_PARAMS
from ..run.folder import save_predictions

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"n_splits": 3, "n_repeats": 1, "n_estimators": 40, "feature_jobs": 1, "gbdt_jobs": 1, "modes": ["binary", "multiclass"],
              "blend_method": "f1", "pseudo_confidence": None, "adversarial_trees": 30, "nested_repeats": 2,
              "blend_repeats": 1, "report_top_n": 3, "select_members": False,
              "adversarial_weighting": False, "copies": 0, "draws": DRAWS, "class_groups": "default", "lookalike_weight": 1.0, "production_seeds": 0},
    "default": {"n_splits": 5, "n_repeats": 3, "n_estimators": LGBM_PARAMS["n_estimators"], "feature_jobs": -1, "gbdt_jobs": -1,
                "modes": ["multiclass"], "blend_method": "f1", "pseudo_confidence": None,
                "adversarial_trees": 200, "nested_repeats": 10, "blend_repeats": 5, "report_top_n": 20, "select_members": True,
                "adversarial_weighting": True, "copies": 2, "draws": DRAWS, "class_groups": "lookalike", "lookalike_weight": 1.0, "production_seeds": 0},
    "kaggle": {"n_splits": 5, "n_repeats": 5, "n_estimators": LGBM_PARAMS["n_estimators"], "feature_jobs": -1, "gbdt_jobs": -1,
               "modes": ["binary", "multiclass"], "blend_method": "f1", "pseudo_confidence": None,
               "adversarial_trees": 200, "nested_repeats": 10, "blend_repeats": 5, "report_top_n": 20,
               "select_members": True, "adversarial_weighting": True, "copies": 2, "draws": DRAWS, "class_groups": "lookalike", "lookalike_weight": 1.0, "production_seeds": 0},
}
# Why the default differs from quick (measurements in docs/results.md):
# modes: the binary GBDT is left out of the default, its gain not beyond one SE ("Binary GBDT"); quick keeps it to
# exercise both modes, kaggle to let the member selection decide. "specialist": a binary GBDT that learns TDEs
# against their look-alikes only (utils.classes.SPECIALIST_NEGATIVES); off everywhere: on the production path the
# held-out flags stayed the default's, F1 +0.000 ("Look-alikes").
# adversarial_weighting: weight the GBDTs' training objects by how test-like they look (utils.gbdt.adversarial);
# on in default and kaggle ("Adversarial weights"); off in quick to keep it quick.
# class_groups: the SpecType grouping the multiclass GBDTs learn (utils.classes.GROUPINGS): "lookalike" (SN IIn, SLSN-I
# and SLSN-II a class of their own) in default and kaggle, measured on the production path ("Look-alikes"); quick keeps
# the plain groups. lookalike_weight: those supernovae's training weight, times their class weight.
# production_seeds: outer seeds of the production-path estimate (utils.steps.production; 0: not computed). Off in every
# profile: 5 outer seeds refit notebook 05's path 25 times (benchmarks/production_path.py; docs/results.md, "Headline").
# draws: how each redshift draw's training table is made (utils.features.table.DRAWS).
# gbdt_jobs: CV folds fitted side by side in worker processes (one LightGBM thread each): the same models, bit for bit.
# copies: degraded copies of every training object (utils.data.copies) the GBDTs also train on; 2 in default and
# kaggle ("Copies"); 0 in quick.


GBDT_MODES = ("multiclass", "binary", "specialist")


def notebook05_settings(profile: str, **overrides: Any) -> dict[str, Any]:
    """The profile's settings with non-None overrides; an unknown blend method is refused."""
    cfg = resolve(PROFILES, profile, **overrides)
    if cfg["class_groups"] not in GROUPINGS:
        raise ValueError(f"class_groups must be one of {sorted(GROUPINGS)}, not {cfg['class_groups']!r}")
    if isinstance(cfg["modes"], str):  # as a command line writes a list: modes=multiclass+specialist
        cfg["modes"] = cfg["modes"].split("+")
    unknown = [mode for mode in cfg["modes"] if mode not in GBDT_MODES]
    if unknown or not cfg["modes"]:
        raise ValueError(f"modes must be a non-empty list of {GBDT_MODES}, not {cfg['modes']!r}")
    if cfg["blend_method"] not in (*METHODS, "auto"):
        raise ValueError(f"blend_method must be one of {(*METHODS, 'auto')}, not {cfg['blend_method']!r}")
    return cfg


def redshift_draw_seeds(cfg: dict[str, Any], seed: int) -> list[int]:
    """The training-Z draws notebook 05 trains on: one per CV repeat, seeded seed, seed + 1, ..."""
    return [seed + draw for draw in range(cfg["n_repeats"])]


def gbdt_feature_requests(cfg: dict[str, Any], seed: int) -> list[TableRequest]:
    """The feature tables notebook 05 reads: training with spectroscopic Z, test, one training table per draw
    and, with `copies`, one table of the degraded copies per draw."""
    draws, method = redshift_draw_seeds(cfg, seed), cfg["draws"]
    return [TableRequest("train", draws=method), TableRequest("test", draws=method),
            *(TableRequest("train", z_seed, draws=method) for z_seed in draws),
            *(TableRequest("train", z_seed, cfg["copies"], draws=method) for z_seed in draws if cfg["copies"])]


@dataclass
class GBDTFeatures:
    """The tables notebook 05 reads (gbdt_feature_requests): training with spectroscopic Z, the test set, the
    training set under each redshift draw (one per CV repeat) and, with copies, the copies under each draw."""

    spec_z: pd.DataFrame
    test: pd.DataFrame
    draws: list[pd.DataFrame]
    copies: list[pd.DataFrame] | None
    seconds: float

    @property
    def train(self) -> pd.DataFrame:
        """The first draw: the table the shift is measured on and whose columns the models learn."""
        return self.draws[0]

    def restricted(self, objects: pd.Index, test: pd.DataFrame) -> "GBDTFeatures":
        """These tables for the training `objects` only (and the copies of those objects only), `test` as the
        unlabelled set: what notebook 05 would read had the training set held only these objects."""
        copies = None
        if self.copies is not None:
            keep = source_of(self.copies[0].index).isin(objects).to_numpy()
            copies = [table[keep] for table in self.copies]
        return GBDTFeatures(self.spec_z.loc[objects], test, [table.loc[objects] for table in self.draws], copies, 0.0)

    def groups(self) -> dict[str, int]:
        """Columns per feature group."""
        return pd.Series([feature_group(c) for c in self.train.columns]).value_counts().to_dict()


def load_gbdt_features(dataset, cfg: dict[str, Any], seed: int, groups: Sequence[str] | None = None) -> GBDTFeatures:
    """Every table of gbdt_feature_requests, from the cache (or extracted, when notebook 05 runs alone);
    `groups`: other feature groups than the default ones (benchmarks measuring a candidate group)."""
    started = time.perf_counter()
    options = {"n_jobs": cfg["feature_jobs"], "draws": cfg["draws"], "groups": groups}
    spec_z = feature_table(dataset, "train", **options)
    test = feature_table(dataset, "test", **options)
    draws = [feature_table(dataset, "train", redshift_seed=z_seed, **options) for z_seed in redshift_draw_seeds(cfg, seed)]
    copies = [feature_table(dataset, "train", redshift_seed=z_seed, copies=cfg["copies"], **options)
              for z_seed in redshift_draw_seeds(cfg, seed)] if cfg["copies"] else None
    return GBDTFeatures(spec_z, test, draws, copies, time.perf_counter() - started)


def measure_shift(features: GBDTFeatures, cfg: dict[str, Any], seed: int) -> dict[str, TrainVsTest]:
    """The train-vs-test classifier on the training table with spectroscopic Z ("before") and under the first
    redshift draw ("after")."""
    return {name: train_vs_test(table, features.test, seed=seed, params={"n_estimators": cfg["adversarial_trees"]})
            for name, table in (("train_spec_z", features.spec_z), ("train", features.train))}


def shift_summary(shift: dict[str, TrainVsTest]) -> dict[str, dict]:
    """AUC and the five most telling features of each classifier (what metrics.json keeps)."""
    return {name: {"auc": s.auc, "top_features": s.telling.head(5).round(4).to_dict()} for name, s in shift.items()}


def shift_table(shift: dict[str, TrainVsTest]) -> pd.DataFrame:
    summary = shift_summary(shift)
    return pd.DataFrame({"train Z": ["spectroscopic (before)", "perturbed by test Z_err (after)"],
                         "adversarial AUC": [summary["train_spec_z"]["auc"], summary["train"]["auc"]],
                         "most telling features": [summary["train_spec_z"]["top_features"],
                                                   summary["train"]["top_features"]]})


def adversarial_sample_weights(features: GBDTFeatures, cfg: dict[str, Any], seed: int,
                               fitted: Iterable[TrainVsTest] = ()) -> pd.Series | None:
    """Adversarial-validation weights of the training objects against `features.test` over the redshift draws
    (None when cfg['adversarial_weighting'] is off); `fitted`: classifiers already fitted on the same inputs."""
    if not cfg["adversarial_weighting"]:
        return None
    return adversarial_weights(features.draws, features.test, seed=seed,
                               params={"n_estimators": cfg["adversarial_trees"]}, fitted=fitted)


def sample_weights(features: GBDTFeatures, shift: dict[str, TrainVsTest], cfg: dict[str, Any], seed: int,
                   train_log: pd.DataFrame) -> pd.Series | None:
    """adversarial_sample_weights reusing the classifiers `shift` fitted; prints their spread and mean per SpecType."""
    if not cfg["adversarial_weighting"]:
        print("adversarial weights: off (setting adversarial_weighting); every training object counts by its class weight")
        return None
    started = time.perf_counter()
    weights = adversarial_sample_weights(features, cfg, seed, fitted=shift.values())
    spread = weight_summary(weights)
    print(f"adversarial weights: min {spread['min']:.3f}, median {spread['median']:.3f}, max {spread['max']:.3f}; "
          f"effective sample size {spread['effective_sample_size']:.0f} of {spread['n']} "
          f"({spread['effective_fraction']:.1%}), {time.perf_counter() - started:.0f} s")
    print(weights.groupby(train_log["SpecType"].reindex(weights.index)).mean().round(3).to_string())
    return weights


def gbdt_member_name(mode: str) -> str:
    """`gbdt` is the multiclass model's P(TDE); other modes are `gbdt_<mode>`."""
    return "gbdt" if mode == "multiclass" else f"gbdt_{mode}"


def save_gbdt_member(out: Path, name: str, result: CVResult, seconds: float, *,
                     data_fingerprint: str) -> dict[str, Any]:
    """Write the GBDT's OOF and test predictions for the ensemble; return its metrics record."""
    metrics = {**result.summary, "seconds": round(seconds, 1), **result.settings}
    save_predictions(out, name, result.oof, result.test, metrics, data_fingerprint=data_fingerprint)
    return metrics


def fit_gbdt(features: GBDTFeatures, train_log: pd.DataFrame, cfg: dict[str, Any], seed: int, mode: str,
             sample_weight: pd.Series | None, params: dict | None = None) -> CVResult:
    """One GBDT of notebook 05 under repeated CV on `features` (its test table scored by the refitted models);
    `mode`: one of GBDT_MODES ("specialist": binary, learning from specialist_objects only, scoring every object);
    `params`: LightGBM parameters over the kind's own and cfg['n_estimators'] (benchmarks measuring them)."""
    if cfg["lookalike_weight"] != 1.0:
        lookalike = train_log["SpecType"].isin(LOOKALIKE_TYPES).to_numpy()
        base = sample_weight if sample_weight is not None else pd.Series(1.0, index=train_log.index)
        sample_weight = base.reindex(train_log.index) * np.where(lookalike, cfg["lookalike_weight"], 1.0)
    fit_on = specialist_objects(train_log["SpecType"]) if mode == "specialist" else None
    return cross_validate_gbdt(features.draws, train_log["target"].astype(int), spec_type=train_log["SpecType"],
                               mode="binary" if mode == "specialist" else mode, groups=GROUPINGS[cfg["class_groups"]],
                               fit_on=fit_on,
                               test_features=features.test, n_splits=cfg["n_splits"],
                               n_repeats=cfg["n_repeats"], seed=seed,
                               params={"n_estimators": cfg["n_estimators"], **(params or {})},
                               pseudo_confidence=cfg["pseudo_confidence"], nested_repeats=cfg["nested_repeats"],
                               sample_weight=sample_weight, copies=features.copies, n_jobs=cfg["gbdt_jobs"])


def train_gbdts(features: GBDTFeatures, train_log: pd.DataFrame, cfg: dict[str, Any], seed: int, out: Path,
                data_fingerprint: str, sample_weight: pd.Series | None) -> tuple[dict[str, CVResult], dict[str, dict]]:
    """One GBDT per mode of cfg['modes'] under repeated CV, each saved as an ensemble member; (results, metrics)."""
    results, metrics = {}, {}
    for mode in cfg["modes"]:
        started = time.perf_counter()
        result = fit_gbdt(features, train_log, cfg, seed, mode, sample_weight)
        name = gbdt_member_name(mode)
        results[name] = result
        metrics[name] = save_gbdt_member(out, name, result, time.perf_counter() - started,
                                         data_fingerprint=data_fingerprint)
        summary = result.summary
        print(f"{name}: nested F1 {summary['f1']:.3f} (OOF-optimised {summary['f1_oof_optimised']:.3f}), "
              f"AP {summary['average_precision']:.3f}, {metrics[name]['seconds']:.0f} s")
    return results, metrics


def explained_member(results: dict[str, CVResult]) -> CVResult:
    """The GBDT whose importances and SHAP values the notebook shows: the multiclass one, else the first."""
    return results["gbdt"] if "gbdt" in results else next(iter(results.values()))

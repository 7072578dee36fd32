"""The steps of notebook 05 (GBDT, ensemble, threshold, submission), so the notebook keeps the story.

    cfg = notebook05_settings("default", n_repeats=None, blend_method=None, pseudo_confidence=None)
    redshift_draw_seeds(cfg, seed)   # the training-Z draws, one per CV repeat (feature_requests: every table read)
    model_metrics[name] = save_gbdt_member(out, name, result, seconds, data_fingerprint=dataset.fingerprint)
    members = load_members(out, target, model_metrics, seed=seed, nested_repeats=cfg["nested_repeats"],
                           data_fingerprint=dataset.fingerprint, test_ids=test_log.index)
    blend = choose_blend(members, cfg["blend_method"], seed=seed, ...)
    write_probabilities(out, members, blend, sample); write_oof(out, members, blend)
    metrics = metrics_document(...)
    fooled = false_positive_table(blend, members.target, train_log["SpecType"])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .config import resolve
from .evaluation.cv_result import CVResult
from .evaluation.blend import METHODS, Blender, align_members, cross_validated_blend, fit_blender, select_members
from .features import TableRequest
from .gbdt import LGBM_PARAMS
from .evaluation.metrics import best_threshold, honest_summary
from .runs import load_predictions, save_predictions

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"n_splits": 3, "n_repeats": 1, "n_estimators": 40, "feature_jobs": 1, "modes": ["binary", "multiclass"],
              "blend_method": "f1", "pseudo_confidence": None, "adversarial_trees": 30, "nested_repeats": 2,
              "blend_repeats": 1, "report_top_n": 3, "select_members": False,
              "adversarial_weighting": False, "copies": 0},
    "default": {"n_splits": 5, "n_repeats": 3, "n_estimators": LGBM_PARAMS["n_estimators"], "feature_jobs": -1,
                "modes": ["multiclass"], "blend_method": "f1", "pseudo_confidence": None,
                "adversarial_trees": 200, "nested_repeats": 10, "blend_repeats": 5, "report_top_n": 20, "select_members": True,
                "adversarial_weighting": True, "copies": 2},
    "kaggle": {"n_splits": 5, "n_repeats": 5, "n_estimators": LGBM_PARAMS["n_estimators"], "feature_jobs": -1,
               "modes": ["binary", "multiclass"], "blend_method": "f1", "pseudo_confidence": None,
               "adversarial_trees": 200, "nested_repeats": 10, "blend_repeats": 5, "report_top_n": 20,
               "select_members": True, "adversarial_weighting": True, "copies": 2},
}
# modes: the binary GBDT (~45 s) is left out of the default: the member selection kept it at 1 of 8 CV seeds, and the
# default ensemble selected without it scored -0.0006 ± 0.0006 nested F1 (paired SE, 8 seeds; benchmarks/blend_seeds.py,
# docs/results.md), not a gain beyond one standard error. quick keeps it to exercise both modes, kaggle to let selection decide.
# adversarial_weighting: weight the GBDTs' training objects by how test-like they look (utils.gbdt.adversarial_weights);
# on in default and kaggle: over 8 CV seeds the multiclass GBDT's nested F1 gained +0.010 ± 0.006 (paired SE) for
# ~20 s (benchmarks/ablate_features.py --rows default,default@adv; docs/results.md); off in quick to keep it quick.
# copies: degraded copies of every training object (utils.lightcurve_copies) the GBDTs also train on; 2 in default and
# kaggle: over 8 CV seeds the multiclass GBDT's nested F1 gained +0.032 ± 0.006 (paired SE; AP +0.029 ± 0.003) for
# ~4 min of extraction (238 s) and ~2x the GBDT's training (360 vs 188 s), quiet full runs (docs/results.md;
# benchmarks/ablate_features.py --rows default@adv,default@adv@copies2); 0 in quick.
THRESHOLD_CHOICE = "single F1-optimal cut on all OOF rows of the blender fitted on all of them"


def notebook05_settings(profile: str, **overrides: Any) -> dict[str, Any]:
    """The profile's settings with non-None overrides; an unknown blend method is refused."""
    cfg = resolve(PROFILES, profile, **overrides)
    if cfg["blend_method"] not in (*METHODS, "auto"):
        raise ValueError(f"blend_method must be one of {(*METHODS, 'auto')}, not {cfg['blend_method']!r}")
    return cfg


def redshift_draw_seeds(cfg: dict[str, Any], seed: int) -> list[int]:
    """The training-Z draws notebook 05 trains on: one per CV repeat, seeded seed, seed + 1, ..."""
    return [seed + draw for draw in range(cfg["n_repeats"])]


def feature_requests(cfg: dict[str, Any], seed: int) -> list[TableRequest]:
    """The feature tables notebook 05 reads: training with spectroscopic Z, test, one training table per draw
    and, with `copies`, one table of the degraded copies per draw."""
    draws = redshift_draw_seeds(cfg, seed)
    return [TableRequest("train"), TableRequest("test"), *(TableRequest("train", z_seed) for z_seed in draws),
            *(TableRequest("train", z_seed, cfg["copies"]) for z_seed in draws if cfg["copies"])]


def gbdt_member_name(mode: str) -> str:
    """`gbdt` is the multiclass model's P(TDE); other modes are `gbdt_<mode>`."""
    return "gbdt" if mode == "multiclass" else f"gbdt_{mode}"


def save_gbdt_member(out: Path, name: str, result: CVResult, seconds: float, *,
                     data_fingerprint: str) -> dict[str, Any]:
    """Write the GBDT's OOF and test predictions for the ensemble; return its metrics record."""
    metrics = {**result.summary, "seconds": round(seconds, 1), **result.settings}
    save_predictions(out, name, result.oof, result.test, metrics, data_fingerprint=data_fingerprint)
    return metrics


@dataclass
class Members:
    """Every model with predictions in the run folder, side by side on the objects all of them scored."""

    oof: pd.DataFrame  # training objects x members
    test: pd.DataFrame  # test objects x members
    target: pd.Series  # 0/1 on oof's index


def load_members(out: Path, target: pd.Series, model_metrics: dict[str, dict], *, seed: int,
                 nested_repeats: int, data_fingerprint: str, test_ids: pd.Index) -> Members:
    """Members' OOF and test probabilities; scores (into `model_metrics`) those not scored yet (deep models).

    Members saved from another data set (a different fingerprint) or not covering `test_ids` are left out,
    with a line each (utils.runs.load_predictions).
    """
    saved = load_predictions(out, data_fingerprint=data_fingerprint, test_ids=test_ids)
    oof = align_members({name: p["oof"].set_index("object_id")["prob"] for name, p in saved.items()})
    test = align_members({name: p["test"].set_index("object_id")["prob"] for name, p in saved.items()})
    scored_target = target.reindex(oof.index)
    for name in oof.columns:
        if name not in model_metrics:
            model_metrics[name] = {**honest_summary(scored_target, oof[name].to_numpy(), seed=seed,
                                                    repeats=nested_repeats),
                                   "seconds": saved[name]["metrics"].get("seconds")}
    return Members(oof, test, scored_target)


@dataclass
class BlendOutcome:
    method: str
    blender: Blender  # fitted on all OOF rows: the one that scores the test set
    scores_by_method: dict[str, dict]  # honest summary of each method's cross-validated blend
    oof: pd.Series  # cross-validated blended OOF probability of the chosen method
    summary: dict  # its honest summary
    threshold: float  # F1-best cut of `blender` on the OOF rows: the test threshold
    test: pd.Series  # blended test probability
    selection: pd.DataFrame | None = None  # how the blended members were chosen (select_members), if they were


def choose_blend(members: Members, blend_method: str, *, seed: int, blend_repeats: int,
                 nested_repeats: int, select: bool = False, anchor: str = "gbdt") -> BlendOutcome:
    """Every blend method cross-validated; the configured one (or, for 'auto', the best by AP) scores the test set.

    With `select`, only the members that earn their place enter the blend (utils.ensemble.select_members:
    each one's paired gain in cross-validated nested F1 over `blend_repeats` blender splits must exceed one
    standard error; `anchor`, the multiclass GBDT, always stays). Its table says what was measured.
    """
    oof, test, selection = members.oof, members.test, None
    if select and oof.shape[1] > 1 and anchor in oof.columns:
        method_for_selection = "f1" if blend_method == "auto" else blend_method
        kept, selection = select_members(oof, members.target, method_for_selection, anchor=anchor, seed=seed,
                                         n_splits_seeds=blend_repeats)
        oof, test = oof[kept], test[kept]
    cv_blends = {method: cross_validated_blend(oof, members.target, method, seed=seed,
                                               n_repeats=blend_repeats) for method in METHODS}
    scores = {method: honest_summary(members.target, blended.to_numpy(), seed=seed, repeats=nested_repeats)
              for method, blended in cv_blends.items()}
    method = (max(scores, key=lambda m: scores[m]["average_precision"]) if blend_method == "auto" else blend_method)
    blender = fit_blender(oof, members.target, method)
    threshold, _ = best_threshold(members.target, blender.predict(oof).to_numpy())
    return BlendOutcome(method, blender, scores, cv_blends[method], scores[method], threshold,
                        blender.predict(test), selection)


def ensemble_record(blend: BlendOutcome, members: Members, seconds: float) -> dict[str, Any]:
    return {**blend.summary, "threshold": blend.threshold, "seconds": round(seconds, 1),
            "blend": blend.blender.describe(), "members": list(members.oof.columns),
            "blended_members": list(blend.blender.members),
            "member_selection": None if blend.selection is None else blend.selection.to_dict("records")}


def results_table(model_metrics: dict[str, dict]) -> pd.DataFrame:
    """One row per model: nested and OOF-optimised F1, precision, recall, AP, threshold, seconds."""
    return pd.DataFrame({
        name: {"F1 (nested)": m["f1"], "F1 (OOF-optimised)": m["f1_oof_optimised"], "precision": m["precision"],
               "recall": m["recall"], "AP": m["average_precision"], "threshold": m["threshold"],
               "seconds": m.get("seconds")}
        for name, m in model_metrics.items()}).T


def write_probabilities(out: Path, members: Members, blend: BlendOutcome, sample: pd.DataFrame) -> pd.DataFrame:
    """probabilities.csv: object_id, one column per member, ensemble; in sample_submission order."""
    table = members.test.assign(ensemble=blend.test).reindex(sample["object_id"].astype(str))
    table = table.rename_axis("object_id").reset_index()
    table.to_csv(Path(out) / "probabilities.csv", index=False)
    return table


def write_oof(out: Path, members: Members, blend: BlendOutcome) -> pd.DataFrame:
    """oof.csv: object_id, target, one column per member, ensemble (cross-validated blend)."""
    table = members.oof.assign(ensemble=blend.oof).rename_axis("object_id")
    table.insert(0, "target", members.target)
    table.reset_index().to_csv(Path(out) / "oof.csv", index=False)
    return table


def metrics_document(model_metrics: dict[str, dict], *, adversarial: dict[str, dict], blend: BlendOutcome,
                     test_flagged: int, n_features: int, timings: dict[str, float], profile: str, seed: int,
                     nested_repeats: int) -> dict[str, Any]:
    """What metrics.json holds: per-model scores, how thresholds were chosen, the shift, the blends, timings."""
    threshold_method = {
        "scores": "F1/precision/recall: nested 5-fold F1-optimal cut (each fold cut at the other folds' best threshold), "
                  f"mean over {nested_repeats} fold splits; f1_nested_std is the spread",
        "threshold": "single F1-optimal cut on all OOF rows (used for the test set); f1_oof_optimised is F1 at it",
    }
    return {
        "models": {name: {k: v for k, v in m.items() if k != "threshold_method"} for name, m in model_metrics.items()},
        "threshold_method": threshold_method,
        "adversarial_auc": {"before (spectroscopic train Z)": adversarial["train_spec_z"],
                            "after (train Z perturbed by test Z_err)": adversarial["train"]},
        "blend_methods_cv": {m: {k: s[k] for k in ("f1", "f1_oof_optimised", "average_precision")}
                             for m, s in blend.scores_by_method.items()},
        "test_flagged": int(test_flagged), "n_features": int(n_features),
        "seconds": {k: round(v, 1) for k, v in timings.items()}, "profile": profile, "seed": seed,
    }


def false_positive_table(blend: BlendOutcome, target: pd.Series, spec_type: pd.Series) -> pd.DataFrame:
    """Per SpecType: OOF false positives of the ensemble at the test threshold, objects, and FP rate."""
    predicted = blend.oof >= blend.threshold
    spec = spec_type.reindex(blend.oof.index)
    fooled = pd.DataFrame({"false positives": spec[predicted & (target == 0)].value_counts(),
                           "objects": spec[target == 0].value_counts()}).fillna(0).astype(int)
    fooled["FP rate"] = (fooled["false positives"] / fooled["objects"]).round(4)
    return fooled.sort_values("false positives", ascending=False)

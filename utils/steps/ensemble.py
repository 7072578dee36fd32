"""Notebook 05's second half: members, blend, threshold, submission, the run's model, figures and candidates.

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

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

from ..evaluation.blend import METHODS, Blender, align_members, cross_validated_blend, fit_blender, select_members
from ..evaluation.cv_result import CVResult
from ..evaluation.metrics import best_threshold, f1_by_threshold, honest_summary
from ..features import feature_group
from ..gbdt.member import TabularMember
from ..run.folder import load_predictions, save_figure
from ..run.model import save_run_model
from ..run.submission import make_submission, write_submission
from ..serve.candidates import top_candidates, write_candidate_report
from .gbdt import GBDTFeatures, explained_member

THRESHOLD_CHOICE = "single F1-optimal cut on all OOF rows of the blender fitted on all of them"


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
    with a line each (utils.run.folder.load_predictions).
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


def selected_members(oof: pd.DataFrame, target: pd.Series, blend_method: str, *, seed: int, blend_repeats: int,
                     anchor: str = "gbdt") -> tuple[list[str], pd.DataFrame]:
    """The members choose_blend blends when it selects them, and the table that says why: select_members with
    the blend method ('f1' for 'auto') over `blend_repeats` blender splits. Benchmarks replay notebook 05's
    decision on finished runs' OOF columns with it."""
    method = "f1" if blend_method == "auto" else blend_method
    return select_members(oof, target, method, anchor=anchor, seed=seed, n_splits_seeds=blend_repeats)


def choose_blend(members: Members, blend_method: str, *, seed: int, blend_repeats: int,
                 nested_repeats: int, select: bool = False, anchor: str = "gbdt") -> BlendOutcome:
    """Every blend method cross-validated; the configured one (or, for 'auto', the best by AP) scores the test set.

    With `select`, only the members that earn their place enter the blend (utils.evaluation.blend.select_members:
    each one's paired gain in cross-validated nested F1 over `blend_repeats` blender splits must exceed one
    standard error; `anchor`, the multiclass GBDT, always stays). Its table says what was measured.
    """
    oof, test, selection = members.oof, members.test, None
    if select and oof.shape[1] > 1 and anchor in oof.columns:
        kept, selection = selected_members(oof, members.target, blend_method, seed=seed, blend_repeats=blend_repeats,
                                           anchor=anchor)
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


def blend_methods_table(blend: BlendOutcome) -> pd.DataFrame:
    """Each blend method's cross-validated honest scores, one row per method."""
    return pd.DataFrame(blend.scores_by_method).T[["f1", "f1_oof_optimised", "precision", "recall",
                                                   "average_precision"]]


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


def write_submission_files(out: Path, members: Members, blend: BlendOutcome, sample: pd.DataFrame) -> pd.Series:
    """submission.csv (validated against sample_submission.csv before it replaces anything), probabilities.csv and
    oof.csv; returns the 0/1 test labels."""
    labels = (blend.test >= blend.threshold).astype(int)
    write_submission(make_submission(labels, sample), sample, out / "submission.csv")
    print(f"submission.csv: {labels.sum():,} of {len(labels):,} test objects flagged as TDE "
          f"({labels.mean():.1%}; the training set has {members.target.mean():.1%} TDEs)")
    write_probabilities(out, members, blend, sample)
    write_oof(out, members, blend)
    return labels


def save_model(out: Path, gbdt_results: dict[str, CVResult], blend: BlendOutcome, features: GBDTFeatures,
               settings: dict[str, Any], data_fingerprint: str) -> Path:
    """`model/`: what scores new objects (utils.run.model), with the threshold rule and the run's settings."""
    return save_run_model(out, gbdt_results=gbdt_results, blender=blend.blender, threshold=blend.threshold,
                          threshold_method=THRESHOLD_CHOICE, feature_columns=features.train.columns,
                          settings={**settings, "gbdt": {name: r.settings for name, r in gbdt_results.items()}},
                          data_fingerprint=data_fingerprint)


def plot_scores(out: Path, members: Members, blend: BlendOutcome, model_metrics: dict[str, dict]) -> plt.Figure:
    """Precision-recall per member and the blend, and F1 against the threshold (OOF), with the test cut."""
    oof = members.oof.assign(ensemble=blend.oof)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for name in oof.columns:
        precision, recall, _ = precision_recall_curve(members.target, oof[name])
        axes[0].plot(recall, precision, label=f"{name} (AP {model_metrics[name]['average_precision']:.3f})")
    axes[0].set(xlabel="recall", ylabel="precision", title="precision-recall (OOF)")
    axes[0].legend()
    grid = np.linspace(0.01, 0.99, 99)
    for name in oof.columns:
        axes[1].plot(grid, f1_by_threshold(members.target, oof[name], grid), label=name)
    axes[1].axvline(blend.threshold, color="k", ls="--", lw=0.8, label="ensemble test threshold")
    axes[1].set(xlabel="threshold", ylabel="F1", title="F1 against threshold (OOF)")
    axes[1].legend()
    save_figure(fig, out, "05_pr_and_f1_curves")
    return fig


def plot_false_positives(out: Path, blend: BlendOutcome, members: Members, spec_type: pd.Series) -> pd.DataFrame:
    """The SpecTypes that fool the blend at the test threshold (OOF), as a bar chart; their table."""
    fooled = false_positive_table(blend, members.target, spec_type)
    predicted = blend.oof >= blend.threshold
    fig, ax = plt.subplots(figsize=(7, 4))
    fooled["false positives"].head(10).plot.barh(ax=ax)
    ax.invert_yaxis()
    ax.set(xlabel="false positives (OOF, ensemble)", title=f"which classes fool us ({int(predicted.sum())} flagged, "
           f"{int((predicted & (members.target == 1)).sum())} true)")
    save_figure(fig, out, "05_false_positives_by_spectype")
    return fooled


def plot_importance(out: Path, gbdt_results: dict[str, CVResult]) -> plt.Figure:
    """The GBDT's top 25 features and every feature group by share of gain (summed over folds)."""
    importance = explained_member(gbdt_results).importance
    fig, axes = plt.subplots(1, 2, figsize=(13, 6), gridspec_kw={"width_ratios": [2, 1]})
    importance.head(25).iloc[::-1].plot.barh(ax=axes[0])
    axes[0].set(xlabel="share of gain", title="top 25 features (multiclass GBDT)")
    importance.groupby(importance.index.map(feature_group)).sum().sort_values().plot.barh(ax=axes[1])
    axes[1].set(xlabel="share of gain", title="per feature group")
    save_figure(fig, out, "05_feature_importance")
    return fig


def write_candidates(out: Path, dataset, blend: BlendOutcome, members: Members, gbdt_results: dict[str, CVResult],
                     features: GBDTFeatures, top_n: int) -> Path:
    """candidates.html: the top test objects, explained by the GBDT's SHAP values (computed for them only)."""
    shown = top_candidates(blend.test, top_n).index
    explained = TabularMember.from_result(explained_member(gbdt_results))
    contributions = explained.contributions(features.test.loc[shown])
    page = write_candidate_report(out, dataset.test_log, dataset.test_lc, blend.test, features.test, contributions,
                                  top_n=top_n, threshold=blend.threshold, members=members.test)
    print(f"{page.relative_to(out)}: the top {min(top_n, len(blend.test))} test objects")
    return page

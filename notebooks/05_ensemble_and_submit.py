# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Physics features, gradient boosting, ensemble and submission
#
# 1. **Features** (`utils.features`): ~190 physics features per object from the de-extinguished light
#    curve: rest-frame timescales, a power-law decline fit, Bazin fits, a 2-D Gaussian process over
#    (time, wavelength) giving colours and a blackbody temperature at and after peak, AGN variability,
#    activity before and long after the peak, SNR summaries, redshift and a luminosity proxy.
#    The table of names, meanings and units is `docs/features.md`. Notebook 02 extracts and caches every
#    table this notebook reads; run alone, it extracts them itself.
# 2. **Redshift shift.** Train Z is spectroscopic, test Z photometric (with Z_err). The models train on
#    features extracted with Z perturbed by the test's Z_err, a fresh draw for each CV repeat; an
#    adversarial classifier (train vs test) measures how distinguishable the two sets are before and after.
# 3. **LightGBM**, repeated stratified CV: multiclass over SpecType groups whose TDE column is the score
#    (and a binary model in the quick and kaggle profiles; the default leaves it out: over 8 CV seeds it
#    did not raise the selected ensemble's F1, docs/results.md). Test probabilities come from models refitted
#    on all training objects.
# 4. **Ensemble** of every model whose predictions are in the run folder (GBDT here; CNN and Transformer
#    from notebooks 03/04 when they ran), blended in logit space with weights chosen inside CV. The default
#    profile does not run 03/04: blending them in did not raise the nested F1 beyond one standard error
#    (networks distilled from the multiclass GBDT: +0.005 ± 0.005 over 5 CV seeds, docs/results.md);
#    `--notebooks all` runs them.
# 5. **Threshold.** The honest F1 cuts each fold at the F1-best threshold of the other folds (nested);
#    the OOF-optimised F1 uses the single best threshold on all OOF rows and is optimistic. The test set
#    is cut at that single threshold.
# 6. **Outputs** in the run folder: `submission.csv` (validated against sample_submission.csv before it
#    is written), `probabilities.csv`, `oof.csv`, `metrics.json`, figures, and `model/`: what scores new
#    light curves (`python -m utils.predict`).

# %% tags=["parameters"]
data_dir = None  # folder holding train_log.csv; None: $DATA_DIR, then data/, then the Kaggle mount
out_dir = None  # run folder; None: submissions/interactive
profile = "default"  # quick | default | kaggle
seed = 42
device = "auto"  # unused here (LightGBM runs on the CPU); every notebook takes the same parameters
n_repeats = None  # repeats of the stratified K-fold; None: the profile's
blend_method = None  # f1 | weights (by AP) | mean | logistic | auto (best CV average precision); None: the profile's
pseudo_confidence = None  # pseudo-label test objects at this class probability (e.g. 0.97); None: the profile's
report_top_n = None  # test candidates in candidates.html; None: the profile's
select_members = None  # True: blend only the members whose measured gain beats one standard error; None: the profile's
adversarial_weighting = None  # True: GBDTs weight training objects by how test-like they look; None: the profile's (on, off in quick)
copies = None  # degraded copies of every training object the GBDTs also train on (0: none); None: the profile's (2, 0 in quick)

# %%
import json
import sys
import time
from pathlib import Path

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "utils" / "__init__.py").is_file())
sys.path.insert(0, str(ROOT))

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

from utils.config import save_config, seed_everything
from utils.data.load import load_dataset, load_sample_submission
from utils.ensemble_notebook import (THRESHOLD_CHOICE, choose_blend, ensemble_record, false_positive_table,
                                     gbdt_member_name, load_members, metrics_document, notebook05_settings,
                                     redshift_draw_seeds, results_table, save_gbdt_member, write_oof,
                                     write_probabilities)
from utils.features import feature_group, feature_table
from utils.gbdt import adversarial_weights, cross_validate, train_vs_test, weight_summary
from utils.evaluation.metrics import f1_by_threshold
from utils.report import shap_contributions, top_candidates, write_candidate_report
from utils.run_model import save_run_model
from utils.runs import resolve_out_dir, save_figure
from utils.submission import make_submission, write_submission

cfg = notebook05_settings(profile, n_repeats=n_repeats, blend_method=blend_method, pseudo_confidence=pseudo_confidence,
                          report_top_n=report_top_n, select_members=select_members,
                          adversarial_weighting=adversarial_weighting, copies=copies)
seed_everything(seed)
out = resolve_out_dir(out_dir)
save_config({"notebook": "05_ensemble_and_submit", "data_dir": data_dir, "profile": profile, "seed": seed, **cfg},
            out / "config_05_ensemble_and_submit.json")
timings: dict[str, float] = {}
notebook_started = time.perf_counter()

# %%
dataset = load_dataset(data_dir)
train_log, test_log = dataset.train_log, dataset.test_log
target = train_log["target"].astype(int)
print(f"train {len(train_log):,} objects ({target.sum()} TDEs), test {len(test_log):,}")

# %% [markdown]
# ## Features
# Train with the spectroscopic Z (to measure the shift), and once per CV repeat with Z perturbed by
# the test's photometric errors (what the models train on, one draw per repeat). Notebook 02 extracted
# and cached every one of these tables, so they load in seconds; run alone, this notebook extracts them.

# %%
started = time.perf_counter()
features = {
    "train_spec_z": feature_table(dataset, "train", n_jobs=cfg["feature_jobs"]),
    "test": feature_table(dataset, "test", n_jobs=cfg["feature_jobs"]),
}
# One redshift draw per CV repeat: the models average over the photometric-redshift error.
redshift_draws = [feature_table(dataset, "train", n_jobs=cfg["feature_jobs"], redshift_seed=z_seed)
                  for z_seed in redshift_draw_seeds(cfg, seed)]
features["train"] = redshift_draws[0]
# Degraded copies of every training object (points dropped, noise added: utils.lightcurve_copies), under the same
# draws: extra training rows for the GBDTs; a CV fold trains on the copies of its own training objects only.
copy_draws = [feature_table(dataset, "train", n_jobs=cfg["feature_jobs"], redshift_seed=z_seed, copies=cfg["copies"])
              for z_seed in redshift_draw_seeds(cfg, seed)] if cfg["copies"] else None
timings["features"] = time.perf_counter() - started
groups = pd.Series([feature_group(c) for c in features["train"].columns]).value_counts()
print(f"{features['train'].shape[1]} features in {timings['features']:.0f} s; per group: {groups.to_dict()}")
features["train"].describe().T.head(12)

# %% [markdown]
# ## Redshift shift: adversarial validation
# A classifier tries to tell training rows from test rows. AUC 0.5: indistinguishable. Z_err itself is
# left out (train has none). "Before": train features with spectroscopic Z; "after": with perturbed Z
# (the first draw).

# %%
started = time.perf_counter()
separations = {name: train_vs_test(features[name], features["test"], seed=seed,
                                   params={"n_estimators": cfg["adversarial_trees"]})
               for name in ("train_spec_z", "train")}
adversarial = {name: {"auc": s.auc, "top_features": s.telling.head(5).round(4).to_dict()}
               for name, s in separations.items()}
timings["adversarial"] = time.perf_counter() - started
pd.DataFrame({"train Z": ["spectroscopic (before)", "perturbed by test Z_err (after)"],
              "adversarial AUC": [adversarial["train_spec_z"]["auc"], adversarial["train"]["auc"]],
              "most telling features": [adversarial["train_spec_z"]["top_features"], adversarial["train"]["top_features"]]})

# %% [markdown]
# ## Adversarial-validation weights (setting `adversarial_weighting`, on in the default profile)
# The same train-vs-test classifier (the first draw's is the one fitted above), read the other way: each
# training object's out-of-fold P(test | x) gives the density ratio p / (1 − p) · n_train / n_test, clipped to
# [0.2, 5] and scaled to mean 1
# (`utils.gbdt.adversarial_weights`), which the GBDTs multiply into their class weights. It sees the
# perturbed-Z training tables (averaged over the redshift draws), so it weights by population differences,
# not by the exact-versus-photometric redshift the perturbation already models. The effective sample size
# (Σw)² / Σw² says how many equally weighted objects the weighted set is worth.

# %%
sample_weight = None
if cfg["adversarial_weighting"]:
    started = time.perf_counter()
    sample_weight = adversarial_weights(redshift_draws, features["test"], seed=seed,
                                        params={"n_estimators": cfg["adversarial_trees"]},
                                        fitted=separations.values())  # the first draw's is fitted already
    timings["adversarial_weights"] = time.perf_counter() - started
    spread = weight_summary(sample_weight)
    print(f"adversarial weights: min {spread['min']:.3f}, median {spread['median']:.3f}, max {spread['max']:.3f}; "
          f"effective sample size {spread['effective_sample_size']:.0f} of {spread['n']} "
          f"({spread['effective_fraction']:.1%}), {timings['adversarial_weights']:.0f} s")
    print(sample_weight.groupby(train_log["SpecType"].reindex(sample_weight.index)).mean().round(3).to_string())
else:
    print("adversarial weights: off (setting adversarial_weighting); every training object counts by its class weight")

# %% [markdown]
# ## LightGBM: multiclass-then-sum (and binary in the quick and kaggle profiles)
# Repeated stratified K-fold; OOF probabilities averaged over repeats; test probabilities from models
# refitted on all training objects. `gbdt` (saved for the ensemble) is the multiclass model's P(TDE).
# With `copies` (2 in the default profile), each fold also trains on the degraded copies of its training
# objects, each with its source's label and weight; only the real objects are scored.

# %%
gbdt_results, model_metrics = {}, {}
for mode in cfg["modes"]:
    started = time.perf_counter()
    result = cross_validate(redshift_draws, target, spec_type=train_log["SpecType"], mode=mode,
                            test_features=features["test"], n_splits=cfg["n_splits"], n_repeats=cfg["n_repeats"],
                            seed=seed, params={"n_estimators": cfg["n_estimators"]},
                            pseudo_confidence=cfg["pseudo_confidence"], nested_repeats=cfg["nested_repeats"],
                            sample_weight=sample_weight, copies=copy_draws)
    name = gbdt_member_name(mode)
    gbdt_results[name] = result
    model_metrics[name] = save_gbdt_member(out, name, result, time.perf_counter() - started,
                                           data_fingerprint=dataset.fingerprint)
    summary = result.summary
    print(f"{name}: nested F1 {summary['f1']:.3f} (OOF-optimised {summary['f1_oof_optimised']:.3f}), "
          f"AP {summary['average_precision']:.3f}, {model_metrics[name]['seconds']:.0f} s")
timings["gbdt"] = sum(model_metrics[n]["seconds"] for n in gbdt_results)

# %% [markdown]
# ## Ensemble members
# Every model with predictions in this run folder: the GBDTs above, and the CNN / Transformer when
# notebooks 03 / 04 ran (not in the default profile, see the top). Each member is scored the same way here.

# %%
members = load_members(out, target, model_metrics, seed=seed, nested_repeats=cfg["nested_repeats"],
                       data_fingerprint=dataset.fingerprint, test_ids=test_log.index)
print(f"members: {list(members.oof.columns)} on {len(members.oof):,} training objects")
absent = [name for name in ("cnn", "transformer") if name not in members.oof.columns]
if absent:
    print(f"no {' or '.join(absent)} predictions here: notebooks 03/04 did not run (the default profile leaves them "
          "out: over 5 CV seeds they did not raise the blend's nested F1 beyond one standard error, docs/results.md)")
members.oof.corr(method="spearman").round(3)

# %% [markdown]
# ## Blend, chosen inside CV
# Each blender is fitted on K-1 folds of the OOF predictions and scores the K-th, so the blended OOF
# never saw its own labels through the weights; each object's blended score is the mean (in logits) over
# `blend_repeats` fold splits, because one split can coincide with the deep models' own CV folds and
# swing the score (docs/results.md). With `blend_method="auto"` the method with the best
# cross-validated average precision is used.
#
# Members earn their place by measurement (`select_members`, on in the default profile): starting from all
# of them, the member whose removal costs least is dropped unless the blend's cross-validated nested F1
# with it beats the blend without it by more than one standard error over `blend_repeats` blender splits.
# The multiclass GBDT always stays. The table printed below is that measurement.

# %%
started = time.perf_counter()
blend = choose_blend(members, cfg["blend_method"], seed=seed, blend_repeats=cfg["blend_repeats"],
                     nested_repeats=cfg["nested_repeats"], select=cfg["select_members"])
if blend.selection is not None:
    print(f"blended members: {list(blend.blender.members)} (of {list(members.oof.columns)}); each decision:")
    print(blend.selection.round(4).to_string(index=False))
timings["ensemble"] = time.perf_counter() - started
pd.DataFrame(blend.scores_by_method).T[["f1", "f1_oof_optimised", "precision", "recall", "average_precision"]].round(4)

# %% [markdown]
# ## Scores: honest (nested threshold) and OOF-optimised
# `F1 (nested)` is the number to trust: each fold's threshold was chosen on the other folds.
# `F1 (OOF-optimised)` uses the best single threshold on all OOF rows: it has seen the labels it scores.

# %%
model_metrics["ensemble"] = ensemble_record(blend, members, timings["ensemble"])
results_table(model_metrics).round(4)

# %% [markdown]
# ## Submission
# Test objects with blended probability ≥ the threshold are TDEs. The file is validated against
# sample_submission.csv (every id once, same order, 0/1 only) before it replaces anything.

# %%
sample = load_sample_submission(data_dir)
labels = (blend.test >= blend.threshold).astype(int)
submission = make_submission(labels, sample)
write_submission(submission, sample, out / "submission.csv")
print(f"submission.csv: {labels.sum():,} of {len(labels):,} test objects flagged as TDE "
      f"({labels.mean():.1%}; the training set has {members.target.mean():.1%} TDEs)")
write_probabilities(out, members, blend, sample)
oof_table = write_oof(out, members, blend)

# %% [markdown]
# ## The run is a model
# `model/` keeps what scores new objects: the GBDT boosters refitted on all training objects, the blender,
# the test threshold, the feature columns and FEATURES_VERSION, settings, commit and package versions
# (`manifest.json`); the deep members' fold checkpoints and fold alignment stay under `models/`.
# `python -m utils.predict --run <this folder> --data-dir <light curves + log>` scores a new batch.

# %%
model_dir = save_run_model(out, gbdt_results=gbdt_results, blender=blend.blender, threshold=blend.threshold,
                           threshold_method=THRESHOLD_CHOICE, feature_columns=features["train"].columns,
                           settings={"profile": profile, "seed": seed, **cfg,
                                     "gbdt": {name: r.settings for name, r in gbdt_results.items()}},
                           data_fingerprint=dataset.fingerprint)
print(f"{model_dir.relative_to(out)}/: {sorted(p.name for p in model_dir.iterdir())}")

# %%
timings["notebook"] = time.perf_counter() - notebook_started
metrics = metrics_document(model_metrics, adversarial=adversarial, blend=blend, test_flagged=labels.sum(),
                           n_features=features["train"].shape[1], timings=timings, profile=profile, seed=seed,
                           nested_repeats=cfg["nested_repeats"])
save_config(metrics, out / "metrics.json")
print(json.dumps(metrics["seconds"]))

# %% [markdown]
# ## Report figures
# Precision-recall per model, F1 against the threshold, which classes fool the ensemble, and the
# features the multiclass GBDT leans on (gain, summed over folds).

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
for name in oof_table.columns.drop("target"):
    precision, recall, _ = precision_recall_curve(members.target, oof_table[name])
    axes[0].plot(recall, precision, label=f"{name} (AP {model_metrics[name]['average_precision']:.3f})")
axes[0].set(xlabel="recall", ylabel="precision", title="precision-recall (OOF)")
axes[0].legend()
grid = np.linspace(0.01, 0.99, 99)
for name in oof_table.columns.drop("target"):
    axes[1].plot(grid, f1_by_threshold(members.target, oof_table[name], grid), label=name)
axes[1].axvline(blend.threshold, color="k", ls="--", lw=0.8, label="ensemble test threshold")
axes[1].set(xlabel="threshold", ylabel="F1", title="F1 against threshold (OOF)")
axes[1].legend()
save_figure(fig, out, "05_pr_and_f1_curves")

# %%
fooled = false_positive_table(blend, members.target, train_log["SpecType"])
predicted = blend.oof >= blend.threshold
fig, ax = plt.subplots(figsize=(7, 4))
fooled["false positives"].head(10).plot.barh(ax=ax)
ax.invert_yaxis()
ax.set(xlabel="false positives (OOF, ensemble)", title=f"which classes fool us ({int(predicted.sum())} flagged, "
       f"{int((predicted & (members.target == 1)).sum())} true)")
save_figure(fig, out, "05_false_positives_by_spectype")
fooled.head(10)

# %%
importance = gbdt_results["gbdt"].importance if "gbdt" in gbdt_results else next(iter(gbdt_results.values())).importance
fig, axes = plt.subplots(1, 2, figsize=(13, 6), gridspec_kw={"width_ratios": [2, 1]})
importance.head(25).iloc[::-1].plot.barh(ax=axes[0])
axes[0].set(xlabel="share of gain", title="top 25 features (multiclass GBDT)")
importance.groupby(importance.index.map(feature_group)).sum().sort_values().plot.barh(ax=axes[1])
axes[1].set(xlabel="share of gain", title="per feature group")
save_figure(fig, out, "05_feature_importance")

# %% [markdown]
# ## Candidates for follow-up
# The test objects a person would send to a spectrograph first: the top `report_top_n` by blended
# probability, each with its light curve and Gaussian-process fit, colour and temperature against
# rest-frame time, redshift, every member's probability, and the features that pushed the multiclass
# GBDT's TDE score up or down (SHAP values from LightGBM's `pred_contrib`, averaged over the refitted
# boosters). Written to `candidates.html` with one PNG per candidate in `candidates/`.

# %%
explained = gbdt_results["gbdt"] if "gbdt" in gbdt_results else next(iter(gbdt_results.values()))
shown = top_candidates(blend.test, cfg["report_top_n"]).index  # SHAP for the shown objects only: all 7,135 take a minute
contributions = shap_contributions(explained.boosters, features["test"].loc[shown],
                                   positive_class=explained.positive_column)
page = write_candidate_report(out, test_log, dataset.test_lc, blend.test, features["test"], contributions,
                              top_n=cfg["report_top_n"], threshold=blend.threshold, members=members.test)
print(f"{page.relative_to(out)}: the top {min(cfg['report_top_n'], len(blend.test))} test objects")

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
#    (and a binary model in the quick and kaggle profiles; the default leaves it out: it did not raise the
#    selected ensemble's F1, docs/results.md, "Binary GBDT"). Test probabilities come from models refitted
#    on all training objects.
# 4. **Ensemble** of every model whose predictions are in the run folder (GBDT here; CNN and Transformer
#    from notebooks 03/04 when they ran), blended in logit space with weights chosen inside CV. The default
#    profile does not run 03/04: blending them in did not raise the nested F1 beyond one standard error
#    (docs/results.md, "Blend"); `--notebooks all` runs them.
# 5. **Threshold.** The honest F1 cuts each fold at the F1-best threshold of the other folds (nested);
#    the OOF-optimised F1 uses the single best threshold on all OOF rows and is optimistic. The test set
#    is cut at that single threshold.
# 6. **Outputs** in the run folder: `submission.csv` (validated against sample_submission.csv before it
#    is written), `probabilities.csv`, `oof.csv`, `metrics.json`, figures, and `model/`: what scores new
#    light curves (`python -m utils.serve`).

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
modes = None  # GBDTs: a list of "multiclass", "binary", "specialist" (TDE vs SN IIn, SLSN, AGN) or "multiclass+specialist"
class_groups = None  # "default" | "lookalike" (SN IIn and SLSN as a group of their own); None: the profile's
lookalike_weight = None  # training weight of SN IIn and SLSN (times their class weight); None: the profile's (1.0)
draws = None  # "extract" | "transform": how each redshift draw's training table is made; None: the profile's
production_seeds = None  # > 0: also estimate the production-path F1 over this many outer seeds (slow); None: the profile's (0)

# %%
import json
import sys
import time
from pathlib import Path

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "utils" / "__init__.py").is_file())
sys.path.insert(0, str(ROOT))

from utils.config import save_config, seed_everything
from utils.data import cache_root, load_dataset, load_sample_submission
from utils.run.folder import resolve_out_dir
from utils.steps.ensemble import (blend_methods_table, choose_blend, ensemble_record, load_members, metrics_document,
                                  plot_false_positives, plot_importance, plot_scores, results_table, save_model,
                                  write_candidates, write_submission_files)
from utils.steps.gbdt import (load_gbdt_features, measure_shift, notebook05_settings, sample_weights, shift_summary,
                              shift_table, train_gbdts)
from utils.steps.production import production_estimate

cfg = notebook05_settings(profile, n_repeats=n_repeats, blend_method=blend_method, pseudo_confidence=pseudo_confidence,
                          report_top_n=report_top_n, select_members=select_members,
                          adversarial_weighting=adversarial_weighting, copies=copies, class_groups=class_groups,
                          modes=modes, lookalike_weight=lookalike_weight, draws=draws, production_seeds=production_seeds)
seed_everything(seed)
out = resolve_out_dir(out_dir)
save_config({"notebook": "05_ensemble_and_submit", "data_dir": data_dir, "profile": profile, "seed": seed, **cfg},
            out / "config_05_ensemble_and_submit.json")
timings: dict[str, float] = {}
notebook_started = time.perf_counter()

# %%
dataset = load_dataset(data_dir)
train_log, test_log = dataset.train_log, dataset.test_log
print(f"train {len(train_log):,} objects ({train_log['target'].sum()} TDEs), test {len(test_log):,}")

# %% [markdown]
# ## Features
# Train with the spectroscopic Z (to measure the shift), and once per CV repeat with Z perturbed by
# the test's photometric errors (what the models train on, one draw per repeat). Degraded copies of every
# training object (points dropped, noise added: utils.data.copies), under the same draws, are extra training
# rows for the GBDTs; a CV fold trains on the copies of its own training objects only. Notebook 02 extracted
# and cached every one of these tables, so they load in seconds; run alone, this notebook extracts them.

# %%
features = load_gbdt_features(dataset, cfg, seed)
timings["features"] = features.seconds
print(f"{features.train.shape[1]} features in {features.seconds:.0f} s; per group: {features.groups()}")
features.train.describe().T.head(12)

# %% [markdown]
# ## Redshift shift: adversarial validation
# A classifier tries to tell training rows from test rows. AUC 0.5: indistinguishable. Z_err itself is
# left out (train has none). "Before": train features with spectroscopic Z; "after": with perturbed Z
# (the first draw).

# %%
started = time.perf_counter()
shift = measure_shift(features, cfg, seed)
timings["adversarial"] = time.perf_counter() - started
shift_table(shift)

# %% [markdown]
# ## Adversarial-validation weights (setting `adversarial_weighting`, on in the default profile)
# The same train-vs-test classifier (the first draw's is the one fitted above), read the other way: each
# training object's out-of-fold P(test | x) gives the density ratio p / (1 − p) · n_train / n_test, clipped to
# [0.2, 5] and scaled to mean 1 (`utils.gbdt.adversarial.adversarial_weights`), which the GBDTs multiply into
# their class weights. It sees the perturbed-Z training tables (averaged over the redshift draws), so it weights
# by population differences, not by the exact-versus-photometric redshift the perturbation already models. The
# effective sample size (Σw)² / Σw² says how many equally weighted objects the weighted set is worth.

# %%
started = time.perf_counter()
sample_weight = sample_weights(features, shift, cfg, seed, train_log)
timings["adversarial_weights"] = time.perf_counter() - started

# %% [markdown]
# ## LightGBM: multiclass-then-sum (and binary in the quick and kaggle profiles)
# Repeated stratified K-fold; OOF probabilities averaged over repeats; test probabilities from models
# refitted on all training objects. `gbdt` (saved for the ensemble) is the multiclass model's P(TDE).
# With `copies` (2 in the default profile), each fold also trains on the degraded copies of its training
# objects, each with its source's label and weight; only the real objects are scored.

# %%
gbdt_results, model_metrics = train_gbdts(features, train_log, cfg, seed, out, dataset.fingerprint, sample_weight)
timings["gbdt"] = sum(model_metrics[n]["seconds"] for n in gbdt_results)

# %% [markdown]
# ## Ensemble members
# Every model with predictions in this run folder: the GBDTs above, and the CNN / Transformer when
# notebooks 03 / 04 ran (not in the default profile, see the top). Each member is scored the same way here.

# %%
members = load_members(out, train_log["target"].astype(int), model_metrics, seed=seed,
                       nested_repeats=cfg["nested_repeats"], data_fingerprint=dataset.fingerprint,
                       test_ids=test_log.index)
print(f"members: {list(members.oof.columns)} on {len(members.oof):,} training objects")
absent = [name for name in ("cnn", "transformer") if name not in members.oof.columns]
if absent:
    print(f"no {' or '.join(absent)} predictions here: notebooks 03/04 did not run (the default profile leaves them "
          "out: they did not raise the blend's nested F1 beyond one standard error, docs/results.md, \"Blend\")")
members.oof.corr(method="spearman").round(3)

# %% [markdown]
# ## Blend, chosen inside CV
# Each blender is fitted on K-1 folds of the OOF predictions and scores the K-th, so the blended OOF
# never saw its own labels through the weights; each object's blended score is the mean (in logits) over
# `blend_repeats` fold splits, because one split can coincide with the deep models' own CV folds and
# swing the score (docs/results.md, "Blend"). With `blend_method="auto"` the method with the best
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
blend_methods_table(blend).round(4)

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
# sample_submission.csv (every id once, same order, 0/1 only) before it replaces anything; `probabilities.csv`
# and `oof.csv` keep every member's scores.

# %%
labels = write_submission_files(out, members, blend, load_sample_submission(data_dir))

# %% [markdown]
# ## The run is a model
# `model/` keeps what scores new objects: the GBDT models refitted on all training objects, the blender,
# the test threshold, the feature columns and FEATURES_VERSION, settings, commit and package versions
# (`manifest.json`); the deep members' fold checkpoints and fold alignment stay under `models/`.
# `python -m utils.serve --run <this folder> --data-dir <light curves + log>` scores a new batch.

# %%
model_dir = save_model(out, gbdt_results, blend, features, {"profile": profile, "seed": seed, **cfg},
                       dataset.fingerprint)
print(f"{model_dir.relative_to(out)}/: {sorted(p.name for p in model_dir.iterdir())}")

# %%
timings["notebook"] = time.perf_counter() - notebook_started
metrics = metrics_document(model_metrics, adversarial=shift_summary(shift), blend=blend, test_flagged=labels.sum(),
                           n_features=features.train.shape[1], timings=timings, profile=profile, seed=seed,
                           nested_repeats=cfg["nested_repeats"])
save_config(metrics, out / "metrics.json")
print(json.dumps(metrics["seconds"]))

# %% [markdown]
# ## What a user gets on unseen objects (setting `production_seeds`, off by default: slow)
# The nested F1 above cuts out-of-fold rows; the submission cuts refitted models' scores of objects with photometric
# redshifts. With `production_seeds` > 0 this notebook's whole path is rerun with a fifth of the labelled objects
# held out at a time, treated as the test set is (photometric-like Z, unlabelled), and scored there
# (`utils.steps.production`); `metrics.json` keeps the estimate. `benchmarks/production_path.py` computes the same.

# %%
if cfg["production_seeds"]:
    estimate = production_estimate(dataset, cfg, outer_seeds=list(range(cfg["production_seeds"])), seed=seed,
                                   store=cache_root() / "production_path")
    metrics["production_path"] = estimate.record()
    save_config(metrics, out / "metrics.json")
    print(estimate.summary()[["mean", "se"]].round(4).to_string())
    print(estimate.flag_rates().head(8).round(3).to_string())
else:
    print("production-path estimate: not computed here (setting production_seeds); docs/results.md, \"Headline\", "
          "has the current one")

# %% [markdown]
# ## Report figures
# Precision-recall per model, F1 against the threshold, which classes fool the ensemble, and the
# features the multiclass GBDT leans on (gain, summed over folds).

# %%
plot_scores(out, members, blend, model_metrics);

# %%
plot_false_positives(out, blend, members, train_log["SpecType"]).head(10)

# %%
plot_importance(out, gbdt_results);

# %% [markdown]
# ## Candidates for follow-up
# The test objects a person would send to a spectrograph first: the top `report_top_n` by blended
# probability, each with its light curve and Gaussian-process fit, colour and temperature against
# rest-frame time, redshift, every member's probability, and the features that pushed the multiclass
# GBDT's TDE score up or down (SHAP values, averaged over the refitted models; computed for the shown objects
# only). Written to `candidates.html` with one PNG per candidate in `candidates/`.

# %%
write_candidates(out, dataset, blend, members, gbdt_results, features, cfg["report_top_n"])

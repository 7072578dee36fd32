# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Exploring MALLORN
#
# What the data look like before any modelling: how rare TDEs are, how the train and test redshifts
# differ (spectroscopic vs photometric), how densely each object is observed, and what each class's
# light curve looks like in the six LSST bands. Every figure is saved to the run folder's `figures/`.

# %% tags=["parameters"]
data_dir = None  # folder holding train_log.csv; None: $DATA_DIR, then data/, then the Kaggle mount
out_dir = None  # run folder for figures and config; None: submissions/interactive
profile = "default"  # quick | default | kaggle
seed = 42
device = "auto"  # unused here; every notebook takes the same parameters
example_classes = ["TDE", "AGN", "SN Ia", "SN II", "SLSN-I"]  # one example light curve each

# %%
import sys
from pathlib import Path

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "utils" / "__init__.py").is_file())
sys.path.insert(0, str(ROOT))

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from utils import BANDS
from utils.config import save_config, seed_everything
from utils.data.extinction import deextinct
from utils.data.load import load_dataset
from utils.plots import BAND_COLOURS, observations_per_band, peak_flux, plot_lightcurve
from utils.run.folder import resolve_out_dir, save_figure

seed_everything(seed)
sns.set_theme(style="whitegrid", context="notebook")
out = resolve_out_dir(out_dir)
save_config({"notebook": "01_eda", "data_dir": data_dir, "profile": profile, "seed": seed,
             "example_classes": example_classes}, out / "config_01_eda.json")
dataset = load_dataset(data_dir)
train_log, test_log = dataset.train_log, dataset.test_log
print(f"{len(train_log):,} train objects ({train_log.target.sum()} TDEs, {train_log.target.mean():.1%}), "
      f"{len(test_log):,} test objects, {len(dataset.train_lc) + len(dataset.test_lc):,} observations")
print("NaN-flux rows dropped:", {k: dataset.report[k]["nan_flux_rows_dropped"] for k in ("train", "test")})

# %% [markdown]
# ## Class balance
# TDEs are a few percent of the training set; AGN and SN Ia dominate. F1 on the rare class is the metric,
# so accuracy is meaningless here: predicting "not TDE" everywhere is ~95% accurate and scores F1 = 0.

# %%
counts = train_log["SpecType"].value_counts()
fig, ax = plt.subplots(figsize=(9, 4.5))
colours = ["#d62728" if name == "TDE" else "#7f7f7f" for name in counts.index]
ax.barh(counts.index[::-1], counts.values[::-1], color=colours[::-1])
ax.set_xscale("log")
ax.set_xlabel("training objects (log scale)")
ax.set_title("Training objects by spectroscopic type (TDE in red)")
for y, value in enumerate(counts.values[::-1]):
    ax.text(value * 1.05, y, f"{value:,}", va="center", fontsize=8)
save_figure(fig, out, "01_class_balance")

# %% [markdown]
# ## Redshift: spectroscopic (train) vs photometric (test)
# Train redshifts are spectroscopic (`Z_err` empty); test redshifts are photometric with an error bar.
# Features that lean on Z (rest-frame times, luminosity) will be noisier on the test set: a real shift.

# %%
print("train Z_err present:", int(train_log.Z_err.notna().sum()), "| test Z_err present:", int(test_log.Z_err.notna().sum()))
fig, axes = plt.subplots(1, 3, figsize=(16, 4))
bins = np.linspace(0, max(train_log.Z.max(), test_log.Z.max()), 50)
axes[0].hist(train_log.Z, bins=bins, density=True, alpha=0.6, label="train (spectroscopic)")
axes[0].hist(test_log.Z, bins=bins, density=True, alpha=0.6, label="test (photometric)")
axes[0].set(xlabel="redshift Z", ylabel="density", title="Redshift, train vs test")
axes[0].legend()
for cls, colour in (("TDE", "#d62728"), ("AGN", "#1f77b4"), ("SN Ia", "#2ca02c")):
    axes[1].hist(train_log.Z[train_log.SpecType == cls], bins=bins, density=True, histtype="step", lw=2, color=colour, label=cls)
axes[1].set(xlabel="redshift Z", ylabel="density", title="Train redshift by class")
axes[1].legend()
axes[2].scatter(test_log.Z, test_log.Z_err, s=3, alpha=0.4)
axes[2].set(xlabel="photometric Z (test)", ylabel="Z_err", title="Test photo-z error grows with Z")
save_figure(fig, out, "01_redshift_train_vs_test")

# %% [markdown]
# ## Cadence: observations per object and per band, and time spans

# %%
per_band = pd.concat([observations_per_band(dataset.train_lc).assign(set="train"),
                      observations_per_band(dataset.test_lc).assign(set="test")])
per_object = per_band[list(BANDS)].sum(axis=1)
span = pd.concat([lc.groupby("object_id")["time"].agg(lambda t: t.max() - t.min()) for lc in (dataset.train_lc, dataset.test_lc)])
fig, axes = plt.subplots(1, 3, figsize=(16, 4))
axes[0].hist(per_object.clip(upper=400), bins=np.arange(0, 410, 10), color="0.4")
axes[0].set(xlabel="observations per object (400+ in the last bin)", ylabel="objects",
            title=f"median {per_object.median():.0f} observations, max {per_object.max()}")
sns.boxplot(data=per_band[list(BANDS)], ax=axes[1], palette=BAND_COLOURS, showfliers=False)
axes[1].set(xlabel="band", ylabel="observations per object", title="Per band: u and g are sparse")
axes[2].hist(span / 365.25, bins=50, color="0.4")
axes[2].set(xlabel="time span (years, observer frame)", ylabel="objects", title="Light-curve duration")
save_figure(fig, out, "01_cadence")
per_band.groupby("set")[list(BANDS)].median().rename_axis(index="median observations")

# %% [markdown]
# ## Example light curves per class
# De-extinguished flux in all six bands, one well-sampled example per class (the object with the most
# observations above 5σ). TDEs: a smooth blue rise and a long power-law fade; SNe: a faster bump that
# reddens; AGN: stochastic variability over years.

# %%
clean = deextinct(dataset.train_lc, train_log["EBV"])
significant = (clean.flux / clean.flux_err > 5).groupby(clean.object_id).sum()
present = [cls for cls in example_classes if (train_log.SpecType == cls).any()]
fig, axes = plt.subplots(len(present), 1, figsize=(11, 3.2 * len(present)), squeeze=False)
for ax, cls in zip(axes[:, 0], present):
    object_id = significant.reindex(train_log.index[train_log.SpecType == cls]).idxmax()
    plot_lightcurve(ax, clean[clean.object_id == object_id])
    meta = train_log.loc[object_id]
    ax.set_title(f"{cls}: {object_id}  (z = {meta.Z:.3f}, E(B-V) = {meta.EBV:.3f})", loc="left")
fig.tight_layout()
save_figure(fig, out, "01_example_lightcurves")

# %% [markdown]
# ## Peak brightness against redshift
# Brighter at low Z, as expected; TDEs sit at low-to-moderate redshift, AGN reach far beyond.

# %%
peaks = peak_flux(clean).reindex(train_log.index)
fig, ax = plt.subplots(figsize=(8, 5))
for cls, colour in (("AGN", "#1f77b4"), ("SN Ia", "#2ca02c"), ("SN II", "#9467bd"), ("TDE", "#d62728")):
    rows = train_log.SpecType == cls
    ax.scatter(train_log.Z[rows], peaks[rows].clip(lower=0.1), s=10 if cls != "TDE" else 22, alpha=0.6, color=colour, label=cls)
ax.set(xscale="log", yscale="log", xlabel="redshift Z", ylabel="peak de-extinguished flux (µJy)",
       title="Peak brightness vs redshift (train)")
ax.legend()
save_figure(fig, out, "01_peak_flux_vs_redshift")

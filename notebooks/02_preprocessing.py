# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Preprocessing: de-extinction and model inputs
#
# Builds (and caches) what the models read:
#
# 1. **De-extinction.** Milky Way dust dims and reddens every source. We undo it with the
#    Fitzpatrick (1999) law at the LSST effective wavelengths, $R_V = 3.1$, $A_V = 3.1\,E(B-V)$,
#    multiplying Flux and Flux_err by $10^{0.4 A_\lambda}$. Negative fluxes (baseline-subtracted) stay negative.
# 2. **Per-band sequences** for the CNN and Transformer: per object and band, 200 steps of
#    (flux, flux_err, time) with a mask, flux divided by the object's max |flux|.
# 3. **One multi-band token sequence** per object (time, band, flux, flux_err) for attention models.
# 4. **Physics features** (`utils.features`, docs/features.md): every table notebooks 03, 04 and 05 will
#    read in a run of this profile and seed, so their timings hold only their own models.
#
# Everything is cached under `cache/`, keyed by the data files and the parameters: later notebooks
# call the same functions and get the cached arrays back in a fraction of a second.

# %% tags=["parameters"]
data_dir = None  # folder holding train_log.csv; None: $DATA_DIR, then data/, then the Kaggle mount
out_dir = None  # run folder for figures and config; None: submissions/interactive
profile = "default"  # quick | default | kaggle
seed = 42
device = "auto"  # unused here; every notebook takes the same parameters
sequence_length = 200  # steps per band
token_length = 256  # tokens in the multi-band sequence

# %%
import sys
import time
from pathlib import Path

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "utils" / "__init__.py").is_file())
sys.path.insert(0, str(ROOT))

import matplotlib.pyplot as plt
import pandas as pd

from utils import BANDS
from utils.config import save_config, seed_everything
from utils.data.extinction import LSST_WAVELENGTHS, deextinct, extinction_per_ebv
from utils.data.load import load_dataset
from utils.plots import BAND_COLOURS, plot_lightcurve
from utils.run.folder import resolve_out_dir, save_figure
from utils.steps.features import extract_run_features
from utils.training.sequences import prepare_sequences

seed_everything(seed)
out = resolve_out_dir(out_dir)
save_config({"notebook": "02_preprocessing", "data_dir": data_dir, "profile": profile, "seed": seed,
             "sequence_length": sequence_length, "token_length": token_length}, out / "config_02_preprocessing.json")

# %%
started = time.perf_counter()
dataset = load_dataset(data_dir)
print(f"data: {dataset.data_dir}  ({time.perf_counter() - started:.1f} s, fingerprint {dataset.fingerprint})")
for kind in ("train", "test"):
    r = dataset.report[kind]
    print(f"{kind}: {r['objects']:,} objects, {r['rows']:,} observations, {r['nan_flux_rows_dropped']:,} NaN-flux rows "
          f"and {r['duplicate_rows_dropped']:,} exact duplicate rows dropped")

# %% [markdown]
# ## Extinction per band
# $A_\lambda / E(B-V)$ from Fitzpatrick99: the u band loses the most light. An object behind
# $E(B-V) = 0.3$ is dimmed by $10^{-0.4 \cdot 0.3 \cdot A_u/E(B-V)}$ in u.

# %%
per_ebv = pd.Series(extinction_per_ebv(), index=list(BANDS), name="A_band / E(B-V)")
ebv_examples = [0.05, 0.3, 1.0]
table = pd.DataFrame({"wavelength (Å)": [LSST_WAVELENGTHS[b] for b in BANDS], per_ebv.name: per_ebv.values}, index=list(BANDS))
for ebv in ebv_examples:
    table[f"flux factor at EBV={ebv}"] = 10 ** (0.4 * per_ebv.values * ebv)
table.round(3)

# %% [markdown]
# ## Before and after, on example objects
# The most reddened TDE and SN Ia in the training set, raw (faint) and de-extinguished (solid).

# %%
train_log = dataset.train_log
clean_train = deextinct(dataset.train_lc, train_log["EBV"])
examples = [train_log[train_log.SpecType == cls]["EBV"].idxmax() for cls in ("TDE", "SN Ia") if (train_log.SpecType == cls).any()]
fig, axes = plt.subplots(1, len(examples), figsize=(7 * len(examples), 4), squeeze=False)
for ax, object_id in zip(axes[0], examples):
    plot_lightcurve(ax, dataset.train_lc[dataset.train_lc.object_id == object_id], alpha=0.25, label_bands=False)
    plot_lightcurve(ax, clean_train[clean_train.object_id == object_id])
    meta = train_log.loc[object_id]
    ax.set_title(f"{object_id}: {meta.SpecType}, z={meta.Z:.3f}, EBV={meta.EBV:.3f}")
save_figure(fig, out, "02_deextinction_examples")

# %% [markdown]
# ## Sequences for the deep models
# Per-band sequences (observer and rest frame) and multi-band token sequences, for train and test.

# %%
started = time.perf_counter()
inputs = {}
for kind in ("train", "test"):
    for rest_frame in (False, True):
        inputs[kind, "band", rest_frame] = prepare_sequences(dataset, kind, layout="band", length=sequence_length, rest_frame=rest_frame)
    inputs[kind, "token", False] = prepare_sequences(dataset, kind, layout="token", length=token_length)
print(f"built or loaded {len(inputs)} arrays in {time.perf_counter() - started:.1f} s")
summary = pd.DataFrame([
    {"set": kind, "layout": layout, "rest frame": rest, "shape": seq.values.shape,
     "observed steps": f"{seq.mask.mean():.1%}", "MB": seq.values.nbytes / 1e6}
    for (kind, layout, rest), seq in inputs.items()
])
summary

# %% [markdown]
# What a model sees for one TDE: each band's normalised flux against rest-frame time; padded steps are masked out.

# %%
band_seq = inputs["train", "band", True]
object_id = examples[0]
row = list(band_seq.object_ids).index(object_id)
fig, ax = plt.subplots(figsize=(8, 4))
for b, band in enumerate(BANDS):
    m = band_seq.mask[row, b]
    ax.errorbar(band_seq.channel("time")[row, b, m], band_seq.channel("flux")[row, b, m],
                yerr=band_seq.channel("flux_err")[row, b, m], fmt="o", ms=3, color=BAND_COLOURS[band], label=band)
ax.set_xlabel("rest-frame days since first observation")
ax.set_ylabel("flux / max |flux|")
ax.legend(ncol=6)
ax.set_title(f"model input for {object_id} ({band_seq.mask[row].sum()} of {band_seq.mask[row].size} steps observed)")
save_figure(fig, out, "02_model_input_example")

# %% [markdown]
# ## Physics features
# Every feature table the later notebooks read (`utils.steps.features`): the training objects with their
# spectroscopic Z and under each redshift draw the models train on (Z perturbed like the test's photometric
# Z), the degraded copies of the training objects that notebook 05's GBDT also trains on (under the same
# draws), and the test objects. Only the tables at the log's own redshifts are extracted: a redshift draw changes
# Z, not the light curve, so each draw's table is the extracted one with its rest-frame times, temperatures and
# distances moved to the drawn Z (`utils.features.draws`; its rows in the summary below cost milliseconds).
# Cached under `cache/features/`; a table already there is only read.

# %%
started = time.perf_counter()
feature_summary = extract_run_features(dataset, profile, seed)
wall, extracted = time.perf_counter() - started, feature_summary.loc[~feature_summary["cached"], "rows"].sum()
print(f"{len(feature_summary)} tables in {wall:.0f} s" + (f"; {1000 * wall / extracted:.1f} ms per object extracted "
      f"(wall, {extracted:,} objects)" if extracted else "; all were cached"))
feature_summary.round(1)

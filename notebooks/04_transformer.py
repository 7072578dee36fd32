# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Transformer: attention over the observations
#
# The default design reads one time-ordered sequence of every band's observations. Each token is
# its values (normalised and asinh flux, error, S/N) plus a band embedding plus a *continuous* time
# embedding (sin/cos of rest-frame days since the peak at periods of 1 to 1000 days), so the model
# knows how far apart irregular observations are. Two small attention layers, attention + mean
# pooling, then the same object vector and MLP head as the CNN (notebook 03).
#
# Training is the CNN's: focal loss, oversampled TDEs, augmentation (flux noise, time stretch,
# dropped points, redshifting), an auxiliary SpecType-group head, early stopping on an inner
# validation split, several seeds averaged.
#
# `variant="seed"` runs the seed's design: a Transformer encoder per band with position encodings,
# then attention across the six bands (~175K parameters), on per-object normalised flux.

# %% tags=["parameters"]
data_dir = None  # folder holding train_log.csv; None: $DATA_DIR, then data/, then the Kaggle mount
out_dir = None  # run folder for figures, checkpoints and predictions; None: submissions/interactive
profile = "default"  # quick | default | kaggle
seed = 42
device = "auto"  # auto | cpu | cuda | mps
model = "transformer"  # transformer
variant = "tuned"  # tuned | seed (the seed's per-band ~175K-parameter design)
epochs = None  # None: the profile's value
batch_size = None
lr = None
loss = None  # focal | bce
fold = None  # None: all folds; a number: that fold only (a quick check; no predictions saved)
use_features = None  # True: feed utils.features' physics features into the MLP

# %%
import sys
import time
from pathlib import Path

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "utils" / "__init__.py").is_file())
sys.path.insert(0, str(ROOT))

import pandas as pd

from utils.data import load_dataset
from utils.models import build_model, count_parameters
from utils.runs import save_figure
from utils.training import (cross_validate, plot_pr_curve, plot_training_curves, prepare_inputs, save_for_ensemble,
                            score_lines, start_deep_notebook)

notebook_started = time.perf_counter()
settings, out = start_deep_notebook("04_transformer", data_dir=data_dir, out_dir=out_dir, profile=profile, variant=variant,
                                    model=model, seed=seed, device=device, epochs=epochs, batch_size=batch_size,
                                    lr=lr, loss=loss, fold=fold, use_features=use_features)
pd.Series(settings, dtype=object).to_frame("setting").T

# %% [markdown]
# ## Inputs
# Multi-band token sequences (or per-band sequences for the seed design) from notebook 02's cache, in the
# observer frame: the model moves time to the rest frame and to the peak itself, after augmentation.

# %%
dataset = load_dataset(data_dir)
inputs = prepare_inputs(dataset, settings)
n_extra = len(inputs.scaler.names) if inputs.scaler else 0
network = build_model(settings, n_extra)
print(f"train {tuple(inputs.train.tensors['flux'].shape)}, test {tuple(inputs.test.tensors['flux'].shape)}, "
      f"{inputs.y.sum()} TDEs, {n_extra} physics features")
print(f"{settings['model']} ({variant}): {count_parameters(network):,} parameters")

# %% [markdown]
# ## Cross-validation
# Stratified 5-fold; each fold trains `n_seeds` networks, each early-stopped on its own inner
# validation split, and averages them. Checkpoints: `models/<model>/fold<k>/best_model.pt`.
# The five fold networks rank alike but score on different scales; with `align_folds` (the default)
# each one's scores are mapped onto their common scale, learned from the test objects all of them
# scored (no labels), before the OOF rows are pooled and the test predictions averaged.

# %%
result = cross_validate(settings, inputs.train, inputs.y, inputs.aux, inputs.test, scaler=inputs.scaler,
                        out_dir=out, progress=True)
print(f"cross-validation took {result.seconds:.0f} s")

# %%
fig = plot_training_curves(result.history, settings["model"])
save_figure(fig, out, f"04_{settings['model']}_training_curves")

# %% [markdown]
# ## Per-fold scores
# Each fold is cut at the F1-best threshold of the *other* folds' out-of-fold probabilities.

# %%
result.folds.round(3)

# %%
fig = plot_pr_curve(result.oof, result.summary, settings["model"])
save_figure(fig, out, f"04_{settings['model']}_pr_curve")
print(score_lines(result))

# %% [markdown]
# ## Predictions for the ensemble
# Saved only when every fold ran: OOF probabilities for train, the fold-averaged probability for test.

# %%
metrics = save_for_ensemble(out, settings["model"], result, inputs.test.object_ids, settings,
                            count_parameters(network), notebook_started, data_fingerprint=dataset.fingerprint)

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
# `variant="starter"` runs the starter project's design: a Transformer encoder per band with position encodings,
# then attention across the six bands (~175K parameters), on per-object normalised flux.

# %% tags=["parameters"]
data_dir = None  # folder holding train_log.csv; None: $DATA_DIR, then data/, then the Kaggle mount
out_dir = None  # run folder for figures, checkpoints and predictions; None: submissions/interactive
profile = "default"  # quick | default | kaggle
seed = 42
device = "auto"  # auto | cpu | cuda | mps
model = "transformer"  # transformer
variant = "tuned"  # tuned | starter (the starter project's per-band ~175K-parameter design)
epochs = None  # None: the profile's value
batch_size = None
lr = None
loss = None  # focal | bce
fold = None  # None: all folds; a number: that fold only (a quick check; no predictions saved)
use_features = None  # True: feed utils.features' physics features into the MLP
pretrain = None  # True: start from the encoder pretrained without labels on all light curves (self-supervised)
gp_grid = None  # True: also read each object's 2-D GP mean and std on a (day x band) grid (SCONE-style)
distill_weight = None  # > 0: also learn the test light curves' soft labels from a physics-feature GBDT

# %%
import sys
from pathlib import Path

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "utils" / "__init__.py").is_file())
sys.path.insert(0, str(ROOT))

from utils.steps.deep import cross_validate_run, prepare_deep_run

# %% [markdown]
# ## Settings and inputs
# Multi-band token sequences (or per-band sequences for the starter design) from notebook 02's cache, in the
# observer frame: the model moves time to the rest frame and to the peak itself, after augmentation.
# The settings (profile, variant, then the parameters above) are saved as `config_04_transformer.json`.

# %%
run = prepare_deep_run("04_transformer", data_dir=data_dir, out_dir=out_dir, profile=profile, variant=variant,
                       model=model, seed=seed, device=device, epochs=epochs, batch_size=batch_size, lr=lr, loss=loss,
                       fold=fold, use_features=use_features, pretrain=pretrain,
                       gp_grid=gp_grid, distill_weight=distill_weight)
run.settings_table()

# %% [markdown]
# ## Cross-validation
# As in notebook 03: stratified 5-fold, `n_seeds` early-stopped networks per fold, fold scores put on
# one scale (`align_folds`), checkpoints under `models/transformer/`, and, when every fold ran, the
# OOF and test probabilities and metrics under `predictions/` for notebook 05.
# With `pretrain=True` every fold network starts from an encoder pretrained once, without labels, on all
# train and test light curves by reconstructing hidden observations (utils/training/pretrain.py).
# With `distill_weight > 0` (1.0 in the default and kaggle profiles) the networks also learn the test light
# curves' soft labels from a GBDT each fold fits on its own training objects' physics features
# (utils/training/distill.py; the same teachers as notebook 03's, read from the cache): P(TDE) and, from the
# default multiclass teacher, the SpecType groups. The binary teacher raised the Transformer's nested F1 and the
# multiclass one raised it further (docs/results.md, "Teacher").

# %%
report = cross_validate_run(run)
report.figures["training_curves"]

# %% [markdown]
# ## Per-fold scores
# Each fold is cut at the F1-best threshold of the *other* folds' out-of-fold probabilities.

# %%
report.cv.folds.round(3)

# %%
report.figures["pr_curve"]

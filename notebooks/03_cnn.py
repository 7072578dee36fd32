# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · CNN: per-band 1D convolutions over the light curves
#
# Each of the six bands has its own small convolutional encoder (one grouped convolution for all
# six); the encodings are pooled over time, joined with an object vector (Z, EBV, log peak flux, a
# luminosity proxy, and, when `use_features`, the physics features) and an MLP gives P(TDE).
#
# What makes it work on 118 TDEs (each switch measured in the README's deep-model table):
#
# * inputs that keep the absolute scale: asinh of the raw de-extinguished flux next to the
#   per-object normalised one, and the luminosity proxy peak flux x d_L(z)^2;
# * time relative to the peak, in the rest frame (divided by 1 + z);
# * augmentation: flux noise from Flux_err, time stretch/shift, dropped points, and moving an object
#   to a higher redshift (dimmer, time-dilated, noisier), as the PLAsTiCC winner did;
# * focal loss, oversampled TDEs, an auxiliary SpecType-group head, early stopping on the AP of an
#   inner validation split (never the fold being scored), and averaging several seeds.
#
# `variant="starter"` runs the starter project's original design (~545K parameters, normalised flux only).
#
# Light curves alone (`use_features=False`: no physics feature enters the network): `pretrain=True`,
# `gp_grid=True` and `distill_weight=3.0` together lift the CNN well above the plain network
# (docs/results.md, "Light curves only").

# %% tags=["parameters"]
data_dir = None  # folder holding train_log.csv; None: $DATA_DIR, then data/, then the Kaggle mount
out_dir = None  # run folder for figures, checkpoints and predictions; None: submissions/interactive
profile = "default"  # quick | default | kaggle
seed = 42
device = "auto"  # auto | cpu | cuda | mps
model = "cnn"  # cnn | cnn_attn
variant = "tuned"  # tuned | starter (the starter project's ~545K-parameter design)
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
# Per-band sequences from notebook 02's cache (observer frame; the model moves time to the rest frame
# and to the peak itself, so redshift augmentation can act on physical quantities first).
# The settings (profile, variant, then the parameters above) are saved as `config_03_cnn.json`.

# %%
run = prepare_deep_run("03_cnn", data_dir=data_dir, out_dir=out_dir, profile=profile, variant=variant,
                       model=model, seed=seed, device=device, epochs=epochs, batch_size=batch_size, lr=lr, loss=loss,
                       fold=fold, use_features=use_features, pretrain=pretrain,
                       gp_grid=gp_grid, distill_weight=distill_weight)
run.settings_table()

# %% [markdown]
# ## Cross-validation
# Stratified 5-fold; each fold trains `n_seeds` networks, each early-stopped on its own inner
# validation split, and averages them. Checkpoints: `models/<model>/fold<k>/best_model.pt`.
# The five fold networks rank alike but score on different scales; with `align_folds` (the default)
# each one's scores are mapped onto their common scale, learned from the test objects all of them
# scored (no labels), before the OOF rows are pooled and the test predictions averaged.
#
# When every fold ran, the predictions for the ensemble go to `predictions/`: OOF probabilities for
# train, the fold-averaged probability for test, and the metrics (notebook 05 reads them).
#
# With `pretrain=True` the per-band encoders first learn, without labels, to reconstruct hidden observations
# of all train and test light curves (utils/training/pretrain.py); that runs once (cached, a copy in
# `models/cnn/pretrained_encoder.pt`) and every fold network starts from it, with a fresh head.
# With `distill_weight > 0` (1.0 in the default and kaggle profiles) each fold also fits a GBDT on its training
# objects' physics features, and the network learns the test light curves' soft labels from it next to the true
# labels (utils/training/distill.py): P(TDE) for the TDE output and, from the default multiclass teacher, the
# SpecType-group distribution for the auxiliary head. The binary teacher raised the CNN's nested F1 and the
# multiclass one raised it further (docs/results.md, "Teacher"). The teachers are cached for notebook 04.

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

"""Settings of notebooks 03 (CNN) and 04 (Transformer): one flat dict per profile, saved with the weights.

`deep_settings(PROFILES, profile, variant, **overrides)`: the profile, then the named variant
('tuned' = the profile as written, 'starter' = the starter project's original design and inputs), then the
non-None overrides. Unknown keys are rejected.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..config import resolve

VARIANTS = ("tuned", "starter")

_TRAINING = {
    "seed": 42, "device": "auto", "threads": None, "fold": None, "n_folds": 5,
    # folds and the training-Z perturbation; apart from `seed` (weights, sampling, augmentation) so that
    # training seeds can be compared on the same folds and data
    "cv_seed": 42,
    "epochs": 25, "batch_size": 64, "lr": 3e-3, "weight_decay": 1e-2,
    "loss": "focal", "focal_alpha": 0.75, "focal_gamma": 2.0, "bce_pos_weight": 5.0,
    "oversample": 0.2,  # share of TDEs in each epoch's weighted draws; 0 = plain shuffling
    "val_fraction": 0.15,  # inner split of the training folds for early stopping on AP
    # One network per fold by default: the blend's member selection keeps neither deep model (docs/results.md,
    # "Blend"), so the default does not pay twice the time for a second one (docs/results.md, "Teacher");
    # `kaggle` bags 5 per fold.
    "patience": 10, "n_seeds": 1,
    "align_folds": True,  # one score scale for the fold networks, from their test scores (calibration.py)
    "aug_noise": 0.5, "aug_time": 0.5, "aug_drop": 0.5, "aug_redshift": 0.5,
    "aux_weight": 0.3,
    "use_features": True,  # physics features from utils.features join the object vector
    "perturb_train_z": True,  # train Z + noise like the test's photometric Z_err (as notebook 05 does)
    "flux_scaling": "asinh", "rest_frame": True, "time_reference": "peak",
    # 32 steps per band / 64 tokens (windows centred on the peak) scored like longer sequences at a fraction of the
    # cost (the per-switch ablations, docs/results.md, "Other deep settings")
    "sequence_length": 32, "token_length": 64, "dropout": 0.3, "head_hidden": 32,
    # self-supervised pretraining of the encoder on every train + test light curve, no labels (pretrain.py):
    # reconstruct a hidden share of each object's observations; fine-tuning then starts from that encoder
    "pretrain": False, "pretrain_epochs": 20, "pretrain_mask_fraction": 0.3, "pretrain_lr": 1e-3,
    "pretrain_seed": 0,
    "pretrain_encoder_lr_scale": 1.0,  # fine-tuning: the pretrained encoder's learning rate as a share of lr
    # > 0: pretraining also regresses each object's standardised physics features (utils.features, computed from
    # the light curve alone, so still label-free) from the encoder, at this weight next to the reconstruction loss
    "pretrain_feature_weight": 0.0,
    # > 0: every step also trains on as many unlabelled (test) light curves, against soft labels from a GBDT that
    # each fold fits on its own training objects' physics features (distill.py), at this weight. It lifts both
    # networks' nested F1 (docs/results.md, "Teacher") at a multiple of the training time; the blend still gains
    # nothing (docs/results.md, "Blend"), so the default run leaves both out.
    "distill_weight": 1.0,
    # 'multiclass': the teacher learns the SpecType groups (as notebook 05's GBDT does) and also teaches the
    # auxiliary head their distribution on the unlabelled light curves; 'binary': TDE or not. With features the
    # multiclass teacher beat the binary one for both networks (docs/results.md, "Teacher")
    "distill_teacher": "multiclass",
    # the 2-D GP's mean and std on a (rest-frame day x band) grid of gp_grid_steps days over the GP window,
    # next to the raw points (gp_grid.py, models/grid.py); off by default, like the deep models themselves
    # (measured: docs/results.md, "Other deep settings" and "Light curves only")
    "gp_grid": False, "gp_grid_steps": 64,
}
_CNN = {"model": "cnn", "layout": "band", "cnn_channels": [16, 32, 32, 32], "kernel_size": 5,
        # unused by the CNN, present so one settings schema serves both notebooks
        "d_model": 32, "n_heads": 4, "n_layers": 2, "ff_dim": 64, "time_encoding": "time"}
_TRANSFORMER = {"model": "transformer", "layout": "token", "d_model": 32, "n_heads": 2, "n_layers": 2,
                "ff_dim": 64, "time_encoding": "time", "cnn_channels": [16, 32, 32, 32], "kernel_size": 5}
_QUICK = {"epochs": 2, "patience": 2, "sequence_length": 16, "token_length": 32, "use_features": False,
          "pretrain_epochs": 2, "distill_weight": 0.0}
_KAGGLE = {"n_seeds": 5, "epochs": 60, "patience": 15}

CNN_PROFILES = {
    "quick": {**_TRAINING, **_CNN, **_QUICK},
    "default": {**_TRAINING, **_CNN},
    "kaggle": {**_TRAINING, **_CNN, **_KAGGLE},
}
TRANSFORMER_PROFILES = {
    "quick": {**_TRAINING, **_TRANSFORMER, **_QUICK},
    "default": {**_TRAINING, **_TRANSFORMER},
    "kaggle": {**_TRAINING, **_TRANSFORMER, **_KAGGLE},
}

# The starter project's designs: per-object normalised flux, time since first observation (observer frame),
# Z and EBV only, no augmentation or auxiliary head, 200 steps per band; ~545K / ~175K parameters.
_STARTER_INPUTS = {"flux_scaling": "normalised", "rest_frame": False, "time_reference": "first",
                "sequence_length": 200, "aug_noise": 0.0, "aug_time": 0.0, "aug_drop": 0.0, "aug_redshift": 0.0,
                "aux_weight": 0.0, "use_features": False, "distill_weight": 0.0}
STARTER_DESIGNS = {
    "cnn": {**_STARTER_INPUTS, "cnn_channels": [32, 64, 128, 128], "kernel_size": 3, "head_hidden": 40},
    # attention pooling gives half the pooled width of mean+max; a wider head keeps the same budget
    "cnn_attn": {**_STARTER_INPUTS, "cnn_channels": [32, 64, 128, 128], "kernel_size": 3, "head_hidden": 80},
    "transformer": {**_STARTER_INPUTS, "layout": "band", "d_model": 32, "n_heads": 4, "n_layers": 2, "ff_dim": 128,
                    "time_encoding": "position", "head_hidden": 64},
}


def deep_settings(profiles: Mapping[str, Mapping[str, Any]], profile: str, variant: str = "tuned",
                  **overrides: Any) -> dict[str, Any]:
    """Profile settings, then the variant's design, then the non-None overrides (unknown keys raise)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS}")
    settings = resolve(profiles, profile)
    if variant == "starter":
        model = overrides.get("model") or settings["model"]
        if model not in STARTER_DESIGNS:
            raise ValueError(f"no starter design for model {model!r}; have {sorted(STARTER_DESIGNS)}")
        settings.update(STARTER_DESIGNS[model])
        if profile == "quick":  # keep the quick check quick
            settings["sequence_length"] = profiles["quick"]["sequence_length"]
    return resolve({profile: settings}, profile, **overrides)

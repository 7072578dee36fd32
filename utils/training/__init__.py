"""Training the deep models: losses, oversampling, augmentation, early stopping, K-fold CV, checkpoints.

    settings = deep_settings(CNN_PROFILES, "default", model="cnn")
    inputs = prepare_inputs(dataset, settings)
    result = cross_validate(settings, inputs.train, inputs.y, inputs.aux, inputs.test, scaler=inputs.scaler,
                            out_dir=out)

A notebook does all of this in two calls: prepare_deep_run, then cross_validate_run (notebook.py).
"""

from .arrays import FeatureScaler, LightCurveArrays, arrays_from_sequences
from .augment import AUGMENTATIONS, augment
from .cv import CVResult, checkpoint_path, cross_validate
from .device import make_deterministic, pick_device
from .fit import DeepClassifier, train_network
from .gp_grid import gp_grid_table
from .losses import focal_loss, make_loss, weighted_bce
from .notebook import (DEEP_NOTEBOOKS, DeepReport, DeepRun, cross_validate_run, notebook_settings, prepare_deep_run,
                       save_for_ensemble, score_lines, start_deep_notebook)
from .prepare import DeepInputs, feature_requests, physics_features, prepare_inputs, training_redshift_seed
from .profiles import CNN_PROFILES, STARTER_DESIGNS, TRANSFORMER_PROFILES, VARIANTS, deep_settings
from .report import metrics_record, plot_pr_curve, plot_training_curves

__all__ = [
    "AUGMENTATIONS", "CNN_PROFILES", "CVResult", "DEEP_NOTEBOOKS", "DeepClassifier", "DeepInputs", "DeepReport",
    "DeepRun", "FeatureScaler", "LightCurveArrays", "STARTER_DESIGNS", "TRANSFORMER_PROFILES", "VARIANTS",
    "arrays_from_sequences", "augment", "checkpoint_path", "cross_validate", "cross_validate_run", "deep_settings",
    "feature_requests", "focal_loss", "gp_grid_table", "make_deterministic", "make_loss",
    "metrics_record", "notebook_settings", "physics_features", "pick_device", "plot_pr_curve", "plot_training_curves",
    "prepare_deep_run", "prepare_inputs", "save_for_ensemble", "score_lines", "start_deep_notebook", "train_network",
    "training_redshift_seed", "weighted_bce",
]

"""Training the deep models: losses, oversampling, augmentation, early stopping, K-fold CV, checkpoints.

    settings = deep_settings(CNN_PROFILES, "default", model="cnn")
    inputs = prepare_inputs(dataset, settings)
    result = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test, scaler=inputs.scaler,
                            out_dir=out)

A notebook does all of this in two calls: prepare_deep_run, then cross_validate_run (utils.steps.deep).
"""

from .arrays import FeatureScaler, LightCurveArrays, arrays_from_sequences
from .augment import AUGMENTATIONS, augment
from .cv import CVResult, checkpoint_path, cross_validate_network
from .device import make_deterministic, pick_device
from .fit import DeepClassifier, train_network
from .gp_grid import gp_grid_table
from .losses import focal_loss, make_loss, weighted_bce
from .prepare import DeepInputs, deep_feature_requests, physics_features, prepare_inputs, training_redshift_seed
from .profiles import CNN_PROFILES, STARTER_DESIGNS, TRANSFORMER_PROFILES, VARIANTS, deep_settings

__all__ = [
    "AUGMENTATIONS", "CNN_PROFILES", "CVResult", "DeepClassifier", "DeepInputs",
    "FeatureScaler", "LightCurveArrays", "STARTER_DESIGNS", "TRANSFORMER_PROFILES", "VARIANTS",
    "arrays_from_sequences", "augment", "checkpoint_path", "cross_validate_network", "deep_settings",
    "deep_feature_requests", "focal_loss", "gp_grid_table", "make_deterministic", "make_loss",
    "physics_features", "pick_device",
    "prepare_inputs", "train_network",
    "training_redshift_seed", "weighted_bce",
]

"""From a loaded Dataset to the tensors, labels and optional physics features the networks train on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..classes import class_group_index
from ..data.redshift import perturbed_redshift
from ..features import TableRequest, feature_table
from .arrays import FeatureScaler, LightCurveArrays, arrays_from_sequences
from .gp_grid import gp_grid_for
from .sequences import prepare_sequences

# Columns a feature table must never pass to a model (labels or label-derived).
_LEAKY = {"target", "SpecType", "English Translation", "split"}


@dataclass
class DeepInputs:
    train: LightCurveArrays
    y: np.ndarray
    aux: np.ndarray  # SpecType group per training object (position in utils.classes.CLASS_GROUPS)
    test: LightCurveArrays
    scaler: FeatureScaler | None
    # (train, test) physics features in the arrays' object order, for the distillation teacher (distill.py);
    # None unless settings['distill_weight'] > 0
    teacher_features: tuple[pd.DataFrame, pd.DataFrame] | None = None


def physics_features(dataset, redshift_seed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Numeric physics features (train, test) from utils.features.feature_table, aligned on the logs.

    `redshift_seed`: training features extracted with Z perturbed like the test's photometric Z
    (the table notebook 05 uses too). In a run, notebook 02 has cached both tables (deep_feature_requests).
    """
    tables = []
    for kind in ("train", "test"):
        table = feature_table(dataset, kind, n_jobs=-1, redshift_seed=redshift_seed if kind == "train" else None)
        table = table.drop(columns=[c for c in table.columns if c in _LEAKY]).select_dtypes("number")
        tables.append(table.reindex(dataset.log(kind).index))
    return tables[0], tables[1][tables[0].columns]


def training_redshift_seed(settings: Mapping[str, Any]) -> int | None:
    """The redshift draw the training inputs see: settings['cv_seed'] when settings['perturb_train_z'], else
    None (spectroscopic Z)."""
    return settings["cv_seed"] if settings["perturb_train_z"] else None


def pretrains_on_features(settings: Mapping[str, Any]) -> bool:
    """Whether pretraining regresses the physics features (so prepare_inputs must load them)."""
    return bool(settings["pretrain"]) and settings.get("pretrain_feature_weight", 0.0) > 0


def distils(settings: Mapping[str, Any]) -> bool:
    """Whether training distils a physics-feature GBDT's soft labels (so prepare_inputs must load the features)."""
    return settings.get("distill_weight", 0.0) > 0


def deep_feature_requests(settings: Mapping[str, Any]) -> list[TableRequest]:
    """The feature tables (utils.features.TableRequest) prepare_inputs reads under these settings: the
    training table under training_redshift_seed and the test's when settings['use_features'], pretraining
    regresses the features or training distils a GBDT teacher, else none."""
    if not (settings["use_features"] or pretrains_on_features(settings) or distils(settings)):
        return []
    return [TableRequest("train", training_redshift_seed(settings)), TableRequest("test")]


def training_log(dataset, settings: Mapping[str, Any]) -> pd.DataFrame:
    """The training log, with Z perturbed like the test's photometric redshifts when
    settings['perturb_train_z'] (seeded by settings['cv_seed']): OOF scores then face test-like Z."""
    redshift_seed = training_redshift_seed(settings)
    if redshift_seed is None:
        return dataset.train_log
    return dataset.train_log.assign(Z=perturbed_redshift(dataset.train_log, dataset.test_log, redshift_seed))


def prepare_inputs(dataset, settings: Mapping[str, Any],
                   features: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> DeepInputs:
    """Cached sequences (observer frame: rest-frame time is computed in the model) turned into tensors;
    with settings['gp_grid'], each object's GP grid too (gp_grid.py, cached; training Z drawn as the log's);
    when pretraining regresses the physics features, the standardised features as its targets
    ('feature_target', which the networks never read); when training distils a GBDT teacher, the unscaled
    features for it (`teacher_features`)."""
    length = settings["sequence_length"] if settings["layout"] == "band" else settings["token_length"]
    wants_features = settings["use_features"] or pretrains_on_features(settings) or distils(settings)
    if wants_features and features is None:
        features = physics_features(dataset, training_redshift_seed(settings))
    # fitted on the training objects' features only: no label enters it; the teacher reads them unscaled
    fitted = (FeatureScaler.fit(features[0]) if settings["use_features"] or pretrains_on_features(settings)
              else None)
    scaler = fitted if settings["use_features"] else None
    logs = {"train": training_log(dataset, settings), "test": dataset.test_log}
    arrays = {}
    for kind in ("train", "test"):
        sequences = prepare_sequences(dataset, kind, layout=settings["layout"], length=length, rest_frame=False)
        scaled = fitted.transform(features[kind == "test"].loc[sequences.object_ids]) if fitted else None
        extra = scaled if settings["use_features"] else None
        target = scaled if pretrains_on_features(settings) else None
        grid = None
        if settings.get("gp_grid", False):  # settings saved before the option existed lack it: off
            redshift_seed = training_redshift_seed(settings) if kind == "train" else None
            grid = gp_grid_for(dataset, kind, sequences.object_ids, n_steps=settings["gp_grid_steps"],
                               redshift_seed=redshift_seed)
        arrays[kind] = arrays_from_sequences(sequences, logs[kind], extra, grid, feature_target=target)
    log = dataset.train_log.loc[arrays["train"].object_ids]
    aux = class_group_index(log["SpecType"])
    teacher = ((features[0].loc[arrays["train"].object_ids], features[1].loc[arrays["test"].object_ids])
               if distils(settings) else None)
    return DeepInputs(arrays["train"], log["target"].to_numpy(dtype=int), aux, arrays["test"], scaler, teacher)

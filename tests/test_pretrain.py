"""Self-supervised pretraining of the deep encoders (utils/training/pretrain.py) on tiny synthetic data."""

import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from utils.data.load import load_dataset
from utils.training import (CNN_PROFILES, TRANSFORMER_PROFILES, DeepClassifier, cross_validate_network, deep_settings,
                            make_deterministic, prepare_inputs, train_network)
from utils.training import pretrain as pretraining
from utils.training.fit import parameter_groups
from utils.training.pretrain import (PretrainedEncoder, light_curves_only, pretrain, pretrained_encoder,
                                     pretrained_path, reconstruction_loss)

PROFILES = {"cnn": CNN_PROFILES, "transformer": TRANSFORMER_PROFILES}


def quick_settings(model: str, **overrides) -> dict:
    return deep_settings(PROFILES[model], "quick", **{"device": "cpu", "pretrain": True, "batch_size": 16,
                                                      **overrides})


@pytest.fixture
def dataset(kaggle_dir):
    return load_dataset(kaggle_dir)


@pytest.mark.parametrize("model", ["cnn", "transformer"])  # the band layout and the token layout
def test_the_objective_falls_over_a_few_epochs(dataset, model):
    settings = quick_settings(model, pretrain_epochs=8, pretrain_lr=3e-3)
    inputs = prepare_inputs(dataset, settings)
    arrays = light_curves_only([inputs.train, inputs.test])
    untrained = pretrain({**settings, "pretrain_epochs": 0}, arrays)
    trained = pretrain(settings, arrays)
    before, after = reconstruction_loss(untrained, arrays), reconstruction_loss(trained, arrays)
    assert np.isfinite(before) and after < before - 0.3
    assert trained.history[-1]["loss"] < trained.history[0]["loss"]


@pytest.mark.parametrize("feature_weight", [0.0, 1.0])  # reconstruction alone; and the physics features' head
def test_labels_never_reach_pretraining(dataset, kaggle_dir, tmp_path, feature_weight):
    """The same light curves with shuffled target and SpecType give the same cache key and bit-identical weights
    (with the feature head, the physics features are extracted from each data set: no label reaches them either)."""
    scrambled_dir = shutil.copytree(kaggle_dir, tmp_path / "scrambled")
    log = pd.read_csv(scrambled_dir / "train_log.csv")
    order = np.random.default_rng(1).permutation(len(log))
    log[["SpecType", "target"]] = log[["SpecType", "target"]].to_numpy()[order]
    assert (log["target"] != pd.read_csv(kaggle_dir / "train_log.csv")["target"]).any()
    log.to_csv(scrambled_dir / "train_log.csv", index=False)
    scrambled = load_dataset(scrambled_dir)
    assert scrambled.fingerprint != dataset.fingerprint

    settings = quick_settings("cnn", pretrain_feature_weight=feature_weight)
    states, paths = [], []
    for data, cache in ((dataset, tmp_path / "cache_a"), (scrambled, tmp_path / "cache_b")):
        inputs = prepare_inputs(data, settings)
        paths.append(pretrained_path(settings, [inputs.train, inputs.test], cache).name)
        states.append(pretrained_encoder(settings, inputs.train, inputs.test, cache_dir=cache))
    assert paths[0] == paths[1]
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][key], states[1][key]) for key in states[0])


def test_a_pretrained_checkpoint_round_trips(dataset, tmp_path):
    settings = quick_settings("transformer")
    inputs = prepare_inputs(dataset, settings)
    arrays = light_curves_only([inputs.train, inputs.test])
    trained = pretrain(settings, arrays)
    reloaded = PretrainedEncoder.load(trained.save(tmp_path / "pretrained.pt"))
    assert reconstruction_loss(reloaded, arrays) == reconstruction_loss(trained, arrays)
    batch = arrays.batch(np.arange(8))
    with torch.no_grad():
        steps = trained.encoder.eval().encode_steps(batch)[0]
        assert torch.equal(reloaded.encoder.eval().encode_steps(batch)[0], steps)
    assert reloaded.history == trained.history and reloaded.settings == trained.settings


def test_the_cache_is_hit_the_second_time_and_keyed_by_data_and_settings(dataset, cache_dir, tmp_path, monkeypatch):
    settings = quick_settings("cnn")
    inputs = prepare_inputs(dataset, settings)
    first = pretrained_encoder(settings, inputs.train, inputs.test, out_dir=tmp_path / "run")
    assert (tmp_path / "run" / "models" / "cnn" / "pretrained_encoder.pt").is_file()

    def no_training(*args, **kwargs):
        raise AssertionError("pretrained again instead of reading the cache")

    monkeypatch.setattr(pretraining, "pretrain", no_training)
    again = pretrained_encoder({**settings, "lr": 1e-4, "epochs": 7, "n_seeds": 3}, inputs.train, inputs.test)
    assert all(torch.equal(first[key], again[key]) for key in first)
    parts = [inputs.train, inputs.test]
    key = pretrained_path(settings, parts)
    assert key.parent == cache_dir / "pretrain" and key.is_file()
    assert pretrained_path({**settings, "pretrain_mask_fraction": 0.5}, parts) != key
    assert pretrained_path({**settings, "pretrain_epochs": 3}, parts) != key
    assert pretrained_path(settings, [inputs.train]) != key
    assert pretrained_path(settings, [inputs.train.subset(np.arange(10)), inputs.test]) != key


@pytest.mark.parametrize("model", ["cnn", "transformer"])
def test_fine_tuning_starts_from_the_pretrained_encoder(dataset, model):
    settings = quick_settings(model)
    inputs = prepare_inputs(dataset, settings)
    state = pretrained_encoder(settings, inputs.train, inputs.test)
    fresh, _ = train_network({**settings, "epochs": 0, "pretrain": False}, inputs.train, inputs.y, inputs.aux,
                             None, None, seed=5)
    started, _ = train_network({**settings, "epochs": 0}, inputs.train, inputs.y, inputs.aux, None, None,
                               seed=5, pretrained=state)
    weights, fresh_weights = started.state_dict(), fresh.state_dict()
    assert all(torch.equal(weights[key], value) for key, value in state.items())
    assert any(not torch.equal(fresh_weights[key], value) for key, value in state.items())
    # everything else (pooling, classification head) starts from the seed's initialisation, as without pretraining
    assert all(torch.equal(weights[key], fresh_weights[key]) for key in weights if key not in state)
    with pytest.raises(ValueError, match="no pretrained encoder"):
        train_network(settings, inputs.train, inputs.y, inputs.aux, None, None, seed=5)

    groups = parameter_groups(started, {**settings, "pretrain_encoder_lr_scale": 0.1}, state)
    named = dict(started.named_parameters())
    assert groups[0]["lr"] == pytest.approx(0.1 * settings["lr"]) and "lr" not in groups[1]
    assert {id(p) for p in groups[0]["params"]} == {id(named[key]) for key in state if key in named}
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(named)


def test_cross_validation_with_pretraining_saves_loadable_checkpoints(dataset, tmp_path):
    settings = quick_settings("cnn", n_folds=2)
    inputs = prepare_inputs(dataset, settings)
    make_deterministic(settings["seed"])
    result = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test, out_dir=tmp_path)
    assert result.complete and np.isfinite(result.oof.prob).all()
    assert (tmp_path / "models" / "cnn" / "pretrained_encoder.pt").is_file()
    fold0 = DeepClassifier.load(tmp_path / "models" / "cnn" / "fold0" / "best_model.pt")
    assert fold0.settings["pretrain"]
    again = DeepClassifier.load(fold0.save(tmp_path / "again.pt"))
    assert np.array_equal(again.predict_proba(inputs.test), fold0.predict_proba(inputs.test))


def test_a_run_without_test_predictions_still_pretrains_on_the_test_light_curves(dataset, cache_dir):
    """deep_ablation --no-test predicts no test set, but pretrains on train + test like a full run."""
    settings = quick_settings("cnn", n_folds=2, epochs=1, pretrain_epochs=1)
    inputs = prepare_inputs(dataset, settings)
    result = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, None, unlabelled=inputs.test)
    assert result.test_prob is None
    assert pretrained_path(settings, [inputs.train, inputs.test]).is_file()
    assert not pretrained_path(settings, [inputs.train]).is_file()



def light_curve_summaries(dataset, kind: str) -> pd.DataFrame:
    """Stand-ins for the physics features with known answers: functions of each light curve alone."""
    grouped = dataset.lightcurves(kind).groupby("object_id")
    table = pd.DataFrame({"peak_flux": grouped["flux"].max(), "n_points": grouped["flux"].size().astype(float),
                          "span": grouped["time"].agg(lambda t: t.max() - t.min())})
    return table.reindex(dataset.log(kind).index)


@pytest.mark.parametrize("model", ["cnn", "transformer"])
def test_the_feature_head_learns_the_physics_features_and_the_classifier_never_reads_them(dataset, model, tmp_path):
    settings = quick_settings(model, pretrain_epochs=20, pretrain_lr=3e-3, pretrain_feature_weight=1.0)
    features = (light_curve_summaries(dataset, "train"), light_curve_summaries(dataset, "test"))
    inputs = prepare_inputs(dataset, settings, features)
    assert not settings["use_features"] and inputs.scaler is None and "extra" not in inputs.train.tensors
    assert inputs.train.tensors["feature_target"].shape == (len(inputs.train), 3)
    arrays = light_curves_only([inputs.train, inputs.test], pretraining.pretraining_keys(settings))
    untrained = pretrain({**settings, "pretrain_epochs": 0}, arrays)
    trained = pretrain(settings, arrays)
    before, after = pretraining.feature_loss(untrained, arrays), pretraining.feature_loss(trained, arrays)
    assert np.isfinite(before) and after < 0.85 * before  # on 60 objects: CNN 0.88 -> 0.25, Transformer 0.79 -> 0.65
    assert trained.history[-1]["feature_loss"] < trained.history[0]["feature_loss"]
    reloaded = PretrainedEncoder.load(trained.save(tmp_path / "pretrained.pt"))
    assert pretraining.feature_loss(reloaded, arrays) == pretraining.feature_loss(trained, arrays)
    # the fine-tuned network reads the light curves only: other targets change nothing it predicts
    classifier = DeepClassifier({**settings, "epochs": 1}).fit(inputs.train, inputs.y, inputs.aux, seed=0,
                                                               pretrained=trained.encoder_state())
    other = inputs.test.subset(np.arange(len(inputs.test)))
    other.tensors["feature_target"] = torch.randn_like(other.tensors["feature_target"])
    assert np.array_equal(classifier.predict_proba(other), classifier.predict_proba(inputs.test))


def test_pretraining_on_features_without_them_says_what_is_missing(dataset):
    settings = quick_settings("cnn", pretrain_feature_weight=1.0)
    inputs = prepare_inputs(dataset, quick_settings("cnn"))  # pretrain_feature_weight 0: no feature targets
    with pytest.raises(ValueError, match="'feature_target', which some arrays lack"):
        pretrained_path(settings, [inputs.train, inputs.test])
    with pytest.raises(ValueError, match="the arrays hold no feature targets"):
        pretrain(settings, light_curves_only([inputs.train, inputs.test]))

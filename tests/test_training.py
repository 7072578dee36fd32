"""Training: losses, sampling, augmentation, learning a separable set, checkpoints, repeatability."""

import math
import os

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import average_precision_score

from utils.data.load import load_dataset
from utils.evaluation.metrics import best_threshold, f1_at
from utils.training import (AUGMENTATIONS, CNN_PROFILES, TRANSFORMER_PROFILES, DeepClassifier, augment,
                            cross_validate_network, deep_settings, focal_loss, make_deterministic, pick_device,
                            prepare_inputs, weighted_bce)
from utils.training.calibration import align_fold_scores
from utils.training.fit import epoch_rows

from synthetic import write_kaggle_dataset

torch.set_num_threads(1)
AUGMENTATIONS_OFF = dict.fromkeys(AUGMENTATIONS, 0.0)


def test_focal_loss_matches_hand_computation():
    # p = sigmoid(0) = 0.5 for a positive: 0.75 * 0.5^2 * log 2; p = sigmoid(2) for a negative:
    # 0.25 * p^2 * -log(1 - p)
    p = 1 / (1 + math.exp(-2.0))
    expected = (0.75 * 0.25 * math.log(2) + 0.25 * p ** 2 * -math.log(1 - p)) / 2
    value = focal_loss(torch.tensor([0.0, 2.0]), torch.tensor([1.0, 0.0]), alpha=0.75, gamma=2.0)
    assert value.item() == pytest.approx(expected, rel=1e-6)


def test_focal_loss_with_gamma_zero_is_weighted_bce():
    logits, y = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([1.0, 0.0, 1.0])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    assert focal_loss(logits, y, alpha=0.5, gamma=0.0).item() == pytest.approx(0.5 * bce.mean().item(), rel=1e-6)
    assert weighted_bce(logits, y, pos_weight=1.0).item() == pytest.approx(bce.mean().item(), rel=1e-6)


def test_oversampling_reaches_the_asked_share():
    y = np.r_[np.ones(50), np.zeros(950)].astype(int)
    rows = epoch_rows(y, 0.25, torch.Generator().manual_seed(0))
    assert len(rows) == 1000 and 0.2 < y[rows.numpy()].mean() < 0.3
    assert sorted(epoch_rows(y, 0.0, torch.Generator().manual_seed(0)).tolist()) == list(range(1000))


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    mask = torch.arange(20) < torch.tensor([[15], [20], [8]])
    time = torch.sort(torch.rand(3, 20, generator=g) * 200, dim=-1).values * mask
    flux = (50 * torch.exp(-((time - 80) / 30) ** 2) + torch.randn(3, 20, generator=g)) * mask
    return {"flux": flux, "flux_err": torch.ones(3, 20), "time": time, "mask": mask,
            "band": torch.randint(0, 6, (3, 20), generator=g), "z": torch.tensor([0.1, 0.5, 1.0]),
            "ebv": torch.zeros(3)}


def test_augmentation_off_changes_nothing(batch):
    out = augment(batch, AUGMENTATIONS_OFF, torch.Generator().manual_seed(0))
    for key in batch:
        assert torch.equal(out[key], batch[key])


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_each_augmentation_keeps_shapes_and_a_contiguous_mask(batch, name):
    out = augment(batch, {**AUGMENTATIONS_OFF, name: 1.0}, torch.Generator().manual_seed(1))
    assert all(out[key].shape == batch[key].shape for key in batch)
    assert not torch.equal(out["flux"], batch["flux"]) or not torch.equal(out["mask"], batch["mask"]) \
        or not torch.equal(out["time"], batch["time"])
    observed = out["mask"].sum(-1, keepdim=True)
    assert torch.equal(out["mask"], torch.arange(20) < observed)  # observed steps first, padding after
    assert (out["flux"][~out["mask"]] == 0).all()
    again = augment(batch, {**AUGMENTATIONS_OFF, name: 1.0}, torch.Generator().manual_seed(1))
    assert all(torch.equal(out[key], again[key]) for key in out)


def test_redshifting_dims_and_raises_z(batch):
    out = augment(batch, {**AUGMENTATIONS_OFF, "aug_redshift": 1.0}, torch.Generator().manual_seed(2))
    assert (out["z"] >= batch["z"]).all()
    assert out["flux"].amax(-1).sum() < batch["flux"].amax(-1).sum()
    assert (out["mask"].sum(-1) <= batch["mask"].sum(-1)).all()


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert pick_device("auto").type == expected


@pytest.fixture
def separable(tmp_path, cache_dir):
    return load_dataset(write_kaggle_dataset(tmp_path / "easy", n_train=120, n_test=6, seed=3))


def test_deterministic_mode_fixes_the_cublas_workspace(monkeypatch):
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", "")  # restored (unset) after the test
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    make_deterministic(0)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"  # what deterministic cuBLAS needs
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    make_deterministic(0)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"  # a value already set is kept


@pytest.mark.parametrize("profiles", [CNN_PROFILES, TRANSFORMER_PROFILES], ids=["cnn", "transformer"])
def test_short_training_separates_an_easy_set(separable, profiles, tmp_path):
    settings = deep_settings(profiles, "quick", epochs=20, batch_size=16, lr=5e-3, oversample=0.0, val_fraction=0.0,
                             sequence_length=32, token_length=64,
                             device="cpu", **AUGMENTATIONS_OFF)
    make_deterministic(0)
    inputs = prepare_inputs(separable, settings)
    # train on half, score the other half
    train_rows, held_out = np.arange(0, 120, 2), np.arange(1, 120, 2)
    classifier = DeepClassifier(settings).fit(inputs.train.subset(train_rows), inputs.y[train_rows],
                                              inputs.aux[train_rows], seed=0)
    prob = classifier.predict_proba(inputs.train.subset(held_out))
    threshold, _ = best_threshold(inputs.y[train_rows], classifier.predict_proba(inputs.train.subset(train_rows)))
    assert f1_at(inputs.y[held_out], prob, threshold) > 0.9

    path = classifier.save(tmp_path / "best_model.pt")
    reloaded = DeepClassifier.load(path)
    assert np.array_equal(reloaded.predict_proba(inputs.train.subset(held_out)), prob)
    assert reloaded.settings == classifier.settings


def test_same_seed_same_oof_on_cpu(kaggle_dir, tmp_path):
    settings = deep_settings(CNN_PROFILES, "quick", device="cpu", n_folds=3)
    inputs = prepare_inputs(load_dataset(kaggle_dir), settings)
    runs = []
    for _ in range(2):
        make_deterministic(settings["seed"])
        runs.append(cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test, out_dir=tmp_path))
    assert np.array_equal(runs[0].oof.prob.to_numpy(), runs[1].oof.prob.to_numpy())
    assert np.array_equal(runs[0].test_prob, runs[1].test_prob)
    assert runs[0].complete and len(runs[0].folds) == 3
    assert (tmp_path / "models" / "cnn" / "fold2" / "best_model.pt").is_file()


def test_fold_alignment_uses_each_fold_networks_test_scores(kaggle_dir, tmp_path):
    settings = deep_settings(CNN_PROFILES, "quick", device="cpu", n_folds=3, align_folds=False)
    inputs = prepare_inputs(load_dataset(kaggle_dir), settings)
    make_deterministic(settings["seed"])
    raw = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test, out_dir=tmp_path)
    make_deterministic(settings["seed"])
    aligned = cross_validate_network({**settings, "align_folds": True}, inputs.train, inputs.y, inputs.aux, inputs.test)
    test_by_fold = np.array([DeepClassifier.load(tmp_path / "models" / "cnn" / f"fold{k}" / "best_model.pt")
                             .predict_proba(inputs.test) for k in range(3)])
    assert raw.test_prob == pytest.approx(test_by_fold.mean(axis=0))
    expected_oof, expected_test = align_fold_scores(raw.oof.prob.to_numpy(), raw.oof.fold.to_numpy(), test_by_fold)
    assert aligned.oof.prob.to_numpy() == pytest.approx(expected_oof)
    assert aligned.test_prob == pytest.approx(expected_test)
    assert aligned.summary["average_precision"] == pytest.approx(
        average_precision_score(inputs.y, expected_oof))


def test_one_fold_runs_alone_and_saves_no_test_prediction(kaggle_dir):
    settings = deep_settings(TRANSFORMER_PROFILES, "quick", device="cpu", fold=1, n_folds=3)
    inputs = prepare_inputs(load_dataset(kaggle_dir), settings)
    result = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test)
    assert not result.complete and result.test_prob is None
    assert set(result.oof.fold) == {1} and len(result.folds) == 1


def test_physics_features_join_the_object_vector(kaggle_dir, tmp_path):
    dataset = load_dataset(kaggle_dir)
    rng = np.random.default_rng(0)
    tables = [pd.DataFrame({"a": rng.normal(size=len(dataset.log(kind))), "b": np.nan, "target": 1.0},
                           index=dataset.log(kind).index) for kind in ("train", "test")]
    settings = deep_settings(CNN_PROFILES, "quick", device="cpu", use_features=True, n_folds=2)
    features = tuple(table.drop(columns="target") for table in tables)  # a label column never reaches a model
    inputs = prepare_inputs(dataset, settings, features=features)
    assert inputs.train.tensors["extra"].shape == (40, 2) and inputs.test.tensors["extra"].shape == (20, 2)
    assert inputs.scaler.names == ("a", "b") and (inputs.train.tensors["extra"][:, 1] == 0).all()
    classifier = DeepClassifier(settings, inputs.scaler).fit(inputs.train, inputs.y, inputs.aux, seed=0)
    reloaded = DeepClassifier.load(classifier.save(tmp_path / "model.pt"))
    assert reloaded.scaler.names == ("a", "b")
    assert np.array_equal(reloaded.predict_proba(inputs.test), classifier.predict_proba(inputs.test))

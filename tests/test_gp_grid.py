"""The deep models' GP-grid input (settings['gp_grid']): the grid itself, its cache, the models' branch and a
saved run that scores new objects with it."""

import numpy as np
import pandas as pd
import pytest
import torch

from utils import BANDS
from utils.data.lightcurve import make_object
from utils.data.load import load_dataset
from utils.evaluation.blend import fit_blender
from utils.features import gp
from utils.models import build_model
from utils.run.model import load_run_model, save_run_model
from utils.serve.predict import predict_batch
from utils.training import CNN_PROFILES, cross_validate_network, deep_settings, make_deterministic, prepare_inputs
from utils.training import gp_grid as grid_module
from utils.training.gp_grid import GRID_CHANNELS, gp_grid_table, object_grids
from utils.training.pretrain import load_encoder_state

from test_models import random_batch, settings_for

torch.set_num_threads(1)
WIDTH_DAYS = 20.0
PEAK_DAY = 60.0


def bump(t: np.ndarray, band: int) -> np.ndarray:
    """A smooth Gaussian light curve, fainter in redder bands."""
    return 100.0 * (1 - 0.1 * band) * np.exp(-0.5 * ((t - PEAK_DAY) / WIDTH_DAYS) ** 2)


OBSERVED_DAYS = (20.0, 140.0)
OUTLIER_FLUX = -150.0  # one point far after the GP window: the largest |flux|, so it sets the normalisation


def smooth_object(seed: int = 0):
    """Each band sampled 15 times over OBSERVED_DAYS (z = 0: rest frame = observer frame), small errors,
    and one negative y-band point 460 days after the peak, outside the GP's window."""
    rng = np.random.default_rng(seed)
    time = np.concatenate([np.sort(rng.uniform(*OBSERVED_DAYS, 15)) for _ in BANDS])
    band = np.repeat(np.arange(len(BANDS)), 15)
    err = np.full(len(time), 1.0)
    flux = bump(time, band) + rng.normal(0, err)
    return make_object(np.r_[time, PEAK_DAY + 460], np.r_[flux, OUTLIER_FLUX], np.r_[err, 1.0], np.r_[band, 5], z=0.0)


def test_the_grid_follows_a_known_light_curve_and_is_unsure_far_from_the_points():
    obj = smooth_object()
    days = gp.grid_days(401)  # one step a day over the window, so grid days are whole days from the peak
    grid = gp.mean_std_grid(obj, 401)
    assert grid.shape == (2, len(BANDS), 401) and grid.dtype == np.float32
    mean, std = grid
    # normalised like the networks' flux inputs (utils.training.sequences): by the object's max |flux| over all its
    # points, here the outlier outside the GP window, so the u band peaks near 100 / 150
    assert obj.flux_scale == -OUTLIER_FLUX
    assert mean.max() == pytest.approx(bump(PEAK_DAY, 0) / -OUTLIER_FLUX, abs=0.04)
    points = obj.time < OBSERVED_DAYS[1] + 1
    for b in range(len(BANDS)):  # at the observed epochs (the daily grid interpolated): within 4 % of the peak
        epochs = obj.time[points & (obj.band == b)]
        error = np.interp(epochs - obj.peak_time, days, mean[b]) - bump(epochs, b) / obj.flux_scale
        assert np.abs(error).max() < 0.04, BANDS[b]
    observed = (obj.peak_time + days >= OBSERVED_DAYS[0]) & (obj.peak_time + days <= OBSERVED_DAYS[1])
    truth = bump(obj.peak_time + days[observed], np.arange(len(BANDS))[:, None]) / obj.flux_scale
    assert np.sqrt(np.mean((mean[:, observed] - truth) ** 2)) < 0.02  # and between them
    far = obj.peak_time + days > OBSERVED_DAYS[1] + 100  # 100+ days after the last point in the window
    assert std[:, far].min() > 5 * np.median(std[:, observed])
    assert np.abs(mean[:, far]).max() < 0.05  # the zero-mean GP returns to zero away from the data


def test_a_coarse_grid_reads_the_same_fit():
    obj = smooth_object(1)
    fine, coarse = gp.mean_std_grid(obj, 401), gp.mean_std_grid(obj, 101)
    assert np.allclose(coarse, fine[:, :, ::4], atol=1e-5)  # 101 steps = every 4th day of the same window


def test_objects_without_a_fit_get_mean_zero_and_std_one():
    sparse = make_object([1.0, 2.0, 3.0], [10.0, 12.0, 11.0], [1.0, 1.0, 1.0], ["g", "g", "r"])
    grids = object_grids([smooth_object(), sparse], 16)
    assert grids.shape == (2, GRID_CHANNELS, 16)
    assert (grids[1, :6] == 0).all() and (grids[1, 6:] == 1).all()
    assert np.abs(grids[0, :6]).max() > 0.5


def test_grids_are_cached_per_data_steps_and_redshift_draw(kaggle_dir, cache_dir, monkeypatch):
    dataset = load_dataset(kaggle_dir)
    ids, grid = gp_grid_table(dataset, "test", n_steps=16, n_jobs=1)
    assert list(ids) == list(dataset.test_log.index) and grid.shape == (20, GRID_CHANNELS, 16)
    assert len(list((cache_dir / "gp_grid").glob("test-*.npz"))) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("computed again instead of read from the cache")

    monkeypatch.setattr(grid_module, "object_grids", refuse)
    again_ids, again = gp_grid_table(dataset, "test", n_steps=16, n_jobs=1)
    assert list(again_ids) == list(ids) and np.array_equal(again, grid)
    with pytest.raises(AssertionError, match="computed again"):
        gp_grid_table(dataset, "test", n_steps=20, n_jobs=1)  # another grid: another entry
    with pytest.raises(ValueError, match="training redshifts only"):
        gp_grid_table(dataset, "test", n_steps=16, redshift_seed=0)
    monkeypatch.undo()
    plain = gp_grid_table(dataset, "train", n_steps=16, n_jobs=1)[1]
    perturbed = gp_grid_table(dataset, "train", n_steps=16, redshift_seed=42, n_jobs=1)[1]
    assert not np.array_equal(plain, perturbed)  # the GP sees the perturbed Z (rest-frame time and wavelength)


@pytest.mark.parametrize("model,variant", [("cnn", "tuned"), ("cnn_attn", "tuned"), ("transformer", "tuned"),
                                           ("transformer", "starter")])
def test_each_model_reads_the_grid_and_learns_from_it(model, variant):
    settings = settings_for(model, variant, gp_grid=True, aux_weight=0.5)
    network = build_model(settings, n_extra=2)
    batch = random_batch(settings["layout"], n_extra=2)
    batch["gp_grid"] = torch.randn(4, GRID_CHANNELS, settings["gp_grid_steps"],
                                   generator=torch.Generator().manual_seed(1))
    out = network(batch)
    assert out["logit"].shape == (4,) and out["aux_logits"].shape == (4, 5)
    (out["logit"].sum() + out["aux_logits"].sum()).backward()
    gradients = [p.grad for p in network.grid_encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in gradients)
    assert any(g.abs().sum() > 0 for g in gradients)
    network.eval()
    with torch.no_grad():
        moved = network({**batch, "gp_grid": batch["gp_grid"] + 1.0})["logit"]
        assert not torch.allclose(moved, network(batch)["logit"])
    with pytest.raises(ValueError, match="has no 'gp_grid'"):
        network({key: value for key, value in batch.items() if key != "gp_grid"})


def test_the_grid_branch_is_off_by_default_and_adds_no_weights():
    settings = settings_for("cnn", "tuned")
    assert settings["gp_grid"] is False
    assert build_model(settings).grid_encoder is None
    assert not any(key.startswith("grid_encoder") for key in build_model(settings).state_dict())


def test_settings_saved_before_the_option_read_no_grid(kaggle_dir):
    settings = deep_settings(CNN_PROFILES, "quick", device="cpu")
    old = {key: value for key, value in settings.items() if not key.startswith("gp_grid")}
    assert build_model(old).grid_encoder is None
    assert "gp_grid" not in prepare_inputs(load_dataset(kaggle_dir), old).train.tensors


@pytest.mark.parametrize("model", ["cnn", "transformer"])
def test_a_pretrained_encoder_fits_a_network_with_the_grid(model):
    """Pretraining reads light curves only, so one cached encoder serves networks with and without the grid."""
    settings = settings_for(model, "tuned", gp_grid=True)
    plain = build_model({**settings, "gp_grid": False})
    state = {key: value for key, value in plain.state_dict().items() if key.split(".")[0] in type(plain).STEP_ENCODER}
    network = build_model(settings)
    load_encoder_state(network, state)
    assert all(torch.equal(network.state_dict()[key], value) for key, value in state.items())


def test_a_saved_run_with_the_grid_scores_new_objects(kaggle_dir, tmp_path, monkeypatch):
    dataset = load_dataset(kaggle_dir)
    settings = deep_settings(CNN_PROFILES, "quick", device="cpu", n_folds=3, gp_grid=True, gp_grid_steps=32)
    make_deterministic(settings["seed"])
    inputs = prepare_inputs(dataset, settings)
    assert inputs.train.tensors["gp_grid"].shape == (40, GRID_CHANNELS, 32)
    assert inputs.test.tensors["gp_grid"].shape == (20, GRID_CHANNELS, 32)
    run_dir = tmp_path / "run"
    result = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test, out_dir=run_dir)
    oof = pd.DataFrame({"cnn": result.oof_prob}, index=result.object_ids)
    target = pd.Series(result.target, index=result.object_ids)
    save_run_model(run_dir, gbdt_results={}, blender=fit_blender(oof, target, "mean"), threshold=0.5,
                   threshold_method="test", feature_columns=[], settings={})
    assert load_run_model(run_dir).members["cnn"].gp_grid_steps == 32

    batch = tmp_path / "batch"
    batch.mkdir()
    pd.read_csv(kaggle_dir / "test_log.csv")[["object_id", "Z", "Z_err", "EBV"]].to_csv(batch / "log.csv", index=False)
    for k, path in enumerate(sorted(kaggle_dir.glob("split_*/test_full_lightcurves.csv"))):
        pd.read_csv(path).to_csv(batch / f"part{k}_lightcurves.csv", index=False)
    monkeypatch.setenv("MALLORN_CACHE_DIR", str(tmp_path / "fresh-cache"))  # grids computed anew, per chunk
    out = predict_batch(run_dir, batch, out=tmp_path / "scored", chunk_size=7, device="cpu", progress=False,
                        report_top_n=0, n_jobs=1)
    predicted = pd.read_csv(out / "predictions.csv").set_index("object_id").loc[result.test_ids]
    assert predicted["cnn"].to_numpy() == pytest.approx(result.test_prob, rel=0, abs=1e-6)
    assert len(list((tmp_path / "fresh-cache" / "gp_grid").glob("test-*.npz"))) >= 2  # one entry per chunk

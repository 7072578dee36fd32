"""The fits group: light curves drawn from its own models (known answers), against a brute-force
least-squares reference, and the cache key of its tables."""

import features_fits_accuracy
import numpy as np
import pytest

from utils import BANDS
from utils.data.extinction import LSST_WAVELENGTHS
from utils.data.lightcurve import make_object
from utils.features import DEFAULT_GROUPS, fits, group_versions
from utils.features.table import cache_path

TDE_TRUTH = [8.0, np.log(12.0), np.log(50.0), np.log10(2.5e4), 0.05]  # t0, log σ, log τ, log10 T0, k
SN_TRUTH = [-3.0, np.log(5.0), np.log(30.0), np.log10(1.4e4), 3.0]  # t0, log τ_rise, log τ_fall, log10 T0, c


def model_object(model, params, z=0.1, noise=0.01, seed=0, days=None, n_bands=5):
    """Noisy observations of a fits model (peak flux 1), cycling through n_bands bands, at rest-frame
    `days` (default: every 2 days from −30 to +200); also returns the rest-frame day of the brightest point."""
    rng = np.random.default_rng(seed)
    days = np.arange(-30.0, 200.0, 2.0) if days is None else np.sort(days)
    band = np.array([i % n_bands for i in range(len(days))])
    wave = np.array([LSST_WAVELENGTHS[BANDS[b]] for b in band]) / (1 + z)
    flux = model(np.asarray(params), days, wave, LSST_WAVELENGTHS["r"] / (1 + z))
    flux = flux / flux.max() + rng.normal(0, noise, len(days))
    obj = make_object(60000.0 + days * (1 + z), flux, np.full(len(days), noise), band, z=z)
    return obj, (obj.peak_time - 60000.0) / (1 + z)


@pytest.fixture(scope="module")
def accuracy():
    """benchmarks/features_fits_accuracy.py, whose reference_fit is the brute-force reference."""
    return features_fits_accuracy


def test_the_colour_table_reads_the_blackbody_within_a_tenth_of_a_percent():
    temperature = np.geomspace(3500.0, 1e5, 57)
    for z in (0.0, 0.4, 3.0):
        points = fits.FitPoints(np.zeros(6), np.arange(6), np.ones(6), np.ones(6), 1 + z)
        exact = fits.blackbody_ratio(fits._WAVE[None, :] / (1 + z), fits._REF_WAVE / (1 + z), temperature[:, None])
        assert points.band_colour(np.log10(temperature)) == pytest.approx(exact, rel=1e-3)


def test_a_tde_light_curve_gives_back_its_parameters_and_prefers_the_tde_model():
    obj, peak_day = model_object(fits.tde_model, TDE_TRUTH, z=0.3)
    params, chi2 = fits.fit_tde(fits.fit_points(obj))
    t0, log_rise, log_tau, log_temp, cooling = params
    assert t0 + peak_day == pytest.approx(TDE_TRUTH[0], abs=1.5)  # fitted t0 is counted from the brightest point
    assert np.exp(log_tau) == pytest.approx(50.0, rel=0.15)
    assert np.exp(log_rise) == pytest.approx(12.0, rel=0.15)
    assert log_temp == pytest.approx(TDE_TRUTH[3], abs=0.05)
    assert cooling == pytest.approx(TDE_TRUTH[4], abs=0.03)
    features = fits.extract(obj)
    assert features["fit_tde_chi2"] == pytest.approx(chi2 / (features["fit_n_points"] - 6))
    assert features["fit_tde_chi2"] < 1.5  # noise only: a reduced χ² near 1
    assert features["fit_log_chi2_ratio"] > 0.3
    assert features["fit_tde_tau_rest"] == pytest.approx(np.exp(log_tau))


def test_a_cooling_supernova_gives_back_its_parameters_and_prefers_the_supernova_model():
    obj, peak_day = model_object(fits.sn_model, SN_TRUTH, z=0.2)
    params, _ = fits.fit_sn(fits.fit_points(obj))
    t0, log_rise, log_fall, log_temp, cooling = params
    assert t0 + peak_day == pytest.approx(SN_TRUTH[0], abs=1.5)
    assert np.exp(log_fall) == pytest.approx(30.0, rel=0.15)
    assert np.exp(log_rise) == pytest.approx(5.0, rel=0.25)
    assert log_temp == pytest.approx(SN_TRUTH[3], abs=0.05)
    assert cooling == pytest.approx(SN_TRUTH[4], abs=0.5)
    features = fits.extract(obj)
    assert features["fit_sn_chi2"] < 1.5
    assert features["fit_log_chi2_ratio"] < -0.3
    assert features["fit_sn_cooling"] > 1.0


def test_fits_need_enough_points_and_detections():
    obj = make_object([1.0, 2.0, 3.0], [1.0, 2.0, 1.0], [0.1, 0.1, 0.1], ["g", "r", "i"])
    features = fits.extract(obj)
    assert features["fit_n_points"] == 3 and np.isnan(features["fit_tde_chi2"])
    days = np.arange(0.0, 60.0, 3.0)  # 20 points, only 3 of them detections
    flux = np.where(days < 9, 10.0, 0.1)
    features = fits.extract(make_object(60000.0 + days, flux, np.ones(len(days)), np.arange(len(days)) % 6))
    assert features["fit_n_points"] == 20
    assert all(np.isnan(features[name]) for name in fits.NAMES if name != "fit_n_points")
    assert all(np.isnan(v) for v in fits.extract(make_object([], [], [], [])).values())


SPARSE_DAYS = np.r_[np.sort(np.random.default_rng(7).uniform(-60, 40, 14)),
                    np.sort(np.random.default_rng(8).uniform(110, 260, 16))]  # two seasons, irregular


@pytest.mark.parametrize("model, truth, z, noise, days, n_bands", [
    (fits.tde_model, TDE_TRUTH, 0.3, 0.01, None, 5),
    (fits.sn_model, SN_TRUTH, 0.2, 0.01, None, 5),
    (fits.tde_model, [-20.0, np.log(25.0), np.log(120.0), np.log10(4e4), -0.08], 1.1, 0.05, SPARSE_DAYS, 6),
    (fits.sn_model, [10.0, np.log(2.0), np.log(60.0), np.log10(9e3), 1.0], 0.05, 0.05, SPARSE_DAYS, 6),
], ids=["tde", "sn", "sparse-tde", "sparse-sn"])
def test_the_fast_fits_reach_the_brute_force_minimum(accuracy, model, truth, z, noise, days, n_bands):
    """Both models on each light curve: the fast χ² is within 1 % of the best of scipy's uncapped least
    squares started from the truth, the old default start and the fast fit itself, and gives the same
    log ratio."""
    obj, peak_day = model_object(model, truth, z=z, noise=noise, days=days, n_bands=n_bands)
    points = fits.fit_points(obj)
    shifted_truth = np.array(truth) - np.r_[peak_day, 0, 0, 0, 0]
    chi2 = {}
    for name, fast_fit, other, bounds, default in [
            ("tde", fits.fit_tde, fits.tde_model, fits.TDE_BOUNDS, [0.0, np.log(15.0), np.log(40.0), np.log10(2.5e4), 0.0]),
            ("sn", fits.fit_sn, fits.sn_model, fits.SN_BOUNDS, [0.0, np.log(5.0), np.log(30.0), np.log10(1.2e4), 1.0])]:
        fast_params, fast_chi2 = fast_fit(points)
        starts = [np.array(default), fast_params] + ([shifted_truth] if other is model else [])
        _, reference_chi2 = accuracy.reference_fit(other, points, bounds, starts)
        assert fast_chi2 <= reference_chi2 * 1.01 + 1e-9, name
        chi2[name] = (fast_chi2, reference_chi2)
    fast_ratio = np.log10(chi2["sn"][0] / chi2["tde"][0])
    assert fast_ratio == pytest.approx(np.log10(chi2["sn"][1] / chi2["tde"][1]), abs=0.01)
    assert fast_ratio > 0 if model is fits.tde_model else fast_ratio < 0


class FakeDataset:
    fingerprint = "abc"


def test_the_fits_version_changes_only_the_cache_keys_of_tables_with_fits(monkeypatch, tmp_path):
    def path(groups):
        return cache_path(FakeDataset(), "train", groups, None, tmp_path)
    without = tuple(g for g in DEFAULT_GROUPS if g != "fits")
    before = {groups: path(list(groups)) for groups in (without, ("fits",), (*without, "fits"))}
    assert group_versions(["meta", "fits"]) == {"fits": fits.VERSION}
    monkeypatch.setattr(fits, "VERSION", fits.VERSION + 1)
    assert path(list(without)) == before[without]
    assert path(["fits"]) != before[("fits",)]
    assert path([*without, "fits"]) != before[(*without, "fits")]


def test_the_accuracy_benchmark_prints_both_models_and_the_ratio(accuracy, kaggle_dir, capsys):
    assert accuracy.main(["--data-dir", str(kaggle_dir), "--objects", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "objects with fits" in lines[0]
    assert [line.split(":")[0] for line in lines[1:]] == ["tde", "sn", "fit_log_chi2_ratio"]

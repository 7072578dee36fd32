"""Each feature group on analytic light curves with known answers, and on degenerate ones."""

import numpy as np
import pandas as pd
import pytest

from utils import BANDS
from utils.data.lightcurve import make_object
from utils.data.redshift import perturbed_redshift
from utils.features import (BATCH_GROUPS, DEFAULT_GROUPS, GROUP_NAMES, REGISTRY, extract_object, gp, meta, powerlaw,
                            timescales, variability)

from synthetic import gaussian_flux, tde_flux

FWHM_PER_SIGMA = 2 * np.sqrt(2 * np.log(2))
PER_OBJECT_GROUPS = tuple(g for g in REGISTRY if g not in BATCH_GROUPS)


def multiband(flux_of_time, times, *, z=0.0, bands=BANDS, err=0.01):
    time = np.concatenate([times] * len(bands))
    band = np.repeat(list(bands), len(times))
    flux = np.concatenate([flux_of_time(times, b) for b in bands])
    return make_object(time, flux, np.full(len(time), err), band, z=z)


def test_pure_tde_decline_has_index_minus_five_thirds():
    # Peak at t=60 with t0 = 30: F = A ((t - 30) / 30)^(-5/3) after the peak, in every band.
    times = np.arange(0.0, 400.0, 3.0)
    obj = multiband(lambda t, b: tde_flux(t, peak_time=60.0, amplitude=100.0 * (1 + BANDS.index(b))), times)
    features = powerlaw.extract(obj)
    assert features["plaw_index"] == pytest.approx(-5 / 3, abs=1e-3)
    assert features["plaw_tau_rest"] == pytest.approx(30.0, rel=1e-2)
    assert features["plaw_misfit_tde"] == pytest.approx(0.0, abs=1e-4)
    assert features["plaw_vs_exp"] > 0  # a power law fits better than an exponential
    assert features["plaw_index_g"] == pytest.approx(-5 / 3, abs=1e-3)


def test_power_law_offset_is_in_the_rest_frame():
    times = np.arange(0.0, 800.0, 3.0)
    obj = multiband(lambda t, b: tde_flux(t, peak_time=120.0), times, z=1.0)  # observer offset 30 days
    assert powerlaw.extract(obj)["plaw_tau_rest"] == pytest.approx(15.0, rel=1e-2)


def test_flat_line_has_zero_excess_variance():
    obj = multiband(lambda t, b: np.full(len(t), 50.0), np.arange(0.0, 300.0, 5.0), err=1.0)
    features = variability.extract(obj)
    assert all(features[f"excess_var_{b}"] == 0.0 for b in BANDS)
    assert variability.excess_variance(np.full(10, 3.0), np.ones(10)) == 0.0


def test_excess_variance_measures_variance_beyond_noise():
    flux = np.array([0.0, 4.0] * 50)  # variance 4.04 (ddof 1) with noise variance 1
    assert variability.excess_variance(flux, np.ones(100)) == pytest.approx(np.var(flux, ddof=1) - 1.0)


def test_stetson_j_is_positive_for_correlated_bands_and_nan_without_pairs():
    times = np.repeat(np.arange(0.0, 100.0, 5.0), 2) + np.tile([0.0, 0.1], 20)
    wave = np.sin(times / 7.0) * 20
    band = np.tile([1, 2], 20)
    assert variability.stetson_j(times, wave, np.ones(40), band) > 1
    sparse = np.arange(0.0, 100.0, 5.0)
    assert np.isnan(variability.stetson_j(sparse, np.sin(sparse), np.ones(20), np.ones(20, dtype=int)))


def test_gaussian_bump_width_is_its_fwhm():
    sigma, z = 12.0, 0.5
    obj = multiband(lambda t, b: gaussian_flux(t, peak_time=150.0, sigma=sigma), np.arange(0.0, 300.0, 0.25), z=z)
    features = timescales.extract(obj)
    for b in BANDS:
        assert features[f"fwhm_{b}"] == pytest.approx(FWHM_PER_SIGMA * sigma / (1 + z), rel=1e-3)
        assert features[f"rise_half_{b}"] == pytest.approx(features[f"decline_half_{b}"], rel=1e-3)
        assert features[f"peak_lag_{b}"] == 0.0


def test_half_max_crossings_need_a_point_below_half_on_each_side():
    rise, decline = timescales.half_max_crossings(np.array([0.0, 1.0, 2.0]), np.array([8.0, 10.0, 2.0]))
    assert np.isnan(rise)  # never below half maximum before the peak
    assert decline == pytest.approx(0.625)  # 10 -> 2 between t=1 and t=2 crosses 5 at t=1.625


def test_distance_modulus_matches_flat_lambda_cdm():
    # Flat ΛCDM, H0 = 70, Ωm = 0.3: d_L(z=0.1) = 460.0 Mpc, d_L(z=1) = 6607 Mpc.
    assert meta.distance_modulus(0.1) == pytest.approx(5 * np.log10(460.0e5), abs=0.01)
    assert meta.distance_modulus(1.0) == pytest.approx(5 * np.log10(6607.0e5), abs=0.01)
    assert np.isfinite(meta.distance_modulus(-0.01))  # photometric Z can be slightly negative


def test_blackbody_temperature_recovers_a_blackbody():
    wave = np.array([3641.0, 4704.0, 6155.0, 7504.0, 8695.0, 10056.0])
    temperature = gp.TEMPERATURE_GRID[100]
    flux = 1e20 * wave ** -3 / np.expm1(gp.HC_OVER_K_ANGSTROM_K / (wave * temperature))
    assert gp.blackbody_temperature(wave, flux, flux * 0.01) == pytest.approx(temperature)
    assert np.isnan(gp.blackbody_temperature(wave, -flux, flux))


def test_sed_shape_of_a_blackbody_is_flat_and_a_blanketed_u_band_shows_up():
    wave = np.array([3641.0, 4704.0, 6155.0, 7504.0, 8695.0, 10056.0])
    temperature = gp.TEMPERATURE_GRID[100]
    flux = 1e20 * wave ** -3 / np.expm1(gp.HC_OVER_K_ANGSTROM_K / (wave * temperature))
    shape = gp.sed_shape(wave, flux, flux * 0.01)
    assert shape["bb_chi2"] == pytest.approx(0.0, abs=1e-9)
    assert shape["bb_temp_griz"] == pytest.approx(temperature)
    assert shape["bb_u_excess"] == pytest.approx(0.0, abs=1e-9)
    assert all(shape[f"bb_resid_{b}"] == pytest.approx(0.0, abs=1e-9) for b in "ugrizy")
    blanketed = flux * np.array([10 ** (-0.4 * 0.5), 1, 1, 1, 1, 1])  # u band 0.5 mag fainter
    shape = gp.sed_shape(wave, blanketed, blanketed * 0.01)
    assert shape["bb_u_excess"] == pytest.approx(0.5, abs=1e-9)
    assert shape["bb_chi2"] > 1 and shape["bb_resid_u"] > 0.1


def test_sed_shape_needs_three_positive_bands():
    wave = np.array([3641.0, 4704.0, 6155.0, 7504.0, 8695.0, 10056.0])
    flux = np.array([-1.0, -1.0, 2.0, -1.0, 1.0, -1.0])
    assert all(np.isnan(v) for v in gp.sed_shape(wave, flux, np.ones(6)).values())


def test_gp_on_a_grey_gaussian_bump():
    """Same bump in every band: colours 0, GP peak at the bump, rise ≈ decline ≈ half the FWHM."""
    sigma = 15.0
    obj = multiband(lambda t, b: gaussian_flux(t, peak_time=150.0, sigma=sigma), np.arange(0.0, 400.0, 4.0), err=0.5)
    features = gp.extract(obj)
    assert obj.peak_time + features["gp_peak_offset"] == pytest.approx(150.0, abs=1.0)
    assert features["gp_colour_gr_0"] == pytest.approx(0.0, abs=0.02)
    assert features["gp_fwhm"] == pytest.approx(FWHM_PER_SIGMA * sigma, abs=3.0)
    assert 0.5 < features["gp_log_length_time"] < 2.5



def test_gp_fit_predicts_the_textbook_posterior():
    """GPFit shares one Cholesky factor across predictions; they equal K*ᵀ(K + N)⁻¹y and k** - K*ᵀ(K + N)⁻¹K*."""
    obj = multiband(lambda t, b: gaussian_flux(t, peak_time=150.0, sigma=20.0), np.arange(0.0, 300.0, 9.0), err=0.3)
    fitted = gp.fit(obj)
    p = fitted.points
    x_new = p.grid(np.array([-20.0, 0.0, 35.0]))
    cov = gp.matern32(p.x, p.x, fitted.params) + np.diag(p.noise)
    cross = gp.matern32(x_new, p.x, fitted.params)
    mean, std = fitted.predict(x_new, return_std=True)
    assert mean == pytest.approx(cross @ np.linalg.solve(cov, p.y), rel=1e-8, abs=1e-10)
    variance = np.exp(2 * fitted.params[0]) - np.einsum("ij,ji->i", cross, np.linalg.solve(cov, cross.T))
    assert std == pytest.approx(np.sqrt(variance), rel=1e-6)
    assert fitted.fitted == pytest.approx(fitted.predict(p.x))
    assert fitted.curves.shape == (len(gp.GRID_DAYS), len(BANDS))

EMPTY_AND_SPARSE = {
    "single point": make_object([60000.0], [10.0], [1.0], ["g"]),
    "one band only": make_object(np.arange(30.0), np.sin(np.arange(30.0)) * 10, np.ones(30), ["r"] * 30),
    "all negative": make_object(np.arange(12.0), -np.ones(12), np.ones(12), list("ugrizy") * 2),
    "flat, noiseless": make_object(np.arange(24.0), np.full(24, 5.0), np.full(24, 0.1), list("ugrizy") * 4),
    "two points, same time": make_object([1.0, 1.0], [3.0, 4.0], [1.0, 1.0], ["g", "g"]),
}


@pytest.mark.parametrize("case", sorted(EMPTY_AND_SPARSE))
def test_every_group_survives_empty_bands_and_single_points(case):
    with np.errstate(all="ignore"):
        features = extract_object(EMPTY_AND_SPARSE[case], PER_OBJECT_GROUPS)
    expected = [name for group in PER_OBJECT_GROUPS for name in GROUP_NAMES[group]]
    assert list(features) == expected  # same columns, same order, for every object
    assert all(isinstance(v, (int, float, np.floating, np.integer)) for v in features.values())


def test_group_names_are_unique_and_match_what_groups_return():
    obj = multiband(lambda t, b: tde_flux(t), np.arange(0.0, 300.0, 4.0))
    all_names = [n for names in GROUP_NAMES.values() for n in names]
    assert len(all_names) == len(set(all_names))
    for group in PER_OBJECT_GROUPS:
        assert tuple(REGISTRY[group].extract(obj)) == GROUP_NAMES[group]


def test_registry_defaults_and_batch_groups_are_consistent():
    assert set(DEFAULT_GROUPS) <= set(REGISTRY)
    for group, module in REGISTRY.items():
        assert hasattr(module, "extract_batch" if group in BATCH_GROUPS else "extract"), group


def test_single_point_gives_nan_not_numbers():
    with np.errstate(all="ignore"):
        features = extract_object(EMPTY_AND_SPARSE["single point"])
    assert features["n_obs"] == 1
    assert np.isnan(features["plaw_index"]) and np.isnan(features["gp_log_length_time"])
    assert np.isnan(features["fwhm_g"]) and np.isnan(features["excess_var_g"])


def test_perturbed_redshift_follows_the_test_errors_and_is_repeatable():
    train = pd.DataFrame({"Z": np.full(2000, 0.5)}, index=[f"tr{i}" for i in range(2000)])
    test = pd.DataFrame({"Z": np.linspace(0.1, 1.0, 500), "Z_err": np.full(500, 0.03)})
    noisy = perturbed_redshift(train, test, seed=1)
    assert noisy.index.equals(train.index)
    assert (noisy - 0.5).std() == pytest.approx(0.03, rel=0.1)
    assert noisy.equals(perturbed_redshift(train, test, seed=1))
    assert not noisy.equals(perturbed_redshift(train, test, seed=2))

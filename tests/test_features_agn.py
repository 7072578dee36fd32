"""The agn group on analytic light curves with known answers."""

import numpy as np
import pytest

from utils.data.lightcurve import make_object
from utils.features import agn

from synthetic import gaussian_flux

SEASONS = [np.arange(60000.0 + 365 * s, 60000.0 + 365 * s + 150, 3.0) for s in range(4)]  # 4 seasons, 3-day cadence


def flare_on_baseline(baseline, rng, noise=1.0):
    """A 100-µJy Gaussian flare in season 2 on top of `baseline(t)`, in g and r on the same nights."""
    times = np.concatenate(SEASONS)
    flux = gaussian_flux(times, peak_time=60000.0 + 365 * 2 + 60, amplitude=100.0, sigma=15.0) + baseline(times)
    time = np.r_[times, times + 0.1]
    band = ["g"] * len(times) + ["r"] * len(times)
    all_flux = np.r_[flux, flux] + rng.normal(0, noise, 2 * len(times))
    return make_object(time, all_flux, np.full(len(time), noise), band, z=0.1)


def test_a_flare_on_a_flat_baseline_is_quiet_away_from_the_flare():
    rng = np.random.default_rng(0)
    features = agn.extract(flare_on_baseline(lambda t: np.zeros_like(t), rng))
    assert features["agn_pre_chi2"] == pytest.approx(1.0, abs=0.35)
    assert features["agn_post_chi2"] == pytest.approx(1.0, abs=0.35)
    assert features["agn_season_chi2"] < 4
    assert features["agn_n_flare_seasons"] == 1
    assert abs(features["agn_trend_snr"]) < 4
    assert features["agn_flare_contrast"] > 50


def test_a_wandering_baseline_shows_up_before_and_after_the_flare():
    rng = np.random.default_rng(1)
    wander = lambda t: 30.0 * np.sin(2 * np.pi * (t - 60000.0) / 500.0)  # noqa: E731
    features = agn.extract(flare_on_baseline(wander, rng))
    assert features["agn_pre_chi2"] > 20 and features["agn_season_chi2"] > 20
    assert features["agn_far_excess_var"] > 0.01


def test_a_linear_trend_is_measured_per_year():
    rng = np.random.default_rng(2)
    trend = lambda t: 20.0 * (t - 60000.0) / 365.25  # noqa: E731  20 µJy per year
    obj = flare_on_baseline(trend, rng, noise=0.5)
    features = agn.extract(obj)
    assert features["agn_trend_per_year"] * obj.flux_scale == pytest.approx(20.0, rel=0.1)
    assert features["agn_trend_snr"] > 20


def test_bluer_when_brighter_gives_the_slope_of_the_colour_law():
    """f_g = f_r^1.2 (in some unit) means g − r = 0.2 m_r exactly: slope 0.2, correlation 1."""
    times = np.arange(0.0, 300.0, 5.0)
    f_r = 20.0 + 15.0 * np.sin(times / 30.0)
    obj = make_object(np.r_[times, times + 0.2], np.r_[f_r ** 1.2, f_r], np.full(2 * len(times), 0.01),
                      ["g"] * len(times) + ["r"] * len(times))
    slope, corr, n = agn.colour_brightness(obj)
    assert n == len(times)
    assert slope == pytest.approx(0.2, abs=1e-6) and corr == pytest.approx(1.0, abs=1e-6)
    grey = make_object(np.r_[times, times + 0.2], np.r_[0.8 * f_r, f_r], np.full(2 * len(times), 0.01),
                       ["g"] * len(times) + ["r"] * len(times))
    assert agn.colour_brightness(grey)[0] == 0.0  # constant colour: no change with brightness

"""The blackbody group on analytic blackbodies of known radius and temperature."""

import numpy as np
import pytest

from utils import BANDS
from utils.cosmology import luminosity_distance_mpc
from utils.data.extinction import LSST_WAVELENGTHS
from utils.data.lightcurve import make_object
from utils.features import blackbody, gp

Z = 0.05
R0_CM = 1e15
T0_K = 20_000.0
WAVE = np.array([LSST_WAVELENGTHS[b] for b in BANDS])


def blackbody_flux_ujy(radius_cm, temperature_k, z=Z):
    """F_ν in µJy in the six LSST bands of a blackbody of this radius and temperature at redshift z."""
    nu_rest = 2.998e18 / (WAVE / (1 + z))  # Hz, from Å
    b_nu = 2 * 6.626e-27 * nu_rest ** 3 / 2.998e10 ** 2 / np.expm1(6.626e-27 * nu_rest / (1.3807e-16 * temperature_k))
    distance_cm = luminosity_distance_mpc(z) * 3.0857e24
    return (1 + z) * np.pi * radius_cm ** 2 * b_nu / distance_cm ** 2 / 1e-29


def flare(radius, temperature):
    """Six bands every 2 rest-frame days from −80 to +250, fluxes of radius(t), temperature(t), 0.2 % errors."""
    days = np.arange(-80.0, 250.0, 2.0)
    flux = np.array([blackbody_flux_ujy(radius(t), temperature(t)) for t in days])  # days x bands
    time = np.repeat(60_000.0 + days * (1 + Z), len(BANDS)) + np.tile(np.arange(len(BANDS)) * 0.01, len(days))
    flux = flux.ravel()
    return make_object(time, flux, 0.002 * flux + 1e-3, np.tile(np.arange(len(BANDS)), len(days)), z=Z)


def rise_then(after):
    """A Gaussian rise (σ = 15 days) to the peak at t = 0, then after(t)."""
    return lambda t: np.exp(-t ** 2 / (2 * 15.0 ** 2)) if t < 0 else after(t)


def test_radius_and_luminosity_of_one_blackbody():
    flux = blackbody_flux_ujy(R0_CM, T0_K)
    temperature, amplitude, _ = gp.fit_blackbody(WAVE / (1 + Z), flux, 0.01 * flux)
    assert temperature == pytest.approx(T0_K, rel=0.02)
    assert blackbody.log_radius_cm(amplitude, Z) == pytest.approx(np.log10(R0_CM), abs=0.03)
    expected = np.log10(4 * np.pi * R0_CM ** 2 * 5.6704e-5 * T0_K ** 4)
    assert blackbody.log_bolometric_luminosity(np.log10(R0_CM), T0_K) == pytest.approx(expected, abs=1e-9)
    assert np.isnan(blackbody.log_radius_cm(amplitude, 0.0)) and np.isnan(blackbody.log_radius_cm(-1.0, Z))


def test_a_hot_tde_like_flare_keeps_its_temperature_and_shrinks_as_its_luminosity_falls():
    """Constant T, L ∝ (1 + t/40)^(−5/3) after the peak: R ∝ L^½, so log R(30)/R(0) = −(5/6) log 1.75."""
    luminosity = rise_then(lambda t: (1 + t / 40.0) ** (-5 / 3))
    features = blackbody.extract(flare(lambda t: R0_CM * np.sqrt(luminosity(t)), lambda t: T0_K))
    assert features["bb_log_radius_0"] == pytest.approx(np.log10(R0_CM), abs=0.05)
    growth = -5 / 6 * np.log10(1.75)
    assert features["bb_radius_growth_30"] == pytest.approx(growth, abs=0.03)
    assert features["bb_lbol_decline_30"] == pytest.approx(2 * growth, abs=0.06)
    assert features["bb_expansion_kms"] < 0


def test_an_expanding_cooling_photosphere_grows_at_its_velocity():
    """R = R0 (1 + t/60) and T = T0 / (1 + t/60) after the peak: 0.5 R0 in 30 days = 1,929 km/s."""
    stretch = rise_then(lambda t: 1 + t / 60.0)
    features = blackbody.extract(flare(lambda t: R0_CM * stretch(t) if t >= 0 else R0_CM * stretch(t) ** 0.5,
                                       lambda t: T0_K / max(stretch(t), 1.0)))
    assert features["bb_radius_growth_30"] == pytest.approx(np.log10(1.5), abs=0.04)
    assert features["bb_expansion_kms"] == pytest.approx(0.5 * R0_CM / (30 * 86_400) / 1e5, rel=0.15)
    assert features["bb_lbol_decline_60"] == pytest.approx(-2 * np.log10(2.0), abs=0.1)


def test_too_few_points_give_nan_everywhere():
    obj = make_object([0.0, 1.0, 2.0], [1.0, 2.0, 1.0], [0.1, 0.1, 0.1], ["g", "r", "g"], z=Z)
    assert set(blackbody.extract(obj)) == set(blackbody.NAMES)
    assert all(np.isnan(v) for v in blackbody.extract(obj).values())

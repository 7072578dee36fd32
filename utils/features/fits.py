"""Model comparison: one TDE model and one supernova model fitted jointly across the bands.

Both models are an amplitude times a light-curve shape times a blackbody colour, with six parameters
each, so their χ² compare fairly. Times are rest-frame days from the brightest detection; fluxes are divided by the
object's largest |flux|; the blackbody is evaluated at each band's rest-frame wavelength and
normalised at the r band, so the amplitude A is the r-band flux at the shape's maximum.

* TDE: a Gaussian rise then the fallback decline ((t − t0 + τ)/τ)^(−5/3), at a hot temperature that
  changes slowly: log10 T(t) = log10 T0 + k (t − t0)_+ / 100 d, |k| ≤ 0.15 (TDEs hold ~2-4×10⁴ K for months).
* SN: the Bazin shape e^{−(t − t0)/τ_fall} / (1 + e^{−(t − t0)/τ_rise}) with a cooling photosphere,
  T(t) = 3000 K + (T0 − 3000 K) e^{−c (t − t0)_+ / 100 d}, c ≥ 0 (supernovae cool and redden within weeks).

Reported: each model's reduced χ², their log ratio (positive: the TDE model fits better), the fitted
temperatures and cooling rates, and the TDE decline time τ. Fits use scipy's bounded least squares on
the points from WINDOW_DAYS, capped at MAX_EVALUATIONS so the group stays a few ms per object.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from .. import BANDS
from ..preprocess import LSST_WAVELENGTHS
from .lightcurve import DETECTION_SNR, ObjectLightCurve, empty_features

WINDOW_DAYS = (-100.0, 400.0)  # rest-frame days around the brightest detection that the fits see
MIN_POINTS = 10
MIN_DETECTIONS = 4
MAX_EVALUATIONS = 10  # least-squares steps per model (each costs 6 evaluations with the numerical Jacobian)
HC_OVER_K_ANGSTROM_K = 1.438777e8
FLOOR_TEMPERATURE = 3000.0
TDE_INDEX = -5.0 / 3.0
_WAVE = np.array([LSST_WAVELENGTHS[b] for b in BANDS])
_REF_WAVE = LSST_WAVELENGTHS["r"]

NAMES = ("fit_tde_chi2", "fit_sn_chi2", "fit_log_chi2_ratio", "fit_tde_log_temp", "fit_tde_cooling",
         "fit_tde_tau_rest", "fit_tde_rise_rest", "fit_sn_log_temp", "fit_sn_cooling", "fit_sn_fall_rest",
         "fit_sn_rise_rest", "fit_n_points")


def blackbody_ratio(wave_rest: np.ndarray, ref_wave_rest: float, temperature: np.ndarray) -> np.ndarray:
    """B_ν(λ, T) / B_ν(λ_ref, T): the band's flux relative to the r band for a blackbody at T (K)."""
    x = HC_OVER_K_ANGSTROM_K / (wave_rest * temperature)
    x_ref = HC_OVER_K_ANGSTROM_K / (ref_wave_rest * temperature)
    return (ref_wave_rest / wave_rest) ** 3 * np.expm1(np.minimum(x_ref, 700.0)) / np.expm1(np.minimum(x, 700.0))


def tde_model(params: np.ndarray, days: np.ndarray, wave: np.ndarray, ref_wave: float) -> np.ndarray:
    """TDE flux for unit amplitude; params: t0, log rise σ, log τ, log10 T0, k."""
    t0, log_rise, log_tau, log_temp, cooling = params
    dt = days - t0
    after = np.maximum(dt, 0.0)
    shape = np.where(dt < 0, np.exp(-0.5 * (dt / np.exp(log_rise)) ** 2),
                     ((after + np.exp(log_tau)) / np.exp(log_tau)) ** TDE_INDEX)
    temperature = 10.0 ** (log_temp + cooling * after / 100.0)
    return shape * blackbody_ratio(wave, ref_wave, temperature)


def sn_model(params: np.ndarray, days: np.ndarray, wave: np.ndarray, ref_wave: float) -> np.ndarray:
    """Supernova flux for unit amplitude; params: t0, log τ_rise, log τ_fall, log10 T0, c."""
    t0, log_rise, log_fall, log_temp, cooling = params
    dt = days - t0
    rise, fall = np.exp(log_rise), np.exp(log_fall)
    # Bazin, divided by its maximum so that `amplitude` is the peak flux.
    t_max = rise * np.log(max(fall / rise - 1.0, 1e-9)) if fall > rise else 0.0
    peak = np.exp(-t_max / fall) / (1.0 + np.exp(-t_max / rise))
    shape = np.exp(-np.clip(dt / fall, -50, 50)) / (1.0 + np.exp(-np.clip(dt / rise, -50, 50))) / peak
    temperature = FLOOR_TEMPERATURE + (10.0 ** log_temp - FLOOR_TEMPERATURE) * np.exp(-cooling * np.maximum(dt, 0.0) / 100.0)
    return shape * blackbody_ratio(wave, ref_wave, temperature)


# Start and bounds per shape parameter: t0 (days), log rise, log decline, log10 T0, temperature change.
_TDE_START = np.array([0.0, np.log(15.0), np.log(40.0), np.log10(2.5e4), 0.0])
_TDE_BOUNDS = (np.array([-60.0, np.log(1.0), np.log(3.0), np.log10(5e3), -0.15]),
               np.array([60.0, np.log(150.0), np.log(500.0), np.log10(1e5), 0.15]))
_SN_START = np.array([0.0, np.log(5.0), np.log(30.0), np.log10(1.2e4), 1.0])
_SN_BOUNDS = (np.array([-60.0, np.log(0.5), np.log(3.0), np.log10(3.5e3), 0.0]),
              np.array([60.0, np.log(100.0), np.log(500.0), np.log10(5e4), 10.0]))


def fit(model, start: np.ndarray, bounds, days, wave, ref_wave, flux, flux_err) -> tuple[np.ndarray, float]:
    """(best shape parameters, reduced χ²) of a bounded least-squares fit; the amplitude (≥ 0) is solved
    in closed form at every step (variable projection), so only the shape parameters are searched."""
    weight = 1.0 / flux_err

    def residual(params: np.ndarray) -> np.ndarray:
        unit = model(params, days, wave, ref_wave) * weight
        amplitude = max(float(unit @ (flux * weight)) / max(float(unit @ unit), 1e-300), 0.0)
        return amplitude * unit - flux * weight

    result = least_squares(residual, start, bounds=bounds, method="trf", max_nfev=MAX_EVALUATIONS, x_scale="jac",
                           ftol=1e-4, xtol=1e-4, gtol=1e-4)
    dof = max(len(flux) - len(start) - 1, 1)
    return result.x, float(2.0 * result.cost / dof)


def extract(obj: ObjectLightCurve) -> dict[str, float]:
    features = empty_features(NAMES)
    if len(obj.time) == 0:
        return features
    days = (obj.time - obj.peak_time) / obj.dilation
    keep = (days >= WINDOW_DAYS[0]) & (days <= WINDOW_DAYS[1])
    features["fit_n_points"] = float(keep.sum())
    if keep.sum() < MIN_POINTS or (obj.snr[keep] >= DETECTION_SNR).sum() < MIN_DETECTIONS:
        return features
    scale = obj.flux_scale
    flux, flux_err = obj.flux[keep] / scale, obj.flux_err[keep] / scale
    wave = _WAVE[obj.band[keep]] / obj.dilation
    ref_wave = _REF_WAVE / obj.dilation
    tde, tde_chi2 = fit(tde_model, _TDE_START, _TDE_BOUNDS, days[keep], wave, ref_wave, flux, flux_err)
    sn, sn_chi2 = fit(sn_model, _SN_START, _SN_BOUNDS, days[keep], wave, ref_wave, flux, flux_err)
    features.update({
        "fit_tde_chi2": tde_chi2, "fit_sn_chi2": sn_chi2,
        "fit_log_chi2_ratio": float(np.log10(max(sn_chi2, 1e-6) / max(tde_chi2, 1e-6))),
        "fit_tde_log_temp": float(tde[3]), "fit_tde_cooling": float(tde[4]), "fit_tde_tau_rest": float(np.exp(tde[2])),
        "fit_tde_rise_rest": float(np.exp(tde[1])), "fit_sn_log_temp": float(sn[3]), "fit_sn_cooling": float(sn[4]),
        "fit_sn_fall_rest": float(np.exp(sn[2])), "fit_sn_rise_rest": float(np.exp(sn[1])),
    })
    return features

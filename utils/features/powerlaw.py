"""Power-law decline after the peak, F ∝ (t - t_peak + τ)^α, fitted jointly over the bands.

TDE fallback accretion predicts α ≈ -5/3; supernovae fade exponentially (straight in log F vs t).
The fit is linear least squares in log10 F with one intercept per band, weighted by the SNR, and
a 1-D search over the offset τ. Reported: α, τ (rest frame), the misfit, how much worse α = -5/3
fits, and how much better the power law fits than an exponential.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from ..data.lightcurve import DETECTION_SNR, ObjectLightCurve
from .contract import empty_features

FIT_BANDS = "ugri"
MAX_DAYS = 500.0  # rest-frame days after the peak used for the fit
MIN_POINTS = 5
TDE_INDEX = -5.0 / 3.0
LN10 = np.log(10.0)

NAMES = ("plaw_index", "plaw_tau_rest", "plaw_rms", "plaw_misfit_tde", "plaw_vs_exp", "exp_decay_rest",
         "plaw_index_g", "plaw_index_r", "plaw_n_points")

# How each column moves when only the redshift changes (utils.features.draws): the time scales scale (the fit
# window, MAX_DAYS rest days, moves a little with the redshift: taken as fixed); the indices do not depend on it.
REDSHIFT_RULES = {"rest_days": ("plaw_tau_rest", "exp_decay_rest")}


def decline_points(obj: ObjectLightCurve) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(days after peak (observer), log10 flux, weight, band index) of detections after the peak."""
    days = obj.time - obj.peak_time
    band_ok = np.isin(obj.band, ["ugrizy".index(b) for b in FIT_BANDS])
    keep = (days > 0) & (days <= MAX_DAYS * obj.dilation) & (obj.snr >= DETECTION_SNR) & band_ok
    snr = obj.snr[keep]
    # σ(log10 F) = 1 / (SNR ln10); cap the SNR so a few bright points do not decide alone.
    weight = np.minimum(snr, 50.0) ** 2
    return days[keep], np.log10(obj.flux[keep]), weight, obj.band[keep]


def _design(x: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Columns: slope on x, then one intercept per band present."""
    present = np.unique(band)
    return np.column_stack([x, *(band == b for b in present)]).astype(float)


def _weighted_fit(design: np.ndarray, y: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, float]:
    """Coefficients and weighted RMS residual (in dex)."""
    root = np.sqrt(weight)
    coef, *_ = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)
    residual = y - design @ coef
    return coef, float(np.sqrt(np.sum(weight * residual ** 2) / np.sum(weight)))


def _fixed_slope_rms(x: np.ndarray, y: np.ndarray, weight: np.ndarray, band: np.ndarray, slope: float) -> float:
    """Weighted RMS with the slope fixed: only the per-band intercepts are fitted."""
    return _weighted_fit(_design(x, band)[:, 1:], y - slope * x, weight)[1]


def fit_power_law(days: np.ndarray, log_flux: np.ndarray, weight: np.ndarray, band: np.ndarray,
                  tau_bounds: tuple[float, float]) -> tuple[float, float, float]:
    """(index α, offset τ, RMS): best over τ in tau_bounds (observer days) of log F = c_b + α log10(days + τ)."""
    def rms_at(log_tau: float) -> float:
        return _weighted_fit(_design(np.log10(days + 10 ** log_tau), band), log_flux, weight)[1]

    grid = np.linspace(np.log10(tau_bounds[0]), np.log10(tau_bounds[1]), 25)
    best = int(np.argmin([rms_at(g) for g in grid]))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    log_tau = minimize_scalar(rms_at, bounds=(low, high), method="bounded", options={"xatol": 1e-5}).x
    tau = 10 ** log_tau
    coef, rms = _weighted_fit(_design(np.log10(days + tau), band), log_flux, weight)
    return float(coef[0]), float(tau), rms


def extract(obj: ObjectLightCurve) -> dict[str, float]:
    features = empty_features(NAMES)
    days, log_flux, weight, band = decline_points(obj)
    features["plaw_n_points"] = len(days)
    if len(days) < MIN_POINTS or np.ptp(days) <= 0:
        return features
    tau_bounds = (0.5 * obj.dilation, 300.0 * obj.dilation)
    index, tau, rms = fit_power_law(days, log_flux, weight, band, tau_bounds)
    log_time = np.log10(days + tau)
    exp_coef, exp_rms = _weighted_fit(_design(days, band), log_flux, weight)
    features.update({
        "plaw_index": index, "plaw_tau_rest": tau / obj.dilation, "plaw_rms": rms,
        "plaw_misfit_tde": _fixed_slope_rms(log_time, log_flux, weight, band, TDE_INDEX) - rms,
        "plaw_vs_exp": exp_rms - rms,
        # e-folding time of the exponential fit; a rising or flat curve has none.
        "exp_decay_rest": -1.0 / (exp_coef[0] * LN10) / obj.dilation if exp_coef[0] < 0 else np.nan,
    })
    for name in "gr":
        rows = band == "ugrizy".index(name)
        if rows.sum() >= 3 and np.ptp(log_time[rows]) > 0:
            features[f"plaw_index_{name}"] = _weighted_fit(_design(log_time[rows], band[rows]), log_flux[rows],
                                                           weight[rows])[0][0]
    return features

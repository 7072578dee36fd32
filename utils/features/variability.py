"""Stochastic variability, the signature of AGN: excess variance, von Neumann ratio, Stetson
indices, the structure function and a damped-random-walk (DRW) fit.

Fluxes are divided by the object's largest |flux| so the numbers do not depend on distance.
"""

from __future__ import annotations

import light_curve
import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

from .. import BANDS
from ..data.lightcurve import ObjectLightCurve
from .contract import empty_features

SF_LAG_BINS = (0.0, 10.0, 50.0, 200.0, np.inf)  # rest-frame days
SF_NAMES = ("sf_lag_0_10", "sf_lag_10_50", "sf_lag_50_200", "sf_lag_200_plus")
SAME_NIGHT_DAYS = 1.0  # observations closer than this form Stetson J pairs
DRW_BANDS = "rgi"  # the DRW fit uses the first of these with the most points
DRW_MIN_POINTS = 8
_MOMENTS = light_curve.Extractor(light_curve.StetsonK(), light_curve.Eta(), light_curve.Skew(),
                                 light_curve.Kurtosis(), light_curve.BeyondNStd(1.0))
MOMENT_NAMES = ("stetson_k", "von_neumann", "skew", "kurtosis", "beyond_1std")

NAMES = (*[f"{kind}_{b}" for b in BANDS for kind in ("excess_var", *MOMENT_NAMES)],
         "excess_var_mean", "stetson_j", *SF_NAMES, "sf_ratio_long_short", "drw_log_tau_rest", "drw_log_sigma")

# How each column moves when only the redshift changes (utils.features.draws): the DRW time scale scales (its
# bounds are in rest days: taken as scaling); the structure function's rest-frame lag bins move a little with the
# redshift, taken as fixed, like every moment of the fluxes.
REDSHIFT_RULES = {"log_rest_days": ("drw_log_tau_rest",)}


def excess_variance(flux: np.ndarray, flux_err: np.ndarray) -> float:
    """Variance beyond the noise, in units of the noise variance: max(s² - <σ²>, 0) / <σ²>.

    Clipped at 0: a negative value only says the noise hid any variability.
    """
    if len(flux) < 2:
        return np.nan
    noise = np.mean(flux_err ** 2)
    return float(max(np.var(flux, ddof=1) - noise, 0.0) / noise)


def stetson_j(time: np.ndarray, flux: np.ndarray, flux_err: np.ndarray, band: np.ndarray) -> float:
    """Stetson J over same-night pairs (any bands): correlated swings of an object across bands.

    Each residual is scaled by its own band's weighted mean, so bands with different levels pair up.
    """
    delta = np.full(len(flux), np.nan)
    for b in np.unique(band):
        rows = band == b
        n = rows.sum()
        if n < 2:
            continue
        weight = 1 / flux_err[rows] ** 2
        mean = np.sum(weight * flux[rows]) / weight.sum()
        delta[rows] = np.sqrt(n / (n - 1)) * (flux[rows] - mean) / flux_err[rows]
    pair = (np.diff(time) < SAME_NIGHT_DAYS) & np.isfinite(delta[:-1]) & np.isfinite(delta[1:])
    if not pair.any():
        return np.nan
    product = delta[:-1][pair] * delta[1:][pair]
    return float(np.mean(np.sign(product) * np.sqrt(np.abs(product))))


def structure_function(obj: ObjectLightCurve) -> np.ndarray:
    """Noise-corrected RMS flux change (÷ max |flux|) in the rest-frame lag bins, pairs within a band."""
    sums = np.zeros(len(SF_NAMES))
    counts = np.zeros(len(SF_NAMES))
    for curve in obj.bands.values():
        if len(curve) < 2:
            continue
        i, j = np.triu_indices(len(curve), k=1)
        lag = (curve.time[j] - curve.time[i]) / obj.dilation
        excess = (curve.flux[j] - curve.flux[i]) ** 2 - curve.flux_err[i] ** 2 - curve.flux_err[j] ** 2
        which = np.digitize(lag, SF_LAG_BINS) - 1
        sums += np.bincount(which, weights=excess, minlength=len(SF_NAMES))[:len(SF_NAMES)]
        counts += np.bincount(which, minlength=len(SF_NAMES))[:len(SF_NAMES)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(np.clip(sums / counts, 0, None)) / obj.flux_scale


def drw_neg_log_likelihood(params: np.ndarray, lag: np.ndarray, centred: np.ndarray,
                           noise: np.ndarray) -> tuple[float, np.ndarray]:
    """Negative log-likelihood (less a constant) of a damped random walk with measurement noise, and its gradient
    in (log σ, log τ): ½ tr((K⁻¹ − ααᵀ) ∂K/∂θ), α = K⁻¹ y; (1e12, 0) where K is not positive definite."""
    log_sigma, log_tau = params
    signal = np.exp(2 * log_sigma) * np.exp(-lag / np.exp(log_tau))
    cov = signal.copy()
    cov[np.diag_indices_from(cov)] += noise
    try:
        factor = cho_factor(cov, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return 1e12, np.zeros(2)
    alpha = cho_solve(factor, centred, check_finite=False)
    outer = cho_solve(factor, np.eye(len(centred)), check_finite=False) - np.outer(alpha, alpha)
    value = 0.5 * centred @ alpha + np.sum(np.log(np.diag(factor[0])))
    gradient = 0.5 * np.array([np.sum(outer * 2 * signal), np.sum(outer * signal * lag) / np.exp(log_tau)])
    return float(value), gradient


def drw_problem(time: np.ndarray, flux: np.ndarray, flux_err: np.ndarray) -> tuple[tuple, np.ndarray, list]:
    """What the DRW fit minimises over: drw_neg_log_likelihood's data arguments (lags, flux less its weighted
    mean, noise variances), the start point and the bounds of (log σ, log τ)."""
    lag = np.abs(time[:, None] - time[None, :])
    noise = flux_err ** 2
    centred = flux - np.average(flux, weights=1 / noise)
    span = max(np.ptp(time), 1.0)
    start = np.array([np.log(max(np.std(centred), 1e-3)), np.log(span / 10)])
    bounds = [(np.log(1e-4), np.log(10.0)), (np.log(1.0), np.log(10 * span))]
    return (lag, centred, noise), start, bounds


def fit_drw(time: np.ndarray, flux: np.ndarray, flux_err: np.ndarray) -> tuple[float, float]:
    """(log10 τ, log10 σ) of a damped random walk, k(Δt) = σ² e^{-|Δt|/τ}, by maximum likelihood.

    L-BFGS-B with the analytic gradient: faster than finite differences, at the same optimum (features-v6;
    docs/results.md, "Speed"; benchmarks/features_drw_accuracy.py)."""
    data, start, bounds = drw_problem(time, flux, flux_err)
    result = minimize(drw_neg_log_likelihood, start, args=data, jac=True, method="L-BFGS-B",
                      bounds=bounds, options={"maxiter": 60})
    log_sigma, log_tau = result.x
    return float(log_tau / np.log(10)), float(log_sigma / np.log(10))


def extract(obj: ObjectLightCurve) -> dict[str, float]:
    features = empty_features(NAMES)
    scale = obj.flux_scale
    for name, curve in obj.bands.items():
        if len(curve) < 2:
            continue
        features[f"excess_var_{name}"] = excess_variance(curve.flux, curve.flux_err)
        try:
            moments = _MOMENTS(curve.time, curve.flux / scale, curve.flux_err / scale, fill_value=np.nan)
        except ValueError:  # light-curve refuses repeated or unsorted times; keep NaN
            continue
        features.update({f"{kind}_{name}": float(v) for kind, v in zip(MOMENT_NAMES, moments)})
    excess = [features[f"excess_var_{b}"] for b in BANDS]
    features["excess_var_mean"] = float(np.nanmean(excess)) if np.isfinite(excess).any() else np.nan
    features["stetson_j"] = stetson_j(obj.time, obj.flux, obj.flux_err, obj.band)
    sf = structure_function(obj)
    features.update(dict(zip(SF_NAMES, sf)))
    if sf[0] > 0:
        features["sf_ratio_long_short"] = float(sf[-1] / sf[0])
    drw_band = max(DRW_BANDS, key=lambda b: len(obj.bands[b]))
    curve = obj.bands[drw_band]
    if len(curve) >= DRW_MIN_POINTS:
        log_tau, log_sigma = fit_drw(curve.time / obj.dilation, curve.flux / scale, curve.flux_err / scale)
        features["drw_log_tau_rest"], features["drw_log_sigma"] = log_tau, log_sigma
    return features

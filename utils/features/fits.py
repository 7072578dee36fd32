"""Model comparison: one TDE model and one supernova model fitted jointly across the bands.

Both models are an amplitude times a light-curve shape times a blackbody colour, with six parameters
each, so their χ² compare fairly. Times are rest-frame days from the brightest detection; fluxes are divided by the
object's largest |flux|; the blackbody is evaluated at each band's rest-frame wavelength and
normalised at the r band, so the amplitude A is the r-band flux at the shape's maximum.

* TDE: a Gaussian rise then the fallback decline ((t − t0 + τ)/τ)^(−5/3), at a hot temperature that
  changes slowly: log10 T(t) = log10 T0 + k (t − t0)_+ / 100 d, |k| ≤ 0.15 (TDEs hold ~2-4×10⁴ K for months).
* SN: the Bazin shape e^{−(t − t0)/τ_fall} / (1 + e^{−(t − t0)/τ_rise}) with a cooling photosphere,
  T(t) = 3000 K + (T0 − 3000 K) e^{−c (t − t0)_+ / 100 d}, 0 ≤ c ≤ 10 (supernovae cool and redden within weeks).

Reported: each model's reduced χ², their log ratio (positive: the TDE model fits better), the fitted
temperatures and cooling rates, and the shapes' time scales, from the points in WINDOW_DAYS.

The fit (its cost per object: docs/results.md, "Speed"): the amplitude (≥ 0) is solved in closed form for
any shape (variable projection), so only the five shape parameters (within TDE_BOUNDS / SN_BOUNDS) are
searched. First every point of a coarse grid at once (TDE_GRID / SN_GRID values per parameter; the
supernova grid holds τ_rise < τ_fall only), without evaluating a light curve per grid point: a blackbody
colour depends on the temperature only through T / (1 + z), so it is read from one table computed at
import; the TDE shape splits into a rise that depends on (t0, σ) at the constant T0 and a decline that
depends on (t0, τ) at the changing temperature, so the χ² sums of every grid point come from small matrix
products per t0, and so do the supernova's (its (τ_rise, τ_fall) shapes times its (T0, c) colours). Then
Levenberg-Marquardt steps on the exact model from the best grid point (POLISH_STEPS at most), each
evaluating the trial point and its forward-difference Jacobian in one vectorised call; a parameter at a
bound that χ² pushes beyond stays there while the others move.
"""

from __future__ import annotations

import numpy as np

from .. import BANDS
from ..data.extinction import LSST_WAVELENGTHS
from ..data.lightcurve import DETECTION_SNR, ObjectLightCurve
from .contract import empty_features

# Part of the cache key of every table holding this group (and of benchmarks/features_ablation.py's score rows).
# Since fits joined the default (features-v4) a definition change bumps FEATURES_VERSION instead; VERSION stays,
# because removing it would change every default table's cache key and throw away every cached table.
VERSION = 2
WINDOW_DAYS = (-100.0, 400.0)  # rest-frame days around the brightest detection that the fits see
MIN_POINTS = 10
MIN_DETECTIONS = 4
HC_OVER_K_ANGSTROM_K = 1.438777e8
FLOOR_TEMPERATURE = 3000.0
TDE_INDEX = -5.0 / 3.0
_WAVE = np.array([LSST_WAVELENGTHS[b] for b in BANDS])
_REF_WAVE = LSST_WAVELENGTHS["r"]

NAMES = ("fit_tde_chi2", "fit_sn_chi2", "fit_log_chi2_ratio", "fit_tde_log_temp", "fit_tde_cooling",
         "fit_tde_tau_rest", "fit_tde_rise_rest", "fit_sn_log_temp", "fit_sn_cooling", "fit_sn_fall_rest",
         "fit_sn_rise_rest", "fit_n_points")

# How each column moves when only the redshift changes (utils.features.draws): time scales and temperatures as
# everywhere (the supernova model's 3000 K floor and the window of -100 to +400 rest days: taken as scaling / fixed);
# the χ² and the point count are taken as fixed.
REDSHIFT_RULES = {"rest_days": ("fit_tde_tau_rest", "fit_tde_rise_rest", "fit_sn_fall_rest", "fit_sn_rise_rest"),
                  "log_temperature": ("fit_tde_log_temp", "fit_sn_log_temp"),
                  "per_rest_day": ("fit_tde_cooling", "fit_sn_cooling")}


def blackbody_ratio(wave_rest: np.ndarray, ref_wave_rest: float, temperature: np.ndarray) -> np.ndarray:
    """B_ν(λ, T) / B_ν(λ_ref, T): the band's flux relative to the r band for a blackbody at T (K)."""
    x = HC_OVER_K_ANGSTROM_K / (wave_rest * temperature)
    x_ref = HC_OVER_K_ANGSTROM_K / (ref_wave_rest * temperature)
    return (ref_wave_rest / wave_rest) ** 3 * np.expm1(np.minimum(x_ref, 700.0)) / np.expm1(np.minimum(x, 700.0))


def bazin_peak(rise: np.ndarray, fall: np.ndarray) -> np.ndarray:
    """The maximum of e^{−t/τ_fall} / (1 + e^{−t/τ_rise}) (its value at t = 0 when τ_fall ≤ τ_rise)."""
    t_max = np.where(fall > rise, rise * np.log(np.maximum(fall / rise - 1.0, 1e-9)), 0.0)
    return np.exp(-t_max / fall) / (1.0 + np.exp(-t_max / rise))


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
    shape = (np.exp(-np.clip(dt / fall, -50, 50)) / (1.0 + np.exp(-np.clip(dt / rise, -50, 50)))
             / bazin_peak(rise, fall))
    temperature = FLOOR_TEMPERATURE + (10.0 ** log_temp - FLOOR_TEMPERATURE) * np.exp(-cooling * np.maximum(dt, 0.0) / 100.0)
    return shape * blackbody_ratio(wave, ref_wave, temperature)


# Bounds per shape parameter: t0 (days), log rise, log decline, log10 T0, temperature change.
TDE_BOUNDS = (np.array([-60.0, np.log(1.0), np.log(3.0), np.log10(5e3), -0.15]),
              np.array([60.0, np.log(150.0), np.log(500.0), np.log10(1e5), 0.15]))
SN_BOUNDS = (np.array([-60.0, np.log(0.5), np.log(3.0), np.log10(3.5e3), 0.0]),
             np.array([60.0, np.log(100.0), np.log(500.0), np.log10(5e4), 10.0]))
# Coarse grid: the number of evenly spaced values per parameter, bounds included.
TDE_GRID = (25, 7, 9, 14, 1)
SN_GRID = (25, 7, 8, 8, 4)
POLISH_STEPS = 25
POLISH_TOLERANCE = 1e-4

# The blackbody colour B_ν(λ_b/(1+z), T) / B_ν(λ_r/(1+z), T) is a function of log10(T / (1+z)): tabulated
# finely enough (0.0005 dex, 0.12 % in T) that reading the nearest entry changes a colour by < 0.1 %. The
# table spans every temperature the bounds allow (1000 K after the TDE's steepest cooling to 5×10⁵ K) at
# redshifts up to MAX_TABLE_REDSHIFT, so a position never needs clipping; beyond it the colours are those
# of MAX_TABLE_REDSHIFT.
MAX_TABLE_REDSHIFT = 99.0
_LOG_T_STEP = 0.0005
_LOG_T_TABLE = np.arange(1.0, 6.5 + _LOG_T_STEP / 2, _LOG_T_STEP)
_COLOUR_TABLE = blackbody_ratio(_WAVE[:, None], _REF_WAVE, 10.0 ** _LOG_T_TABLE[None, :])  # (band, log T)
_COLOUR_FLAT = _COLOUR_TABLE.ravel()
_TABLE_LEN = len(_LOG_T_TABLE)


def _grid(bounds, counts) -> list[np.ndarray]:
    """Evenly spaced values per parameter, bounds included; one value is the middle of the bounds."""
    return [np.linspace(lo, hi, n) if n > 1 else np.array([(lo + hi) / 2]) for lo, hi, n in zip(*bounds, counts)]


class FitPoints:
    """The points one object's fits see: rest-frame days, band, normalised fluxes and their weights, and
    where each band's colours start in the colour table."""

    def __init__(self, days: np.ndarray, band: np.ndarray, flux: np.ndarray, flux_err: np.ndarray, dilation: float):
        self.days, self.band, self.flux = days, band, flux
        self.weight = 1.0 / flux_err
        self.weight2 = self.weight ** 2
        self.wf = flux * self.weight2  # w² f
        self.ff = float(flux @ self.wf)  # Σ (w f)²
        self.one_hot = (band[:, None] == np.arange(len(BANDS))[None, :]).astype(float)
        self.wave, self.ref_wave = _WAVE[band] / dilation, _REF_WAVE / dilation  # rest frame
        self.log_dilation = np.log10(min(dilation, 1.0 + MAX_TABLE_REDSHIFT))
        self.row_offset = band * _TABLE_LEN + 0.5  # + 0.5: truncating a position then rounds it

    def position(self, log_temp: np.ndarray) -> np.ndarray:
        """Fractional index of log10 T (K) in a band's row of the colour table."""
        return (log_temp - (self.log_dilation + _LOG_T_TABLE[0])) / _LOG_T_STEP

    def band_colour(self, log_temp: np.ndarray) -> np.ndarray:
        """(len(log_temp), 6): the colour of each band at each constant temperature."""
        return _COLOUR_TABLE[:, (self.position(log_temp) + 0.5).astype(np.intp)].T


def _gain(s_fm: np.ndarray, s_mm: np.ndarray) -> np.ndarray:
    """Σ (w f)² − χ² at the best amplitude A ≥ 0, from Σ w² f m and Σ w² m² of the unit-amplitude model m
    (computed in place: both arguments are overwritten)."""
    np.maximum(s_fm, 0.0, out=s_fm)
    s_fm *= s_fm
    s_mm += 1e-300  # a model that is zero at every point gains nothing (0, not 0/0)
    s_fm /= s_mm
    return s_fm


def _tde_coarse(points: FitPoints, grid: list[np.ndarray]) -> np.ndarray:
    """`_gain` on the full coarse grid, shape (t0, σ, τ, T0, k)."""
    t0, log_rise, log_tau, log_temp, cooling = grid
    dt = points.days[None, :] - t0[:, None]  # (t0, n)
    before = dt < 0
    after = np.maximum(dt, 0.0)
    # Before t0 the temperature is T0 in every model: the rise's sums go band by band.
    rise = np.exp(-0.5 * (dt[:, None, :] * np.exp(-log_rise)[None, :, None]) ** 2) * before[:, None, :]
    band_fm = rise @ (points.wf[:, None] * points.one_hot)  # (t0, σ, band)
    band_mm = (rise ** 2) @ (points.weight2[:, None] * points.one_hot)
    colour_before = points.band_colour(log_temp)  # (T0, band)
    rise_fm, rise_mm = band_fm @ colour_before.T, band_mm @ (colour_before ** 2).T  # (t0, σ, T0)
    # After t0: the decline's shape depends on τ, its colour on (T0, k).
    tau = np.exp(log_tau)[None, :, None]
    decline = ((after[:, None, :] + tau) / tau) ** TDE_INDEX * ~before[:, None, :]  # (t0, τ, n)
    # Table positions: that of T0 plus the cooling's shift, summed over (t0, k, T0, point) in one pass.
    shift = cooling[None, :, None] * after[:, None, :] / (100.0 * _LOG_T_STEP) + points.row_offset  # (t0, k, n)
    index = (shift[:, :, None, :] + points.position(log_temp)[None, None, :, None]).astype(np.intp)
    colour = _COLOUR_FLAT[index].reshape(len(t0), -1, len(points.days))  # (t0, k·T0, n)
    decline_fm = (decline * points.wf) @ colour.transpose(0, 2, 1)  # (t0, τ, k·T0)
    decline_mm = (decline ** 2 * points.weight2) @ (colour ** 2).transpose(0, 2, 1)
    shape = (len(t0), len(log_tau), len(cooling), len(log_temp))
    decline_fm, decline_mm = decline_fm.reshape(shape), decline_mm.reshape(shape)
    s_fm = rise_fm[:, :, None, None, :] + decline_fm[:, None, :, :, :]  # (t0, σ, τ, k, T0)
    s_mm = rise_mm[:, :, None, None, :] + decline_mm[:, None, :, :, :]
    return _gain(s_fm, s_mm).transpose(0, 1, 2, 4, 3)


def _sn_coarse(points: FitPoints, grid: list[np.ndarray]) -> np.ndarray:
    """`_gain` on the coarse grid, shape (t0, τ_rise, τ_fall, T0, c); 0 where τ_rise ≥ τ_fall."""
    t0, log_rise, log_fall, log_temp, cooling = grid
    dt = points.days[None, :] - t0[:, None]  # (t0, n)
    rise, fall = np.exp(log_rise), np.exp(log_fall)
    falling = np.exp(-np.clip(dt[:, None, :] / fall[None, :, None], -50, 50))  # (t0, τ_fall, n)
    rising = 1.0 / (1.0 + np.exp(-np.clip(dt[:, None, :] / rise[None, :, None], -50, 50)))  # (t0, τ_rise, n)
    # Not divided by the Bazin peak: the gain does not depend on the model's scale.
    shape = (rising[:, :, None, :] * falling[:, None, :, :]).reshape(len(t0), -1, len(points.days))  # (t0, τ_r·τ_f, n)
    cooled = np.exp(-cooling[None, :, None] * np.maximum(dt, 0.0)[:, None, :] / 100.0)  # (t0, c, n)
    hot = 10.0 ** log_temp - FLOOR_TEMPERATURE
    position = FLOOR_TEMPERATURE + hot[None, :, None, None] * cooled[:, None, :, :]  # T (t0, T0, c, n)
    np.log10(position, out=position)
    position /= _LOG_T_STEP
    position += points.row_offset - (points.log_dilation + _LOG_T_TABLE[0]) / _LOG_T_STEP
    colour = _COLOUR_FLAT[position.astype(np.intp)].reshape(len(t0), -1, len(points.days))  # (t0, T0·c, n)
    s_fm = (shape * points.wf) @ colour.transpose(0, 2, 1)  # (t0, τ_r·τ_f, T0·c)
    s_mm = (shape ** 2 * points.weight2) @ (colour ** 2).transpose(0, 2, 1)
    gain = _gain(s_fm, s_mm).reshape(len(t0), len(rise), len(fall), len(log_temp), len(cooling))
    gain[:, rise[:, None] >= fall[None, :]] = 0.0  # τ_rise < τ_fall: a rise, then a fall
    return gain


def coarse_fit(points: FitPoints, coarse, bounds, counts) -> np.ndarray:
    """The shape parameters of the coarse grid point with the smallest χ²."""
    grid = _grid(bounds, counts)
    gain = coarse(points, grid)
    best_index = np.unravel_index(np.argmax(gain), gain.shape)
    return np.array([values[i] for values, i in zip(grid, best_index)])


def _residuals(model, points: FitPoints, params: np.ndarray) -> np.ndarray:
    """(n_params, n_points) weighted residuals at the best amplitude A ≥ 0 of the exact model."""
    unit = model(params.T[:, :, None], points.days, points.wave, points.ref_wave) * points.weight
    amplitude = np.maximum(unit @ (points.flux * points.weight), 0.0) / np.maximum(np.einsum("gn,gn->g", unit, unit), 1e-300)
    return amplitude[:, None] * unit - (points.flux * points.weight)[None, :]


def polish(model, points: FitPoints, start: np.ndarray, bounds) -> tuple[np.ndarray, float]:
    """(shape parameters, χ²) after at most POLISH_STEPS Levenberg-Marquardt steps from `start` on the exact
    model, stopping once a step gains less than POLISH_TOLERANCE of χ²; each step evaluates a trial point
    and its forward-difference Jacobian in one vectorised call."""
    h = 1e-4 * (bounds[1] - bounds[0])
    rows = np.eye(5) * h

    def evaluate(params: np.ndarray):
        params = np.clip(params, bounds[0], bounds[1] - h)  # the forward differences stay inside the bounds
        r = _residuals(model, points, np.vstack([params, params + rows]))
        return params, r[0], (r[1:] - r[0]).T / h, float(r[0] @ r[0])

    params, r, jac, chi2 = evaluate(start)
    damping = 1e-3
    for _ in range(POLISH_STEPS):
        descent = -jac.T @ r
        # A parameter held at a bound that χ² would push beyond it stays there; the others move.
        free = ~(((params <= bounds[0]) & (descent < 0)) | ((params >= bounds[1] - h) & (descent > 0)))
        jtj = jac[:, free].T @ jac[:, free]
        delta = np.zeros(5)
        try:
            delta[free] = np.linalg.solve(jtj + damping * np.diag(np.maximum(np.diag(jtj), 1e-12)), descent[free])
        except np.linalg.LinAlgError:
            break
        trial = evaluate(params + delta)
        if trial[3] < chi2:
            converged = chi2 - trial[3] < POLISH_TOLERANCE * chi2
            params, r, jac, chi2 = trial
            damping = max(damping / 3, 1e-7)
            if converged:
                break
        elif damping > 1e4:
            break
        else:
            damping *= 4
    return params, chi2


def fit_tde(points: FitPoints) -> tuple[np.ndarray, float]:
    """(t0, log σ, log τ, log10 T0, k) and χ² of the TDE model."""
    return polish(tde_model, points, coarse_fit(points, _tde_coarse, TDE_BOUNDS, TDE_GRID), TDE_BOUNDS)


def fit_sn(points: FitPoints) -> tuple[np.ndarray, float]:
    """(t0, log τ_rise, log τ_fall, log10 T0, c) and χ² of the supernova model."""
    return polish(sn_model, points, coarse_fit(points, _sn_coarse, SN_BOUNDS, SN_GRID), SN_BOUNDS)


def fit_points(obj: ObjectLightCurve) -> FitPoints:
    """The object's points in WINDOW_DAYS (rest-frame days from the brightest detection), fluxes divided
    by its largest |flux|."""
    days = (obj.time - obj.peak_time) / obj.dilation
    keep = (days >= WINDOW_DAYS[0]) & (days <= WINDOW_DAYS[1])
    scale = obj.flux_scale
    return FitPoints(days[keep], obj.band[keep], obj.flux[keep] / scale, obj.flux_err[keep] / scale, obj.dilation)


def extract(obj: ObjectLightCurve) -> dict[str, float]:
    features = empty_features(NAMES)
    if len(obj.time) == 0:
        return features
    points = fit_points(obj)
    n_points = len(points.days)
    features["fit_n_points"] = float(n_points)
    if n_points < MIN_POINTS or (points.flux * points.weight >= DETECTION_SNR).sum() < MIN_DETECTIONS:
        return features
    dof = n_points - 6  # five shape parameters and the amplitude
    tde, tde_chi2 = fit_tde(points)
    sn, sn_chi2 = fit_sn(points)
    tde_chi2, sn_chi2 = tde_chi2 / dof, sn_chi2 / dof
    features.update({
        "fit_tde_chi2": tde_chi2, "fit_sn_chi2": sn_chi2,
        "fit_log_chi2_ratio": float(np.log10(max(sn_chi2, 1e-6) / max(tde_chi2, 1e-6))),
        "fit_tde_log_temp": float(tde[3]), "fit_tde_cooling": float(tde[4]), "fit_tde_tau_rest": float(np.exp(tde[2])),
        "fit_tde_rise_rest": float(np.exp(tde[1])), "fit_sn_log_temp": float(sn[3]), "fit_sn_cooling": float(sn[4]),
        "fit_sn_fall_rest": float(np.exp(sn[2])), "fit_sn_rise_rest": float(np.exp(sn[1])),
    })
    return features

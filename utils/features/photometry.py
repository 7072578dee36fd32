"""Signal-to-noise summaries, detections, activity before and long after the peak, band maxima."""

from __future__ import annotations

import numpy as np

from .. import BANDS
from ..data.lightcurve import DETECTION_SNR, ObjectLightCurve
from .contract import empty_features

PRE_PEAK_DAYS = 100.0  # rest-frame days before the peak beyond which a transient should be silent
LATE_DAYS = 300.0  # rest-frame days after the peak beyond which a transient has faded
SEASON_GAP_DAYS = 90.0  # observer-frame gap that separates two observing seasons
COLOUR_PAIRS = ("ug", "gr", "ri", "iz")

NAMES = (
    "n_obs", "snr_max", "snr_median", "snr_p90", "frac_det", "frac_det_5sigma", "frac_negative",
    "frac_negative_3sigma", "n_det", "det_duration_rest", "duty_cycle", "frac_det_pre_peak",
    "frac_det_late", "late_flux_ratio", "pre_peak_flux_ratio", "outside_chi2", "outside_max_ratio",
    "outside_det_seasons",
    *[f"{kind}_{b}" for b in BANDS for kind in ("n_obs", "snr_max", "frac_det", "peak_flux_norm")],
    *[f"peak_colour_{pair}" for pair in COLOUR_PAIRS],
)

# How each column moves when only the redshift changes (utils.features.draws): the duration scales exactly; the
# pre-peak and late windows are fixed in rest days, so their fractions move a little with the redshift, taken as
# fixed, like every count, SNR and flux ratio.
REDSHIFT_RULES = {"rest_days": ("det_duration_rest",)}


def extract(obj: ObjectLightCurve) -> dict[str, float]:
    features = empty_features(NAMES)
    n = len(obj.time)
    features["n_obs"] = n
    if n == 0:
        return features
    snr = obj.snr
    detected = snr >= DETECTION_SNR
    features.update({
        "snr_max": float(snr.max()), "snr_median": float(np.median(snr)), "snr_p90": float(np.percentile(snr, 90)),
        "frac_det": float(detected.mean()), "frac_det_5sigma": float((snr >= 5).mean()),
        "frac_negative": float((obj.flux < 0).mean()), "frac_negative_3sigma": float((snr <= -DETECTION_SNR).mean()),
        "n_det": int(detected.sum()),
    })
    span = obj.time[-1] - obj.time[0]
    if detected.sum() >= 2:
        det_times = obj.time[detected]
        features["det_duration_rest"] = (det_times[-1] - det_times[0]) / obj.dilation
        features["duty_cycle"] = (det_times[-1] - det_times[0]) / span if span > 0 else np.nan
    features.update(_activity(obj, detected))
    for name, curve in obj.bands.items():
        features[f"n_obs_{name}"] = len(curve)
        if len(curve):
            band_snr = curve.flux / curve.flux_err
            features[f"snr_max_{name}"] = float(band_snr.max())
            features[f"frac_det_{name}"] = float((band_snr >= DETECTION_SNR).mean())
            features[f"peak_flux_norm_{name}"] = float(curve.flux.max()) / obj.flux_scale
    for pair in COLOUR_PAIRS:
        blue, red = (obj.bands[b] for b in pair)
        if len(blue) and len(red) and blue.flux.max() > 0 and red.flux.max() > 0:
            features[f"peak_colour_{pair}"] = -2.5 * np.log10(blue.flux.max() / red.flux.max())
    return features


def _activity(obj: ObjectLightCurve, detected: np.ndarray) -> dict[str, float]:
    """Detections far before and far after the peak: transients have none, AGN plenty."""
    days = (obj.time - obj.peak_time) / obj.dilation
    out = _outside_window(obj, days, detected)
    peak_flux = obj.flux[np.argmin(np.abs(obj.time - obj.peak_time))]
    for name, window in (("pre_peak", days < -PRE_PEAK_DAYS), ("late", days > LATE_DAYS)):
        out[f"frac_det_{name}"] = float(detected[window].mean()) if window.any() else np.nan
        out[f"{name}_flux_ratio"] = (float(np.median(obj.flux[window])) / peak_flux
                                    if window.any() and peak_flux > 0 else np.nan)
    return out


def _outside_window(obj: ObjectLightCurve, days: np.ndarray, detected: np.ndarray) -> dict[str, float]:
    """Away from the peak a transient's difference flux is noise around 0; an AGN keeps varying.

    χ² per point of the flux against 0, the brightest point relative to the peak, and the number of
    other observing seasons holding at least two detections.
    """
    outside = (days < -PRE_PEAK_DAYS) | (days > LATE_DAYS)
    if not outside.any():
        return {"outside_chi2": np.nan, "outside_max_ratio": np.nan, "outside_det_seasons": np.nan}
    peak_flux = obj.flux[np.argmin(np.abs(obj.time - obj.peak_time))]
    season = np.cumsum(np.r_[0, np.diff(obj.time) > SEASON_GAP_DAYS])
    seasons_with_detections = np.bincount(season[outside & detected], minlength=season.max() + 1)
    return {
        "outside_chi2": float(np.mean(obj.snr[outside] ** 2)),
        "outside_max_ratio": float(obj.flux[outside].max() / peak_flux) if peak_flux > 0 else np.nan,
        "outside_det_seasons": float(np.sum(seasons_with_detections >= 2)),
    }

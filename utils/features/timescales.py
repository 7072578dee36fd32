"""Rest-frame rise, decline and width above half maximum, per band, read off the observations.

Times are linear interpolations of the half-maximum crossings next to the band's brightest point,
divided by 1 + z. A side with no observation below half maximum gives NaN (the curve was not seen
rising or fading), never a guess.
"""

from __future__ import annotations

import numpy as np

from .. import BANDS
from ..data.lightcurve import ObjectLightCurve
from .contract import empty_features

NAMES = tuple(f"{kind}_{b}" for b in BANDS for kind in ("rise_half", "decline_half", "fwhm", "peak_lag")) + (
    "rise_half_max", "decline_half_max", "fwhm_max")

# How each column moves when only the redshift changes (utils.features.draws): every one is an observer-frame
# duration divided by 1 + z, so the scaling is exact.
REDSHIFT_RULES = {"rest_days": NAMES}


def half_max_crossings(time: np.ndarray, flux: np.ndarray) -> tuple[float, float]:
    """(rise, decline): time from the half-maximum crossing before the peak to the peak, and after it."""
    if len(time) < 2:
        return np.nan, np.nan
    peak = int(np.argmax(flux))
    half = flux[peak] / 2
    if half <= 0:
        return np.nan, np.nan
    rise = decline = np.nan
    below_before = np.flatnonzero(flux[:peak] < half)
    if len(below_before):
        i = below_before[-1]  # last point below half max before the peak; i + 1 is at or above it
        rise = time[peak] - _crossing(time[i], flux[i], time[i + 1], flux[i + 1], half)
    below_after = np.flatnonzero(flux[peak + 1:] < half)
    if len(below_after):
        j = peak + 1 + below_after[0]
        decline = _crossing(time[j - 1], flux[j - 1], time[j], flux[j], half) - time[peak]
    return rise, decline


def _crossing(t0: float, f0: float, t1: float, f1: float, level: float) -> float:
    return t0 + (level - f0) * (t1 - t0) / (f1 - f0)


def extract(obj: ObjectLightCurve) -> dict[str, float]:
    features = empty_features(NAMES)
    reference = obj.bands["r"] if len(obj.bands["r"]) else None
    reference_peak = reference.time[np.argmax(reference.flux)] if reference is not None else np.nan
    for name, curve in obj.bands.items():
        if len(curve) < 2:
            continue
        rise, decline = half_max_crossings(curve.time, curve.flux)
        features[f"rise_half_{name}"] = rise / obj.dilation
        features[f"decline_half_{name}"] = decline / obj.dilation
        features[f"fwhm_{name}"] = (rise + decline) / obj.dilation
        # Supernovae peak later in redder bands as they cool; hot TDEs peak together.
        features[f"peak_lag_{name}"] = (curve.time[np.argmax(curve.flux)] - reference_peak) / obj.dilation
    for kind in ("rise_half", "decline_half", "fwhm"):
        values = np.array([features[f"{kind}_{b}"] for b in BANDS], dtype=float)
        features[f"{kind}_max"] = float(np.nanmax(values)) if np.isfinite(values).any() else np.nan
    return features

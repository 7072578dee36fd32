"""AGN against one-off flares: variability away from the flare, the flare against that variability, the
colour–brightness relation and long-term trends.

An AGN's flux wanders in every season; a TDE or supernova is one flare on a flat (difference-imaging)
baseline. The photometry group already counts detections far from the peak and their χ² against zero;
this group measures the scatter of the far points about their own level (before and after the flare
separately), the flare's height in units of that scatter, how much the season means wander, how many
seasons hold a flare of comparable height, a linear trend across the far points, and whether the object
is bluer when brighter (AGN) from near-simultaneous g and r pairs.

"Far" means more than FAR_DAYS rest-frame days before or LATE_DAYS after the brightest detection (the
same windows as photometry.outside_*). Fluxes are divided by the object's largest |flux|.
"""

from __future__ import annotations

import numpy as np

from .. import BANDS
from ..data.lightcurve import DETECTION_SNR, ObjectLightCurve
from .contract import empty_features

FAR_DAYS = 100.0  # rest-frame days before the peak beyond which a transient is silent
LATE_DAYS = 300.0  # rest-frame days after the peak beyond which a transient has faded
SEASON_GAP_DAYS = 90.0  # observer-frame gap that separates two observing seasons
PAIR_DAYS = 1.0  # g and r closer than this (observer frame) make a colour measurement
MIN_PAIRS = 4
MIN_FAR = 3
FLARE_FRACTION = 0.5  # a season "flares" when its brightest point reaches this fraction of the peak
_G, _R = BANDS.index("g"), BANDS.index("r")

NAMES = ("agn_pre_chi2", "agn_post_chi2", "agn_far_excess_var", "agn_flare_contrast", "agn_season_chi2",
         "agn_n_flare_seasons", "agn_peak_season_det_frac", "agn_trend_per_year", "agn_trend_snr",
         "agn_colour_slope", "agn_colour_corr", "agn_colour_n_pairs")

# How each column moves when only the redshift changes (utils.features.draws): nothing scales; the far windows are
# fixed in rest days and move a little with the redshift, taken as fixed.
REDSHIFT_RULES: dict[str, tuple[str, ...]] = {}


def reduced_chi2_about_mean(flux: np.ndarray, flux_err: np.ndarray, band: np.ndarray) -> float:
    """χ² per degree of freedom of the fluxes about each band's weighted mean (NaN with no dof)."""
    chi2, dof = 0.0, 0
    for b in np.unique(band):
        rows = band == b
        if rows.sum() < 2:
            continue
        weight = 1.0 / flux_err[rows] ** 2
        mean = np.sum(weight * flux[rows]) / weight.sum()
        chi2 += float(np.sum(weight * (flux[rows] - mean) ** 2))
        dof += int(rows.sum()) - 1
    return chi2 / dof if dof > 0 else np.nan


def colour_brightness(obj: ObjectLightCurve) -> tuple[float, float, int]:
    """(slope, Pearson r, n) of g−r colour (mag) against r brightness (−2.5 log10 f_r) over g/r pairs.

    slope = d(g−r)/d(m_r) > 0 means bluer when brighter (g−r falls as m_r falls), as AGN are; a grey
    (colour-constant) flare gives 0. Pairs: each g point with the nearest r point within PAIR_DAYS, both
    detected.
    """
    g, r = obj.bands["g"], obj.bands["r"]
    if len(g) == 0 or len(r) == 0:
        return np.nan, np.nan, 0
    nearest = np.clip(np.searchsorted(r.time, g.time), 1, len(r) - 1) if len(r) > 1 else np.zeros(len(g), int)
    if len(r) > 1:
        left_closer = np.abs(r.time[nearest - 1] - g.time) < np.abs(r.time[nearest] - g.time)
        nearest = np.where(left_closer, nearest - 1, nearest)
    ok = ((np.abs(r.time[nearest] - g.time) < PAIR_DAYS) & (g.flux / g.flux_err >= DETECTION_SNR)
          & (r.flux[nearest] / r.flux_err[nearest] >= DETECTION_SNR))
    n = int(ok.sum())
    if n < MIN_PAIRS:
        return np.nan, np.nan, n
    colour = -2.5 * np.log10(g.flux[ok] / r.flux[nearest][ok])
    magnitude = -2.5 * np.log10(r.flux[nearest][ok])
    if np.ptp(magnitude) <= 0:
        return np.nan, np.nan, n
    if np.ptp(colour) < 1e-9:  # a grey flare: no colour change to correlate
        return 0.0, np.nan, n
    slope = float(np.polyfit(magnitude, colour, 1)[0])
    return slope, float(np.corrcoef(magnitude, colour)[0, 1]), n


def extract(obj: ObjectLightCurve) -> dict[str, float]:
    features = empty_features(NAMES)
    if len(obj.time) == 0:
        return features
    features["agn_colour_slope"], features["agn_colour_corr"], features["agn_colour_n_pairs"] = colour_brightness(obj)
    scale = obj.flux_scale
    flux, err = obj.flux / scale, obj.flux_err / scale
    days = (obj.time - obj.peak_time) / obj.dilation
    pre, post = days < -FAR_DAYS, days > LATE_DAYS
    far = pre | post
    features["agn_pre_chi2"] = reduced_chi2_about_mean(flux[pre], err[pre], obj.band[pre])
    features["agn_post_chi2"] = reduced_chi2_about_mean(flux[post], err[post], obj.band[post])

    season = np.cumsum(np.r_[0, np.diff(obj.time) > SEASON_GAP_DAYS])
    peak_season = season[np.argmin(np.abs(obj.time - obj.peak_time))]
    detected = obj.snr >= DETECTION_SNR
    if detected.any():
        features["agn_peak_season_det_frac"] = float(np.mean(season[detected] == peak_season))
    peak_flux = float(flux[np.argmin(np.abs(obj.time - obj.peak_time))])
    if peak_flux > 0:
        season_max = np.array([flux[(season == s) & detected].max() if ((season == s) & detected).any() else -np.inf
                               for s in range(season.max() + 1)])
        features["agn_n_flare_seasons"] = float(np.sum(season_max >= FLARE_FRACTION * peak_flux))

    if far.sum() >= MIN_FAR:
        far_flux, far_err = flux[far], err[far]
        features["agn_far_excess_var"] = float(max(np.var(far_flux, ddof=1) - np.mean(far_err ** 2), 0.0))
        spread = np.sqrt(np.var(far_flux, ddof=1))
        if spread > 0:
            features["agn_flare_contrast"] = float((peak_flux - np.median(far_flux)) / spread)
        # Season means of the far points (one band-free mean per season): do they wander beyond their errors?
        means, errors = [], []
        for s in np.unique(season[far]):
            rows = far & (season == s)
            weight = 1.0 / err[rows] ** 2
            means.append(np.sum(weight * flux[rows]) / weight.sum())
            errors.append(1.0 / np.sqrt(weight.sum()))
        if len(means) >= 2:
            means, errors = np.array(means), np.array(errors)
            weight = 1.0 / errors ** 2
            centre = np.sum(weight * means) / weight.sum()
            features["agn_season_chi2"] = float(np.sum(weight * (means - centre) ** 2) / (len(means) - 1))
        years = obj.time[far] / 365.25
        if np.ptp(years) > 0.5:
            weight = 1.0 / far_err ** 2
            x = years - np.sum(weight * years) / weight.sum()
            slope = np.sum(weight * x * far_flux) / np.sum(weight * x ** 2)
            features["agn_trend_per_year"] = float(slope)
            features["agn_trend_snr"] = float(slope * np.sqrt(np.sum(weight * x ** 2)))
    return features

"""Redshift, dust and an absolute-magnitude proxy: how far, how dimmed, how luminous."""

from __future__ import annotations

import numpy as np

from ..cosmology import luminosity_distance_mpc
from ..data.lightcurve import DETECTION_SNR, ObjectLightCurve

AB_ZERO_POINT_UJY = 23.9  # m_AB = 23.9 - 2.5 log10(flux / µJy)
MIN_Z = 1e-3  # photometric redshifts can be <= 0; the distance needs a positive one

NAMES = ("z", "ebv", "distance_modulus", "abs_mag_peak", "log_peak_luminosity")

# How each column moves when only the redshift changes (utils.features.draws); the rest do not depend on it.
REDSHIFT_RULES = {"redshift": ("z",), "distance_modulus": ("distance_modulus",), "abs_mag": ("abs_mag_peak",),
                  "luminosity": ("log_peak_luminosity",)}


def distance_modulus(z: float) -> float:
    """5 log10(d_L / 10 pc) in the project's flat ΛCDM (utils.cosmology)."""
    return float(5 * np.log10(luminosity_distance_mpc(max(z, MIN_Z)) * 1e5))


def extract(obj: ObjectLightCurve) -> dict[str, float]:
    mu = distance_modulus(obj.z)
    features = {"z": obj.z, "ebv": obj.ebv, "distance_modulus": mu, "abs_mag_peak": np.nan,
                "log_peak_luminosity": np.nan}
    detected = obj.snr >= DETECTION_SNR
    if detected.any():
        peak = float(obj.flux[detected].max())
        # 2.5 log10(1+z): the bandwidth part of the K-correction; the spectral part is unknown.
        features["abs_mag_peak"] = AB_ZERO_POINT_UJY - 2.5 * np.log10(peak) - mu + 2.5 * np.log10(1 + max(obj.z, MIN_Z))
        features["log_peak_luminosity"] = -0.4 * features["abs_mag_peak"]
    return features

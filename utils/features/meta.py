"""Redshift, dust and an absolute-magnitude proxy: how far, how dimmed, how luminous."""

from __future__ import annotations

import numpy as np

from .lightcurve import DETECTION_SNR, ObjectLightCurve

# Flat ΛCDM (H0 = 70 km/s/Mpc, Ωm = 0.3) luminosity distance, tabulated once.
_C_KM_S, _H0, _OMEGA_M = 299_792.458, 70.0, 0.3
_Z_GRID = np.linspace(0.0, 8.0, 4001)
_INV_E = 1.0 / np.sqrt(_OMEGA_M * (1 + _Z_GRID) ** 3 + 1 - _OMEGA_M)
_COMOVING_MPC = (_C_KM_S / _H0) * np.concatenate([[0.0], np.cumsum((_INV_E[1:] + _INV_E[:-1]) / 2 * np.diff(_Z_GRID))])
AB_ZERO_POINT_UJY = 23.9  # m_AB = 23.9 - 2.5 log10(flux / µJy)
MIN_Z = 1e-3  # photometric redshifts can be <= 0; the distance needs a positive one

NAMES = ("z", "ebv", "distance_modulus", "abs_mag_peak", "log_peak_luminosity")


def distance_modulus(z: float) -> float:
    """5 log10(d_L / 10 pc) in the flat ΛCDM above."""
    z = max(z, MIN_Z)
    d_l_mpc = (1 + z) * np.interp(z, _Z_GRID, _COMOVING_MPC)
    return float(5 * np.log10(d_l_mpc * 1e5))


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

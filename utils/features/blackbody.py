"""Blackbody radius and bolometric luminosity through the flare: does the photosphere expand?

A supernova's photosphere rides on ejecta expanding at ~10⁴ km/s, so its blackbody radius grows by a
few 10¹⁴ cm a month while it cools; a TDE's stays near 10¹⁴–10¹⁵ cm or shrinks while its temperature
holds. The gp group already gives the temperature at the GP peak and +30/+60/+100 rest-frame days; this
group keeps the other half of the same blackbody fit, its amplitude, which with the distance gives the
radius, and with the temperature the bolometric luminosity:

    F_ν(observed) = (1 + z) π R² B_ν(T, rest frame) / d_L²,    L_bol = 4π R² σ T⁴.

Ratios between epochs (radius growth, bolometric decline) do not depend on the distance, so they survive
a wrong photometric redshift better than the absolute values. The GP is the gp group's own fit
(`gp.fit`), read at the same epochs.
"""

from __future__ import annotations

import numpy as np

from ..cosmology import luminosity_distance_mpc
from ..data.lightcurve import ObjectLightCurve
from . import gp
from .contract import empty_features

EPOCHS = gp.COLOUR_EPOCHS  # rest-frame days after the GP peak
LATER_EPOCHS = EPOCHS[1:]
MICROJANSKY = 1e-29  # erg s⁻¹ cm⁻² Hz⁻¹
CM_PER_MPC = 3.0857e24
HC = 1.98645e-16  # erg cm
STEFAN_BOLTZMANN = 5.6704e-5  # erg s⁻¹ cm⁻² K⁻⁴
ANGSTROM_CUBED_PER_CM_CUBED = 1e24  # gp._planck_shape takes λ in Å: B_ν = 2hc · 1e24 · shape
SECONDS_PER_DAY = 86_400.0

NAMES = (
    *[f"bb_log_radius_{e}" for e in EPOCHS], "bb_log_lbol_0",
    *[f"bb_radius_growth_{e}" for e in LATER_EPOCHS], *[f"bb_lbol_decline_{e}" for e in LATER_EPOCHS],
    "bb_expansion_kms",
)


def log_radius_cm(amplitude_ujy: float, z: float) -> float:
    """log10 of the blackbody radius (cm) whose F_ν = amplitude_ujy · gp._planck_shape(λ_rest, T) µJy at z."""
    if not (np.isfinite(amplitude_ujy) and amplitude_ujy > 0 and np.isfinite(z) and z > 0):
        return np.nan
    distance_cm = luminosity_distance_mpc(z) * CM_PER_MPC
    radius_sq = amplitude_ujy * MICROJANSKY * distance_cm ** 2 / ((1 + z) * np.pi * 2 * HC * ANGSTROM_CUBED_PER_CM_CUBED)
    return float(0.5 * np.log10(radius_sq))


def log_bolometric_luminosity(log_radius: float, temperature: float) -> float:
    """log10 of 4π R² σ T⁴ (erg/s)."""
    return float(np.log10(4 * np.pi * STEFAN_BOLTZMANN) + 2 * log_radius + 4 * np.log10(temperature))


def extract(obj: ObjectLightCurve) -> dict[str, float]:
    features = empty_features(NAMES)
    fitted = gp.fit(obj)
    if fitted is None or fitted.peak is None:
        return features
    rest_wave = fitted.points.rest_wavelength
    mean, std = fitted.mean_std(gp.GRID_DAYS[fitted.peak] + np.asarray(EPOCHS, dtype=float))
    temperature, amplitude = np.array([gp.fit_blackbody(rest_wave, mean[i], std[i])[:2] for i in range(len(EPOCHS))]).T
    amplitude = amplitude * fitted.points.scale  # the GP fits fluxes divided by its scale: back to µJy
    with np.errstate(invalid="ignore", divide="ignore"):
        log_size = 0.5 * np.log10(np.where(amplitude > 0, amplitude, np.nan))  # log R less its distance term
    for i, epoch in enumerate(EPOCHS):
        features[f"bb_log_radius_{epoch}"] = log_radius_cm(amplitude[i], obj.z)
    if np.isfinite(features["bb_log_radius_0"]):
        features["bb_log_lbol_0"] = log_bolometric_luminosity(features["bb_log_radius_0"], temperature[0])
    for i, epoch in enumerate(LATER_EPOCHS, start=1):
        if np.isfinite([log_size[i], log_size[0], temperature[i], temperature[0]]).all():
            features[f"bb_radius_growth_{epoch}"] = float(log_size[i] - log_size[0])
            features[f"bb_lbol_decline_{epoch}"] = float(2 * (log_size[i] - log_size[0])
                                                          + 4 * np.log10(temperature[i] / temperature[0]))
    if np.isfinite([features["bb_log_radius_0"], features["bb_log_radius_30"]]).all():
        growth_cm = 10 ** features["bb_log_radius_30"] - 10 ** features["bb_log_radius_0"]
        features["bb_expansion_kms"] = float(growth_cm / 1e5 / (30 * SECONDS_PER_DAY))
    return features

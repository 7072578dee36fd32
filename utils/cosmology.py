"""The cosmology every distance in the project uses: flat ΛCDM with H0 = 70 km/s/Mpc and Ωm = 0.3.

    luminosity_distance_mpc(0.1)  # ≈ 460.0 Mpc (astropy FlatLambdaCDM(H0=70, Om0=0.3) agrees)

utils.features.meta (distance modulus) uses the tabulated numpy distance below; utils.models.inputs
integrates the same formula in torch inside the forward pass, where augmentation changes z per batch.
"""

from __future__ import annotations

import numpy as np

SPEED_OF_LIGHT_KM_S = 299_792.458
H0_KM_S_MPC = 70.0
OMEGA_MATTER = 0.3
HUBBLE_DISTANCE_MPC = SPEED_OF_LIGHT_KM_S / H0_KM_S_MPC  # c / H0

# Comoving distance tabulated once on 0 <= z <= 8 (trapezoid rule, dz = 0.002), interpolated after.
_Z_GRID = np.linspace(0.0, 8.0, 4001)
_INV_E = 1.0 / np.sqrt(OMEGA_MATTER * (1 + _Z_GRID) ** 3 + 1 - OMEGA_MATTER)
_COMOVING_MPC = HUBBLE_DISTANCE_MPC * np.concatenate(
    [[0.0], np.cumsum((_INV_E[1:] + _INV_E[:-1]) / 2 * np.diff(_Z_GRID))])


def luminosity_distance_mpc(z: float | np.ndarray) -> float | np.ndarray:
    """(1 + z) x comoving distance, interpolated in the table (z beyond 8 takes the z = 8 distance)."""
    return (1 + z) * np.interp(z, _Z_GRID, _COMOVING_MPC)

"""A redshift draw as a transform of the table extracted once, at the reference redshift.

A draw of the photometric-redshift perturbation (utils.data.redshift) changes an object's Z and nothing of its
light curve. The fits behind the features run on the light curve; what the redshift changes is how their
results read in the rest frame: durations divide by 1 + z, temperatures and rest wavelengths scale with it,
distances follow it. So each draw's table is the reference table (extracted once, at the log's Z) with every
column moved by its group's REDSHIFT_RULES:

* `redshift`, `distance_modulus`, `abs_mag`, `luminosity`: recomputed from the new Z (exact);
* `rest_days` (× d), `log_rest_days` (+ log10 d), `per_rest_day` (÷ d), `temperature` (÷ d),
  `log_temperature` (− log10 d), `temperature_per_rest_day` (÷ d²), with d = (1 + z_ref) / (1 + z_new) and
  1 + z taken as 1 + max(z, 0) as ObjectLightCurve.dilation does;
* every other column is kept: it does not depend on the redshift, or only through a rest-frame window or epoch
  that moves a little with it (each group module says which).

Exact for observer-frame quantities divided by 1 + z (timescales, Bazin fits, durations) and for the distances;
an approximation elsewhere, whose effect on the score is measured (docs/results.md, "Redshift draws").
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ..cosmology import luminosity_distance_mpc
from .meta import MIN_Z
from .registry import REGISTRY


def _modulus(z: np.ndarray) -> np.ndarray:
    """meta.distance_modulus, element by element."""
    return 5 * np.log10(luminosity_distance_mpc(np.maximum(z, MIN_Z)) * 1e5)


def _bandwidth(z: np.ndarray) -> np.ndarray:
    return 2.5 * np.log10(1 + np.maximum(z, MIN_Z))


def _abs_mag_shift(z_ref: np.ndarray, z_new: np.ndarray) -> np.ndarray:
    """How abs_mag_peak moves: −Δμ + Δ(2.5 log10(1 + z)) (meta.extract)."""
    return _modulus(z_ref) - _modulus(z_new) + _bandwidth(z_new) - _bandwidth(z_ref)


def _dilation_ratio(z_ref: np.ndarray, z_new: np.ndarray) -> np.ndarray:
    """d = (1 + z_ref) / (1 + z_new), with ObjectLightCurve.dilation's 1 + max(z, 0)."""
    return (1 + np.maximum(z_ref, 0.0)) / (1 + np.maximum(z_new, 0.0))


RULES: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "redshift": lambda value, z_ref, z_new: z_new,
    "distance_modulus": lambda value, z_ref, z_new: _modulus(z_new),
    "abs_mag": lambda value, z_ref, z_new: value + _abs_mag_shift(z_ref, z_new),
    "luminosity": lambda value, z_ref, z_new: value - 0.4 * _abs_mag_shift(z_ref, z_new),
    "rest_days": lambda value, z_ref, z_new: value * _dilation_ratio(z_ref, z_new),
    "log_rest_days": lambda value, z_ref, z_new: value + np.log10(_dilation_ratio(z_ref, z_new)),
    "per_rest_day": lambda value, z_ref, z_new: value / _dilation_ratio(z_ref, z_new),
    "temperature": lambda value, z_ref, z_new: value / _dilation_ratio(z_ref, z_new),
    "log_temperature": lambda value, z_ref, z_new: value - np.log10(_dilation_ratio(z_ref, z_new)),
    "temperature_per_rest_day": lambda value, z_ref, z_new: value / _dilation_ratio(z_ref, z_new) ** 2,
}


def transformable(groups) -> bool:
    """Whether every group declares how its columns move with the redshift (a batch group never depends on a draw)."""
    return all(hasattr(REGISTRY[g], "REDSHIFT_RULES") or hasattr(REGISTRY[g], "extract_batch") for g in groups)


def column_rules(groups) -> dict[str, str]:
    """{column: rule name} of the columns that move with the redshift."""
    rules = {}
    for group in groups:
        for rule, columns in getattr(REGISTRY[group], "REDSHIFT_RULES", {}).items():
            if rule not in RULES:
                raise ValueError(f"feature group {group!r}: unknown redshift rule {rule!r}; known: {sorted(RULES)}")
            rules.update(dict.fromkeys(columns, rule))
    return rules


def redraw(table: pd.DataFrame, groups, z_ref: pd.Series, z_new: pd.Series) -> pd.DataFrame:
    """`table` (extracted at redshifts `z_ref`) as it reads at redshifts `z_new`; both indexed like the table."""
    reference = z_ref.reindex(table.index).to_numpy(dtype=float)
    new = z_new.reindex(table.index).to_numpy(dtype=float)
    out = table.copy()
    for column, rule in column_rules(groups).items():
        if column in out.columns:
            out[column] = RULES[rule](out[column].to_numpy(dtype=float), reference, new)
    return out

"""Milky Way dust: undo it (Fitzpatrick 1999, R_V = 3.1) on Flux and Flux_err, per LSST band."""

from __future__ import annotations

import extinction
import numpy as np
import pandas as pd

from .. import BANDS
from ..errors import DataError, examples

# LSST effective wavelengths in Angstrom, in BANDS order.
LSST_WAVELENGTHS = {"u": 3641.0, "g": 4704.0, "r": 6155.0, "i": 7504.0, "z": 8695.0, "y": 10056.0}
R_V = 3.1


def extinction_per_ebv(r_v: float = R_V) -> np.ndarray:
    """A_band / E(B-V) for each LSST band (Fitzpatrick99 is linear in A_V, with A_V = R_V * EBV)."""
    waves = np.array([LSST_WAVELENGTHS[b] for b in BANDS])
    return extinction.fitzpatrick99(waves, r_v, r_v)


def deextinct(lightcurves: pd.DataFrame, ebv: pd.Series, r_v: float = R_V) -> pd.DataFrame:
    """Return a copy with flux and flux_err multiplied by 10^(0.4 A_band); negatives stay negative."""
    missing = pd.Index(lightcurves["object_id"].unique()).difference(ebv.index)
    if len(missing):
        raise DataError(f"deextinct: no EBV for object_id {examples(missing)}")
    band_codes = pd.Categorical(lightcurves["band"], categories=list(BANDS)).codes
    a_band = extinction_per_ebv(r_v)[band_codes] * ebv.reindex(lightcurves["object_id"]).to_numpy()
    factor = 10.0 ** (0.4 * a_band)
    out = lightcurves.copy()
    out["flux"] = lightcurves["flux"].to_numpy() * factor
    out["flux_err"] = lightcurves["flux_err"].to_numpy() * factor
    return out

"""Plot helpers shared by the notebooks (light curves, class balance, distributions)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import BANDS

# Blue to infrared, the convention of LSST plots.
BAND_COLOURS = {"u": "#56b4e9", "g": "#009e73", "r": "#c8b400", "i": "#e69f00", "z": "#d55e00", "y": "#cc79a7"}


def plot_lightcurve(ax: plt.Axes, lightcurve: pd.DataFrame, *, time_origin: float | None = None,
                    alpha: float = 1.0, label_bands: bool = True) -> plt.Axes:
    """Flux (µJy) with error bars against days since the first observation, one colour per band."""
    origin = lightcurve["time"].min() if time_origin is None else time_origin
    for band in BANDS:
        rows = lightcurve[lightcurve["band"] == band]
        if rows.empty:
            continue
        ax.errorbar(rows["time"] - origin, rows["flux"], yerr=rows["flux_err"], fmt="o", ms=3, lw=0.8,
                    color=BAND_COLOURS[band], alpha=alpha, label=band if label_bands else None)
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel("days since first observation (observer frame)")
    ax.set_ylabel("flux (µJy)")
    if label_bands:
        ax.legend(ncol=6, fontsize=8, loc="upper right")
    return ax


def observations_per_band(lightcurves: pd.DataFrame) -> pd.DataFrame:
    """Counts of observations per object and band (objects × ugrizy, zeros where a band is empty)."""
    counts = lightcurves.groupby(["object_id", "band"], observed=False).size().unstack("band", fill_value=0)
    return counts.reindex(columns=list(BANDS), fill_value=0)


def peak_flux(lightcurves: pd.DataFrame) -> pd.Series:
    """Brightest observed flux per object (µJy, any band)."""
    return lightcurves.groupby("object_id")["flux"].max()


def log_bins(values: np.ndarray, n: int = 40) -> np.ndarray:
    values = np.asarray(values)
    values = values[values > 0]
    return np.logspace(np.log10(values.min()), np.log10(values.max()), n)

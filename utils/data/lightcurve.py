"""One object's de-extinguished light curve and metadata: the input of every feature group.

    for obj in objects(dataset, "train", z=perturbed_z):   # de-extinguished, in log order
        ...
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Iterator

import numpy as np
import pandas as pd

from .. import BANDS
from .extinction import deextinct

DETECTION_SNR = 3.0  # an observation counts as a detection above this flux / flux_err


@dataclass(frozen=True)
class BandCurve:
    """One band's observations, time-sorted (observer-frame MJD, µJy)."""

    time: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray

    def __len__(self) -> int:
        return len(self.time)


@dataclass(frozen=True)
class ObjectLightCurve:
    """Time-sorted observations of one object (ties by band, flux, flux_err); `band` holds indices into BANDS."""

    object_id: str
    time: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray
    band: np.ndarray
    z: float
    ebv: float
    z_err: float = np.nan  # photometric-redshift error (NaN: unknown, e.g. a spectroscopic redshift)

    @property
    def dilation(self) -> float:
        """1 + z: observer-frame durations divided by this are rest-frame durations."""
        return 1.0 + max(self.z, 0.0)

    @cached_property
    def bands(self) -> dict[str, BandCurve]:
        return {name: BandCurve(self.time[self.band == b], self.flux[self.band == b], self.flux_err[self.band == b])
                for b, name in enumerate(BANDS)}

    @cached_property
    def snr(self) -> np.ndarray:
        return self.flux / self.flux_err

    @cached_property
    def peak_time(self) -> float:
        """Observer-frame time of the brightest detection (brightest point if none is significant)."""
        if len(self.time) == 0:
            return np.nan
        detected = self.snr >= DETECTION_SNR
        candidates = np.flatnonzero(detected) if detected.any() else np.arange(len(self.time))
        return float(self.time[candidates[np.argmax(self.flux[candidates])]])

    @cached_property
    def flux_scale(self) -> float:
        """Largest |flux|: divides fluxes so that features do not depend on distance."""
        scale = float(np.max(np.abs(self.flux))) if len(self.flux) else 0.0
        return scale if scale > 0 else 1.0


def make_object(time, flux, flux_err, band, *, z: float = 0.0, ebv: float = 0.0, z_err: float = np.nan,
                object_id: str = "object") -> ObjectLightCurve:
    """Build an object from arrays; `band` may be letters ('g') or indices; rows are sorted by time, then band,
    flux and flux_err (so ties never keep the arrays' order)."""
    band = np.asarray(band)
    if band.dtype.kind in "USO":
        band = np.array([BANDS.index(str(b)) for b in band], dtype=np.int64)
    band = band.astype(np.int64)
    time = np.asarray(time, dtype=np.float64)
    flux, flux_err = np.asarray(flux, dtype=np.float64), np.asarray(flux_err, dtype=np.float64)
    order = np.lexsort((flux_err, flux, band, time))
    return ObjectLightCurve(object_id, time[order], flux[order], flux_err[order], band[order],
                            float(z), float(ebv), float(z_err))


def iter_objects(lightcurves: pd.DataFrame, log: pd.DataFrame, z: pd.Series | None = None,
                 z_err: pd.Series | None = None) -> Iterator[ObjectLightCurve]:
    """Objects in log order; `z` overrides log['Z'] (e.g. a perturbed redshift), `z_err` log['Z_err']."""
    redshift = (log["Z"] if z is None else z).reindex(log.index).to_numpy(dtype=np.float64)
    if z_err is None:
        z_err = log["Z_err"] if "Z_err" in log else pd.Series(np.nan, index=log.index)
    redshift_err = z_err.reindex(log.index).to_numpy(dtype=np.float64)
    ebv = log["EBV"].to_numpy(dtype=np.float64)
    codes = pd.Categorical(lightcurves["object_id"], categories=log.index).codes
    if (codes < 0).any():
        raise KeyError("light curves hold object ids that the log lacks")
    columns = {name: lightcurves[name].to_numpy(dtype=np.float64) for name in ("time", "flux", "flux_err")}
    band = pd.Categorical(lightcurves["band"], categories=list(BANDS)).codes.astype(np.int64)
    # Each object's rows by time, then band, flux and flux_err (utils.data.validate.CANONICAL_ORDER): observations
    # that share a time come out in one order whatever order the rows came in.
    order = np.lexsort((columns["flux_err"], columns["flux"], band, columns["time"], codes))
    codes, band = codes[order], band[order]
    columns = {name: values[order] for name, values in columns.items()}
    bounds = np.searchsorted(codes, np.arange(len(log) + 1))
    for i, object_id in enumerate(log.index):
        rows = slice(bounds[i], bounds[i + 1])
        yield ObjectLightCurve(str(object_id), columns["time"][rows], columns["flux"][rows],
                               columns["flux_err"][rows], band[rows], float(redshift[i]), float(ebv[i]),
                               float(redshift_err[i]))


def objects(dataset, kind: str, z: pd.Series | None = None,
            z_err: pd.Series | None = None) -> Iterator[ObjectLightCurve]:
    """The de-extinguished `kind` ('train' | 'test') objects of a Dataset, in log order; `z` and `z_err`
    override the log's (as in iter_objects)."""
    return deextinguished_objects(dataset.lightcurves(kind), dataset.log(kind), z, z_err)


def deextinguished_objects(lightcurves: pd.DataFrame, log: pd.DataFrame, z: pd.Series | None = None,
                           z_err: pd.Series | None = None) -> Iterator[ObjectLightCurve]:
    """iter_objects over the light curves with Milky Way dust undone (utils.data.extinction)."""
    return iter_objects(deextinct(lightcurves, log["EBV"]), log, z, z_err)

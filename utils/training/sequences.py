"""Fixed-length inputs for the deep models, built from de-extinguished light curves.

* `build_band_sequences`: per object and band, a length-L sequence of (flux, flux_err, time) with a
  mask; flux and error divided by the object's max |flux|; time in days since the object's first
  observation, observer or rest frame.
* `build_token_sequences`: one time-ordered multi-band sequence of (time, band, flux, flux_err) tokens.

Both builders are vectorised over all objects (no Python loop per object) and cached by `cached_arrays`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, fields
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

from .. import BANDS
from ..atomic import write_atomically
from ..data.extinction import deextinct
from ..data.load import cache_root

PREPROCESS_VERSION = "prep-v1"


@dataclass
class Sequences:
    """Padded arrays for a set of objects; `values[..., k]` is channel `channels[k]`."""

    object_ids: np.ndarray  # (N,) str
    values: np.ndarray  # (N, ..., L, C) float32
    mask: np.ndarray  # (N, ..., L) bool, True where an observation is present
    scale: np.ndarray  # (N,) max |flux| used to normalise flux and flux_err
    channels: tuple[str, ...]

    def channel(self, name: str) -> np.ndarray:
        return self.values[..., self.channels.index(name)]

    def subset(self, object_ids) -> "Sequences":
        position = pd.Index(self.object_ids).get_indexer(object_ids)
        if (position < 0).any():
            raise KeyError(f"object ids not in these sequences: {list(np.asarray(object_ids)[position < 0][:5])}")
        return Sequences(self.object_ids[position], self.values[position], self.mask[position],
                         self.scale[position], self.channels)


def _object_codes(lightcurves: pd.DataFrame, log: pd.DataFrame) -> np.ndarray:
    codes = pd.Categorical(lightcurves["object_id"], categories=log.index).codes
    if (codes < 0).any():
        raise KeyError("light curves hold object ids that the log lacks")
    return codes.astype(np.int64)


def _relative_time(lightcurves: pd.DataFrame, log: pd.DataFrame, obj: np.ndarray, rest_frame: bool) -> np.ndarray:
    time = lightcurves["time"].to_numpy(dtype=np.float64)
    first = np.full(len(log), np.inf)
    np.minimum.at(first, obj, time)
    relative = time - first[obj]
    if rest_frame:
        relative = relative / (1.0 + log["Z"].to_numpy()[obj])
    return relative


def _object_scale(flux: np.ndarray, obj: np.ndarray, n_objects: int) -> np.ndarray:
    scale = np.zeros(n_objects)
    np.maximum.at(scale, obj, np.abs(flux))
    return np.where(scale > 0, scale, 1.0)


def _window_positions(group: np.ndarray, flux: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by (group, time): slot of each row in a length-`length` window, and a keep flag.

    Groups longer than `length` keep the window centred on their brightest row, so the peak survives.
    """
    n = len(group)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, sizes)
    peak = np.zeros(len(starts), dtype=np.int64)
    long_groups = np.flatnonzero(sizes > length)
    for g in long_groups:  # rare (a few hundred groups); keeps the peak in view
        s = starts[g]
        peak[g] = np.argmax(flux[s:s + sizes[g]])
    offset = np.clip(peak - length // 2, 0, np.maximum(sizes - length, 0))
    slot = rank - np.repeat(offset, sizes)
    keep = (slot >= 0) & (slot < length)
    return slot, keep


class _Columns(NamedTuple):
    obj: np.ndarray  # row -> object index in the log
    band: np.ndarray  # row -> band index in BANDS
    time: np.ndarray  # days since the object's first observation
    flux: np.ndarray
    flux_err: np.ndarray
    scale: np.ndarray  # per object: max |flux|


def _columns(lightcurves: pd.DataFrame, log: pd.DataFrame, rest_frame: bool) -> _Columns:
    """The per-row arrays both sequence layouts are built from."""
    obj = _object_codes(lightcurves, log)
    flux = lightcurves["flux"].to_numpy(dtype=np.float64)
    return _Columns(obj, pd.Categorical(lightcurves["band"], categories=list(BANDS)).codes.astype(np.int64),
                    _relative_time(lightcurves, log, obj, rest_frame), flux,
                    lightcurves["flux_err"].to_numpy(dtype=np.float64), _object_scale(flux, obj, len(log)))


def build_band_sequences(lightcurves: pd.DataFrame, log: pd.DataFrame, length: int = 200,
                         rest_frame: bool = False) -> Sequences:
    """Per-band padded sequences: values (N, 6, length, 3) of (flux, flux_err, time), mask (N, 6, length)."""
    obj, band, time, flux, flux_err, scale = _columns(lightcurves, log, rest_frame)

    order = np.lexsort((flux_err, flux, time, band, obj))  # ties never keep the input's row order
    group = obj[order] * len(BANDS) + band[order]
    slot, keep = _window_positions(group, flux[order], length)
    rows = order[keep]
    values = np.zeros((len(log), len(BANDS), length, 3), dtype=np.float32)
    mask = np.zeros((len(log), len(BANDS), length), dtype=bool)
    index = (obj[rows], band[rows], slot[keep])
    values[index] = np.stack([flux[rows] / scale[obj[rows]], flux_err[rows] / scale[obj[rows]], time[rows]], axis=1)
    mask[index] = True
    return Sequences(log.index.to_numpy(dtype=str), values, mask, scale.astype(np.float32),
                     ("flux", "flux_err", "time"))


def build_token_sequences(lightcurves: pd.DataFrame, log: pd.DataFrame, length: int = 256,
                          rest_frame: bool = False) -> Sequences:
    """One multi-band sequence per object: values (N, length, 4) of (time, band, flux, flux_err)."""
    obj, band, time, flux, flux_err, scale = _columns(lightcurves, log, rest_frame)

    order = np.lexsort((flux_err, flux, band, time, obj))  # ties never keep the input's row order
    slot, keep = _window_positions(obj[order], flux[order] / scale[obj[order]], length)
    rows = order[keep]
    values = np.zeros((len(log), length, 4), dtype=np.float32)
    mask = np.zeros((len(log), length), dtype=bool)
    index = (obj[rows], slot[keep])
    values[index] = np.stack([time[rows], band[rows], flux[rows] / scale[obj[rows]],
                              flux_err[rows] / scale[obj[rows]]], axis=1)
    mask[index] = True
    return Sequences(log.index.to_numpy(dtype=str), values, mask, scale.astype(np.float32),
                     ("time", "band", "flux", "flux_err"))


def cache_key(*parts) -> str:
    """Stable short hash of JSON-able parts (data fingerprint, parameters, code version)."""
    return hashlib.sha1(json.dumps([PREPROCESS_VERSION, *parts], sort_keys=True, default=str).encode()).hexdigest()[:16]


def cached_sequences(name: str, key: str, build: Callable[[], Sequences],
                     cache_dir: str | os.PathLike | None = None) -> Sequences:
    """Load `name`-`key`.npz from the cache, or build it, save it and return it."""
    root = cache_root(cache_dir) / "sequences"
    path = root / f"{name}-{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            return Sequences(stored["object_ids"], stored["values"], stored["mask"], stored["scale"],
                             tuple(str(c) for c in stored["channels"]))
    sequences = build()
    # two runs building the same entry at once each leave a whole file (write_atomically)
    write_atomically(path, lambda out: np.savez(
        out, **{f.name: np.asarray(getattr(sequences, f.name)) for f in fields(sequences)}))
    return sequences


def prepare_sequences(dataset, kind: str, *, layout: str = "band", length: int | None = None,
                      rest_frame: bool = False, cache_dir: str | os.PathLike | None = None) -> Sequences:
    """De-extinguished `kind` ('train'/'test') light curves as band or token sequences, cached."""
    if layout not in ("band", "token"):
        raise ValueError(f"layout must be 'band' or 'token', not {layout!r}")
    length = length or (200 if layout == "band" else 256)
    log = dataset.log(kind)
    key = cache_key(dataset.fingerprint, kind, layout, length, rest_frame)
    builder = build_band_sequences if layout == "band" else build_token_sequences

    def build() -> Sequences:
        clean = deextinct(dataset.lightcurves(kind), log["EBV"])
        return builder(clean, log, length=length, rest_frame=rest_frame)

    return cached_sequences(f"{kind}-{layout}", key, build, cache_dir)

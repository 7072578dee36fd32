"""Degraded copies of the training light curves, extra training rows for the GBDT (avocado-style).

A copy of an object keeps its log row (Z, EBV, SpecType, target) and sees its light curve through a worse
survey: each observation is dropped with a rate r ~ U(0, DROP_MAX_RATE), and Gaussian noise of s x Flux_err
is added, s ~ U(0, NOISE_MAX_SIGMAS), with Flux_err raised to sqrt(1 + s^2) x Flux_err so the errors stay
honest. A copy keeps at least MIN_POINTS observations (fewer would leave no features worth learning from).
Copies are named "<object_id>~copy<k>"; `source_of` maps them back, so cross-validation can train on the
copies of its training objects only and never score one.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pandas as pd

from ..errors import DataError
from .load import Dataset
from .validate import canonical_lightcurves

SEPARATOR = "~copy"
DROP_MAX_RATE = 0.4
NOISE_MAX_SIGMAS = 1.0
MIN_POINTS = 5
COPY_SEED = 0  # the copies a run and the benchmarks train on: drawn once, whatever the CV seed


def _degrade(lightcurves: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One degraded copy of every object in `lightcurves` (rows sorted by object_id)."""
    ids, first, counts = np.unique(lightcurves["object_id"].to_numpy(), return_index=True, return_counts=True)
    drop_rate = np.repeat(rng.uniform(0.0, DROP_MAX_RATE, len(ids)), counts)
    sigmas = np.repeat(rng.uniform(0.0, NOISE_MAX_SIGMAS, len(ids)), counts)
    keep = rng.uniform(size=len(lightcurves)) >= drop_rate
    owner = np.repeat(np.arange(len(ids)), counts)
    too_few = np.bincount(owner, weights=keep, minlength=len(ids)) < np.minimum(MIN_POINTS, counts)
    keep |= too_few[owner]  # such an object keeps every point rather than fall below MIN_POINTS
    copy = lightcurves.copy()
    flux_err = copy["flux_err"].to_numpy()
    copy["flux"] = copy["flux"].to_numpy() + rng.normal(size=len(copy)) * sigmas * flux_err
    copy["flux_err"] = flux_err * np.sqrt(1.0 + sigmas ** 2)
    return copy[keep]


def degraded_copies(dataset: Dataset, copies: int, seed: int = COPY_SEED) -> Dataset:
    """A dataset whose training side holds `copies` degraded copies of every training object (no originals);
    the test side is the original's. Its fingerprint depends on the original's, the copies and the seed, so
    feature tables of the copies are cached apart from everything else."""
    if copies < 1:
        raise ValueError(f"copies must be at least 1, not {copies}")
    if dataset.train_lc.empty:
        raise DataError("the training set has no light-curve rows to copy")
    lightcurves = canonical_lightcurves(dataset.train_lc)
    rng = np.random.default_rng(seed)
    logs, curves = [], []
    for k in range(copies):
        suffix = f"{SEPARATOR}{k}"
        log = dataset.train_log.copy()
        log.index = log.index + suffix
        curve = _degrade(lightcurves, rng)
        curve["object_id"] = curve["object_id"] + suffix
        logs.append(log)
        curves.append(curve)
    train_log = pd.concat(logs)
    train_log.index.name = dataset.train_log.index.name
    train_lc = canonical_lightcurves(pd.concat(curves, ignore_index=True))
    return dataclasses.replace(dataset, train_log=train_log, train_lc=train_lc,
                               fingerprint=copies_fingerprint(dataset.fingerprint, copies, seed))


def copies_fingerprint(fingerprint: str, copies: int, seed: int = COPY_SEED) -> str:
    """The fingerprint of degraded_copies(dataset, copies, seed) from the dataset's: what the copies' cache keys
    need, without drawing the copies."""
    spec = f"{fingerprint}:{copies}:{seed}:{DROP_MAX_RATE}:{NOISE_MAX_SIGMAS}:{MIN_POINTS}"
    return hashlib.sha1(spec.encode()).hexdigest()[:16]


def source_of(copy_ids: pd.Index) -> pd.Series:
    """The original object_id of each copy id, indexed by the copy ids."""
    ids = pd.Index(copy_ids).astype(str)
    bad = ids[~ids.str.contains(SEPARATOR, regex=False)]
    if len(bad):
        raise DataError(f"{len(bad)} id(s) are not copies ('<object_id>{SEPARATOR}<k>'), e.g. {bad[0]!r}")
    return pd.Series(ids.str.rsplit(SEPARATOR, n=1).str[0], index=copy_ids)

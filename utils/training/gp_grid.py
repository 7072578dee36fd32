"""The deep models' optional GP input (settings['gp_grid']): each object's 2-D Gaussian process mean and
standard deviation on a regular (rest-frame day x band) grid, as SCONE (Qu et al. 2021) feeds a network
a GP image instead of sparse points alone.

The fit is utils.features.gp's (Matern-3/2 over rest-frame time and wavelength, per object); here it is
read at settings['gp_grid_steps'] days evenly spread over gp.WINDOW_DAYS around the peak, in the six
LSST bands, divided by the object's max |flux| like the networks' flux inputs:

    grid = gp_grid_table(dataset, "train", n_steps=64)   # (N, 12, 64): 6 mean rows, then 6 std rows

Objects the GP cannot fit (fewer than gp.MIN_POINTS points in the window, or one band) get mean 0 and
std 1 (no information, on the scale of the object's brightest point). Grids are cached under
cache_root()/gp_grid, keyed on the data fingerprint, the kind, the redshift draw, the number of steps,
FEATURES_VERSION (which changes when the GP does) and GP_GRID_VERSION.

The training augmentations act on the raw points only: the grid is computed once per object and Z draw.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from .. import BANDS
from ..atomic import write_atomically
from ..data.lightcurve import objects as data_objects
from ..data.load import cache_root
from ..data.redshift import perturbed_redshift
from ..features.gp import mean_std_grid
from ..features.registry import FEATURES_VERSION
from ..progress import progress_count

GP_GRID_VERSION = 1  # bump when the grid's definition changes: old cache entries are then never read
GRID_CHANNELS = 2 * len(BANDS)
NO_FIT_STD = 1.0


def object_grids(objects: list, n_steps: int) -> np.ndarray:
    """(len(objects), 12, n_steps) float32 grids of ObjectLightCurves, one BLAS thread (small matrices)."""
    out = np.zeros((len(objects), 2, len(BANDS), n_steps), dtype=np.float32)
    out[:, 1] = NO_FIT_STD
    with threadpool_limits(1), np.errstate(all="ignore"):
        for i, obj in enumerate(objects):
            grid = mean_std_grid(obj, n_steps)
            if grid is not None and np.isfinite(grid).all():
                out[i] = grid
    return out.reshape(len(objects), GRID_CHANNELS, n_steps)


def _cache_path(dataset, kind: str, n_steps: int, redshift_seed: int | None, cache_dir) -> Path:
    key = hashlib.sha1(json.dumps([dataset.fingerprint, FEATURES_VERSION, GP_GRID_VERSION, kind, n_steps,
                                   redshift_seed]).encode()).hexdigest()[:16]
    return cache_root(cache_dir) / "gp_grid" / f"{kind}-{key}.npz"


def gp_grid_table(dataset, kind: str, *, n_steps: int, redshift_seed: int | None = None, n_jobs: int = -1,
                  cache_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(object ids in log order, (N, 12, n_steps) grids) of every `kind` ('train' or 'test') object.

    `redshift_seed`: for 'train' only, the GP sees Z perturbed like the test's photometric redshifts
    (features.redshift.perturbed_redshift, as the features and the training log do). From the cache when
    there, else computed in parallel (joblib) and cached.
    """
    if kind not in ("train", "test"):
        raise ValueError(f"kind must be 'train' or 'test', not {kind!r}")
    if redshift_seed is not None and kind != "train":
        raise ValueError("redshift_seed perturbs training redshifts only; the test's are already photometric")
    path = _cache_path(dataset, kind, n_steps, redshift_seed, cache_dir)
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            return stored["object_ids"], stored["grid"]
    log = dataset.log(kind)
    z = perturbed_redshift(dataset.train_log, dataset.test_log, redshift_seed) if redshift_seed is not None else None
    objects = list(data_objects(dataset, kind, z))
    n_workers = os.cpu_count() if n_jobs == -1 else max(1, n_jobs)
    chunks = [np.arange(start, min(start + 64, len(objects))) for start in range(0, len(objects), 64)]
    grid = np.zeros((len(objects), GRID_CHANNELS, n_steps), dtype=np.float32)
    results = Parallel(n_jobs=min(n_workers, max(len(chunks), 1)), return_as="generator")(
        delayed(object_grids)([objects[i] for i in rows], n_steps) for rows in chunks)
    done = 0
    for rows, values in zip(chunks, results):
        grid[rows] = values
        done += len(rows)
        progress_count(f"GP grids {kind}" + (f" (z draw {redshift_seed})" if redshift_seed is not None else ""),
                       done, len(objects), len(rows))
    object_ids = log.index.to_numpy(dtype=str)
    _write(path, object_ids, grid)
    return object_ids, grid


def _write(path: Path, object_ids: np.ndarray, grid: np.ndarray) -> None:
    write_atomically(path, lambda out: np.savez(out, object_ids=object_ids, grid=grid))


def gp_grid_for(dataset, kind: str, object_ids, *, n_steps: int, redshift_seed: int | None = None,
                cache_dir: str | os.PathLike | None = None) -> np.ndarray:
    """The grids of `object_ids` (e.g. a Sequences' order), from `gp_grid_table`."""
    ids, grid = gp_grid_table(dataset, kind, n_steps=n_steps, redshift_seed=redshift_seed, cache_dir=cache_dir)
    position = pd.Index(ids).get_indexer(np.asarray(object_ids, dtype=str))
    if (position < 0).any():
        raise KeyError(f"no GP grid for object ids {list(np.asarray(object_ids)[position < 0][:5])}")
    return grid[position]

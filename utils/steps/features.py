"""Every physics-feature table a run's notebooks read, extracted once, up front, by notebook 02.

    summary = extract_run_features(dataset, profile="default", seed=42)   # one row per table

Which tables comes from the functions the reading notebooks use themselves, so 03, 04 and 05 find each one
cached (and each still runs alone, extracting what it lacks):

* notebooks 03 and 04 (utils.training.prepare.deep_feature_requests): when their profile has use_features, the
  training table under their training-Z draw (the notebook's seed when perturb_train_z) and the test's;
* notebook 05 (utils.steps.ensemble.gbdt_feature_requests): always the training table with spectroscopic Z,
  the test's and one training table per CV repeat (Z draws seed, seed + 1, ...), and with its `copies`
  setting one table of the training objects' degraded copies per draw (utils.data.copies).

Every table holds the default groups; a batch group (ParSNIP) is cached once per kind and shared by every
training table (utils.features.table), so the first training table pays for it.
"""

from __future__ import annotations

import os
import time

import pandas as pd

from ..features import TableRequest, cache_entries
from ..training.prepare import deep_feature_requests
from .deep import DEEP_NOTEBOOKS, notebook_settings
from .gbdt import gbdt_feature_requests, notebook05_settings


def run_feature_requests(profile: str, seed: int) -> list[TableRequest]:
    """The feature tables notebooks 03, 04 and 05 read in a run of this profile and seed, each once, in the
    order they are first read."""
    requests: list[TableRequest] = []
    for notebook, (_, models) in DEEP_NOTEBOOKS.items():
        # The notebooks' own defaults for the parameters the pipeline leaves alone: the tuned variant of
        # their first model. The device does not change what is read.
        settings = notebook_settings(notebook, profile=profile, variant="tuned", model=models[0], seed=seed,
                                     device="auto")
        requests += deep_feature_requests(settings)
    requests += gbdt_feature_requests(notebook05_settings(profile), seed)
    return list(dict.fromkeys(requests))


def extract_run_features(dataset, profile: str, seed: int, *, n_jobs: int | None = None,
                         cache_dir: str | os.PathLike | None = None, progress: bool = True) -> pd.DataFrame:
    """Extract and cache every table of run_feature_requests(profile, seed); one summary row per table.

    `n_jobs`: joblib workers; None takes notebook 05's `feature_jobs` for the profile (the count never
    enters a cache key). Columns of the summary: table, rows, columns, seconds (wall), cached (every cache
    entry of the table existed before the call).
    """
    if n_jobs is None:
        n_jobs = notebook05_settings(profile)["feature_jobs"]
    rows = []
    for request in run_feature_requests(profile, seed):
        entries = cache_entries(dataset, request.kind, redshift_seed=request.redshift_seed, cache_dir=cache_dir,
                                copies=request.copies, draws=request.draws)
        cached = all(path.is_file() for path in entries)
        started = time.perf_counter()
        table = request.table(dataset, n_jobs=n_jobs, cache_dir=cache_dir, progress=progress)
        rows.append({"table": request.name, "rows": len(table), "columns": table.shape[1],
                     "seconds": time.perf_counter() - started, "cached": cached})
    return pd.DataFrame(rows, columns=["table", "rows", "columns", "seconds", "cached"])

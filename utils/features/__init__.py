"""Physics features, one module per group, each `extract(obj: ObjectLightCurve) -> dict[str, float]`.

    from utils.features import feature_table
    train_features = feature_table(dataset, "train")            # DataFrame indexed by object_id
    test_features = feature_table(dataset, "test")

Light curves are de-extinguished first. Tables are cached under <cache>/features/, keyed on the data
fingerprint, FEATURES_VERSION, the groups (with the own VERSION of any group module that has one) and the
redshift perturbation, so a second call costs a parquet read. Extraction runs in parallel with joblib over chunks of objects, with a progress bar.
The meaning and unit of every column is in docs/features.md.

REGISTRY maps every group to its module (NAMES + extract); DEFAULT_GROUPS are the ones a plain call
builds; the others are candidates that benchmarks/ablate_features.py measures. A module with
`extract_batch(objects)` instead is a batch group (a neural model, faster over many objects): it is
cached on its own and its training table is built once, not per redshift draw (its `redshifts`
says which redshifts it sees).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterable, NamedTuple, Sequence

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ..atomic import write_atomically
from ..data import cache_root
from ..lightcurve_copies import COPY_SEED, copies_fingerprint, degraded_copies
from ..preprocess import deextinct
from ..progress import progress_count
from . import agn, blackbody, fits, gp, meta, parametric, parsnip, photometry, powerlaw, timescales, variability
from .lightcurve import ObjectLightCurve, iter_objects, make_object
from .redshift import perturbed_redshift

FEATURES_VERSION = "features-v6"  # v6: the DRW fit uses its analytic gradient (v5: the agn group joined)  # bump whenever a default group's feature definition changes
REGISTRY: dict[str, ModuleType] = {
    "meta": meta, "photometry": photometry, "timescales": timescales, "powerlaw": powerlaw,
    "parametric": parametric, "variability": variability, "gp": gp, "parsnip": parsnip, "agn": agn, "fits": fits,
    "blackbody": blackbody,
}
DEFAULT_GROUPS: tuple[str, ...] = ("meta", "photometry", "timescales", "powerlaw", "parametric", "variability", "gp",
                                   "fits", "parsnip", "agn")
GROUP_NAMES: dict[str, tuple[str, ...]] = {group: module.NAMES for group, module in REGISTRY.items()}
BATCH_GROUPS: tuple[str, ...] = tuple(g for g, module in REGISTRY.items() if hasattr(module, "extract_batch"))

__all__ = ["BATCH_GROUPS", "DEFAULT_GROUPS", "FEATURES_VERSION", "GROUP_NAMES", "REGISTRY", "ObjectLightCurve",
           "TableRequest", "cache_entries", "extract_object", "feature_table", "feature_group", "group_versions",
           "make_object", "perturbed_redshift"]


class TableRequest(NamedTuple):
    """One default-group feature table a notebook reads: feature_table(dataset, kind, redshift_seed=...)."""

    kind: str  # "train" | "test"
    redshift_seed: int | None = None  # train only: Z perturbed like the test's photometric Z by this draw
    copies: int = 0  # train only: the features of this many degraded copies of every object instead

    @property
    def name(self) -> str:
        if self.kind == "test":
            return "test"
        name = "train, spectroscopic Z" if self.redshift_seed is None else f"train, Z draw {self.redshift_seed}"
        return name + (f", {self.copies} degraded copies" if self.copies else "")

    def table(self, dataset, **options) -> pd.DataFrame:
        """feature_table of this request; `options`: its other keywords (n_jobs, cache_dir, progress)."""
        return feature_table(dataset, self.kind, redshift_seed=self.redshift_seed, copies=self.copies, **options)


def extract_object(obj: ObjectLightCurve, groups: Sequence[str] = DEFAULT_GROUPS) -> dict[str, float]:
    """All features of the chosen groups for one object (NaN where a feature is undefined); a batch group
    runs its model on this one object (feature_table batches many objects instead)."""
    features: dict[str, float] = {}
    for group in groups:
        module = REGISTRY[group]
        features.update(module.extract_batch([obj])[0] if group in BATCH_GROUPS else module.extract(obj))
    return features


def _extract_chunk(objects: list[ObjectLightCurve], groups: Sequence[str]) -> list[dict[str, float]]:
    # One BLAS thread: the small matrices of the GP fits run ~10x slower with threads fighting over 2 cores.
    # NaN/inf from empty or flat bands are expected and kept as NaN.
    with threadpool_limits(1), np.errstate(all="ignore"):
        return [extract_object(obj, groups) for obj in objects]


def feature_group(column: str) -> str:
    """The group that produces a feature column."""
    for group, names in GROUP_NAMES.items():
        if column in names:
            return group
    raise KeyError(f"no feature group makes column {column!r}")


def group_versions(groups: Iterable[str]) -> dict[str, int]:
    """The own VERSION of each of these groups whose module has one: a candidate group bumps it when its
    definition changes, so its cached tables and scores are never read again while FEATURES_VERSION (and
    so every default-group table and trained run) stays valid."""
    return {g: REGISTRY[g].VERSION for g in sorted(groups) if hasattr(REGISTRY[g], "VERSION")}


def _cache_path(dataset, kind: str, groups: Sequence[str], redshift_seed: int | None,
                cache_dir: str | os.PathLike | None) -> Path:
    spec = [dataset.fingerprint, FEATURES_VERSION, kind, sorted(groups), redshift_seed]
    versions = group_versions(groups)
    if versions:  # groups without a VERSION keep the keys they were cached under before versions existed
        spec.append(versions)
    key = hashlib.sha1(json.dumps(spec).encode()).hexdigest()[:16]
    root = cache_root(cache_dir) / "features"
    return root / f"{kind}-{key}.parquet"


def cache_entries(dataset, kind: str, *, groups: Iterable[str] | None = None, redshift_seed: int | None = None,
                  cache_dir: str | os.PathLike | None = None, copies: int = 0) -> list[Path]:
    """The cache files feature_table(dataset, kind, groups=..., redshift_seed=..., copies=...) reads: the
    per-object groups' table and each batch group's own (a request is cached when all of them exist)."""
    groups = checked_request(kind, groups, redshift_seed, copies)
    if copies:  # the keys need only the copies' fingerprint, not the copies
        dataset = dataclasses.replace(dataset, fingerprint=copies_fingerprint(dataset.fingerprint, copies, COPY_SEED))
    per_object = [g for g in groups if g not in BATCH_GROUPS]
    paths = [_cache_path(dataset, kind, per_object, redshift_seed, cache_dir)] if per_object else []
    return paths + [_cache_path(dataset, kind, [g], None, cache_dir) for g in groups if g in BATCH_GROUPS]


def checked_request(kind: str, groups: Iterable[str] | None, redshift_seed: int | None, copies: int = 0) -> list[str]:
    """The groups a feature-table request asks for (DEFAULT_GROUPS when None), after checking the request."""
    if kind not in ("train", "test"):
        raise ValueError(f"kind must be 'train' or 'test', not {kind!r}")
    groups = list(DEFAULT_GROUPS) if groups is None else list(groups)
    unknown = sorted(set(groups) - set(REGISTRY))
    if unknown:
        raise ValueError(f"unknown feature group(s) {unknown}; known: {list(REGISTRY)}")
    if redshift_seed is not None and kind != "train":
        raise ValueError("redshift_seed perturbs training redshifts only; the test's are already photometric")
    if copies and kind != "train":
        raise ValueError("copies are made of training objects only (they are extra training rows)")
    if copies < 0:
        raise ValueError(f"copies must be 0 (the objects themselves) or more, not {copies}")
    return groups


def feature_table(dataset, kind: str, *, n_jobs: int = -1, cache_dir: str | os.PathLike | None = None,
                  groups: Iterable[str] | None = None, redshift_seed: int | None = None,
                  progress: bool = True, copies: int = 0) -> pd.DataFrame:
    """Features of every `kind` ('train' or 'test') object, indexed by object_id in log order.

    `redshift_seed`: for 'train' only, replace Z by `perturbed_redshift(train, test, seed)` before
    extraction, so rest-frame features carry the test's photometric-redshift noise.
    `copies`: for 'train' only, the features of that many degraded copies of every training object
    (`utils.lightcurve_copies.degraded_copies` with COPY_SEED; ids "<object_id>~copy<k>") instead.
    """
    groups = checked_request(kind, groups, redshift_seed, copies)
    if copies:
        dataset = degraded_copies(dataset, copies, COPY_SEED)
    if any(group in BATCH_GROUPS for group in groups):
        return with_batch_groups(dataset, kind, groups, lambda per_object: feature_table(
            dataset, kind, n_jobs=n_jobs, cache_dir=cache_dir, groups=per_object, redshift_seed=redshift_seed,
            progress=progress), cache_dir, progress)
    path = _cache_path(dataset, kind, groups, redshift_seed, cache_dir)
    if path.is_file():
        return pd.read_parquet(path)

    log = dataset.log(kind)
    z = perturbed_redshift(dataset.train_log, dataset.test_log, redshift_seed) if redshift_seed is not None else None
    objects = list(iter_objects(deextinct(dataset.lightcurves(kind), log["EBV"]), log, z))
    n_workers = os.cpu_count() if n_jobs == -1 else max(1, n_jobs)
    chunks = [objects[i::n_workers * 8] for i in range(min(len(objects), n_workers * 8))]
    results = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_extract_chunk)(chunk, groups) for chunk in chunks)
    rows: dict[str, dict[str, float]] = {}
    for chunk, features in zip(chunks, tqdm(results, total=len(chunks), desc=f"features {kind}", disable=not progress)):
        rows.update({obj.object_id: f for obj, f in zip(chunk, features)})
        progress_count(f"features {kind}" + (f" (z draw {redshift_seed})" if redshift_seed is not None else ""),
                       len(rows), len(objects), len(chunk))
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(log.index).astype("float64")
    table.index.name = "object_id"
    return write_table(table, path)


def write_table(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Cache a feature table: written beside the target and renamed (utils.atomic), so a reader never sees half
    a file, two processes writing the same entry each leave a whole one, and a failed write leaves no litter."""
    write_atomically(path, table.to_parquet)
    return table


def with_batch_groups(dataset, kind: str, groups: Sequence[str],
                      per_object_table: Callable[[list[str]], pd.DataFrame],
                      cache_dir: str | os.PathLike | None, progress: bool) -> pd.DataFrame:
    """A request that holds batch groups: the per-object groups from `per_object_table` (joblib or Dask),
    each batch group from its own cache entry (one model over all objects, never per redshift draw)."""
    per_object = [g for g in groups if g not in BATCH_GROUPS]
    parts = [per_object_table(per_object)] if per_object else []
    parts += [_batch_table(dataset, kind, g, cache_dir, progress) for g in groups if g in BATCH_GROUPS]
    return pd.concat(parts, axis=1)[[name for g in groups for name in GROUP_NAMES[g]]]


def _batch_table(dataset, kind: str, group: str, cache_dir: str | os.PathLike | None, progress: bool) -> pd.DataFrame:
    """A batch group's table, cached on its own (never per redshift draw)."""
    path = _cache_path(dataset, kind, [group], None, cache_dir)
    if path.is_file():
        return pd.read_parquet(path)
    module = REGISTRY[group]
    log = dataset.log(kind)
    objects = list(iter_objects(deextinct(dataset.lightcurves(kind), log["EBV"]), log, *module.redshifts(dataset, kind)))
    table = pd.DataFrame(module.extract_batch(objects, progress=progress), index=log.index,
                         columns=list(module.NAMES)).astype("float64")
    table.index.name = "object_id"
    return write_table(table, path)

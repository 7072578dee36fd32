"""One engine for every feature table: objects in, a cached DataFrame out, on joblib or on Dask.

    from utils.features import feature_table
    train_features = feature_table(dataset, "train")            # DataFrame indexed by object_id, log order
    test_features = feature_table(dataset, "test")
    with dask_executor(n_workers=4) as executor:                 # utils.features.distributed
        test_features = feature_table(dataset, "test", executor=executor)

Light curves are de-extinguished first (utils.data.objects). Tables are cached under <cache>/features/, keyed
on the data fingerprint, FEATURES_VERSION, the groups (with the own VERSION of any group module that has
one) and the redshift perturbation, so a second call costs a parquet read, whichever executor made it.
A batch group (a neural model, faster over many objects) is cached on its own and its training table is
built once, not per redshift draw (its module's `redshifts` says which redshifts it sees).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Protocol, Sequence

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ..atomic import write_atomically
from ..data.copies import COPY_SEED, copies_fingerprint, degraded_copies
from ..data.lightcurve import ObjectLightCurve, objects
from ..data.load import cache_root
from ..data.redshift import perturbed_redshift
from ..progress import progress_count
from .draws import redraw, transformable
from .registry import (BATCH_GROUPS, DEFAULT_GROUPS, FEATURES_VERSION, GROUP_NAMES, REGISTRY, extract_object,
                       group_versions)

Rows = dict[str, dict[str, float]]
DRAW_METHODS = ("transform", "extract")
# How a redshift draw's training table is made: "transform" moves the table extracted once at the log's Z
# (utils.features.draws); "extract" extracts every object again at the drawn Z. Transform is the default: notebook
# 05's GBDT scored no worse (docs/results.md, "Redshift draws") for a fraction of notebook 02's extraction.
DRAWS = "transform"


class Executor(Protocol):
    """Runs `function` (a list of objects -> one feature dict each) over all objects; {object_id: features}."""

    def map(self, function: Callable[[list[ObjectLightCurve]], list[dict[str, float]]],
            objects: list[ObjectLightCurve], *, label: str, progress: bool) -> Rows: ...


@dataclasses.dataclass(frozen=True)
class JoblibExecutor:
    """Local worker processes (joblib), `n_jobs` of them (-1: one per core), each given interleaved chunks."""

    n_jobs: int = -1

    def map(self, function, objects, *, label: str, progress: bool) -> Rows:
        n_workers = os.cpu_count() if self.n_jobs == -1 else max(1, self.n_jobs)
        chunks = [objects[i::n_workers * 8] for i in range(min(len(objects), n_workers * 8))]
        results = Parallel(n_jobs=self.n_jobs, return_as="generator")(delayed(function)(chunk) for chunk in chunks)
        rows: Rows = {}
        for chunk, values in zip(chunks, tqdm(results, total=len(chunks), desc=label, disable=not progress)):
            rows.update({obj.object_id: v for obj, v in zip(chunk, values)})
            progress_count(label, len(rows), len(objects), len(chunk))
        return rows


class TableRequest(NamedTuple):
    """One default-group feature table a notebook reads: feature_table(dataset, kind, redshift_seed=...)."""

    kind: str  # "train" | "test"
    redshift_seed: int | None = None  # train only: Z perturbed like the test's photometric Z by this draw
    copies: int = 0  # train only: the features of this many degraded copies of every object instead
    draws: str = DRAWS  # how a redshift draw is made: "transform" or "extract" (feature_table)

    @property
    def name(self) -> str:
        if self.kind == "test":
            return "test"
        name = "train, spectroscopic Z" if self.redshift_seed is None else f"train, Z draw {self.redshift_seed}"
        return name + (f", {self.copies} degraded copies" if self.copies else "")

    def table(self, dataset, **options) -> pd.DataFrame:
        """feature_table of this request; `options`: its other keywords (n_jobs, executor, cache_dir, progress)."""
        return feature_table(dataset, self.kind, redshift_seed=self.redshift_seed, copies=self.copies,
                             draws=self.draws, **options)


def extract_chunk(objects: list[ObjectLightCurve], groups: Sequence[str]) -> list[dict[str, float]]:
    """Every object's features of the (per-object) groups: what one worker runs."""
    # One BLAS thread: the small matrices of the GP fits run ~10x slower with threads fighting over 2 cores.
    # NaN/inf from empty or flat bands are expected and kept as NaN.
    with threadpool_limits(1), np.errstate(all="ignore"):
        return [extract_object(obj, groups) for obj in objects]


def cache_path(dataset, kind: str, groups: Sequence[str], redshift_seed: int | None,
               cache_dir: str | os.PathLike | None) -> Path:
    """Where the table of these groups under this redshift draw is cached."""
    spec = [dataset.fingerprint, FEATURES_VERSION, kind, sorted(groups), redshift_seed]
    versions = group_versions(groups)
    if versions:  # groups without a VERSION keep the keys they were cached under before versions existed
        spec.append(versions)
    key = hashlib.sha1(json.dumps(spec).encode()).hexdigest()[:16]
    root = cache_root(cache_dir) / "features"
    return root / f"{kind}-{key}.parquet"


def cache_entries(dataset, kind: str, *, groups: Iterable[str] | None = None, redshift_seed: int | None = None,
                  cache_dir: str | os.PathLike | None = None, copies: int = 0, draws: str = DRAWS) -> list[Path]:
    """The cache files feature_table(dataset, kind, groups=..., redshift_seed=..., copies=...) reads: the
    per-object groups' table and each batch group's own (a request is cached when all of them exist); a
    transformed draw reads the reference table's."""
    groups = checked_request(kind, groups, redshift_seed, copies, draws)
    if redshift_seed is not None and draws == "transform" and transformable(groups):
        redshift_seed = None
    if copies:  # the keys need only the copies' fingerprint, not the copies
        dataset = dataclasses.replace(dataset, fingerprint=copies_fingerprint(dataset.fingerprint, copies, COPY_SEED))
    per_object = [g for g in groups if g not in BATCH_GROUPS]
    paths = [cache_path(dataset, kind, per_object, redshift_seed, cache_dir)] if per_object else []
    return paths + [cache_path(dataset, kind, [g], None, cache_dir) for g in groups if g in BATCH_GROUPS]


def checked_request(kind: str, groups: Iterable[str] | None, redshift_seed: int | None, copies: int = 0,
                    draws: str = DRAWS) -> list[str]:
    """The groups a feature-table request asks for (DEFAULT_GROUPS when None), after checking the request."""
    if draws not in DRAW_METHODS:
        raise ValueError(f"draws must be one of {DRAW_METHODS}, not {draws!r}")
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


def feature_table(dataset, kind: str, *, n_jobs: int = -1, executor: Executor | None = None,
                  cache_dir: str | os.PathLike | None = None, groups: Iterable[str] | None = None,
                  redshift_seed: int | None = None, progress: bool = True, copies: int = 0,
                  draws: str = DRAWS) -> pd.DataFrame:
    """Features of every `kind` ('train' or 'test') object, indexed by object_id in log order.

    `executor`: where the per-object groups run (default JoblibExecutor(n_jobs); utils.features.distributed
    has a Dask one); the table and its cache entry are the same whichever runs it.
    `redshift_seed`: for 'train' only, replace Z by `perturbed_redshift(train, test, seed)` before
    extraction, so rest-frame features carry the test's photometric-redshift noise.
    `copies`: for 'train' only, the features of that many degraded copies of every training object
    (`utils.data.copies.degraded_copies` with COPY_SEED; ids "<object_id>~copy<k>") instead.
    `draws`: how a redshift draw's table is made (DRAWS): "transform" moves the table at the log's Z
    (utils.features.draws; groups that declare no REDSHIFT_RULES are extracted again), "extract" extracts again.
    """
    groups = checked_request(kind, groups, redshift_seed, copies, draws)
    executor = executor or JoblibExecutor(n_jobs)
    if copies:
        dataset = degraded_copies(dataset, copies, COPY_SEED)
    if redshift_seed is not None and draws == "transform" and transformable(groups):
        reference = _assembled_table(dataset, kind, groups, None, executor, cache_dir, progress, copies)
        z_new = perturbed_redshift(dataset.train_log, dataset.test_log, redshift_seed)
        return redraw(reference, groups, dataset.train_log["Z"], z_new)
    return _assembled_table(dataset, kind, groups, redshift_seed, executor, cache_dir, progress, copies)


def _assembled_table(dataset, kind: str, groups: list[str], redshift_seed: int | None, executor: Executor,
                     cache_dir: str | os.PathLike | None, progress: bool, copies: int = 0) -> pd.DataFrame:
    """The per-object groups' table (extracted or cached) joined with each batch group's own."""
    per_object = [g for g in groups if g not in BATCH_GROUPS]
    batch = [g for g in groups if g in BATCH_GROUPS]
    parts = ([_per_object_table(dataset, kind, per_object, redshift_seed, executor, cache_dir, progress, copies)]
             if per_object else [])
    parts += [_batch_table(dataset, kind, group, cache_dir, progress) for group in batch]
    if not batch:
        return parts[0]
    return pd.concat(parts, axis=1)[[name for g in groups for name in GROUP_NAMES[g]]]


def _per_object_table(dataset, kind: str, groups: list[str], redshift_seed: int | None, executor: Executor,
                      cache_dir: str | os.PathLike | None, progress: bool, copies: int = 0) -> pd.DataFrame:
    path = cache_path(dataset, kind, groups, redshift_seed, cache_dir)
    if path.is_file():
        return pd.read_parquet(path)
    log = dataset.log(kind)
    z = perturbed_redshift(dataset.train_log, dataset.test_log, redshift_seed) if redshift_seed is not None else None
    label = (f"features {kind}" + (f" ({copies} copies)" if copies else "")
             + (f" (z draw {redshift_seed})" if redshift_seed is not None else ""))
    rows = executor.map(functools.partial(extract_chunk, groups=groups), list(objects(dataset, kind, z)),
                        label=label, progress=progress)
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(log.index).astype("float64")
    table.index.name = "object_id"
    return write_table(table, path)


def _batch_table(dataset, kind: str, group: str, cache_dir: str | os.PathLike | None, progress: bool) -> pd.DataFrame:
    """A batch group's table, cached on its own (never per redshift draw)."""
    path = cache_path(dataset, kind, [group], None, cache_dir)
    if path.is_file():
        return pd.read_parquet(path)
    module = REGISTRY[group]
    log = dataset.log(kind)
    batch = list(objects(dataset, kind, *module.redshifts(dataset, kind)))
    table = pd.DataFrame(module.extract_batch(batch, progress=progress), index=log.index,
                         columns=list(module.NAMES)).astype("float64")
    table.index.name = "object_id"
    return write_table(table, path)


def write_table(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Cache a feature table: written beside the target and renamed (utils.atomic), so a reader never sees half
    a file, two processes writing the same entry each leave a whole one, and a failed write leaves no litter."""
    write_atomically(path, table.to_parquet)
    return table

"""Feature extraction past one machine: partitions of objects on a Dask (`dask.distributed`) cluster.

    from utils.distributed import distributed_feature_table
    test_features = distributed_feature_table(dataset, "test")                        # 2 local worker processes
    test_features = distributed_feature_table(dataset, "test", scheduler="tcp://head:8786")  # a running cluster

The result is what `utils.features.feature_table(dataset, kind)` returns, column for column and value
for value, and it goes into (and is served from) the same parquet cache entry, so either path serves the
other. Objects are de-extinguished and cut into partitions on the driver; each partition is scattered
to the cluster on its own just before its task is submitted, and only a few partitions per worker are
in flight at once, so no task carries the whole data set and the workers' memory stays bounded.
Workers of a remote cluster need this repository importable (same environment, same code).
`map_partitions` runs any function of a list of objects the same way.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
from typing import Callable, Iterable, Iterator, TypeVar

import dask
import pandas as pd
from distributed import Client, LocalCluster, as_completed
from tqdm.auto import tqdm

from .features import (BATCH_GROUPS, _cache_path, _extract_chunk, checked_request, iter_objects,
                       perturbed_redshift, with_batch_groups, write_table)
from .features.lightcurve import ObjectLightCurve
from .preprocess import deextinct

T = TypeVar("T")
IN_FLIGHT_PER_THREAD = 2  # partitions queued per worker thread: enough to keep it busy, few enough to bound memory


@contextlib.contextmanager
def cluster_client(scheduler: str | None = None, *, n_workers: int = 2, processes: bool = True) -> Iterator[Client]:
    """A Client on the cluster at `scheduler`, or on a fresh LocalCluster of `n_workers` one-thread workers.

    A local cluster is shut down on exit; a remote one is left running (only the client closes).
    """
    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with local_cluster(n_workers, processes=processes) as cluster, Client(cluster) as client:
        yield client


@contextlib.contextmanager
def local_cluster(n_workers: int, *, processes: bool = True) -> Iterator[LocalCluster]:
    """A LocalCluster of `n_workers` one-thread workers, tuned for this CPU-bound, allocation-heavy feature code.

    Two of Dask's defaults cost this code ~30 % of its speed (28.4 vs 39.9 objects/s on one worker, docs/results.md):
    - the nanny exports MALLOC_TRIM_THRESHOLD_=65536 to its workers, and setting it at all switches off
      glibc's adaptive mmap threshold, so every large numpy temporary (the GP's covariance matrices) is
      mmapped and page-faulted anew (GP kernel 2.7x slower in a worker); left unset here;
    - the statistical profiler samples each worker thread's stack every 10 ms; off here.
    The nanny writes its spawn environment into this process's os.environ; it is restored afterwards, so
    later child processes (joblib, papermill) do not inherit one-thread BLAS limits. No dashboard: its
    fixed port clashes between concurrent runs on one machine, and nothing here reads it.
    """
    if n_workers < 1:
        raise ValueError(f"n_workers must be at least 1, not {n_workers}")
    environ = dict(os.environ)
    settings = {"distributed.worker.profile.enabled": False,
                "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
    with dask.config.set(settings), LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                                                 dashboard_address=None) as cluster:
        os.environ.clear()
        os.environ.update(environ)
        yield cluster


def partitions(objects: Iterable[ObjectLightCurve], size: int) -> Iterator[list[ObjectLightCurve]]:
    """Consecutive lists of `size` objects (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"partition_size must be at least 1, not {size}")
    iterator = iter(objects)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _run_partition(function: Callable[[list[ObjectLightCurve]], list[T]],
                   objects: list[ObjectLightCurve]) -> tuple[list[str], list[T]]:
    return [obj.object_id for obj in objects], function(objects)


def map_partitions(function: Callable[[list[ObjectLightCurve]], list[T]], objects: Iterable[ObjectLightCurve],
                   client: Client, *, partition_size: int = 500, n_objects: int | None = None,
                   progress: bool = True, desc: str = "partitions") -> dict[str, T]:
    """{object_id: result} of `function` (one result per object, in order) over partitions on `client`.

    `function` must be picklable (a module-level function or a functools.partial of one). Partitions are
    scattered one at a time as earlier ones finish, so the driver never queues the whole set at once.
    `n_objects` only sizes the progress bar.
    """
    batches = partitions(objects, partition_size)
    in_flight = max(1, IN_FLIGHT_PER_THREAD * sum(client.nthreads().values()))
    pending = as_completed()

    def submit_next() -> None:
        batch = next(batches, None)
        if batch is not None:
            [data] = client.scatter([batch], hash=False)
            pending.add(client.submit(_run_partition, function, data, pure=False))

    for _ in range(in_flight):
        submit_next()
    total = None if n_objects is None else -(-n_objects // partition_size)
    results: dict[str, T] = {}
    with tqdm(total=total, desc=desc, disable=not progress) as bar:
        for future in pending:
            object_ids, values = future.result()
            results.update(zip(object_ids, values))
            future.release()
            bar.update()
            submit_next()
    return results


def distributed_feature_table(dataset, kind: str, *, scheduler: str | None = None, n_workers: int = 2,
                              partition_size: int = 500, groups: Iterable[str] | None = None,
                              progress: bool = True, processes: bool = True,
                              cache_dir: str | os.PathLike | None = None,
                              redshift_seed: int | None = None, client: Client | None = None) -> pd.DataFrame:
    """`feature_table(dataset, kind, groups=..., redshift_seed=..., cache_dir=...)`, extracted on Dask.

    `scheduler`: address of a running cluster ("tcp://host:8786"); None starts a LocalCluster of
    `n_workers` single-thread worker processes (`processes=False`: threads in this process, for tests).
    `client`: an open Client to use instead (one cluster for many calls, as utils.predict does per chunk).
    """
    groups = checked_request(kind, groups, redshift_seed)
    if partition_size < 1:
        raise ValueError(f"partition_size must be at least 1, not {partition_size}")
    if any(group in BATCH_GROUPS for group in groups):
        # A batch group runs one model over all objects at once (feature_table does the same): on the driver.
        return with_batch_groups(dataset, kind, groups, lambda per_object: distributed_feature_table(
            dataset, kind, scheduler=scheduler, n_workers=n_workers, partition_size=partition_size,
            groups=per_object, progress=progress, processes=processes, cache_dir=cache_dir,
            redshift_seed=redshift_seed, client=client), cache_dir, progress)
    path = _cache_path(dataset, kind, groups, redshift_seed, cache_dir)
    if path.is_file():
        return pd.read_parquet(path)

    log = dataset.log(kind)
    z = perturbed_redshift(dataset.train_log, dataset.test_log, redshift_seed) if redshift_seed is not None else None
    objects = iter_objects(deextinct(dataset.lightcurves(kind), log["EBV"]), log, z)
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(cluster_client(scheduler, n_workers=n_workers, processes=processes))
        rows = map_partitions(functools.partial(_extract_chunk, groups=groups), objects, client,
                              partition_size=partition_size, n_objects=len(log), progress=progress,
                              desc=f"features {kind} (dask)")
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(log.index).astype("float64")
    table.index.name = "object_id"
    return write_table(table, path)


__all__ = ["cluster_client", "distributed_feature_table", "local_cluster", "map_partitions", "partitions"]

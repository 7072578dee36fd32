"""Feature extraction past one machine: partitions of objects on a Dask (`dask.distributed`) cluster.

    from utils.features import feature_table
    from utils.features.distributed import dask_executor
    with dask_executor(n_workers=2) as executor:                         # 2 local worker processes
        test_features = feature_table(dataset, "test", executor=executor)
    with dask_executor(scheduler="tcp://head:8786") as executor:         # a running cluster
        ...

The table is what the default (joblib) executor gives, column for column and value for value, and it
goes into (and is served from) the same parquet cache entry. Objects are de-extinguished and cut into
partitions on the driver (utils.features.table); each partition is scattered
to the cluster on its own just before its task is submitted, and only a few partitions per worker are
in flight at once, so no task carries the whole data set and the workers' memory stays bounded.
Workers of a remote cluster need this repository importable (same environment, same code).
`map_partitions` runs any function of a list of objects the same way.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, TypeVar

import dask
from distributed import Client, LocalCluster, as_completed
from tqdm.auto import tqdm

from ..data.lightcurve import ObjectLightCurve

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

    Two of Dask's defaults cost this code a large share of its speed (docs/results.md, "Predict and Dask"):
    - the nanny exports MALLOC_TRIM_THRESHOLD_=65536 to its workers, and setting it at all switches off
      glibc's adaptive mmap threshold, so every large numpy temporary (the GP's covariance matrices) is
      mmapped and page-faulted anew (the GP kernel runs several times slower in a worker); left unset here;
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


@dataclass
class DaskExecutor:
    """A feature_table executor (utils.features.table.Executor) on an open Client: partitions of
    `partition_size` objects, a few per worker thread in flight."""

    client: Client
    partition_size: int = 500

    def __post_init__(self) -> None:
        if self.partition_size < 1:
            raise ValueError(f"partition_size must be at least 1, not {self.partition_size}")

    def map(self, function, objects, *, label: str, progress: bool) -> dict:
        return map_partitions(function, objects, self.client, partition_size=self.partition_size,
                              n_objects=len(objects), progress=progress, desc=f"{label} (dask)")


@contextlib.contextmanager
def dask_executor(scheduler: str | None = None, *, n_workers: int = 2, processes: bool = True,
                  partition_size: int = 500) -> Iterator[DaskExecutor]:
    """A DaskExecutor on the cluster at `scheduler`, or on a fresh LocalCluster of `n_workers` single-thread
    worker processes (`processes=False`: threads in this process, for tests); shut down on exit."""
    with cluster_client(scheduler, n_workers=n_workers, processes=processes) as client:
        yield DaskExecutor(client, partition_size)


__all__ = ["DaskExecutor", "cluster_client", "dask_executor", "local_cluster", "map_partitions", "partitions"]

"""Throughput and memory of `feature_table` on the Dask executor on local Dask clusters of 1 and 2 workers.

    .venv/bin/python benchmarks/dask_speed.py --data-dir ../shared/mallorn --objects 50000 [--workers 1,2]

The batch repeats the test set (object ids suffixed `_c<copy>`) until it holds `--objects` objects.
Each measurement extracts into its own temporary cache, so it is cold, on a fresh LocalCluster of
single-thread worker processes (`utils.features.distributed.local_cluster`: no profiler, no dashboard); the
cluster's start-up is timed apart from the extraction. Before the clusters, the first `--reference`
objects are extracted in this process on one core (no Dask) as the yardstick for Dask's overhead. Memory:
each worker's peak resident set (Linux VmHWM, else the largest RSS sampled through `client.run` every
`SAMPLE_SECONDS`), and the driver's largest RSS sampled during the extraction (the driver also hosts the
scheduler and the nannies). Core-hours for 10 million objects = 10^7 / (objects/s) x workers / 3600.
Prints a markdown table.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import threading
import time

import common  # first: puts the project root on sys.path
import pandas as pd
import psutil
from distributed import Client

from utils.data.load import Dataset, load_dataset
from utils.features import BATCH_GROUPS, DEFAULT_GROUPS, feature_table
from utils.features.distributed import DaskExecutor, local_cluster
from utils.features.table import extract_chunk


PROJECTED_OBJECTS = 10_000_000
SAMPLE_SECONDS = 0.25
MB = 2 ** 20


def repeated_test_set(dataset: Dataset, n_objects: int) -> Dataset:
    """The dataset with its test log and light curves repeated (ids suffixed per copy) to `n_objects` objects."""
    log, lightcurves = dataset.test_log, dataset.test_lc
    copies = math.ceil(n_objects / len(log))
    logs, curves = [], []
    for copy in range(copies):
        suffix = f"_c{copy}"
        logs.append(log.set_axis(log.index.astype(str) + suffix))
        curves.append(lightcurves.assign(object_id=lightcurves["object_id"].astype(str) + suffix))
    batch_log = pd.concat(logs).iloc[:n_objects]
    batch_log.index.name = log.index.name
    batch_lc = pd.concat(curves, ignore_index=True)
    batch_lc = batch_lc[batch_lc["object_id"].isin(batch_log.index)].reset_index(drop=True)
    return dataclasses.replace(dataset, test_log=batch_log, test_lc=batch_lc,
                               fingerprint=f"{dataset.fingerprint}-repeated-{n_objects}")


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / MB


def _peak_rss_mb() -> float:
    """This process's peak RSS from /proc (Linux), or NaN elsewhere.

    Not getrusage: a spawned worker's ru_maxrss starts at its parent's peak (the driver, holding the data).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class MemorySampler(threading.Thread):
    """Samples the RSS of every worker (through client.run) and of the driver until stopped."""

    def __init__(self, client: Client):
        super().__init__(daemon=True)
        self.client, self.workers, self.driver = client, {}, _rss_mb()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(SAMPLE_SECONDS)

    def sample(self) -> None:
        self.driver = max(self.driver, _rss_mb())
        for worker, rss in self.client.run(_rss_mb).items():
            self.workers[worker] = max(self.workers.get(worker, 0.0), rss)

    def stop(self) -> dict[str, float]:
        """Stop sampling; each worker's peak RSS in MB (the kernel's high-water mark where there is one)."""
        self._stop_event.set()
        self.join()
        self.sample()
        for worker, peak in self.client.run(_peak_rss_mb).items():
            if peak == peak:  # not NaN
                self.workers[worker] = max(self.workers.get(worker, 0.0), peak)
        return self.workers


def measure(batch: Dataset, n_workers: int, partition_size: int, groups: list[str]) -> dict[str, float]:
    started = time.perf_counter()
    with local_cluster(n_workers) as cluster, \
            Client(cluster) as client:
        start_seconds = time.perf_counter() - started
        sampler = MemorySampler(client)
        sampler.start()
        with tempfile.TemporaryDirectory() as cache:
            started = time.perf_counter()
            table = feature_table(batch, "test", executor=DaskExecutor(client, partition_size), groups=groups,
                                  cache_dir=cache, progress=False)
            seconds = time.perf_counter() - started
        worker_peaks = sampler.stop()
    if len(table) != len(batch.test_log):
        raise RuntimeError(f"extracted {len(table)} rows for {len(batch.test_log)} objects")
    rate = len(table) / seconds
    return {"workers": n_workers, "objects": len(table), "start_s": start_seconds, "seconds": seconds,
            "rate": rate, "worker_mb": max(worker_peaks.values()), "driver_mb": sampler.driver,
            "core_hours": PROJECTED_OBJECTS / rate * n_workers / 3600}


def in_process_ms_per_object(batch: Dataset, n_objects: int, groups: list[str]) -> float:
    """Milliseconds per object of `extract_chunk` in this process (one core, no Dask), after a short warm-up."""
    objects = common.objects_of(batch, "test", batch.test_log.iloc[:n_objects])
    extract_chunk(objects[:20], groups)  # imports and first-call set-up, which a worker pays once per run
    started = time.perf_counter()
    extract_chunk(objects, groups)
    return (time.perf_counter() - started) * 1000 / len(objects)


COLUMNS = ("workers", "objects", "cluster start (s)", "extraction (s)", "objects/s", "objects/s per worker",
           "peak RSS per worker (MB)", "driver peak RSS (MB)", "core-hours for 10M objects")


def cells(r: dict[str, float]) -> list[str]:
    """One table row of a measurement, in COLUMNS order."""
    return [str(r["workers"]), f"{r['objects']:,}", f"{r['start_s']:.1f}", f"{r['seconds']:.1f}", f"{r['rate']:.1f}",
            f"{r['rate'] / r['workers']:.1f}", f"{r['worker_mb']:.0f}", f"{r['driver_mb']:.0f}",
            f"{r['core_hours']:.1f}"]


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--objects", type=int, default=50_000)
    parser.add_argument("--workers", type=common.int_list, default="1,2",
                        help="comma-separated local cluster sizes to measure")
    parser.add_argument("--partition-size", type=int, default=500)
    parser.add_argument("--reference", type=int, default=1000, help="objects for the in-process yardstick (0: skip)")
    # Batch groups (parsnip) run one model over the whole batch on the driver, not on the workers: left out.
    per_object = [g for g in DEFAULT_GROUPS if g not in BATCH_GROUPS]
    parser.add_argument("--groups", type=common.names, default=",".join(per_object),
                        help=f"comma-separated subset of {per_object}")
    args = parser.parse_args(argv)
    if args.objects < 1:
        parser.error("--objects must be at least 1")
    groups = args.groups
    batch = repeated_test_set(load_dataset(args.data_dir), args.objects)
    print(f"batch: {len(batch.test_log):,} objects, {len(batch.test_lc):,} observations; "
          f"partitions of {args.partition_size}", flush=True)
    if args.reference > 0:
        ms = in_process_ms_per_object(batch, args.reference, groups)
        print(f"in-process yardstick (first {min(args.reference, len(batch.test_log)):,} objects, one core, no Dask): "
              f"{ms:.1f} ms/object = {1000 / ms:.1f} objects/s", flush=True)
    common.print_header(COLUMNS)
    for n in args.workers:  # each row as soon as it is measured: a long run shows its first figures early
        common.print_row(cells(measure(batch, n, args.partition_size, groups)))
    return 0


if __name__ == "__main__":
    common.run(main)

"""Wall time and peak memory of physics-feature extraction for every train and test object.

    .venv/bin/python benchmarks/features_speed.py --data-dir ../shared/mallorn [--n-jobs 2] [--groups gp,variability]
    .venv/bin/python benchmarks/features_speed.py --data-dir ../shared/mallorn --groups fits --objects 500

Extraction runs into a temporary cache, so every run measures a cold extraction, never a cache hit: the part done
once per object (every group's fits, at the log's redshift). Then one redshift draw of the training table, made as
notebook 05's are (utils.features.table.DRAWS: a transform of the cached table), is timed apart: the part paid per
draw. Peak memory is the largest resident set of this process and of its joblib workers.

With --objects N: no joblib and no cache; each group's extract runs on N evenly spaced train objects and
N evenly spaced test objects in this process on one core (one BLAS thread), and the wall and CPU
milliseconds per object are printed per group: the cost of a group on one core (a batch group such as
parsnip runs once over all the objects, its network on one thread).
"""

from __future__ import annotations

import resource
import tempfile
import time

import common  # first: puts the project root on sys.path
import numpy as np
from joblib.externals.loky import get_reusable_executor
from threadpoolctl import threadpool_limits

from utils.data.load import load_dataset
from utils.features import BATCH_GROUPS, DEFAULT_GROUPS, REGISTRY, feature_table
from utils.features.table import DRAWS



def peak_memory_mb() -> tuple[float, float]:
    """(this process, largest finished child) peak resident set size in MB (Linux reports kB)."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def time_groups_on_one_core(dataset, groups: list[str], n_objects: int) -> None:
    """Print each group's wall and CPU ms/object over n_objects train and n_objects test objects."""
    import torch

    objects = [obj for kind in ("train", "test") for obj in common.sample_objects(dataset, kind, n_objects)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a batch group's network on one core too
    with threadpool_limits(1), np.errstate(all="ignore"):
        for group in groups:
            module = REGISTRY[group]
            # A batch group (a network) runs once over all objects, as feature_table calls it.
            extract_all = ((lambda objs: module.extract_batch(objs)) if group in BATCH_GROUPS
                           else (lambda objs: [module.extract(obj) for obj in objs]))
            extract_all(objects[:2])  # imports, model loading and first-call set-up stay out of the figure
            wall, cpu = time.perf_counter(), time.process_time()
            extract_all(objects)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"{group}: {1000 * wall / len(objects):.2f} ms/object wall, {1000 * cpu / len(objects):.2f} ms/object CPU "
                  f"({len(objects)} objects, one core)", flush=True)
    torch.set_num_threads(threads)


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--groups", type=common.names, default=",".join(DEFAULT_GROUPS),
                        help=f"comma-separated subset of {list(REGISTRY)}")
    parser.add_argument("--objects", type=int, default=None,
                        help="time each group on this many train and as many test objects on one core instead")
    args = parser.parse_args(argv)
    groups = args.groups
    dataset = load_dataset(args.data_dir)
    if args.objects:
        time_groups_on_one_core(dataset, groups, args.objects)
        return 0
    total_objects, started_all = 0, time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        for kind in ("train", "test"):
            started = time.perf_counter()
            table = feature_table(dataset, kind, n_jobs=args.n_jobs, cache_dir=cache, groups=groups)
            seconds = time.perf_counter() - started
            total_objects += len(table)
            print(f"{kind}, once per object: {len(table):,} objects x {table.shape[1]} features in {seconds:.1f} s "
                  f"({1000 * seconds / len(table):.1f} ms/object)", flush=True)
        started = time.perf_counter()
        drawn = feature_table(dataset, "train", n_jobs=args.n_jobs, cache_dir=cache, groups=groups,
                              redshift_seed=common.SEED)
        seconds = time.perf_counter() - started
        print(f"train, one redshift draw ({DRAWS}): {len(drawn):,} objects in {seconds:.2f} s "
              f"({1000 * seconds / len(drawn):.3f} ms/object)", flush=True)
    seconds = time.perf_counter() - started_all
    # joblib keeps its workers alive for reuse; shut them down so the OS reports their peak memory.
    get_reusable_executor().shutdown(wait=True)
    own, workers = peak_memory_mb()
    print(f"all: {total_objects:,} objects in {seconds:.1f} s; peak memory {own:.0f} MB (main), {workers:.0f} MB (largest worker)")
    return 0


if __name__ == "__main__":
    common.run(main)

"""Wall time and peak memory of physics-feature extraction for every train and test object.

    .venv/bin/python benchmarks/bench_features.py --data-dir ../shared/mallorn [--n-jobs 2] [--groups gp,variability]

Extraction runs into a temporary cache, so every run measures a cold extraction, never a cache hit.
Peak memory is the largest resident set of this process and of its joblib workers.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from joblib.externals.loky import get_reusable_executor  # noqa: E402

from utils.data import load_dataset  # noqa: E402
from utils.features import DEFAULT_GROUPS, REGISTRY, feature_table  # noqa: E402


def peak_memory_mb() -> tuple[float, float]:
    """(this process, largest finished child) peak resident set size in MB (Linux reports kB)."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--groups", default=",".join(DEFAULT_GROUPS), help=f"comma-separated subset of {list(REGISTRY)}")
    args = parser.parse_args(argv)
    groups = [g for g in args.groups.split(",") if g]
    dataset = load_dataset(args.data_dir)
    total_objects, started_all = 0, time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        for kind in ("train", "test"):
            started = time.perf_counter()
            table = feature_table(dataset, kind, n_jobs=args.n_jobs, cache_dir=cache, groups=groups)
            seconds = time.perf_counter() - started
            total_objects += len(table)
            print(f"{kind}: {len(table):,} objects x {table.shape[1]} features in {seconds:.1f} s "
                  f"({1000 * seconds / len(table):.1f} ms/object)", flush=True)
    seconds = time.perf_counter() - started_all
    # joblib keeps its workers alive for reuse; shut them down so the OS reports their peak memory.
    get_reusable_executor().shutdown(wait=True)
    own, workers = peak_memory_mb()
    print(f"all: {total_objects:,} objects in {seconds:.1f} s; peak memory {own:.0f} MB (main), {workers:.0f} MB (largest worker)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

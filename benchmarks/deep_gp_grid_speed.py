"""Milliseconds per object of the deep models' GP grid (settings['gp_grid']) on a slice of real objects,
next to the GP feature group's (utils.features.gp.extract), both on one core.

    python benchmarks/deep_gp_grid_speed.py --data-dir ../shared/mallorn --objects 50 --steps 64

Reads the first `--objects` training objects (no cache written) and prints both times per object, how many
objects got no GP fit, and the grid's cost scaled to every train + test object.
"""

from __future__ import annotations

import time

import common  # first: puts the project root on sys.path
from threadpoolctl import threadpool_limits

from utils.data.load import load_dataset
from utils.features import gp



def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--objects", type=int, default=50)
    parser.add_argument("--steps", type=int, default=64)
    args = parser.parse_args(argv)
    dataset = load_dataset(args.data_dir)
    objects = common.objects_of(dataset, "train", dataset.train_log.iloc[:args.objects])
    with threadpool_limits(1):
        started = time.perf_counter()
        grids = [gp.mean_std_grid(obj, args.steps) for obj in objects]
        grid_ms = 1000 * (time.perf_counter() - started) / len(objects)
        started = time.perf_counter()
        for obj in objects:
            gp.extract(obj)
        features_ms = 1000 * (time.perf_counter() - started) / len(objects)
    total = len(dataset.train_log) + len(dataset.test_log)
    print(f"{len(objects)} objects, {args.steps} steps: GP grid {grid_ms:.1f} ms/object, GP features "
          f"{features_ms:.1f} ms/object; {sum(g is None for g in grids)} without a fit; all {total:,} train + test "
          f"objects: ~{grid_ms * total / 1000:.0f} s on one core")
    return 0


if __name__ == "__main__":
    common.run(main)

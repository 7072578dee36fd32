"""Wall time and peak memory of load + validate + preprocess for every train and test object.

    python benchmarks/data_speed.py [--data-dir ../shared/mallorn]

Runs each phase in a fresh process so the peak memory (max RSS) belongs to that phase alone:
"cold" starts from an empty cache (reads the CSVs, validates, writes parquet and sequence caches),
"cached" repeats the same work with the caches in place.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import common


def phase(data_dir: str) -> dict:
    """Load, validate and build every model input once; report seconds and peak RSS (the imports included)."""
    started = time.perf_counter()
    from utils.data.load import load_dataset
    from utils.training.sequences import prepare_sequences

    dataset = load_dataset(data_dir)
    loaded = time.perf_counter()
    for kind in ("train", "test"):
        prepare_sequences(dataset, kind, layout="band")
        prepare_sequences(dataset, kind, layout="token")
    done = time.perf_counter()
    rows = sum(dataset.report[k]["rows"] for k in ("train", "test"))
    objects = len(dataset.train_log) + len(dataset.test_log)
    return {"objects": objects, "rows": rows, "load_validate_s": loaded - started, "preprocess_s": done - loaded,
            "total_s": done - started, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--phase", action="store_true", help=argparse.SUPPRESS)  # internal: run one phase
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(args.data_dir)))
        return 0
    data_dir = common.data_dir(args.data_dir)  # a missing folder: one error line here, not a failed phase
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "MALLORN_CACHE_DIR": cache}
        command = [sys.executable, __file__, "--phase", "--data-dir", data_dir]
        results = {}
        for name in ("cold", "cached"):
            out = subprocess.run(command, env=env, capture_output=True, text=True)
            if out.returncode:  # the phase's own `error: ...` line (or traceback), and its status
                sys.stderr.write(out.stderr)
                return out.returncode
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    first = results["cold"]
    print(f"{first['objects']:,} objects, {first['rows']:,} observations (train + test)")
    print(f"{'phase':<8} {'load+validate':>14} {'preprocess':>11} {'total':>8} {'peak RSS':>10}")
    for name, r in results.items():
        print(f"{name:<8} {r['load_validate_s']:>13.2f}s {r['preprocess_s']:>10.2f}s {r['total_s']:>7.2f}s {r['peak_rss_mb']:>8.0f} MB")
    return 0


if __name__ == "__main__":
    common.run(main)

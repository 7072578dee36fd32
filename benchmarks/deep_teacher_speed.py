"""Seconds for one fold's distillation teacher at 1 and 2 LightGBM threads, and whether they agree.

    python benchmarks/deep_teacher_speed.py --data-dir ../shared/mallorn [--fold 0] [--repeats 2]

Builds the default CNN profile's inputs (the physics feature tables must be cached, as after notebook 02),
takes the fold's training rows (stratified_folds with the profile's cv_seed) and fits the multiclass teacher on them,
each thread count `--repeats` times, alternating; prints the seconds of every fit and the largest difference
between the two thread counts' probabilities (utils/training/cv.teacher_threads relies on it being 0). Time it
on a quiet machine.
"""

from __future__ import annotations

import time

import common  # first: puts the project root on sys.path
import numpy as np

from utils.data.load import load_dataset
from utils.evaluation.folds import stratified_folds
from utils.training import CNN_PROFILES, deep_settings, prepare_inputs
from utils.training.distill import teacher_probabilities



def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    settings = deep_settings(CNN_PROFILES, "default")
    inputs = prepare_inputs(load_dataset(args.data_dir), settings)
    train_features, unlabelled = inputs.teacher_features
    rows, _ = stratified_folds(inputs.y, settings["n_folds"], settings["cv_seed"])[args.fold]
    probabilities = {}
    for _ in range(args.repeats):
        for n_jobs in (1, 2):
            started = time.perf_counter()
            probabilities[n_jobs] = teacher_probabilities(train_features.iloc[rows], inputs.y[rows], unlabelled,
                                                          seed=settings["seed"], groups=inputs.aux[rows],
                                                          n_jobs=n_jobs)
            print(f"multiclass teacher, fold {args.fold}, {n_jobs} thread(s): {time.perf_counter() - started:.1f} s",
                  flush=True)
    print(f"largest difference, 1 vs 2 threads: {np.abs(probabilities[1] - probabilities[2]).max():.3g}")
    return 0


if __name__ == "__main__":
    common.run(main)

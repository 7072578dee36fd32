"""The variability group's DRW fit: analytic gradient (features-v6) against finite differences (up to v5).

    .venv/bin/python benchmarks/features_drw_accuracy.py --data-dir ../shared/mallorn --every 5

On every N-th training object with a DRW fit, the same likelihood (variability.drw_neg_log_likelihood) is
maximised twice by L-BFGS-B with the same start, bounds and iteration cap: with its analytic gradient, as
variability.fit_drw does, and with scipy's finite-difference gradient, as fit_drw did before features-v6.
Printed: ms per fit of each (one core, one BLAS thread) and how far apart the fitted log10 τ and log10 σ are
(90th and 99th percentile, max; in dex).
"""

from __future__ import annotations

import time

import common  # first: puts the project root on sys.path
import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from utils.data.load import load_dataset
from utils.features import variability



def fit_finite_differences(time_rest: np.ndarray, flux: np.ndarray, flux_err: np.ndarray) -> tuple[float, float]:
    """variability.fit_drw with scipy's finite-difference gradient instead of the analytic one."""
    data, start, bounds = variability.drw_problem(time_rest, flux, flux_err)
    result = minimize(lambda p: variability.drw_neg_log_likelihood(p, *data)[0], start,
                      method="L-BFGS-B", bounds=bounds, options={"maxiter": 60})
    log_sigma, log_tau = result.x
    return float(log_tau / np.log(10)), float(log_sigma / np.log(10))


def drw_inputs(data_dir: str | None, every: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """What extract hands fit_drw, for every `every`-th training object that gets a DRW fit."""
    dataset = load_dataset(data_dir)
    inputs = []
    for obj in common.objects_of(dataset, "train", dataset.train_log.iloc[::every]):
        curve = obj.bands[max(variability.DRW_BANDS, key=lambda b: len(obj.bands[b]))]
        if len(curve) >= variability.DRW_MIN_POINTS:
            inputs.append((curve.time / obj.dilation, curve.flux / obj.flux_scale, curve.flux_err / obj.flux_scale))
    return inputs


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--every", type=int, default=5, help="take every N-th training object")
    args = parser.parse_args(argv)
    inputs = drw_inputs(args.data_dir, args.every)
    estimates, ms = {}, {}
    with threadpool_limits(1):
        for name, fit in (("analytic gradient", variability.fit_drw), ("finite differences", fit_finite_differences)):
            started = time.process_time()
            estimates[name] = np.array([fit(*one) for one in inputs])
            ms[name] = 1000 * (time.process_time() - started) / len(inputs)
    print(f"{len(inputs)} DRW fits (every {args.every}th training object with one)")
    for name in ms:
        print(f"{name}: {ms[name]:.2f} ms CPU per fit")
    gap = np.abs(estimates["analytic gradient"] - estimates["finite differences"])
    for k, name in enumerate(("log10 tau", "log10 sigma")):
        p90, p99 = np.percentile(gap[:, k], [90, 99])
        print(f"|difference| of {name} (dex): p90 {p90:.1e}, p99 {p99:.1e}, max {gap[:, k].max():.2e}, "
              f"over 0.01 dex: {(gap[:, k] > 0.01).sum()}")
    return 0


if __name__ == "__main__":
    common.run(main)

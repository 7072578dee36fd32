"""How close the fits group's fast fits come to a brute-force least-squares reference, on real objects.

    nice -n 10 .venv/bin/python benchmarks/features_fits_accuracy.py --data-dir ../shared/mallorn --objects 100

On N evenly spaced train and N test objects with enough points, each model is fitted twice: by
utils.features.fits (coarse grid, then Levenberg-Marquardt) and by `reference_fit`: scipy's bounded least
squares on the exact model, numerical Jacobian, tight tolerances and no evaluation cap, from the old
default start at t0 = −30, −10, 0, 10, 30 days and one slow, cool start, keeping the best. Printed per
model: the fast fit's excess χ² over the reference's, divided by max(reference χ², degrees of freedom)
(median, 90th percentile, max; negative: the fast fit found the better minimum), and the difference of
fit_log_chi2_ratio (median and 90th percentile of |difference|, correlation); and the CPU ms/object of
both (one core). The reference costs far more than the fast fits: keep --objects small.
"""

from __future__ import annotations

import time

import common  # first: puts the project root on sys.path
import numpy as np
from scipy.optimize import least_squares
from threadpoolctl import threadpool_limits

from utils.data.load import load_dataset
from utils.features import fits


TDE_STARTS = [np.array([t0, np.log(15.0), np.log(40.0), np.log10(2.5e4), 0.0]) for t0 in (-30, -10, 0, 10, 30)] + [
    np.array([0.0, np.log(5.0), np.log(150.0), np.log10(2e4), 0.0])]
SN_STARTS = [np.array([t0, np.log(5.0), np.log(30.0), np.log10(1.2e4), 1.0]) for t0 in (-30, -10, 0, 10, 30)] + [
    np.array([0.0, np.log(15.0), np.log(100.0), np.log10(8e3), 0.3])]


def reference_fit(model, points: fits.FitPoints, bounds, starts) -> tuple[np.ndarray, float]:
    """(shape parameters, χ²): the best of scipy's bounded least squares on the exact model from every
    start (tight tolerances, no evaluation cap), the amplitude ≥ 0 in closed form at each step."""
    best_params, best_chi2 = None, np.inf
    flux_w = points.flux * points.weight

    def residual(params: np.ndarray) -> np.ndarray:
        unit = model(params, points.days, points.wave, points.ref_wave) * points.weight
        amplitude = max(float(unit @ flux_w) / max(float(unit @ unit), 1e-300), 0.0)
        return amplitude * unit - flux_w

    for start in starts:
        start = np.clip(start, bounds[0] + 1e-6, bounds[1] - 1e-6)
        result = least_squares(residual, start, bounds=bounds, method="trf", x_scale="jac",
                               ftol=1e-12, xtol=1e-12, gtol=1e-12, max_nfev=3000)
        if 2 * result.cost < best_chi2:
            best_params, best_chi2 = result.x, 2 * result.cost
    return best_params, best_chi2


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--objects", type=int, default=100, help="train objects, and as many test objects")
    args = parser.parse_args(argv)
    dataset = load_dataset(args.data_dir)
    rows = []
    fast_seconds = reference_seconds = 0.0
    with threadpool_limits(1), np.errstate(all="ignore"):
        for obj in [o for kind in ("train", "test") for o in common.sample_objects(dataset, kind, args.objects)]:
            if np.isnan(fits.extract(obj)["fit_tde_chi2"]):
                continue  # too few points or detections: no fit
            points = fits.fit_points(obj)
            started = time.process_time()
            fast = [fits.fit_tde(points)[1], fits.fit_sn(points)[1]]
            fast_seconds += time.process_time() - started
            started = time.process_time()
            reference = [reference_fit(fits.tde_model, points, fits.TDE_BOUNDS, TDE_STARTS)[1],
                         reference_fit(fits.sn_model, points, fits.SN_BOUNDS, SN_STARTS)[1]]
            reference_seconds += time.process_time() - started
            rows.append([*fast, *reference, len(points.days) - 6])
    fast_tde, fast_sn, ref_tde, ref_sn, dof = np.array(rows).T
    print(f"{len(rows)} objects with fits; CPU {1000 * fast_seconds / len(rows):.1f} ms/object fast, "
          f"{1000 * reference_seconds / len(rows):.0f} ms/object reference")
    for name, fast, ref in (("tde", fast_tde, ref_tde), ("sn", fast_sn, ref_sn)):
        excess = (fast - ref) / np.maximum(ref, dof)
        print(f"{name}: excess chi2 / max(ref chi2, dof): median {np.median(excess):.4f}, "
              f"p90 {np.percentile(excess, 90):.4f}, max {excess.max():.3f}; "
              f"{np.mean(excess > 0.05):.1%} above 0.05, {np.mean(excess < -0.01):.1%} below -0.01")
    fast_ratio, ref_ratio = np.log10(fast_sn / fast_tde), np.log10(ref_sn / ref_tde)
    diff = np.abs(fast_ratio - ref_ratio)
    print(f"fit_log_chi2_ratio: |fast - ref| median {np.median(diff):.4f}, p90 {np.percentile(diff, 90):.4f}, "
          f"max {diff.max():.3f}; correlation {np.corrcoef(fast_ratio, ref_ratio)[0, 1]:.4f}")
    return 0


if __name__ == "__main__":
    common.run(main)

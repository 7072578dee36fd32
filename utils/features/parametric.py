"""Bazin fits per band with the `light-curve` package (Rust; the group's cost per object: docs/results.md, "Speed").

f(t) = A e^{-(t - t0)/τ_fall} / (1 + e^{-(t - t0)/τ_rise}) + B, fitted to flux in µJy.
Reported per band: rest-frame τ_rise and τ_fall, the fit's reduced χ², and the baseline B and
amplitude A relative to the object's largest |flux|.
"""

from __future__ import annotations

import light_curve
import numpy as np

from ..data.lightcurve import ObjectLightCurve
from .contract import empty_features

FIT_BANDS = "gri"
MIN_POINTS = 6  # Bazin has 5 parameters
_BAZIN = light_curve.BazinFit("lmsder")

NAMES = tuple(f"bazin_{kind}_{b}" for b in FIT_BANDS for kind in ("rise", "fall", "chi2", "baseline", "amplitude"))

# How each column moves when only the redshift changes (utils.features.draws): the fits run in the observer frame
# and their time scales are divided by 1 + z, so the scaling is exact.
REDSHIFT_RULES = {"rest_days": tuple(f"bazin_{kind}_{b}" for b in FIT_BANDS for kind in ("rise", "fall"))}


def extract(obj: ObjectLightCurve) -> dict[str, float]:
    features = empty_features(NAMES)
    for name in FIT_BANDS:
        curve = obj.bands[name]
        if len(curve) < MIN_POINTS or np.ptp(curve.time) <= 0:
            continue
        amplitude, baseline, _, rise, fall, chi2 = _BAZIN(curve.time, curve.flux, curve.flux_err, fill_value=np.nan)
        features.update({
            f"bazin_rise_{name}": abs(rise) / obj.dilation, f"bazin_fall_{name}": abs(fall) / obj.dilation,
            f"bazin_chi2_{name}": chi2, f"bazin_baseline_{name}": baseline / obj.flux_scale,
            f"bazin_amplitude_{name}": amplitude / obj.flux_scale,
        })
    return features

"""A 2-D Gaussian process over (rest-frame time, rest-frame wavelength), fitted per object.

Kernel: σ² Matern-3/2 on the distance sqrt((Δt/ℓ_t)² + (Δλ/ℓ_λ)²), zero mean, the flux errors as
the noise term; σ, ℓ_t and ℓ_λ maximise the marginal likelihood (L-BFGS-B, analytic gradient).
Fluxes are divided by their largest |value| in the window, so σ is relative.

From the GP's mean curves in each observed band we read what sparse, noisy points cannot give
directly: the multi-band peak, smooth rise and decline times, colours at the peak and at +30/+60/+100
rest-frame days and how fast they change (TDEs stay blue, supernovae redden), and a blackbody
temperature (TDEs stay hot, ~2-4·10⁴ K; supernovae cool).

How far the SED is from a blackbody at the peak and at +30 days: a TDE's continuum is close to one,
while supernova spectra are blanketed by metal lines in the blue and UV. Reported as the fit's χ² per
degree of freedom, each band's residual in magnitudes, and the u band against the blackbody that the
g, r, i, z fluxes alone predict (u-band excess).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

from .. import BANDS
from ..data.extinction import LSST_WAVELENGTHS
from ..data.lightcurve import ObjectLightCurve
from .contract import empty_features

WINDOW_DAYS = (-100.0, 300.0)  # rest-frame days around the brightest detection that the GP sees
GRID_DAYS = np.arange(WINDOW_DAYS[0], WINDOW_DAYS[1] + 1.0, 1.0)
PEAK_SEARCH_DAYS = (-50.0, 100.0)
COLOUR_EPOCHS = (0, 30, 60, 100)  # rest-frame days after the GP peak
COLOURS = ("ug", "gr", "ri", "iz")
SED_EPOCHS = (0, 30)  # rest-frame days after the GP peak where the SED is compared with a blackbody
SED_FLOOR = 0.03  # relative error added in quadrature to the GP's: the blackbody is only an approximation
UV_FREE_BANDS = np.array([1, 2, 3, 4])  # g, r, i, z: the blackbody the u band is compared against
MIN_POINTS = 5
MAX_POINTS = 300  # beyond this the O(n³) fit gets slow; keep the highest-SNR points
SQRT3 = np.sqrt(3.0)
HC_OVER_K_ANGSTROM_K = 1.438777e8  # h c / k_B in Å·K
TEMPERATURE_GRID = np.geomspace(2_000.0, 100_000.0, 160)
_WAVE = np.array([LSST_WAVELENGTHS[b] for b in BANDS])
_BOUNDS = [(np.log(1e-2), np.log(10.0)), (np.log(1.0), np.log(1000.0)), (np.log(300.0), np.log(30_000.0))]

SED_NAMES = tuple(f"{kind}_{e}" for e in SED_EPOCHS
                  for kind in ("bb_chi2", *[f"bb_resid_{b}" for b in BANDS], "bb_u_excess", "bb_temp_griz"))
NAMES = (
    "gp_log_amplitude", "gp_log_length_time", "gp_log_length_wave", "gp_reduced_chi2", "gp_peak_offset",
    "gp_rise_half", "gp_decline_half", "gp_fwhm", "gp_pre30_ratio", "gp_post30_ratio", "gp_post60_ratio",
    "gp_post100_ratio",
    *[f"gp_colour_{c}_{e}" for c in COLOURS for e in COLOUR_EPOCHS],
    *[f"gp_colour_{c}_slope" for c in COLOURS], "gp_colour_gr_std", "gp_colour_ug_std",
    *[f"gp_peak_flux_{b}" for b in BANDS],
    "bb_temp_0", "bb_temp_30", "bb_temp_60", "bb_temp_100", "bb_temp_slope", *SED_NAMES,
)

# How each column moves when only the redshift changes (utils.features.draws). The GP's axes are rest-frame time
# and wavelength, both the observer's divided by 1 + z, so its length scales and the durations read off its
# curves scale; its temperatures scale with 1 + z; rates per rest day scale with it too (the temperature slope
# twice: a temperature per rest day). Colours and flux ratios at fixed rest-frame epochs, and the SED's shape
# against a blackbody, are taken as fixed (the epochs move a little in the observer frame; the window of -100 to
# +300 rest days too).
REDSHIFT_RULES = {
    "log_rest_days": ("gp_log_length_time", "gp_log_length_wave"),
    "rest_days": ("gp_peak_offset", "gp_rise_half", "gp_decline_half", "gp_fwhm"),
    "per_rest_day": tuple(f"gp_colour_{c}_slope" for c in COLOURS),
    "temperature": (*(f"bb_temp_{e}" for e in COLOUR_EPOCHS), *(f"bb_temp_griz_{e}" for e in SED_EPOCHS)),
    "temperature_per_rest_day": ("bb_temp_slope",),
}


def matern32(x1: np.ndarray, x2: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Kernel matrix between rows of (time, wavelength) arrays; params = log σ, log ℓ_t, log ℓ_λ."""
    sigma, length_t, length_w = np.exp(params)
    r = np.sqrt(((x1[:, None, 0] - x2[None, :, 0]) / length_t) ** 2 + ((x1[:, None, 1] - x2[None, :, 1]) / length_w) ** 2)
    return sigma ** 2 * (1 + SQRT3 * r) * np.exp(-SQRT3 * r)


def _neg_log_likelihood(params: np.ndarray, x: np.ndarray, y: np.ndarray, noise: np.ndarray) -> tuple[float, np.ndarray]:
    sigma, length_t, length_w = np.exp(params)
    dt2 = ((x[:, None, 0] - x[None, :, 0]) / length_t) ** 2
    dw2 = ((x[:, None, 1] - x[None, :, 1]) / length_w) ** 2
    r = np.sqrt(dt2 + dw2)
    decay = np.exp(-SQRT3 * r)
    kernel = sigma ** 2 * (1 + SQRT3 * r) * decay
    cov = kernel + np.diag(noise)
    try:
        factor = cho_factor(cov, lower=True)
    except np.linalg.LinAlgError:
        return 1e12, np.zeros(3)
    alpha = cho_solve(factor, y)
    value = 0.5 * y @ alpha + np.sum(np.log(np.diag(factor[0])))
    inner = cho_solve(factor, np.eye(len(y))) - np.outer(alpha, alpha)
    # dK/dlog ℓ = 3σ² e^{-√3 r} (Δ/ℓ)²  and  dK/dlog σ = 2K.
    grads = [2 * kernel, 3 * sigma ** 2 * decay * dt2, 3 * sigma ** 2 * decay * dw2]
    return float(value), np.array([0.5 * np.sum(inner * g) for g in grads])


def fit_gp(x: np.ndarray, y: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Maximum-likelihood log σ, log ℓ_t, log ℓ_λ for data y at x with noise variances `noise`."""
    start = np.array([np.log(max(np.std(y), 0.05)), np.log(20.0), np.log(6000.0)])
    result = minimize(_neg_log_likelihood, start, args=(x, y, noise), jac=True, method="L-BFGS-B",
                      bounds=_BOUNDS, options={"maxiter": 50})
    return result.x


def covariance_factor(params: np.ndarray, x: np.ndarray, noise: np.ndarray):
    """The Cholesky factor (scipy `cho_factor`, lower) of the points' covariance: kernel plus noise.
    Raises numpy.linalg.LinAlgError when it is not positive definite."""
    return cho_factor(matern32(x, x, params) + np.diag(noise), lower=True)


def _planck_shape(wave: np.ndarray, temperature: np.ndarray) -> np.ndarray:
    """B_ν(T) up to a constant, at rest wavelengths `wave` (Å): one row per temperature."""
    return wave[None, :] ** -3 / np.expm1(HC_OVER_K_ANGSTROM_K / (wave[None, :] * np.atleast_1d(temperature)[:, None]))


def fit_blackbody(rest_wavelength: np.ndarray, flux: np.ndarray, flux_std: np.ndarray) -> tuple[float, float, float]:
    """(temperature K, amplitude, χ²) of the blackbody F_ν = a·B_ν(T) that best fits the positive fluxes.

    The amplitude multiplies `_planck_shape`; NaNs if fewer than 3 fluxes are positive.
    """
    good = (flux > 0) & np.isfinite(flux)
    if good.sum() < 3:
        return np.nan, np.nan, np.nan
    wave, f, w = rest_wavelength[good], flux[good], 1 / flux_std[good] ** 2
    shape = _planck_shape(wave, TEMPERATURE_GRID)
    amplitude = np.sum(w * f * shape, axis=1) / np.sum(w * shape ** 2, axis=1)
    chi2 = np.sum(w * (f - amplitude[:, None] * shape) ** 2, axis=1)
    best = int(np.argmin(chi2))
    return float(TEMPERATURE_GRID[best]), float(amplitude[best]), float(chi2[best])


def blackbody_temperature(rest_wavelength: np.ndarray, flux: np.ndarray, flux_std: np.ndarray) -> float:
    """Temperature (K) of the blackbody F_ν ∝ B_ν(T) that best fits these fluxes; NaN if < 3 bands are positive."""
    return fit_blackbody(rest_wavelength, flux, flux_std)[0]


def sed_shape(rest_wavelength: np.ndarray, flux: np.ndarray, flux_std: np.ndarray) -> dict[str, float]:
    """How one epoch's six band fluxes (ugrizy order) depart from a blackbody.

    bb_chi2: χ² per degree of freedom of the best blackbody; bb_resid_<band>: −2.5 log10(flux / model)
    (NaN where the flux is not positive); bb_temp_griz: the blackbody of g, r, i, z alone; bb_u_excess:
    the u band against that blackbody, in magnitudes (> 0: u fainter than a blackbody, as in blanketed SNe).
    """
    std = np.sqrt(flux_std ** 2 + (SED_FLOOR * flux) ** 2)
    out = {"bb_chi2": np.nan, **{f"bb_resid_{b}": np.nan for b in BANDS}, "bb_u_excess": np.nan, "bb_temp_griz": np.nan}
    temperature, amplitude, chi2 = fit_blackbody(rest_wavelength, flux, std)
    if np.isfinite(temperature):
        good = flux > 0
        out["bb_chi2"] = chi2 / max(good.sum() - 2, 1)
        model = amplitude * _planck_shape(rest_wavelength, temperature)[0]
        for i, band in enumerate(BANDS):
            if good[i]:
                out[f"bb_resid_{band}"] = float(-2.5 * np.log10(flux[i] / model[i]))
    temperature, amplitude, _ = fit_blackbody(rest_wavelength[UV_FREE_BANDS], flux[UV_FREE_BANDS], std[UV_FREE_BANDS])
    if np.isfinite(temperature) and flux[0] > 0:
        out["bb_temp_griz"] = temperature
        out["bb_u_excess"] = float(-2.5 * np.log10(flux[0] / (amplitude * _planck_shape(rest_wavelength[:1], temperature)[0, 0])))
    return out


def _colour(blue: np.ndarray, red: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((blue > 0) & (red > 0), -2.5 * np.log10(blue / red), np.nan)


def _half_crossings(curve: np.ndarray, peak: int) -> tuple[float, float]:
    """Grid days from the last half-max point before the peak, and to the first after it."""
    half = curve[peak] / 2
    before = np.flatnonzero(curve[:peak] < half)
    after = np.flatnonzero(curve[peak:] < half)
    rise = float(GRID_DAYS[peak] - GRID_DAYS[before[-1]]) if len(before) else np.nan
    decline = float(GRID_DAYS[peak + after[0]] - GRID_DAYS[peak]) if len(after) else np.nan
    return rise, decline


@dataclass(frozen=True)
class GPInputs:
    """The points one object's GP is fitted to: (rest-frame days from the peak, rest wavelength) rows,
    fluxes divided by `scale` (their largest |value|) and their noise variances."""

    x: np.ndarray
    y: np.ndarray
    noise: np.ndarray
    scale: float
    rest_wavelength: np.ndarray  # the six bands' rest wavelengths (Å)

    def grid(self, days: np.ndarray = GRID_DAYS) -> np.ndarray:
        """(days x bands) rows at which the GP's curves are read, day-major."""
        return np.column_stack([np.repeat(days, len(BANDS)), np.tile(self.rest_wavelength, len(days))])


def gp_inputs(obj: ObjectLightCurve) -> GPInputs | None:
    """The points in the rest-frame window around the peak (the MAX_POINTS of highest |SNR| when there are
    more); None with fewer than MIN_POINTS points or a single band."""
    days = (obj.time - obj.peak_time) / obj.dilation
    keep = np.flatnonzero((days >= WINDOW_DAYS[0]) & (days <= WINDOW_DAYS[1]))
    if len(keep) > MAX_POINTS:
        keep = np.sort(keep[np.argsort(-np.abs(obj.snr[keep]))[:MAX_POINTS]])
    if len(keep) < MIN_POINTS or len(np.unique(obj.band[keep])) < 2:
        return None
    rest_wave = _WAVE / obj.dilation
    scale = float(np.max(np.abs(obj.flux[keep])))
    return GPInputs(np.column_stack([days[keep], rest_wave[obj.band[keep]]]), obj.flux[keep] / scale,
                    (obj.flux_err[keep] / scale) ** 2, scale, rest_wave)


def grid_days(n_steps: int) -> np.ndarray:
    """`n_steps` rest-frame days from the peak, evenly spread over WINDOW_DAYS (ends included)."""
    if n_steps < 2:
        raise ValueError(f"a GP grid needs at least 2 steps, not {n_steps}")
    return np.linspace(WINDOW_DAYS[0], WINDOW_DAYS[1], n_steps)


class GPFit:
    """An object's fitted GP: its inputs, hyper-parameters and the Cholesky factor of their covariance,
    computed once and shared by every prediction (the mean curves on GRID_DAYS, the mean at the fitted
    points, the mean and standard deviation at any epochs)."""

    def __init__(self, points: GPInputs, params: np.ndarray, factor) -> None:
        self.points, self.params, self.factor = points, params, factor
        self._weights = cho_solve(factor, points.y)  # covariance⁻¹ y: the posterior mean is cross @ weights

    def predict(self, x_new: np.ndarray, return_std: bool = False):
        """The posterior mean (and standard deviation) at (time, wavelength) rows `x_new`."""
        cross = matern32(x_new, self.points.x, self.params)
        mean = cross @ self._weights
        if not return_std:
            return mean
        var = np.exp(2 * self.params[0]) - np.sum(cross * cho_solve(self.factor, cross.T).T, axis=1)
        return mean, np.sqrt(np.clip(var, 1e-12, None))

    @cached_property
    def curves(self) -> np.ndarray:
        """The mean on GRID_DAYS in the six bands: (days x bands)."""
        return self.predict(self.points.grid()).reshape(len(GRID_DAYS), len(BANDS))

    @cached_property
    def fitted(self) -> np.ndarray:
        """The mean at the fitted points."""
        return self.predict(self.points.x)

    @property
    def optical(self) -> np.ndarray:
        """The g + r mean curve on GRID_DAYS, whose maximum is the GP peak."""
        return self.curves[:, BANDS.index("g")] + self.curves[:, BANDS.index("r")]

    @property
    def peak(self) -> int | None:
        """Index into GRID_DAYS of the g + r maximum within PEAK_SEARCH_DAYS; None if it is not positive."""
        search = np.flatnonzero((GRID_DAYS >= PEAK_SEARCH_DAYS[0]) & (GRID_DAYS <= PEAK_SEARCH_DAYS[1]))
        peak = int(search[np.argmax(self.optical[search])])
        return peak if self.optical[peak] > 0 else None

    def mean_std(self, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The GP mean and standard deviation in the six bands at rest-frame `days`: (days x bands) each."""
        mean, std = self.predict(self.points.grid(np.asarray(days, dtype=float)), return_std=True)
        return mean.reshape(-1, len(BANDS)), std.reshape(-1, len(BANDS))


def fit(obj: ObjectLightCurve) -> GPFit | None:
    """The object's GP (see `gp_inputs`); None when there are too few points or the covariance is singular."""
    points = gp_inputs(obj)
    if points is None:
        return None
    params = fit_gp(points.x, points.y, points.noise)
    try:
        factor = covariance_factor(params, points.x, points.noise)
    except np.linalg.LinAlgError:
        return None
    return GPFit(points, params, factor)


def mean_std_grid(obj: ObjectLightCurve, n_steps: int) -> np.ndarray | None:
    """The GP's mean and standard deviation in each band at `grid_days(n_steps)`: (2, 6, n_steps), float32.

    The same fit as the features (`fit`), read on a coarse grid for the deep models. Values are divided by
    the object's max |flux| over all its points (`obj.flux_scale`), as the networks' normalised flux inputs
    are, not by the GP window's own maximum. None when the GP has no fit (fewer than MIN_POINTS points in
    the window, a single band, or a singular covariance).
    """
    days = grid_days(n_steps)
    gp = fit(obj)
    if gp is None:
        return None
    mean, std = gp.mean_std(days)
    curves = np.stack([mean, std]).transpose(0, 2, 1)
    return (curves * (gp.points.scale / obj.flux_scale)).astype(np.float32)


def extract(obj: ObjectLightCurve) -> dict[str, float]:
    features = empty_features(NAMES)
    gp = fit(obj)
    if gp is None:
        return features
    points, params, curves, fitted = gp.points, gp.params, gp.curves, gp.fitted
    y, noise, rest_wave = points.y, points.noise, points.rest_wavelength
    features.update({"gp_log_amplitude": params[0] / np.log(10), "gp_log_length_time": params[1] / np.log(10),
                     "gp_log_length_wave": params[2] / np.log(10),
                     "gp_reduced_chi2": float(np.mean((y - fitted) ** 2 / noise))})

    optical, peak = gp.optical, gp.peak
    if peak is None:
        return features
    rise, decline = _half_crossings(optical, peak)
    features.update({"gp_peak_offset": float(GRID_DAYS[peak]), "gp_rise_half": rise, "gp_decline_half": decline,
                     "gp_fwhm": rise + decline})
    for name, offset in (("pre30", -30), ("post30", 30), ("post60", 60), ("post100", 100)):
        features[f"gp_{name}_ratio"] = float(optical[peak + offset] / optical[peak])
    peak_fluxes = curves[peak]
    features.update({f"gp_peak_flux_{b}": float(peak_fluxes[i] / peak_fluxes.max()) for i, b in enumerate(BANDS)})

    window = curves[peak:peak + 101]  # peak to +100 rest-frame days, one row a day
    for pair in COLOURS:
        colour = _colour(window[:, BANDS.index(pair[0])], window[:, BANDS.index(pair[1])])
        for epoch in COLOUR_EPOCHS:
            features[f"gp_colour_{pair}_{epoch}"] = float(colour[epoch])
        features[f"gp_colour_{pair}_slope"] = float((colour[60] - colour[0]) / 60)
        if pair in ("gr", "ug") and np.isfinite(colour[::10]).sum() >= 3:
            features[f"gp_colour_{pair}_std"] = float(np.nanstd(colour[::10]))

    epochs = np.array(sorted(set(COLOUR_EPOCHS) | set(SED_EPOCHS)), dtype=float)
    mean, std = gp.mean_std(GRID_DAYS[peak] + epochs)
    for i, epoch in enumerate(epochs.astype(int)):
        if epoch in COLOUR_EPOCHS:
            features[f"bb_temp_{epoch}"] = blackbody_temperature(rest_wave, mean[i], std[i])
        if epoch in SED_EPOCHS:
            features.update({f"{name}_{epoch}": value for name, value in sed_shape(rest_wave, mean[i], std[i]).items()})
    if np.isfinite([features["bb_temp_0"], features["bb_temp_60"]]).all():
        features["bb_temp_slope"] = (features["bb_temp_60"] - features["bb_temp_0"]) / 60
    return features

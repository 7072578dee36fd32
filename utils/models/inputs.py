"""Turn raw observations into what the networks read, inside the forward pass.

A batch is a dict of tensors holding *raw* de-extinguished observations (so augmentation can act on
physical quantities first):

* ``flux``, ``flux_err`` (µJy), ``time`` (observer-frame days since the first observation), ``mask``
  (True where observed), ``band`` (0..5): shape (B, 6, L) for the band layout, (B, L) for tokens;
* ``z``, ``ebv``: (B,); optionally ``extra``: (B, F) standardised physics features.

`encode` returns per-observation channels, the time axis the time embeddings use, and an object vector.
Two input styles are kept selectable:

* ``flux_scaling="normalised"`` (the starter design's): flux and error divided by the object's max |flux|; the
  object vector is (Z, EBV) only. Per-object normalisation throws away how bright the object is.
* ``flux_scaling="asinh"``: adds asinh of the raw flux, error and S/N per observation, and the object's
  log peak flux and a log-luminosity proxy (peak flux x d_L(z)^2), which carry the absolute scale.
"""

from __future__ import annotations

import math
from typing import Mapping

import torch

from ..cosmology import HUBBLE_DISTANCE_MPC, OMEGA_MATTER

FLUX_SCALINGS = ("normalised", "asinh")
TIME_REFERENCES = ("first", "peak")
# Time channels are divided by these so they sit near unit scale.
TIME_UNIT_DAYS = {"first": 1000.0, "peak": 100.0}


def observation_channels(flux_scaling: str) -> int:
    """Number of per-observation channels `encode` returns (time included, mask excluded)."""
    return {"normalised": 3, "asinh": 6}[flux_scaling]


def object_channels(flux_scaling: str, n_extra: int = 0) -> int:
    """Length of the object vector `encode` returns."""
    return {"normalised": 2, "asinh": 5}[flux_scaling] + n_extra


def luminosity_distance_mpc(z: torch.Tensor, steps: int = 32) -> torch.Tensor:
    """Luminosity distance in utils.cosmology's flat ΛCDM by the trapezoid rule, in torch; z clipped at 1e-3."""
    z = z.clamp(min=1e-3)
    grid = z[:, None] * torch.linspace(0.0, 1.0, steps + 1, device=z.device, dtype=z.dtype)
    inverse_e = 1.0 / torch.sqrt(OMEGA_MATTER * (1 + grid) ** 3 + (1 - OMEGA_MATTER))
    comoving = torch.trapezoid(inverse_e, grid, dim=1)
    return HUBBLE_DISTANCE_MPC * (1 + z) * comoving


def object_scale(flux: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max |flux| over observed points per object, 1 where there is none (as utils.training.sequences does)."""
    scale = torch.where(mask, flux.abs(), torch.zeros_like(flux)).flatten(1).amax(1)
    return torch.where(scale > 0, scale, torch.ones_like(scale))


def peak_time(time: torch.Tensor, flux: torch.Tensor, flux_err: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Time of the point with the highest flux - flux_err: the peak, robust to single noisy spikes."""
    score = torch.where(mask, flux - flux_err, torch.full_like(flux, -math.inf)).flatten(1)
    return time.flatten(1).gather(1, score.argmax(1, keepdim=True)).squeeze(1)


def relative_time(batch: Mapping[str, torch.Tensor], rest_frame: bool, time_reference: str) -> torch.Tensor:
    """Days since the first observation or since the peak, divided by 1 + z in the rest frame."""
    if time_reference not in TIME_REFERENCES:
        raise ValueError(f"time_reference must be one of {TIME_REFERENCES}, not {time_reference!r}")
    time = batch["time"]
    view = (-1,) + (1,) * (time.dim() - 1)
    if time_reference == "peak":
        time = time - peak_time(time, batch["flux"], batch["flux_err"], batch["mask"]).view(view)
    if rest_frame:
        time = time / (1 + batch["z"].clamp(min=0)).view(view)
    return time


def encode(batch: Mapping[str, torch.Tensor], *, flux_scaling: str, rest_frame: bool,
           time_reference: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(observation channels (..., C), time in days (...), object vector (B, M)); padded steps are zero."""
    if flux_scaling not in FLUX_SCALINGS:
        raise ValueError(f"flux_scaling must be one of {FLUX_SCALINGS}, not {flux_scaling!r}")
    flux, flux_err, mask = batch["flux"], batch["flux_err"], batch["mask"]
    view = (-1,) + (1,) * (flux.dim() - 1)
    scale = object_scale(flux, mask)
    time = relative_time(batch, rest_frame, time_reference)
    channels = [flux / scale.view(view), flux_err / scale.view(view), time / TIME_UNIT_DAYS[time_reference]]
    z, ebv = batch["z"].clamp(min=0), batch["ebv"]
    objects = [z, ebv]
    if flux_scaling == "asinh":
        channels += [torch.asinh(flux), torch.asinh(flux_err), torch.asinh(flux / flux_err.clamp(min=1e-6)) / 3]
        peak = torch.where(mask, flux, torch.zeros_like(flux)).flatten(1).amax(1).clamp(min=0.1)
        # log10(peak µJy x d_L^2 / Mpc^2) is a luminosity up to a constant; centred near 0 on this data.
        luminosity = torch.log10(peak) + 2 * torch.log10(luminosity_distance_mpc(z)) - 7.0
        objects += [torch.log1p(z), torch.log10(peak), luminosity]
    features = torch.stack(channels, dim=-1) * mask.unsqueeze(-1)
    vector = torch.stack(objects, dim=1)
    if "extra" in batch:
        vector = torch.cat([vector, batch["extra"]], dim=1)
    return features, time * mask, vector

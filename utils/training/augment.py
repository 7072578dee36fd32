"""Training-time augmentation of raw observations; each one is switched by the probability that an
object receives it (0 = off).

* ``aug_noise``: add Gaussian noise of NOISE_SIGMAS x Flux_err to every flux.
* ``aug_time``: stretch time around the peak by U(1 - s, 1 + s) and shift it by U(-d, d) days.
* ``aug_drop``: drop each observation with a rate drawn from U(0, DROP_MAX_RATE).
* ``aug_redshift``: move the object to a higher redshift, as the PLAsTiCC winner (avocado) did:
  (1 + z') = (1 + z) x U(1, REDSHIFT_MAX_FACTOR); flux dims by (d_L(z) / d_L(z'))^2, time dilates by
  (1 + z') / (1 + z) around the peak, points that leave the observed window vanish, and noise is
  added so the error stays at the survey's level (faint points sink into it). No K-correction.

Dropped points are moved behind the observed ones, so every band stays a contiguous prefix.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from ..models.inputs import luminosity_distance_mpc, peak_time

AUGMENTATIONS = ("aug_noise", "aug_time", "aug_drop", "aug_redshift")
NOISE_SIGMAS = 0.5
TIME_STRETCH = 0.1
TIME_SHIFT_DAYS = 20.0
DROP_MAX_RATE = 0.3
REDSHIFT_MAX_FACTOR = 1.4


def _uniform(shape, generator: torch.Generator, device, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    # Drawn on the CPU with a CPU generator so the numbers do not depend on the device.
    return (low + (high - low) * torch.rand(shape, generator=generator)).to(device)


def _normal(shape, generator: torch.Generator, device) -> torch.Tensor:
    return torch.randn(shape, generator=generator).to(device)


def _per_object(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.view((-1,) + (1,) * (like.dim() - 1))


def compact(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Move unobserved steps behind observed ones along the last axis, keeping the observed order."""
    order = torch.sort((~batch["mask"]).to(torch.int8), dim=-1, stable=True).indices
    out = dict(batch)
    for key in ("flux", "flux_err", "time", "mask", "band"):
        out[key] = batch[key].gather(-1, order)
    return out


def redshift(batch: dict[str, torch.Tensor], chosen: torch.Tensor,
             generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The object seen from further away (see module doc); only rows where `chosen` is True change."""
    flux, flux_err, time, mask = batch["flux"], batch["flux_err"], batch["time"], batch["mask"]
    device = flux.device
    z = batch["z"].clamp(min=1e-3)
    factor = _uniform(z.shape, generator, device, 1.0, REDSHIFT_MAX_FACTOR)
    new_z = (1 + z) * factor - 1
    dimming = (luminosity_distance_mpc(z) / luminosity_distance_mpc(new_z)) ** 2
    peak = _per_object(peak_time(time, flux, flux_err, mask), time)
    new_time = peak + (time - peak) * _per_object(factor, time)
    observed_time = torch.where(mask, time, torch.full_like(time, torch.nan)).flatten(1)
    first = _per_object(torch.nan_to_num(observed_time, nan=torch.inf).amin(1), time)
    last = _per_object(torch.nan_to_num(observed_time, nan=-torch.inf).amax(1), time)
    dim = _per_object(dimming, flux)
    new_flux = dim * flux + _normal(flux.shape, generator, device) * flux_err * torch.sqrt(1 - dim ** 2)
    new_mask = mask & (new_time >= first) & (new_time <= last)
    pick = _per_object(chosen, flux)
    out = dict(batch)
    out["flux"] = torch.where(pick, new_flux, flux)
    out["time"] = torch.where(pick, new_time, time)
    out["mask"] = torch.where(pick, new_mask, mask)
    out["z"] = torch.where(chosen, new_z, batch["z"])
    return out


def augment(batch: Mapping[str, torch.Tensor], settings: Mapping[str, Any],
            generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Apply the switched-on augmentations to a training batch (new dict; the input is not modified)."""
    out = dict(batch)
    size, device = out["flux"].shape[0], out["flux"].device

    def chosen(name: str) -> torch.Tensor:
        return _uniform((size,), generator, device) < settings[name]

    if settings["aug_redshift"] > 0:
        out = redshift(out, chosen("aug_redshift"), generator)
    if settings["aug_time"] > 0:
        pick = _per_object(chosen("aug_time"), out["time"])
        stretch = _per_object(_uniform((size,), generator, device, 1 - TIME_STRETCH, 1 + TIME_STRETCH), out["time"])
        shift = _per_object(_uniform((size,), generator, device, -TIME_SHIFT_DAYS, TIME_SHIFT_DAYS), out["time"])
        peak = _per_object(peak_time(out["time"], out["flux"], out["flux_err"], out["mask"]), out["time"])
        out["time"] = torch.where(pick, peak + (out["time"] - peak) * stretch + shift, out["time"])
    if settings["aug_noise"] > 0:
        pick = _per_object(chosen("aug_noise"), out["flux"])
        noise = _normal(out["flux"].shape, generator, device) * out["flux_err"] * NOISE_SIGMAS
        out["flux"] = torch.where(pick, out["flux"] + noise, out["flux"])
    if settings["aug_drop"] > 0:
        pick = _per_object(chosen("aug_drop"), out["mask"])
        rate = _per_object(_uniform((size,), generator, device, 0, DROP_MAX_RATE), out["mask"])
        keep = _uniform(out["mask"].shape, generator, device) >= rate
        out["mask"] = out["mask"] & (keep | ~pick)
    if settings["aug_redshift"] > 0 or settings["aug_drop"] > 0:
        out = compact(out)
    zero = ~out["mask"]  # padded steps hold zeros (unit errors), as the preprocessing leaves them
    out["flux"] = out["flux"].masked_fill(zero, 0.0)
    out["time"] = out["time"].masked_fill(zero, 0.0)
    out["flux_err"] = out["flux_err"].masked_fill(zero, 1.0)
    return out

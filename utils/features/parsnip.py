"""ParSNIP latents: the pretrained PLAsTiCC photo-z model of astro-parsnip (Boone 2021) on each light curve.

ParSNIP's encoder maps a light curve to three shape latents (s1, s2, s3), a colour, an amplitude and a
redshift, with uncertainties; its decoder then predicts the light curve, whose χ² says how well a
supernova-like transient explains the data. The model was trained on simulated LSST (PLAsTiCC) light
curves, so its inputs follow PLAsTiCC's conventions:

* fluxes NOT corrected for Milky-Way dust: the objects come de-extinguished like every group's, so the
  correction is undone with obj.ebv (the same Fitzpatrick-99 factors utils.data.extinction.deextinct applies);
* the PLAsTiCC flux unit (AB zero point 27.5): MALLORN µJy (zero point 23.9) × 10^(0.4·3.6) = × 27.54.
  ParSNIP scales every light curve by its peak, so the unit moves only the amplitude (reported back in µJy);
* a host photo-z and its error as inputs: the test's Z and Z_err; for training objects (spectroscopic Z,
  no Z_err) one fixed draw of utils.features.redshift.perturbed_redshift and the σ it used, so train and
  test inputs carry the same kind of error. The model infers its own redshift, so this table is built
  once, not per redshift draw.

The LSST bandpasses come from utils/features/bandpasses/ (see PROVENANCE.md), registered with sncosmo
before ParSNIP loads so nothing is downloaded. Runs on CUDA when present; deterministic (no sampling,
objects batched in object_id order whatever order they come in).

Speed: ParSNIP's own path builds an astropy table per light curve and preprocesses it column by column,
which cost much of its time; `model_inputs` does the same steps on numpy arrays and hands the model's
forward pass (observations, meta) pairs, the form its own augmentation path uses. What is left is the
encoder's convolutions (this fast path against parsnip's own: docs/results.md, "Speed").
"""

from __future__ import annotations

import contextlib
import functools
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from .. import BANDS
from ..data.extinction import extinction_per_ebv
from ..data.lightcurve import ObjectLightCurve
from ..data.redshift import perturbed_redshift_and_error
from ..progress import progress_count

MODEL = "plasticc_photoz"  # shipped inside the astro-parsnip wheel
UJY_TO_PLASTICC = 10 ** (0.4 * (27.5 - 23.9))
TRAIN_REDSHIFT_SEED = 2024  # the one perturbation draw that training objects show the model
BANDPASS_DIR = Path(__file__).resolve().parent / "bandpasses"
CHUNK = 256  # objects per call: enough chunks to keep both workers busy to the end; the progress bar moves per chunk
# torch's UserWarning (once per process) when parsnip.load_model builds its band weights from a list of arrays:
# parsnip's own code, run once at load, nothing a user can act on; it printed during every run and predict.
SLOW_TENSOR_WARNING = "Creating a tensor from a list of numpy.ndarrays is extremely slow"

NAMES = ("parsnip_s1", "parsnip_s2", "parsnip_s3", "parsnip_s1_err", "parsnip_s2_err", "parsnip_s3_err",
         "parsnip_color", "parsnip_color_err", "parsnip_amplitude", "parsnip_amplitude_rel_err",
         "parsnip_chi2_per_dof", "parsnip_redshift", "parsnip_redshift_err", "parsnip_luminosity")
_COLUMNS = {"parsnip_s1": "s1", "parsnip_s2": "s2", "parsnip_s3": "s3", "parsnip_s1_err": "s1_error",
            "parsnip_s2_err": "s2_error", "parsnip_s3_err": "s3_error", "parsnip_color": "color",
            "parsnip_color_err": "color_error", "parsnip_redshift": "predicted_redshift",
            "parsnip_redshift_err": "predicted_redshift_error", "parsnip_luminosity": "luminosity"}


def register_lsst_bandpasses() -> None:
    """Register lsstu … lssty with sncosmo from the shipped throughput files (nm → Å)."""
    import sncosmo

    for band in BANDS:
        wave_nm, throughput = np.loadtxt(BANDPASS_DIR / f"total_{band}.dat", unpack=True)
        sncosmo.register(sncosmo.Bandpass(wave_nm * 10.0, throughput, name=f"lsst{band}"), force=True)


@functools.lru_cache(maxsize=1)
def load_model():
    """The pretrained model on CUDA when present, else the CPU (loaded once per process)."""
    import torch

    register_lsst_bandpasses()
    import parsnip

    threads = torch.get_num_threads()
    with _quiet_slow_tensor_warning():
        model = parsnip.load_model(MODEL, device="cuda" if torch.cuda.is_available() else "cpu", threads=1)
    torch.set_num_threads(threads)  # ParSNIP sets the process-wide thread count; give it back
    return model


@contextlib.contextmanager
def _quiet_slow_tensor_warning() -> Iterator[None]:
    """Hide SLOW_TENSOR_WARNING only, and only around parsnip's own calls: every other warning still shows."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=re.escape(SLOW_TENSOR_WARNING), category=UserWarning)
        yield


def redshifts(dataset, kind: str) -> tuple[pd.Series, pd.Series]:
    """(photo-z, its error) shown to the model: the test's own; for training, one fixed perturbation draw."""
    log = dataset.log(kind)
    if kind == "test":
        return log["Z"], log["Z_err"]
    return perturbed_redshift_and_error(dataset.train_log, dataset.test_log, TRAIN_REDSHIFT_SEED)


def model_inputs(obj: ObjectLightCurve, settings: dict) -> tuple[np.ndarray, dict] | None:
    """One object as ParSNIP's forward pass takes it, (observations, meta), or None without usable points.

    The same steps as parsnip.light_curve.preprocess_light_curve (its own `_determine_time_grid` places the
    sidereal grid; the background is the biweight location of a band's points outside the window; the
    model's own Milky-Way correction; scaled by the brightest S/N > 5 point), on plain arrays instead of
    astropy tables, which cost half of ParSNIP's time. tests/test_parsnip.py checks both agree.
    """
    from astropy.stats import biweight_location
    from parsnip.light_curve import _determine_time_grid, time_to_grid

    band_index = np.array([settings["bands"].tolist().index(f"lsst{band}") for band in BANDS])[obj.band]
    undo_dust = 10.0 ** (-0.4 * extinction_per_ebv()[obj.band] * obj.ebv)  # back to the observed fluxes
    flux = obj.flux * undo_dust * UJY_TO_PLASTICC
    flux_err = obj.flux_err * undo_dust * UJY_TO_PLASTICC
    reference_time = _determine_time_grid({"time": obj.time, "flux": flux, "fluxerr": flux_err})
    grid_time = time_to_grid(obj.time, reference_time)
    time_index = np.round(grid_time).astype(int) + settings["time_window"] // 2
    in_window = (time_index >= -settings["time_pad"]) & (time_index < settings["time_window"] + settings["time_pad"])
    flux = flux.copy()
    for band, correct in enumerate(settings["band_correct_background"]):
        outside = ~in_window & (band_index == band)
        if correct and outside.any():
            flux[band_index == band] -= biweight_location(flux[outside])
    if not in_window.any():
        return None
    scale_up = 10.0 ** (0.4 * settings["band_mw_extinctions"][band_index] * obj.ebv)
    observations = np.rec.fromarrays(
        [grid_time, time_index, flux * scale_up, flux_err * scale_up, band_index],
        names=["grid_time", "time_index", "flux", "fluxerr", "band_index"])[in_window]
    bright = observations.flux / observations.fluxerr > 5.0
    scale = np.max(observations.flux[bright]) if bright.any() else np.max(observations.flux)
    z, z_err = obj.z, obj.z_err if np.isfinite(obj.z_err) else 0.0
    meta = {"object_id": obj.object_id, "hostgal_photoz": z, "hostgal_photoz_err": z_err, "hostgal_specz": z,
            "redshift": z, "parsnip_reference_time": reference_time, "parsnip_scale": scale}
    return observations, meta


def predict(objects: list[ObjectLightCurve]) -> pd.DataFrame:
    """ParSNIP's predictions (one row per object_id with usable observations) for de-extinguished objects:
    the columns of parsnip's predict_dataset that this group reads, computed the same way.

    One object per forward pass: in a batch, the float32 convolutions' results depend on the other objects
    (~1e-5 relative), and a run's features must come out bit for bit the same when utils.serve.predict scores the
    same objects in other chunks. It is also faster on a CPU than ParSNIP's batches of 256, which pad every
    light curve to the longest.
    """
    model = load_model()
    inputs = [x for x in (model_inputs(obj, model.settings) for obj in objects if len(obj.time) > 0) if x is not None]
    parts = [part for part in (_predict_one(model, one) for one in inputs) if part is not None]
    if not parts:
        return pd.DataFrame(columns=[*_COLUMNS.values(), "amplitude", "amplitude_error", "model_chisq", "model_dof"])
    return pd.concat(parts)


def _predict_one(model, one: tuple[np.ndarray, dict]) -> pd.DataFrame | None:
    """_predict_batch of one object, or None where ParSNIP's decoder cannot take its points (it raises for a few
    sparse light curves, e.g. 7 points spread over more than its time window): such an object gets NaN features,
    like one without usable observations, instead of stopping the extraction of every other object."""
    try:
        return _predict_batch(model, [one])
    except RuntimeError as error:
        if "Kernel size can't be greater than actual input size" not in str(error):
            raise
        return None


def _predict_batch(model, inputs: list[tuple[np.ndarray, dict]]) -> pd.DataFrame:
    import torch
    from astropy.cosmology import Planck18

    settings = model.settings
    with torch.no_grad():
        result = model.forward(inputs, to_numpy=True, sample=False)
    scale = np.array([meta["parsnip_scale"] for _, meta in inputs])
    mu, err = result["encoding_mu"], np.sqrt(np.exp(result["encoding_logvar"]))
    table = {"color": mu[:, 1] * settings["color_sigma"], "color_error": err[:, 1] * settings["color_sigma"],
             "amplitude": result["amplitude_mu"] * scale,
             "amplitude_error": np.sqrt(np.exp(result["amplitude_logvar"])) * scale}
    for k in range(settings["latent_size"]):
        table[f"s{k + 1}"], table[f"s{k + 1}_error"] = mu[:, 2 + k], err[:, 2 + k]
    table["predicted_redshift"] = np.clip(np.exp(mu[:, -1] - 1), 0, settings["max_redshift"])
    table["predicted_redshift_error"] = (np.exp(mu[:, -1] + err[:, -1] - 1) - np.exp(mu[:, -1] - err[:, -1] - 1)) / 2
    observed = result["obs_fluxerr"] != 0  # padding of the shorter light curves in a batch
    chi2 = np.where(observed, (result["obs_flux"] - result["model_flux"]) ** 2
                    / np.where(observed, result["obs_fluxerr"], 1.0) ** 2, 0.0)
    table["model_chisq"] = chi2.sum(axis=1)
    table["model_dof"] = observed.sum(axis=1) - 3 - settings["latent_size"]
    amplitude, redshift = table["amplitude"], table["predicted_redshift"]
    usable = (amplitude > 0) & (redshift > 0) & (table["amplitude_error"] < 0.5 * amplitude)
    table["luminosity"] = np.where(usable, -2.5 * np.log10(np.where(usable, amplitude, 1.0)) + settings["zeropoint"]
                                   - Planck18.distmod(np.where(usable, redshift, 1.0)).value, np.nan)
    return pd.DataFrame(table, index=pd.Index([meta["object_id"] for _, meta in inputs], name="object_id"))


def to_features(predictions: pd.DataFrame) -> pd.DataFrame:
    """ParSNIP's prediction table → this group's columns (amplitude back in µJy)."""
    features = pd.DataFrame({name: predictions[column] for name, column in _COLUMNS.items()}, index=predictions.index)
    amplitude = predictions["amplitude"].to_numpy(dtype=float)
    features["parsnip_amplitude"] = amplitude / UJY_TO_PLASTICC
    with np.errstate(divide="ignore", invalid="ignore"):
        features["parsnip_amplitude_rel_err"] = predictions["amplitude_error"].to_numpy(dtype=float) / np.abs(amplitude)
        dof = predictions["model_dof"].to_numpy(dtype=float)
        features["parsnip_chi2_per_dof"] = np.where(dof > 0, predictions["model_chisq"].to_numpy(dtype=float) / dof,
                                                    np.nan)
    return features[list(NAMES)].astype("float64")


def extract_batch(objects: list[ObjectLightCurve], progress: bool = False, n_jobs: int = -1) -> list[dict[str, float]]:
    """This group's features for (de-extinguished) objects, in their order; NaN for objects without observations.

    Chunks of CHUNK objects run in parallel worker processes (joblib) on a CPU, in this process on CUDA.
    """
    import torch

    ordered = sorted(objects, key=lambda obj: obj.object_id)
    chunks = [ordered[i:i + CHUNK] for i in range(0, len(ordered), CHUNK)]
    if torch.cuda.is_available() or len(chunks) < 2:
        n_jobs = 1
    results = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_chunk_features)(chunk) for chunk in chunks)
    parts, done = [], 0
    for chunk, part in zip(chunks, tqdm(results, total=len(chunks), desc="ParSNIP", disable=not progress)):
        parts.append(part)
        done += len(chunk)
        progress_count("ParSNIP", done, len(ordered), len(chunk))
    table = pd.concat(parts) if parts else pd.DataFrame(columns=list(NAMES))
    table = table.reindex([obj.object_id for obj in objects])
    return [{name: float(row[k]) for k, name in enumerate(NAMES)} for row in table.to_numpy(dtype=float)]


def _chunk_features(chunk: list[ObjectLightCurve]) -> pd.DataFrame:
    # One torch thread wherever it runs (a worker or this process): other thread counts sum the convolutions
    # in another order, and an object's features must not depend on where they were computed.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return to_features(predict(chunk))
    finally:
        torch.set_num_threads(threads)

"""ParSNIP latents: the pretrained PLAsTiCC photo-z model of astro-parsnip (Boone 2021) on each light curve.

ParSNIP's encoder maps a light curve to three shape latents (s1, s2, s3), a colour, an amplitude and a
redshift, with uncertainties; its decoder then predicts the light curve, whose χ² says how well a
supernova-like transient explains the data. The model was trained on simulated LSST (PLAsTiCC) light
curves, so its inputs follow PLAsTiCC's conventions:

* fluxes NOT corrected for Milky-Way dust: the objects come de-extinguished like every group's, so the
  correction is undone with obj.ebv (the same Fitzpatrick-99 factors utils.preprocess.deextinct applies);
* the PLAsTiCC flux unit (AB zero point 27.5): MALLORN µJy (zero point 23.9) × 10^(0.4·3.6) = × 27.54.
  ParSNIP scales every light curve by its peak, so the unit moves only the amplitude (reported back in µJy);
* a host photo-z and its error as inputs: the test's Z and Z_err; for training objects (spectroscopic Z,
  no Z_err) one fixed draw of utils.features.redshift.perturbed_redshift and the σ it used, so train and
  test inputs carry the same kind of error. The model infers its own redshift, so this table is built
  once, not per redshift draw.

The LSST bandpasses come from utils/features/bandpasses/ (see PROVENANCE.md), registered with sncosmo
before ParSNIP loads so nothing is downloaded. Runs on CUDA when present; deterministic (no sampling,
objects batched in object_id order whatever order they come in).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import BANDS
from ..preprocess import extinction_per_ebv
from .lightcurve import ObjectLightCurve
from .redshift import perturbed_redshift_and_error

MODEL = "plasticc_photoz"  # shipped inside the astro-parsnip wheel
UJY_TO_PLASTICC = 10 ** (0.4 * (27.5 - 23.9))
TRAIN_REDSHIFT_SEED = 2024  # the one perturbation draw that training objects show the model
BANDPASS_DIR = Path(__file__).resolve().parent / "bandpasses"
CHUNK = 512  # objects per call; the progress bar moves per chunk

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
    model = parsnip.load_model(MODEL, device="cuda" if torch.cuda.is_available() else "cpu", threads=1)
    torch.set_num_threads(threads)  # ParSNIP sets the process-wide thread count; give it back
    return model


def redshifts(dataset, kind: str) -> tuple[pd.Series, pd.Series]:
    """(photo-z, its error) shown to the model: the test's own; for training, one fixed perturbation draw."""
    log = dataset.log(kind)
    if kind == "test":
        return log["Z"], log["Z_err"]
    return perturbed_redshift_and_error(dataset.train_log, dataset.test_log, TRAIN_REDSHIFT_SEED)


def _table(obj: ObjectLightCurve):
    from astropy.table import Table

    undo_dust = 10.0 ** (-0.4 * extinction_per_ebv()[obj.band] * obj.ebv)  # back to the observed fluxes
    z, z_err = obj.z, obj.z_err if np.isfinite(obj.z_err) else 0.0
    table = Table({"time": obj.time, "flux": obj.flux * undo_dust * UJY_TO_PLASTICC,
                   "fluxerr": obj.flux_err * undo_dust * UJY_TO_PLASTICC,
                   "band": np.array([f"lsst{BANDS[b]}" for b in obj.band], dtype="U5")})
    table.meta.update({"object_id": obj.object_id, "hostgal_photoz": z, "hostgal_photoz_err": z_err,
                       "hostgal_specz": z, "redshift": z, "mwebv": obj.ebv})
    return table


def predict(objects: list[ObjectLightCurve]) -> pd.DataFrame:
    """ParSNIP's predictions (one row per object_id with usable observations) for de-extinguished objects."""
    import lcdata
    import torch

    usable = [obj for obj in objects if len(obj.time) > 0]
    if not usable:
        return pd.DataFrame(columns=list(_COLUMNS.values()))
    model = load_model()
    with torch.no_grad():
        dataset = model.preprocess(lcdata.from_light_curves([_table(obj) for obj in usable]), verbose=False)
        if len(dataset) == 0:
            return pd.DataFrame(columns=list(_COLUMNS.values()))
        predictions = model.predict_dataset(dataset).to_pandas()
    return predictions.set_index("object_id")


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


def extract_batch(objects: list[ObjectLightCurve], progress: bool = False) -> list[dict[str, float]]:
    """This group's features for (de-extinguished) objects, in their order; NaN for objects without observations."""
    ordered = sorted(objects, key=lambda obj: obj.object_id)
    parts = [to_features(predict(ordered[i:i + CHUNK]))
             for i in tqdm(range(0, len(ordered), CHUNK), desc="ParSNIP", disable=not progress)]
    table = pd.concat(parts) if parts else pd.DataFrame(columns=list(NAMES))
    table = table.reindex([obj.object_id for obj in objects])
    return [{name: float(row[k]) for k, name in enumerate(NAMES)} for row in table.to_numpy(dtype=float)]

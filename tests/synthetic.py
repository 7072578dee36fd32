"""Small synthetic light curves and data sets in the Kaggle layout, made by the tests themselves.

Classes follow their physics closely enough for features and models to tell them apart:

* TDE: fast rise, then a t^-5/3 power-law decline, blue (u, g bright) and staying blue.
* SN Ia: a Gaussian bump (~20 d wide) that reddens after peak.
* AGN: a damped random walk around a constant level, in every band.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

BANDS = "ugrizy"
SPEC_TYPES = {"TDE": 1, "SN Ia": 0, "AGN": 0, "SN II": 0}


def tde_flux(t: np.ndarray, peak_time: float = 60.0, amplitude: float = 100.0, rise: float = 15.0) -> np.ndarray:
    """Exponential rise to a peak, then amplitude * ((t - t0) / (peak - t0))^(-5/3) after it."""
    t0 = peak_time - 30.0
    after = np.clip(t - t0, 1e-3, None) / (peak_time - t0)
    return np.where(t < peak_time, amplitude * np.exp((t - peak_time) / rise), amplitude * after ** (-5.0 / 3.0))


def gaussian_flux(t: np.ndarray, peak_time: float = 60.0, amplitude: float = 100.0, sigma: float = 15.0) -> np.ndarray:
    return amplitude * np.exp(-0.5 * ((t - peak_time) / sigma) ** 2)


def random_walk_flux(n: int, rng: np.random.Generator, level: float = 50.0, step: float = 5.0) -> np.ndarray:
    walk = np.cumsum(rng.normal(0, step, n))
    return level + walk - walk.mean()


def make_object(spec_type: str, rng: np.random.Generator, n_per_band: int = 25, span: float = 300.0) -> pd.DataFrame:
    """One object's observations (Time (MJD), Flux, Flux_err, Filter) in the raw Kaggle columns."""
    rows = []
    start = 60000.0 + rng.uniform(0, 100)
    peak = rng.uniform(60, 120)
    for b, band in enumerate(BANDS):
        t = np.sort(rng.uniform(0, span, n_per_band))
        if spec_type == "TDE":
            flux = tde_flux(t, peak, amplitude=120.0 * (1.3 - 0.12 * b))
        elif spec_type == "AGN":
            flux = random_walk_flux(n_per_band, rng, level=40.0)
        else:  # supernovae: redder bands peak later and fade slower
            flux = gaussian_flux(t, peak + 3 * b, amplitude=80.0 * (0.7 + 0.1 * b), sigma=12.0 + 3 * b)
        err = np.full(n_per_band, 2.0) + rng.uniform(0, 1, n_per_band)
        flux = flux + rng.normal(0, err)
        rows.append(pd.DataFrame({"Time (MJD)": start + t, "Flux": flux, "Flux_err": err, "Filter": band}))
    return pd.concat(rows, ignore_index=True)


def make_log_and_lightcurves(n_objects: int, rng: np.random.Generator, *, train: bool, n_splits: int = 2,
                             tde_fraction: float = 0.3, prefix: str = "obj") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A log (Kaggle columns) and the matching raw light curves for n_objects objects."""
    others = [s for s in SPEC_TYPES if s != "TDE"]
    n_tde = max(1, int(round(n_objects * tde_fraction)))
    types = ["TDE"] * n_tde + [others[i % len(others)] for i in range(n_objects - n_tde)]
    log_rows, curves = [], []
    for i, spec_type in enumerate(types):
        object_id = f"{prefix}_{i:04d}"
        split = f"split_{i % n_splits + 1:02d}"
        z = rng.uniform(0.05, 0.8)
        log_rows.append({
            "object_id": object_id, "Z": round(z, 4), "Z_err": "" if train else round(0.05 * (1 + z), 4),
            "EBV": round(rng.uniform(0.0, 0.3), 3), "SpecType": spec_type if train else "",
            "English Translation": "synthetic", "split": split, **({"target": SPEC_TYPES[spec_type]} if train else {}),
        })
        curve = make_object(spec_type, rng)
        curve.insert(0, "object_id", object_id)
        curve["split"] = split
        curves.append(curve)
    return pd.DataFrame(log_rows), pd.concat(curves, ignore_index=True)


def write_kaggle_dataset(root: Path, n_train: int = 40, n_test: int = 20, n_splits: int = 2, seed: int = 0) -> Path:
    """Write train/test logs, split_XX light curves and sample_submission.csv under root; return root."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for kind, n, prefix in (("train", n_train, "tr"), ("test", n_test, "te")):
        log, curves = make_log_and_lightcurves(n, rng, train=kind == "train", n_splits=n_splits, prefix=prefix)
        log.to_csv(root / f"{kind}_log.csv", index=False)
        for split, part in curves.groupby("split"):
            (root / split).mkdir(exist_ok=True)
            part.drop(columns="split").to_csv(root / split / f"{kind}_full_lightcurves.csv", index=False)
        if kind == "test":
            pd.DataFrame({"object_id": log["object_id"], "prediction": 0}).to_csv(root / "sample_submission.csv", index=False)
    return root


def share_visit_times(root: Path, bands: str = "gr") -> Path:
    """Give every object's `bands` the same observation times (the first band's), as LSST takes several bands in
    one visit: rows then tie on (object_id, time), so any order that ties keep shows up in the features."""
    for path in sorted(Path(root).glob("split_*/*_full_lightcurves.csv")):
        table = pd.read_csv(path, dtype={"object_id": str})
        for _, rows in table.groupby("object_id"):
            first = rows[rows["Filter"] == bands[0]]["Time (MJD)"].to_numpy()
            for band in bands[1:]:
                index = rows.index[rows["Filter"] == band]
                table.loc[index, "Time (MJD)"] = first[:len(index)]
        table.to_csv(path, index=False)
    return root


def shuffled_copy(root: Path, target: Path, seed: int = 1) -> Path:
    """The same data set in another order: every file's rows shuffled, and the split folders swapped (split_01's
    objects in split_02 and back, the logs' split column to match). Nothing but the order changes."""
    rng = np.random.default_rng(seed)
    root, target = Path(root), Path(target)
    splits = sorted(p.name for p in root.glob("split_*"))
    renamed = dict(zip(splits, splits[::-1]))
    target.mkdir(parents=True)
    for name in ("train_log.csv", "test_log.csv"):
        log = pd.read_csv(root / name, dtype={"object_id": str}, keep_default_na=False)
        log["split"] = log["split"].map(renamed)
        log.sample(frac=1, random_state=rng.integers(1 << 31)).to_csv(target / name, index=False)
    (target / "sample_submission.csv").write_bytes((root / "sample_submission.csv").read_bytes())
    for split in splits:
        (target / renamed[split]).mkdir()
        for path in (root / split).glob("*.csv"):
            table = pd.read_csv(path, dtype={"object_id": str}, keep_default_na=False)
            table.sample(frac=1, random_state=rng.integers(1 << 31)).to_csv(target / renamed[split] / path.name,
                                                                            index=False)
    return target

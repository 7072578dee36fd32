"""Checks on raw MALLORN tables. Each raises `DataError` naming the file, the column and example ids.

Validated light curves come in one canonical row order, CANONICAL_ORDER: by object, time, band, flux and
flux error, so observations that share a time (LSST takes several bands in one visit) never keep the order of
the file they came from, and a shuffled export gives the same tables, features and scores.
"""

from __future__ import annotations

import difflib
from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import BANDS
from ..errors import DataError, examples

LOG_COLUMNS = ["object_id", "Z", "Z_err", "EBV", "SpecType", "split"]
TRAIN_LOG_COLUMNS = [*LOG_COLUMNS, "target"]
LIGHTCURVE_COLUMNS = ["object_id", "Time (MJD)", "Flux", "Flux_err", "Filter"]


def require_columns(df: pd.DataFrame, required: list[str], where: str) -> None:
    """Fail if any required column is absent, suggesting the closest present name."""
    missing = [c for c in required if c not in df.columns]
    if not missing:
        return
    hints = []
    for name in missing:
        close = difflib.get_close_matches(name, [str(c) for c in df.columns], n=1, cutoff=0.6)
        close = close or [c for c in df.columns if str(c).lower() == name.lower()]
        hints.append(f"'{name}'" + (f" (found '{close[0]}': misnamed?)" if close else ""))
    raise DataError(
        f"{where}: missing column {', '.join(hints)}; columns present: {list(map(str, df.columns))}"
    )


def numeric_column(df: pd.DataFrame, column: str, where: str, *, allow_nan: bool = False,
                   allow_inf: bool = False) -> np.ndarray:
    """The column as float64; fail on text, NaN (unless allowed) or infinities (unless allowed)."""
    raw = df[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64")
    text = np.isnan(values) & raw.notna().to_numpy()
    if text.any():
        bad = raw[text]
        raise DataError(
            f"{where}: column '{column}' has non-numeric values {examples(bad.astype(str))} "
            f"for object_id {examples(df.loc[text, 'object_id'])}"
        )
    if not allow_nan and np.isnan(values).any():
        rows = np.isnan(values)
        raise DataError(
            f"{where}: column '{column}' is missing (empty/NaN) for {int(rows.sum())} rows, "
            f"object_id {examples(df.loc[rows, 'object_id'])}"
        )
    if not allow_inf and np.isinf(values).any():
        rows = np.isinf(values)
        raise DataError(
            f"{where}: column '{column}' is infinite for {int(rows.sum())} rows, "
            f"object_id {examples(df.loc[rows, 'object_id'])}"
        )
    return values


def validate_log(df: pd.DataFrame, where: str, *, train: bool) -> pd.DataFrame:
    """Check a train/test log and return it indexed by object_id with tidy dtypes."""
    require_columns(df, TRAIN_LOG_COLUMNS if train else LOG_COLUMNS, where)
    if df.empty:
        raise DataError(f"{where}: the log has no objects")
    ids = df["object_id"]
    if ids.isna().any():
        raise DataError(f"{where}: {int(ids.isna().sum())} rows have an empty object_id")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise DataError(f"{where}: duplicate object_id {examples(dup)}")
    out = pd.DataFrame(index=pd.Index(ids.astype(str).to_numpy(), name="object_id"))
    out["Z"] = numeric_column(df, "Z", where)
    out["Z_err"] = numeric_column(df, "Z_err", where, allow_nan=True)
    out["EBV"] = numeric_column(df, "EBV", where)
    check_physical_ranges(out, where)
    out["SpecType"] = pd.Series(df["SpecType"].to_numpy(), index=out.index, dtype="str")
    out["split"] = pd.Series(df["split"].to_numpy(), index=out.index, dtype="str")
    if train:
        target = numeric_column(df, "target", where)
        if not np.isin(target, (0, 1)).all():
            bad = ~np.isin(target, (0, 1))
            raise DataError(f"{where}: column 'target' must be 0 or 1; got {examples(target[bad])} "
                            f"for object_id {examples(out.index[bad])}")
        out["target"] = target.astype("int8")
        check_labels_agree(out, where)
    return out


def check_physical_ranges(log: pd.DataFrame, where: str) -> None:
    """Z >= 0 and EBV >= 0 (both finite: numeric_column refuses infinities), Z_err >= 0 where given.

    A photometric redshift (one with a Z_err) may dip below 0 by at most its Z_err: an estimator's values near
    0 scatter both ways (MALLORN's test log holds Z = -0.0175 +- 0.0202), while Z = -0.3 is no redshift at all.
    """
    z, z_err, ebv = (log[c].to_numpy(dtype="float64") for c in ("Z", "Z_err", "EBV"))
    allowed = -np.where(np.isnan(z_err), 0.0, np.maximum(z_err, 0.0))
    rules = (("Z", z < allowed, ">= 0 (a photometric Z may be below 0 by at most its Z_err)"),
             ("Z_err", z_err < 0, ">= 0 where given"), ("EBV", ebv < 0, ">= 0"))
    for column, bad, rule in rules:
        if bad.any():
            values = log[column].to_numpy()[bad]
            raise DataError(f"{where}: column '{column}' must be {rule}; {int(bad.sum())} object(s) are not, "
                            f"object_id {examples(log.index[bad])} (values {examples(values)})")


class CheckedLightcurves(NamedTuple):
    """A validated light-curve file: the tidy rows in CANONICAL_ORDER and what was dropped from it."""

    table: pd.DataFrame
    nan_flux_rows: int  # rows with an empty (NaN) Flux, dropped
    duplicate_rows: int  # exact repeats of another row (object, time, band, flux, flux error), dropped
    duplicate_ids: list  # the objects that had such repeats


def drop_duplicate_observations(lightcurves: pd.DataFrame, where: str) -> tuple[pd.DataFrame, int, list]:
    """Drop exact repeats of a row (same object, time, band, flux and flux error), which odd exports write and
    which would stop the per-band fits (their times must increase); refuse two different measurements of one
    object in one band at one time. Returns (rows in CANONICAL_ORDER, rows dropped, their object ids)."""
    tidy = canonical_lightcurves(lightcurves)
    repeated = tidy.duplicated(CANONICAL_ORDER).to_numpy()
    dropped_ids = list(dict.fromkeys(tidy["object_id"].to_numpy()[repeated]))
    if repeated.any():
        tidy = tidy[~repeated].reset_index(drop=True)
    clash = tidy.duplicated(["object_id", "time", "band"], keep=False).to_numpy()
    if clash.any():
        rows = tidy[clash]
        raise DataError(f"{where}: {len(rows)} rows give different 'Flux'/'Flux_err' for the same object_id, "
                        f"'Time (MJD)' and 'Filter' (e.g. time {examples(rows['time'], limit=2)}), object_id "
                        f"{examples(rows['object_id'])}; keep one measurement per object, band and time")
    return tidy, int(repeated.sum()), dropped_ids


def validate_lightcurves(df: pd.DataFrame, where: str) -> CheckedLightcurves:
    """Check one light-curve file; its tidy rows in CANONICAL_ORDER, without NaN-flux rows and exact repeats."""
    require_columns(df, LIGHTCURVE_COLUMNS, where)
    if df["object_id"].isna().any():
        raise DataError(f"{where}: {int(df['object_id'].isna().sum())} rows have an empty object_id")
    time = numeric_column(df, "Time (MJD)", where)
    flux_err = numeric_column(df, "Flux_err", where)
    flux = numeric_column(df, "Flux", where, allow_nan=True)
    if np.isinf(flux).any():
        rows = np.isinf(flux)
        raise DataError(f"{where}: column 'Flux' is infinite for object_id "
                        f"{examples(df.loc[rows, 'object_id'])}")
    nonpositive = flux_err <= 0
    if nonpositive.any():
        raise DataError(
            f"{where}: column 'Flux_err' must be > 0; {int(nonpositive.sum())} rows are not, "
            f"object_id {examples(df.loc[nonpositive, 'object_id'])}"
        )
    band = df["Filter"].astype(str).str.strip()
    unknown = ~band.isin(list(BANDS)).to_numpy()
    if unknown.any():
        raise DataError(
            f"{where}: column 'Filter' has bands {examples(band[unknown])} outside {BANDS}, "
            f"object_id {examples(df.loc[unknown, 'object_id'])}"
        )
    keep = ~np.isnan(flux)
    tidy = pd.DataFrame({
        "object_id": df["object_id"].astype(str).to_numpy()[keep],
        "time": time[keep],
        "flux": flux[keep],
        "flux_err": flux_err[keep],
        "band": pd.Categorical(band.to_numpy()[keep], categories=list(BANDS)),
    })
    tidy, duplicates, duplicate_ids = drop_duplicate_observations(tidy, where)
    return CheckedLightcurves(tidy, int((~keep).sum()), duplicates, duplicate_ids)


def check_ids_match(log: pd.DataFrame, lightcurves: pd.DataFrame, where: str) -> pd.Index:
    """Every light-curve id must be in the log; return the log objects with no (non-NaN) observation."""
    lc_ids = pd.Index(lightcurves["object_id"].unique())
    orphans = lc_ids.difference(log.index)
    if len(orphans):
        raise DataError(f"{where}: light curves for {len(orphans)} object_id absent from the log: "
                        f"{examples(orphans)}")
    return log.index[~log.index.isin(lc_ids)]


def check_labels_agree(log: pd.DataFrame, where: str) -> None:
    """target is 1 exactly for SpecType "TDE" (where SpecType is given); anything else is a labelling error."""
    spec = log["SpecType"]
    given = spec.notna() & (spec.astype(str).str.strip() != "")
    is_tde = spec.astype(str).str.strip() == "TDE"
    target = log["target"].to_numpy()
    tde_not_1 = (given & is_tde).to_numpy() & (target == 0)
    other_is_1 = (given & ~is_tde).to_numpy() & (target == 1)
    problems = []
    if tde_not_1.any():
        problems.append(f"SpecType 'TDE' with target 0 for object_id {examples(log.index[tde_not_1])}")
    if other_is_1.any():
        problems.append(f"target 1 with SpecType other than 'TDE' ({examples(spec[other_is_1].astype(str), limit=3)}) "
                        f"for object_id {examples(log.index[other_is_1])}")
    if problems:
        raise DataError(f"{where}: columns 'target' and 'SpecType' contradict each other: " + "; ".join(problems))


# Every table in one order, whatever order its file had: an export's row order must never move a score
# (observations that share a time, as a multi-band visit's do, would otherwise keep their file order).
CANONICAL_ORDER = ["object_id", "time", "band", "flux", "flux_err"]


def canonical_lightcurves(lightcurves: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by object, time, band (ugrizy), flux and error: one order for the same observations."""
    return lightcurves.sort_values(CANONICAL_ORDER, kind="stable", ignore_index=True)


def canonical_log(log: pd.DataFrame) -> pd.DataFrame:
    """A validated log sorted by object_id (folds, tables and copies then follow the ids, not the file)."""
    return log.sort_index(kind="stable")


def check_training_classes(log: pd.DataFrame, where: str) -> None:
    """A run learns TDE against the rest, and its multiclass GBDT learns the SpecType groups: the training objects
    (those with observations) must hold TDEs (target 1, SpecType 'TDE') and non-TDEs."""
    target = log["target"].to_numpy()
    n_tde, n_other = int((target == 1).sum()), int((target == 0).sum())
    if not n_tde or not n_other:
        missing = "no TDE (target 1)" if not n_tde else "no non-TDE (target 0)"
        raise DataError(f"{where}: column 'target' has {missing} among the {len(log)} training objects with "
                        "observations; training needs both TDEs and non-TDEs")
    if not (log["SpecType"].astype(str).str.strip() == "TDE").any():
        raise DataError(f"{where}: column 'SpecType' names no 'TDE' although {n_tde} object(s) have target 1, "
                        f"e.g. object_id {examples(log.index[target == 1])}; the multiclass GBDT learns the "
                        "SpecType groups, so give the TDEs SpecType 'TDE'")


def check_photometric_errors(log: pd.DataFrame, where: str) -> None:
    """The training redshifts are perturbed like the test's photometric ones (utils.data.redshift), which
    needs at least one test Z_err."""
    if log["Z_err"].isna().all():
        raise DataError(f"{where}: column 'Z_err' is empty for all {len(log)} objects; the training redshifts "
                        "are perturbed by the test's photometric errors, so at least one Z_err is needed")

"""Find, load, validate and cache the MALLORN data set (Kaggle layout).

Layout expected under the data directory::

    train_log.csv, test_log.csv, sample_submission.csv
    split_01/train_full_lightcurves.csv, split_01/test_full_lightcurves.csv, ... split_20/...

`load_dataset` validates every file on the first read and keeps a parquet copy under `cache/`, keyed on
the source files' names, sizes and modification times, so later reads take a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import PROJECT_ROOT
from ..errors import DataError, examples
from .validate import (canonical_log, check_ids_match, check_photometric_errors, check_training_classes,
                       drop_duplicate_observations, require_columns, validate_lightcurves, validate_log)

COMPETITION = "mallorn-astronomical-classification-challenge"
KAGGLE_MOUNTS = (Path("/kaggle/input") / COMPETITION, Path("/kaggle/input/competitions") / COMPETITION)
DEFAULT_CACHE_DIR = PROJECT_ROOT / "cache"
CACHE_VERSION = "data-v4"  # bump when the cached schema or the validation rules change (v4: duplicate rows)
HOW_TO_GET_DATA = (
    "Get the data in one of these ways:\n"
    f"  * point DATA_DIR (make run DATA_DIR=...) or --data-dir at a folder holding train_log.csv;\n"
    f"  * put the competition files in {PROJECT_ROOT / 'data'};\n"
    f"  * or set up Kaggle credentials (~/.kaggle/kaggle.json or KAGGLE_USERNAME/KAGGLE_KEY), accept the\n"
    f"    rules at https://www.kaggle.com/competitions/{COMPETITION}, and run again to download it."
)


def _holds_data(path: Path) -> bool:
    # exists(), not is_file(): a train_log.csv that is a folder or unreadable gets its own sentence later
    return (path / "train_log.csv").exists()


def find_data_dir(data_dir: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """Resolve the data folder: argument, then $DATA_DIR, then data/, then the Kaggle mount.

    If none holds the data and Kaggle credentials exist, download it into data/.
    """
    explicit = data_dir or os.environ.get("DATA_DIR") or None
    if explicit:
        path = Path(explicit).expanduser().resolve()
        if not path.is_dir():
            raise DataError(f"data directory {path} does not exist.\n{HOW_TO_GET_DATA}")
        if not _holds_data(path):
            raise DataError(f"data directory {path} has no train_log.csv.\n{HOW_TO_GET_DATA}")
        return path
    for candidate in (PROJECT_ROOT / "data", *KAGGLE_MOUNTS):
        if _holds_data(candidate):
            return candidate
    if download and kaggle_credentials_present():
        return download_from_kaggle(PROJECT_ROOT / "data")
    looked = ", ".join(str(p) for p in ("$DATA_DIR", PROJECT_ROOT / "data", *KAGGLE_MOUNTS))
    raise DataError(f"no MALLORN data found (looked in {looked}).\n{HOW_TO_GET_DATA}")


def kaggle_credentials_present() -> bool:
    """True when the kaggle package would find credentials (environment or kaggle.json)."""
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return True
    if os.environ.get("KAGGLE_API_TOKEN"):
        return True
    config_dir = Path(os.environ.get("KAGGLE_CONFIG_DIR", Path.home() / ".kaggle"))
    return (config_dir / "kaggle.json").is_file() or (config_dir / "access_token").is_file()


def download_from_kaggle(target: Path) -> Path:
    """Download and unzip the competition files into `target`; return the folder holding them."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi

        api = KaggleApi()
        api.authenticate()
        api.competition_download_files(COMPETITION, path=str(target), quiet=False)
    except Exception as error:  # the kaggle client raises many types; all mean "could not download"
        raise DataError(f"downloading {COMPETITION} from Kaggle failed: {error}\n{HOW_TO_GET_DATA}") from error
    for archive in target.glob("*.zip"):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(target)
        archive.unlink()
    for candidate in (target, *[p for p in target.iterdir() if p.is_dir()]):
        if _holds_data(candidate):
            return candidate
    raise DataError(f"the Kaggle download in {target} holds no train_log.csv")


@dataclass(frozen=True)
class Dataset:
    """Validated logs (indexed by object_id) and light curves (object_id, time, flux, flux_err, band)."""

    train_log: pd.DataFrame
    test_log: pd.DataFrame
    train_lc: pd.DataFrame
    test_lc: pd.DataFrame
    data_dir: Path
    fingerprint: str
    report: dict = field(default_factory=dict)

    def log(self, kind: str) -> pd.DataFrame:
        return {"train": self.train_log, "test": self.test_log}[kind]

    def lightcurves(self, kind: str) -> pd.DataFrame:
        return {"train": self.train_lc, "test": self.test_lc}[kind]


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where every cache lives: the argument, else $MALLORN_CACHE_DIR, else <project>/cache."""
    return Path(cache_dir or os.environ.get("MALLORN_CACHE_DIR") or DEFAULT_CACHE_DIR).expanduser()


COMPRESSED_MAGIC = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"BZh": "bzip2", b"\xfd7zXZ": "xz"}


def check_readable(path: Path, where: str) -> None:
    """Fail with a sentence when `path` is missing, a folder, unreadable, empty or a compressed archive."""
    if not path.exists():
        raise DataError(f"missing file {path}")
    if path.is_dir():
        raise DataError(f"{where}: {path} is a folder, not a CSV file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except PermissionError:
        raise DataError(f"{where}: cannot read {path} (permission denied); check its owner and mode") from None
    except OSError as error:
        raise DataError(f"{where}: cannot read {path} ({error.strerror or error})") from None
    if not head:
        raise DataError(f"{where}: {path} is empty (0 bytes); download or copy it again")
    for magic, kind in COMPRESSED_MAGIC.items():
        if head.startswith(magic):
            tool = {"gzip": "gunzip -c", "zip": "unzip -p"}.get(kind, f"{kind} -dc")
            raise DataError(f"{where}: {path} is {kind}-compressed, not plain CSV; decompress it first "
                            f"(e.g. {tool} FILE > {path.name})")


def read_csv(path: Path, where: str) -> pd.DataFrame:
    """Read a CSV with pyarrow, object_id as text; every unreadable file is a DataError naming it."""
    check_readable(path, where)
    try:
        # object_id stays text: "007" and "1e5" are names, not numbers.
        table = pd.read_csv(path, engine="pyarrow", dtype={"object_id": str})
    except Exception as error:  # pyarrow/pandas raise several types for bad CSV
        raise DataError(f"{where}: corrupt or truncated CSV ({type(error).__name__}: {error})") from error
    if table.empty:
        raise DataError(f"{where}: {path} has a header but no rows")
    return table


def source_files(data_dir: Path) -> dict[str, list[Path]]:
    """The log and light-curve files the load will read, checked for presence."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data directory {data_dir} does not exist.\n{HOW_TO_GET_DATA}")
    files: dict[str, list[Path]] = {}
    for kind in ("train", "test"):
        log_path = data_dir / f"{kind}_log.csv"
        splits = sorted(read_csv(log_path, log_path.name)
                        .get("split", pd.Series(dtype=str)).dropna().astype(str).unique())
        if not splits:
            raise DataError(f"{log_path.name}: missing column 'split' (or it is empty)")
        lcs = [data_dir / split / f"{kind}_full_lightcurves.csv" for split in splits]
        missing = [str(p) for p in lcs if not p.exists()]  # a folder or unreadable file: read_csv says which
        if missing:
            raise DataError(f"missing file {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        files[kind] = [log_path, *lcs]
    return files


def fingerprint(files: list[Path]) -> str:
    """Hash of the source files' names and contents: changes whenever a file is edited, and survives a
    copy that only renews the modification times (a re-mounted Kaggle input, a re-provisioned data
    folder), so every cache keyed on it (validated tables, features, encoders) stays valid. Reading the
    80 MB of MALLORN CSVs costs ~0.3 s, far less than parsing them."""
    digest = hashlib.sha1(CACHE_VERSION.encode())
    for path in files:
        where = f"{path.parent.name}/{path.name}" if path.parent.name.startswith("split_") else path.name
        check_readable(path, where)  # the first read of every file: a bad one fails here, in a sentence
        digest.update(f"{where}:{path.stat().st_size}:".encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _load_kind(data_dir: Path, files: list[Path], kind: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    log_path, *lc_paths = files
    log = validate_log(read_csv(log_path, log_path.name), log_path.name, train=kind == "train")
    parts, nan_dropped, duplicates, notes = [], {}, {}, []
    for path in lc_paths:
        where = f"{path.parent.name}/{path.name}"
        checked = validate_lightcurves(read_csv(path, where), where)
        parts.append(checked.table)
        if checked.nan_flux_rows:
            nan_dropped[where] = checked.nan_flux_rows
        if checked.duplicate_rows:
            duplicates[where] = checked.duplicate_rows
            notes.append(duplicate_note(where, checked.duplicate_rows, checked.duplicate_ids))
    lightcurves = pd.concat(parts, ignore_index=True)
    lightcurves["band"] = pd.Categorical(lightcurves["band"], categories=parts[0]["band"].cat.categories)
    where = f"{kind}_full_lightcurves.csv (all splits)"
    lightcurves, across, across_ids = drop_duplicate_observations(lightcurves, where)  # also sorts them
    if across:
        duplicates[where] = across
        notes.append(duplicate_note(where, across, across_ids))
    without = check_ids_match(log, lightcurves, f"{kind} ({log_path.name} vs {kind}_full_lightcurves.csv)")
    if len(without) and kind == "train":
        if len(without) == len(log):
            raise DataError(f"{log_path.name}: no training object has a usable (non-NaN flux) observation")
        # Nothing to learn from; the rest of the training set is still good.
        log = log.drop(index=without)
        notes.append(f"{log_path.name}: dropped {len(without)} training object(s) with no usable observation "
                     f"(no light-curve rows, or every flux NaN) from training: {examples(without)}")
    elif len(without):
        # A test object still needs a prediction: it keeps its log row, with empty light curves and NaN features.
        notes.append(f"{log_path.name}: {len(without)} test object(s) have no usable observation (no light-curve "
                     f"rows, or every flux NaN); kept with empty light curves and NaN features, they still get a "
                     f"prediction: {examples(without)}")
    if kind == "train":
        check_training_classes(log, log_path.name)
    else:
        check_photometric_errors(log, log_path.name)
    # Logs by object_id and light curves in CANONICAL_ORDER (drop_duplicate_observations sorts them): the files'
    # row order never reaches a fold, a redshift draw, a degraded copy or a feature.
    log = canonical_log(log)
    report = {"objects": len(log), "rows": len(lightcurves),
              "nan_flux_rows_dropped": int(sum(nan_dropped.values())), "nan_flux_by_file": nan_dropped,
              "duplicate_rows_dropped": int(sum(duplicates.values())), "duplicates_by_file": duplicates,
              "without_observations": [str(i) for i in without], "notes": notes}
    return log, lightcurves, report


def duplicate_note(where: str, rows: int, object_ids) -> str:
    """The report's sentence for exact repeats of observation rows that were dropped."""
    return (f"{where}: dropped {rows} exact duplicate observation row(s) (same object_id, time, band, flux and "
            f"flux_err as another row): object_id {examples(object_ids)}")


def load_dataset(data_dir: str | os.PathLike | None = None, *, cache_dir: str | os.PathLike | None = None,
                 use_cache: bool = True) -> Dataset:
    """Load and validate logs and light curves for train and test, through the parquet cache.

    `dataset.report["notes"]` says, one sentence each, what the load did beyond reading: exact duplicate
    observation rows dropped, objects dropped from training or kept in the test set without observations.
    Logs come sorted by object_id and light curves in CANONICAL_ORDER (utils.data.validate), whatever the
    files' row order.
    """
    data_dir = find_data_dir(data_dir)
    files = source_files(data_dir)
    key = fingerprint(files["train"] + files["test"])
    cached = cache_root(cache_dir) / key
    names = ("train_log", "test_log", "train_lc", "test_lc")
    if use_cache and _cache_complete(cached):
        tables = {n: pd.read_parquet(cached / f"{n}.parquet") for n in names}
        report = json.loads((cached / "report.json").read_text())
        return Dataset(**tables, data_dir=data_dir, fingerprint=key, report=report)

    train_log, train_lc, train_report = _load_kind(data_dir, files["train"], "train")
    test_log, test_lc, test_report = _load_kind(data_dir, files["test"], "test")
    overlap = train_log.index.intersection(test_log.index)
    if len(overlap):
        raise DataError(f"train_log.csv and test_log.csv share object_id {examples(overlap)}")
    report = {"train": train_report, "test": test_report, "notes": train_report["notes"] + test_report["notes"]}
    tables = {"train_log": train_log, "test_log": test_log, "train_lc": train_lc, "test_lc": test_lc}
    if use_cache:
        _write_cache(cached, tables, report)
    return Dataset(**tables, data_dir=data_dir, fingerprint=key, report=report)


CACHE_FILES = ("train_log.parquet", "test_log.parquet", "train_lc.parquet", "test_lc.parquet", "report.json")


def _cache_complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in CACHE_FILES)


def _write_cache(target: Path, tables: dict[str, pd.DataFrame], report: dict) -> None:
    """Write into a temporary sibling and rename, so a crash never leaves a half-written cache.

    Two runs may load the same new data at once: whichever renames first wins, and the other keeps
    that entry (same source files, same content) and discards its own copy.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for name, table in tables.items():
            table.to_parquet(staging / f"{name}.parquet")
        (staging / "report.json").write_text(json.dumps(report, indent=2))
        for attempt in range(2):
            if _cache_complete(target):
                return  # another process finished the same entry first: keep theirs
            try:
                staging.rename(target)
                return
            except OSError:  # target exists: another run's entry, or an incomplete leftover of an older version
                if attempt == 0 and not _cache_complete(target):
                    shutil.rmtree(target, ignore_errors=True)
        if not _cache_complete(target):
            raise OSError(f"could not write the data cache {target}")
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def load_sample_submission(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The competition's sample_submission.csv (object_id as text, prediction), order preserved."""
    path = find_data_dir(data_dir) / "sample_submission.csv"
    table = read_csv(path, path.name)
    require_columns(table, ["object_id", "prediction"], path.name)
    return table


def check_sample_matches_test(sample: pd.DataFrame, test_log: pd.DataFrame) -> None:
    """sample_submission.csv must list exactly the test log's objects, each once."""
    ids = sample["object_id"].astype(str)
    repeated = ids[ids.duplicated()]
    if len(repeated):
        raise DataError(f"sample_submission.csv: column 'object_id' repeats {examples(repeated)}")
    missing = test_log.index.difference(pd.Index(ids))
    extra = pd.Index(ids).difference(test_log.index)
    problems = []
    if len(missing):
        problems.append(f"lacks {len(missing)} object_id of test_log.csv: {examples(missing)}")
    if len(extra):
        problems.append(f"has {len(extra)} object_id absent from test_log.csv: {examples(extra)}")
    if problems:
        raise DataError("sample_submission.csv: column 'object_id' " + "; ".join(problems))

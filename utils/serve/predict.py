"""Score new light curves with a finished run folder (`<run>/model/`, see utils.run.model).

    python -m utils.serve --run submissions/<id> --data-dir <folder> [--kind NAME] [--out <folder>]
                            [--chunk-size N] [--jobs N] [--device auto] [--report N]
                            [--workers N | --scheduler tcp://host:8786]

Input layout under --data-dir:

* default: `log.csv` (object_id, Z, Z_err, EBV; other columns are ignored, Z_err may be empty) and one or
  more light-curve files `*lightcurves.csv` anywhere below it (object_id, Time (MJD), Flux, Flux_err,
  Filter), e.g. `lightcurves.csv` or `split_01/lightcurves.csv, split_02/...`; each object's rows in one file;
* `--kind NAME`: `NAME_log.csv` and `**/NAME_*lightcurves.csv`, so `--kind test` reads the Kaggle test side.

Scores never depend on the order of the rows, the log or the files: each file's objects are scored in object_id
order, their observations in utils.data.validate.CANONICAL_ORDER.

Every logged object is scored, as `make run` scores the test set (utils.data.load): one without a usable
observation (no light-curve rows, or every flux NaN) gets empty light curves and NaN features, which every member
takes, is counted in one printed line and in config.json, and is marked `no observations` in predictions.csv;
such objects are scored in chunks of their own, so they move no other object's score. Light curves of an object
the log lacks are refused.

Output: a NEW folder (default `<run>/scored/<UTC time>`) with `predictions.csv` (object_id, probability,
one column per member, prediction 0/1 at the run's threshold, status: `scored`, `no observations`, or which
members were left out of the blend and why; utils.run.model.RunModel.score), `config.json` and, unless `--report 0`, the
candidate report (`candidates.html` and `candidates/`: the top N objects, utils.serve.candidates); it is written into
a temporary sibling and renamed, so a failure leaves nothing. `--workers N` or `--scheduler ADDRESS`
extract the features on Dask (utils.features.distributed: a local cluster of N processes, or a running cluster)
instead of local joblib workers. Objects are scored in chunks of --chunk-size
(memory: the largest light-curve file plus one chunk's features and tensors). Bad input: one `error:` line,
exit status 2.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from ..config import save_config
from ..data.load import Dataset, fingerprint, read_csv
from ..data.validate import LIGHTCURVE_COLUMNS, check_ids_match, validate_lightcurves, validate_log
from ..errors import ArgumentParser, DataError, error_line, examples
from ..features import JoblibExecutor, feature_table
from ..features.distributed import DaskExecutor, cluster_client
from ..gbdt.member import TabularMember
from ..run.folder import check_writable
from ..run.model import SCORED, load_run_model
from ..run.pipeline import check_device
from .candidates import write_candidate_report

DEFAULT_CHUNK_SIZE = 2000
DEFAULT_REPORT_TOP_N = 20
NO_OBSERVATIONS = "no observations"  # the status of an object scored from empty light curves


@dataclass(frozen=True)
class BatchFiles:
    log: Path
    lightcurves: list[Path]




def find_batch_files(data_dir: str | os.PathLike, kind: str | None = None) -> BatchFiles:
    """The log and light-curve files of a batch (layout in the module docstring)."""
    data_dir = Path(data_dir).expanduser().resolve()
    if not data_dir.is_dir():
        raise DataError(f"data directory {data_dir} does not exist")
    log = data_dir / (f"{kind}_log.csv" if kind else "log.csv")
    if not log.is_file():
        hint = "" if kind else " (for the Kaggle layout pass --kind test)"
        raise DataError(f"data directory {data_dir} has no {log.name}{hint}")
    pattern = f"{kind}_*lightcurves.csv" if kind else "*lightcurves.csv"
    lightcurves = sorted(p for p in data_dir.rglob(pattern) if p.is_file())
    if not lightcurves:
        raise DataError(f"data directory {data_dir} has no light-curve file matching **/{pattern}")
    return BatchFiles(log, lightcurves)


def read_batch_log(path: Path) -> pd.DataFrame:
    """The batch's log, validated like a test log; SpecType and split are not needed and not kept."""
    table = read_csv(path, path.name)
    for column in ("SpecType", "split"):  # labels and Kaggle bookkeeping: not needed to score, not kept
        table[column] = ""
    return validate_log(table, path.name, train=False).drop(columns=["SpecType", "split"])


def _where(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else path.name


def check_batch(log: pd.DataFrame, files: BatchFiles) -> tuple[dict[Path, pd.Index], pd.Index]:
    """Validate every light-curve file; return each file's object ids and the logged objects without a usable
    observation in any file (as `make run` keeps them: scored from NaN features), both sorted. Each object's rows
    must be in one file, and every observed object must be in the log."""
    root = files.log.parent
    ids_by_file: dict[Path, pd.Index] = {}
    seen: dict[str, Path] = {}
    for path in files.lightcurves:
        where = _where(path, root)
        tidy = validate_lightcurves(read_csv(path, where), where).table
        ids = pd.Index(tidy["object_id"].unique()).sort_values()
        repeated = [i for i in ids if i in seen]
        if repeated:
            raise DataError(f"{where}: object_id {examples(repeated)} also has light curves in "
                            f"{_where(seen[repeated[0]], root)}; keep each object's rows in one file")
        seen.update(dict.fromkeys(ids, path))
        ids_by_file[path] = ids
    without = check_ids_match(log, pd.DataFrame({"object_id": list(seen)}),
                              f"{files.log.name} vs the light-curve files")
    return ids_by_file, pd.Index(without).sort_values()


def without_observations_note(log_name: str, without: pd.Index) -> str:
    """The one line predict prints about objects without a usable observation (the words of `make run`'s note)."""
    return (f"data: {log_name}: {len(without)} object(s) have no usable observation (no light-curve rows, or every "
            f"flux NaN); kept with empty light curves and NaN features, they still get a prediction, status "
            f"'{NO_OBSERVATIONS}' in predictions.csv: {examples(without)}")


def empty_lightcurves() -> pd.DataFrame:
    """Validated light-curve columns without a row: what objects without observations are scored from."""
    raw = pd.DataFrame({column: pd.Series(dtype=str if column in ("object_id", "Filter") else float)
                        for column in LIGHTCURVE_COLUMNS})
    return validate_lightcurves(raw, "no observations").table


def batch_dataset(log: pd.DataFrame, lightcurves: pd.DataFrame, data_dir: Path, key: str) -> Dataset:
    """A Dataset whose test side is the batch (the feature and sequence caches key on `key`)."""
    empty_log = log.iloc[:0]
    return Dataset(train_log=empty_log, test_log=log, train_lc=lightcurves.iloc[:0], test_lc=lightcurves,
                   data_dir=data_dir, fingerprint=key)


@dataclass
class _Candidates:
    """What the report needs of the best-scored objects of each chunk, so memory stays one chunk's worth."""

    log: list[pd.DataFrame]
    lightcurves: list[pd.DataFrame]
    features: list[pd.DataFrame]

    def keep(self, scored: pd.DataFrame, chunk_log: pd.DataFrame, chunk_lc: pd.DataFrame, features: pd.DataFrame,
             top_n: int) -> None:
        top = pd.Index(scored.nlargest(top_n, "probability")["object_id"])
        self.log.append(chunk_log.loc[top])
        self.lightcurves.append(chunk_lc[chunk_lc["object_id"].isin(top)])
        self.features.append(features.loc[top])


def _write_report(folder: Path, model, predictions: pd.DataFrame, kept: _Candidates, top_n: int) -> Path:
    """candidates.html for the batch's top objects, explained by the run's multiclass GBDT (or its first GBDT)."""
    features = pd.concat(kept.features)
    gbdt = [name for name, member in model.members.items() if isinstance(member, TabularMember)]
    contributions = None
    if gbdt:
        explained = model.members["gbdt" if "gbdt" in gbdt else gbdt[0]]
        contributions = explained.contributions(features[model.feature_columns])
    log = pd.concat(kept.log)
    # the report ranks the kept objects only: each chunk kept its top_n, so the batch's top_n are among them
    table = predictions.set_index("object_id").loc[log.index]
    return write_candidate_report(folder, log, pd.concat(kept.lightcurves, ignore_index=True),
                                  table["probability"], features, contributions, top_n=top_n,
                                  threshold=model.threshold, members=table[list(model.members)])


def predict_batch(run_dir: str | os.PathLike, data_dir: str | os.PathLike, *, kind: str | None = None,
                  out: str | os.PathLike | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE, n_jobs: int = -1,
                  device: str = "auto", progress: bool = True, report_top_n: int = DEFAULT_REPORT_TOP_N,
                  workers: int | None = None, scheduler: str | None = None) -> Path:
    """Score every object of the batch with the run's model; return the new output folder.

    `report_top_n`: objects in the candidate report (0: no report). `workers` / `scheduler`: extract the
    features on Dask (a local cluster of that many processes / a running cluster) instead of joblib.
    """
    if chunk_size < 1:
        raise DataError(f"--chunk-size must be at least 1, not {chunk_size}")
    if report_top_n < 0:
        raise DataError(f"--report must be 0 (no report) or more, not {report_top_n}")
    if workers is not None and workers < 1:
        raise DataError(f"--workers must be at least 1, not {workers}")
    if n_jobs == 0:
        raise DataError("--jobs must be -1 (every core), another negative number (all but that many - 1) or at "
                        "least 1, not 0")
    try:  # now, not after the features are extracted: a device name torch does not know, or CUDA asked for and absent
        check_device(device)
    except ValueError as error:
        raise DataError(str(error)) from None
    with contextlib.ExitStack() as stack:
        client = None
        if workers is not None or scheduler is not None:
            client = stack.enter_context(cluster_client(scheduler, n_workers=workers or 2))
        return _predict_batch(run_dir, data_dir, kind=kind, out=out, chunk_size=chunk_size, n_jobs=n_jobs,
                              device=device, progress=progress, report_top_n=report_top_n, client=client)


def _predict_batch(run_dir, data_dir, *, kind, out, chunk_size, n_jobs, device, progress, report_top_n,
                   client) -> Path:
    model = load_run_model(run_dir, device=device)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = Path(out).expanduser().resolve() if out else model.run_dir / "scored" / stamp
    if out.exists():
        raise DataError(f"output folder {out} already exists; predict never overwrites, choose another --out")
    check_writable(out, "--out (PREDICT_OUT)")
    files = find_batch_files(data_dir, kind)
    log = read_batch_log(files.log)
    ids_by_file, without = check_batch(log, files)
    if len(without):
        print(without_observations_note(files.log.name, without), flush=True)

    executor = JoblibExecutor(n_jobs) if client is None else DaskExecutor(client)
    parts, kept = [], _Candidates([], [], [])
    bar = tqdm(total=len(log), desc="scoring", unit="obj", disable=not progress)
    # Chunks of each file's objects in object_id order (their rows in CANONICAL_ORDER), then those without
    # observations: neither the log's order nor the rows' moves a score, and an object without observations shares
    # no chunk (no network batch) with an observed one.
    sources: list[tuple[Path | None, pd.Index]] = [*ids_by_file.items(), *([(None, without)] if len(without) else [])]
    for path, ids in sources:
        if path is None:
            where, lightcurves, source = NO_OBSERVATIONS, empty_lightcurves(), [files.log]
        else:
            where = _where(path, files.log.parent)
            lightcurves, source = validate_lightcurves(read_csv(path, where), where).table, [files.log, path]
        for start in range(0, len(ids), chunk_size):
            chunk_log = log.loc[ids[start:start + chunk_size]]
            chunk_lc = lightcurves[lightcurves["object_id"].isin(chunk_log.index)].reset_index(drop=True)
            check_ids_match(chunk_log, chunk_lc, where)
            key = hashlib.sha1((fingerprint(source) + "\n".join(chunk_log.index)).encode()).hexdigest()[:16]
            dataset = batch_dataset(chunk_log, chunk_lc, files.log.parent, key)
            features = feature_table(dataset, "test", executor=executor, progress=False)
            scored = model.score(dataset, features)
            if path is None:  # what the members said beyond scoring (a member left out) stays after it
                scored["status"] = scored["status"].map(
                    lambda status: NO_OBSERVATIONS if status == SCORED else f"{NO_OBSERVATIONS}; {status}")
            parts.append(scored)
            if report_top_n:
                kept.keep(scored, chunk_log, chunk_lc, features, report_top_n)
            bar.update(len(chunk_log))
    bar.close()
    # .loc, not reindex: every logged object was scored, and a row missing here would be a bug, not a NaN
    predictions = pd.concat(parts, ignore_index=True).set_index("object_id").loc[log.index].reset_index()

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        predictions.to_csv(staging / "predictions.csv", index=False)
        if report_top_n:
            _write_report(staging, model, predictions, kept, report_top_n)
        save_config({"run": str(model.run_dir), "data_dir": str(files.log.parent), "kind": kind,
                     "log": files.log.name, "lightcurve_files": [_where(p, files.log.parent) for p in files.lightcurves],
                     "objects": len(predictions), "flagged": int(predictions["prediction"].sum()),
                     "without_observations": len(without),
                     "statuses": {str(k): int(v) for k, v in predictions["status"].value_counts().items()},
                     "threshold": model.threshold, "members": list(model.members),
                     "features_version": model.manifest["features_version"], "run_commit": model.manifest["commit"],
                     "chunk_size": chunk_size, "device": device, "report_top_n": report_top_n,
                     "dask": None if client is None else str(client.scheduler.address), "created": stamp},
                    staging / "config.json")
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m utils.serve",
                            description="Score new light curves with a finished run folder.")
    parser.add_argument("--run", required=True, help="run folder holding model/ (e.g. submissions/<id>)")
    parser.add_argument("--data-dir", required=True, help="folder with log.csv and *lightcurves.csv (or see --kind)")
    parser.add_argument("--kind", default=None, help="read NAME_log.csv and NAME_*lightcurves.csv (test: Kaggle test side)")
    parser.add_argument("--out", default=None, help="new output folder (default <run>/scored/<UTC time>)")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="objects scored at a time")
    parser.add_argument("--jobs", type=int, default=-1, help="feature-extraction workers (-1: all cores)")
    parser.add_argument("--device", default="auto", help="deep members: auto | cpu | cuda | mps")
    parser.add_argument("--report", type=int, default=DEFAULT_REPORT_TOP_N,
                        help="objects in the candidate report candidates.html (0: none)")
    parser.add_argument("--workers", type=int, default=None, help="extract features on a local Dask cluster of N processes")
    parser.add_argument("--scheduler", default=None, help="extract features on a running Dask cluster (tcp://host:8786)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        out = predict_batch(args.run, args.data_dir, kind=args.kind, out=args.out, chunk_size=args.chunk_size,
                            n_jobs=args.jobs, device=args.device, progress=not args.quiet, report_top_n=args.report,
                            workers=args.workers, scheduler=args.scheduler)
    except DataError as error:
        print(error_line(error), file=sys.stderr)
        return 2
    print(f"predictions: {out / 'predictions.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

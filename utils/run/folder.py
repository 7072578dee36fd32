"""The run folder: how it is made and named, where notebooks put figures and predictions, how later notebooks
find them, and which commit made it.

Contract between notebooks (all paths inside one run folder `out_dir`):

* `figures/<name>.png`                 figures a notebook saved
* `predictions/oof_<model>.csv`        object_id, target, prob   (out-of-fold, train)
* `predictions/test_<model>.csv`       object_id, prob           (test)
* `predictions/metrics_<model>.json`   that model's scores, threshold and run time
* `config_<notebook>.json`             the settings a notebook ran with
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from .. import PROJECT_ROOT
from ..config import save_config
from ..errors import DataError, examples

SUBMISSIONS_DIR = PROJECT_ROOT / "submissions"


def resolve_out_dir(out_dir: str | os.PathLike | None) -> Path:
    """The run folder a notebook writes to: the given one, or submissions/interactive when run by hand."""
    path = Path(out_dir) if out_dir else SUBMISSIONS_DIR / "interactive"
    path = path.expanduser().resolve()
    (path / "figures").mkdir(parents=True, exist_ok=True)
    (path / "predictions").mkdir(parents=True, exist_ok=True)
    return path


def save_figure(fig, out_dir: Path, name: str) -> Path:
    """Save a matplotlib figure as figures/<name>.png (150 dpi, tight) and return the path."""
    path = Path(out_dir) / "figures" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path


def save_predictions(out_dir: Path, model: str, oof: pd.DataFrame, test: pd.DataFrame,
                     metrics: dict, *, data_fingerprint: str) -> None:
    """Write one model's OOF and test probabilities and its metrics for the ensemble notebook.

    `data_fingerprint` (`dataset.fingerprint`) goes into the metrics file, so that a later blend can
    tell these predictions from those of another data set left in the same folder.
    """
    if not data_fingerprint:
        raise ValueError(f"save_predictions({model!r}) needs the data fingerprint (dataset.fingerprint)")
    for frame, columns, name in ((oof, ["object_id", "target", "prob"], "oof"), (test, ["object_id", "prob"], "test")):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} predictions of {model!r} lack columns {missing}")
    folder = Path(out_dir) / "predictions"
    folder.mkdir(parents=True, exist_ok=True)
    oof[["object_id", "target", "prob"]].to_csv(folder / f"oof_{model}.csv", index=False)
    test[["object_id", "prob"]].to_csv(folder / f"test_{model}.csv", index=False)
    save_config({**metrics, "data_fingerprint": data_fingerprint}, folder / f"metrics_{model}.json")


def load_predictions(out_dir: Path, *, data_fingerprint: str, test_ids=None) -> dict[str, dict]:
    """The models that saved predictions in this folder for this data: {model: {"oof", "test", "metrics"}}.

    A member is left out, with one printed line saying why, when its metrics file is missing or names
    another data fingerprint (a run on other data left it there, as in submissions/interactive/), or
    when its test predictions lack some of `test_ids` or hold NaN for them.
    """
    folder = Path(out_dir) / "predictions"
    wanted = None if test_ids is None else pd.Index(test_ids).astype(str)
    found = {}
    for oof_path in sorted(folder.glob("oof_*.csv")):
        model = oof_path.stem.removeprefix("oof_")
        test_path, metrics_path = folder / f"test_{model}.csv", folder / f"metrics_{model}.json"
        if not test_path.is_file():
            print(f"left out {model}: {test_path.name} is missing")
            continue
        metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
        theirs = metrics.get("data_fingerprint")
        if theirs is None:
            print(f"left out {model}: its predictions record no data fingerprint (saved by older code or by hand)")
            continue
        if theirs != data_fingerprint:
            print(f"left out {model}: its predictions are for other data (fingerprint {theirs}, "
                  f"this data {data_fingerprint})")
            continue
        test = pd.read_csv(test_path, dtype={"object_id": str})
        if wanted is not None:
            prob = test.set_index("object_id")["prob"]
            absent = wanted.difference(prob.index)
            if len(absent):
                print(f"left out {model}: its test predictions lack {len(absent)} of the {len(wanted)} test objects, "
                      f"e.g. {examples(absent)}")
                continue
            blank = prob[~prob.index.duplicated()].reindex(wanted).isna()
            if blank.any():
                print(f"left out {model}: its test predictions are NaN for {int(blank.sum())} test objects, "
                      f"e.g. {examples(wanted[blank.to_numpy()])}")
                continue
        found[model] = {"oof": pd.read_csv(oof_path, dtype={"object_id": str}), "test": test, "metrics": metrics}
    return found


def git_commit() -> str | None:
    """The code's commit: from git, or from kernel_build.json where the code was bundled (Kaggle)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    build_info = PROJECT_ROOT / "kernel_build.json"
    if build_info.is_file():
        return json.loads(build_info.read_text()).get("commit")
    return None


def new_run_dir(out_dir: Path, run_id: str | None = None) -> Path:
    """Create a fresh run folder; an existing one is never reused (a suffix is added instead)."""
    run_id = run_id or dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    candidate, n = out_dir / run_id, 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1
            candidate = out_dir / f"{run_id}-{n}"


def point_latest(out_dir: Path, run_dir: Path) -> None:
    """Make out_dir/latest a symlink to run_dir (replaced atomically)."""
    link, tmp = out_dir / "latest", out_dir / f".latest-{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(run_dir.name, target_is_directory=True)
        tmp.replace(link)
    except OSError:  # file systems without symlinks: a text pointer instead
        (out_dir / "LATEST").write_text(run_dir.name + "\n")


def check_writable(folder: Path, setting: str) -> None:
    """Prove that `folder` can be created (or written in) without leaving anything: a temporary file is made and
    removed in it, or, when it does not exist yet, in the nearest existing folder above it. `setting` names what
    the user would change (OUT_DIR, --out (PREDICT_OUT)) in the DataError."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise DataError(f"output folder {folder}: {existing} is a file, not a folder; choose another {setting}")
    try:
        handle, probe = tempfile.mkstemp(prefix=".write-test-", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise DataError(f"cannot write to the output folder {existing} ({error.strerror or error}); choose another "
                        f"{setting} or fix its permissions") from None

"""Inside the Kaggle kernel: install what the image lacks, find the mounted data, run every stage, copy results.

The kernel notebook imports this from its unpacked bundle. Only the standard library is imported at module
level: on Kaggle it runs before the packages it installs exist.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .. import PROJECT_ROOT
from ..data.load import COMPETITION, find_data_dir
from ..errors import DataError
from ..run.pipeline import run
from .build import BUILD_INFO, KaggleKernelError

RESULT_FILES = ("submission.csv", "metrics.json", "oof.csv", "probabilities.csv")
SUBMISSION_STAGE = "05_"  # the stage that writes submission.csv
# The test runner and what only the tests use (jupyter_server), and the laptop-side client: no stage needs them.
RUNTIME_SKIP = {"pytest", "jupyter_server", "kaggle"}


def read_requirements(path: Path) -> dict[str, str]:
    """{distribution name: requirement line} for the pinned lines of requirements.txt."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pins[line.split("==")[0].strip()] = line
    return pins


def ensure_packages(requirements: str | os.PathLike, *, install: bool = True) -> list[str]:
    """Compare installed versions with requirements.txt and pip-install the missing packages.

    Packages the image already has are left alone (Kaggle's CUDA torch must stay); a missing one is
    installed at its pinned version, else at the newest, since Kaggle's Python may lack the pinned wheel.
    Returns the requirement lines that were missing.
    """
    from importlib import metadata

    missing = []
    for name, line in read_requirements(Path(requirements)).items():
        if name in RUNTIME_SKIP:
            continue
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            found = "MISSING"
            missing.append(line)
        print(f"{name:16} {line.removeprefix(name):12} found {found}")
    if not missing:
        return missing
    if not install:
        print(f"install=False: not installing {missing}; stages that import them will fail")
        return missing
    for attempt in (missing, [line.split("==")[0] for line in missing]):
        print("pip install", *attempt, flush=True)
        if subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *attempt]).returncode == 0:
            return missing
    raise KaggleKernelError(f"pip could not install {missing}: turn on enable_internet in kernel-metadata.json "
                            "(Kaggle: Settings → Internet on) and check the log above.")


def find_kaggle_data(input_root: Path) -> Path:
    """The competition folder under input_root (Kaggle mounts it at <root>/<slug> or <root>/competitions/<slug>)."""
    candidates = [input_root / COMPETITION, input_root / "competitions" / COMPETITION,
                  *sorted(p.parent for p in input_root.glob("**/train_log.csv"))]
    for candidate in candidates:
        if (candidate / "train_log.csv").is_file():
            return find_data_dir(candidate, download=False)
    held = sorted(p.name for p in input_root.iterdir()) if input_root.is_dir() else "nothing, it does not exist"
    raise DataError(f"no train_log.csv under {input_root} (it holds {held}). Attach the competition data: "
                    f"kernel-metadata.json must list {COMPETITION!r} in competition_sources.")


def run_stages(*, input_root: str | os.PathLike | None = None, working_root: str | os.PathLike | None = None,
               profile: str = "kaggle", notebooks: str | None = None, seed: int = 42, device: str = "auto") -> Path:
    """Run the stages on the Kaggle data into <working>/runs/kaggle-<commit>/ and copy the results up to <working>."""
    input_root = Path(input_root or os.environ.get("MALLORN_KAGGLE_INPUT") or "/kaggle/input")
    working = Path(working_root or os.environ.get("MALLORN_KAGGLE_WORKING") or "/kaggle/working")
    build_info = json.loads((PROJECT_ROOT / BUILD_INFO).read_text())
    runs = working / "runs"
    run_dir = run(data_dir=str(find_kaggle_data(input_root)), out_dir=runs, profile=profile, notebooks=notebooks,
                  seed=seed, device=device, run_id=f"kaggle-{build_info['commit']}", progress=False,
                  log_output=True, link_latest=False)  # one run per kernel version: a `latest` link would list outputs twice
    (run_dir / BUILD_INFO).write_text(json.dumps(build_info, indent=2) + "\n")
    copied = [BUILD_INFO]
    shutil.copy2(run_dir / BUILD_INFO, working / BUILD_INFO)
    for name in RESULT_FILES:
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, working / name)
            copied.append(name)
    stages = json.loads((run_dir / "config.json").read_text())["notebooks"]
    if any(s.startswith(SUBMISSION_STAGE) for s in stages) and "submission.csv" not in copied:
        raise KaggleKernelError(f"stage {SUBMISSION_STAGE}* ran but wrote no submission.csv in {run_dir}")
    print(f"copied {copied} from {run_dir} to {working}")
    if (working / "metrics.json").is_file():
        print((working / "metrics.json").read_text())
    return run_dir

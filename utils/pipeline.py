"""Run the numbered notebooks in order with papermill and collect everything in one run folder.

    python -m utils.pipeline                       # all notebooks, default profile, data found automatically
    python -m utils.pipeline --profile quick --notebooks 01-02 --data-dir ../shared/mallorn

Each run gets a new folder `submissions/<run-id>/` (never overwritten) holding the executed notebooks,
`config.json`, figures and the outputs of notebook 05; `submissions/latest` points at the newest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from . import PROJECT_ROOT
from .config import PROFILE_NAMES, save_config
from .runs import SUBMISSIONS_DIR

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
KERNEL_NAME = "python3"


def discover_notebooks(notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """The numbered notebooks NN_name.py, in order."""
    return sorted(p for p in notebook_dir.glob("[0-9][0-9]_*.py"))


def select_notebooks(notebooks: list[Path], selection: str | None) -> list[Path]:
    """Pick notebooks by number: None/'all', '03', '01-03', '02,05' (ranges and lists combine)."""
    if not selection or selection == "all":
        return notebooks
    by_number = {int(p.name[:2]): p for p in notebooks}
    wanted: set[int] = set()
    for part in selection.split(","):
        part = part.strip()
        low, _, high = part.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"notebook selection {selection!r}: use numbers like 03, 01-03 or 02,05") from None
        wanted.update(range(first, last + 1))
    unknown = sorted(wanted - set(by_number))
    if unknown:
        raise ValueError(f"no notebook numbered {unknown}; have {sorted(by_number)}")
    return [by_number[n] for n in sorted(wanted)]


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


def notebook_node(source: Path):
    """Read a percent-format .py notebook into a notebook node with a python3 kernelspec."""
    import jupytext

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
    notebook.metadata.pop("jupytext", None)
    return notebook


def execute(source: Path, output: Path, parameters: dict, *, progress: bool = True, log_output: bool = False) -> None:
    """Execute one notebook with papermill, from the project root so `import utils` works."""
    import nbformat
    import papermill

    staged = output.with_name(output.stem + ".source.ipynb")
    nbformat.write(notebook_node(source), staged)
    try:
        papermill.execute_notebook(str(staged), str(output), parameters=parameters, kernel_name=KERNEL_NAME,
                                   cwd=str(PROJECT_ROOT), progress_bar=progress, log_output=log_output)
    finally:
        staged.unlink(missing_ok=True)


def run(*, data_dir: str | None = None, out_dir: str | os.PathLike | None = None, profile: str = "default",
        notebooks: str | None = None, seed: int = 42, device: str = "auto", run_id: str | None = None,
        progress: bool = True, log_output: bool = False, link_latest: bool = True) -> Path:
    """Run the selected notebooks into a new run folder and return its path.

    `log_output` streams each cell's output to this process (useful where only the log is visible, as
    on Kaggle); `link_latest` points <out_dir>/latest at the new folder.
    """
    if profile not in PROFILE_NAMES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {PROFILE_NAMES}")
    chosen = select_notebooks(discover_notebooks(), notebooks)
    from .data import find_data_dir

    data_path = find_data_dir(data_dir)  # fail before creating a run folder if there is no data
    root = Path(out_dir or os.environ.get("OUT_DIR") or SUBMISSIONS_DIR).expanduser().resolve()
    run_dir = new_run_dir(root, run_id)
    parameters = {"data_dir": str(data_path), "out_dir": str(run_dir), "profile": profile, "seed": seed, "device": device}
    config = {**parameters, "notebooks": [p.name for p in chosen], "commit": git_commit(),
              "python": platform.python_version(), "started": dt.datetime.now().isoformat(timespec="seconds")}
    save_config(config, run_dir / "config.json")
    if link_latest:
        point_latest(root, run_dir)
    timings = {}
    for source in chosen:
        print(f"[{source.stem}] running …", flush=True)
        started = time.perf_counter()
        try:
            execute(source, run_dir / f"{source.stem}.ipynb", parameters, progress=progress, log_output=log_output)
        finally:
            timings[source.stem] = round(time.perf_counter() - started, 1)
            save_config({**config, "seconds": timings}, run_dir / "config.json")
        print(f"[{source.stem}] done in {timings[source.stem]:.0f} s", flush=True)
    print(f"run folder: {run_dir}")
    return run_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="folder with train_log.csv (default: $DATA_DIR, data/, Kaggle mount)")
    parser.add_argument("--out-dir", default=None, help="where run folders go (default: $OUT_DIR or submissions/)")
    parser.add_argument("--profile", default=os.environ.get("PROFILE") or "default", choices=PROFILE_NAMES)
    parser.add_argument("--notebooks", default=None, help="which to run: all (default), 03, 01-03, 02,05")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--run-id", default=None, help="run folder name (default: the current time)")
    parser.add_argument("--no-progress", action="store_true", help="no per-cell progress bars")
    parser.add_argument("--log-output", action="store_true", help="stream every cell's output to the terminal")
    args = parser.parse_args(argv)
    from .errors import DataError

    try:
        run(data_dir=args.data_dir, out_dir=args.out_dir, profile=args.profile, notebooks=args.notebooks,
            seed=args.seed, device=args.device, run_id=args.run_id, progress=not args.no_progress,
            log_output=args.log_output)
    except (DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run the numbered notebooks in order with papermill and collect everything in one run folder.

    python -m utils.run                       # the default profile's notebooks, data found automatically
    python -m utils.run --profile quick --notebooks 01-02 --data-dir ../shared/mallorn
    python -m utils.run --param copies=0 --param n_repeats=2   # a notebook's own settings (utils.run.params)

Without --notebooks a run executes every notebook but its profile's PROFILE_LEAVES_OUT (utils.config): the
default profile leaves out the deep models (03, 04) on a measurement; `--notebooks all` runs them all.

Before anything is created, the options, the device, the output folder and the data (validated, as the
notebooks will load it) are checked; a problem prints one `error: ...` line and exits with status 2.
Each run gets a new folder `submissions/<run-id>/` (never overwritten) holding the executed notebooks,
`config.json`, `progress.log`, figures and the outputs of notebook 05; `submissions/latest` points at the
newest run whose notebooks all succeeded. A failed notebook exits 1 (FAILED names it); Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Iterable

from tqdm import tqdm

from .. import PROJECT_ROOT
from ..config import PROFILE_LEAVES_OUT, PROFILE_NAMES, save_config
from ..data.load import Dataset, check_sample_matches_test, find_data_dir, load_dataset, load_sample_submission
from ..errors import ArgumentParser, DataError, error_line
from ..progress import PROGRESS_ENV
from .folder import SUBMISSIONS_DIR, check_writable, git_commit, new_run_dir, point_latest
from .params import cell_defaults, notebook_params, parse_assignments, split_params

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
KERNEL_NAME = "python3"
# The kernel's own log (e.g. ipykernel's warning that its local TCP socket is unencrypted) would land in the
# terminal of every run; errors still show, and every cell's output stays in the executed notebook.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]


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
        if last < first:
            raise ValueError(f"notebook selection {part!r} runs backwards; did you mean {high}-{low}?")
        wanted.update(range(first, last + 1))
    unknown = sorted(wanted - set(by_number))
    if unknown:
        raise ValueError(f"no notebook numbered {unknown}; have {sorted(by_number)}")
    return [by_number[n] for n in sorted(wanted)]


def run_selection(notebooks: list[Path], profile: str, selection: str | None) -> list[Path]:
    """The notebooks a run executes: `selection` when given, else all but the profile's PROFILE_LEAVES_OUT."""
    if selection:
        return select_notebooks(notebooks, selection)
    return [p for p in notebooks if int(p.name[:2]) not in PROFILE_LEAVES_OUT[profile]]


def check_device(device: str) -> None:
    """Fail now, not an hour in, when the asked-for accelerator is absent: say what there is."""
    kind = device.split(":")[0]
    if kind not in ("auto", "cpu", "cuda", "mps"):
        raise ValueError(f"device {device!r}: use auto, cpu, cuda (or cuda:N) or mps")
    if kind in ("auto", "cpu"):
        return
    import torch

    has_cuda = torch.cuda.is_available()
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    present = ["cpu", *(["cuda"] if has_cuda else []), *(["mps"] if has_mps else [])]
    there = f"this machine has: {', '.join(present)} (torch {torch.__version__})"
    if kind == "cuda" and not has_cuda:
        raise ValueError(f"device {device!r} asked for, but torch.cuda.is_available() is False; {there}. "
                         "Use DEVICE=auto or cpu, or install a CUDA build of torch")
    if kind == "cuda" and ":" in device:
        index, count = device.split(":", 1)[1], torch.cuda.device_count()
        if not index.isdigit() or int(index) >= count:
            raise ValueError(f"device {device!r} asked for, but there are {count} CUDA device(s); {there}")
    if kind == "mps" and not has_mps:
        raise ValueError(f"device {device!r} asked for, but torch.backends.mps.is_available() is False; {there}")




def check_inputs(data_dir: str | None) -> tuple[Path, Dataset]:
    """Load and validate the data as the notebooks will (same cache), and the sample submission."""
    data_path = find_data_dir(data_dir)
    dataset = load_dataset(data_path)
    check_sample_matches_test(load_sample_submission(data_path), dataset.test_log)
    return data_path, dataset


def notebook_node(source: Path):
    """Read a percent-format .py notebook into a notebook node with a python3 kernelspec."""
    import jupytext

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
    notebook.metadata.pop("jupytext", None)
    return notebook


def parameter_defaults(source: Path) -> dict:
    """The names and default values of a notebook's papermill `parameters` cell ({} when it has none)."""
    cells = [c for c in notebook_node(source).cells if "parameters" in c.metadata.get("tags", [])]
    return cell_defaults(cells[0].source) if cells else {}


def execute(source: Path, output: Path, parameters: dict, *, progress: bool = True, log_output: bool = False) -> None:
    """Execute one notebook with papermill, from the project root so `import utils` works."""
    import nbformat
    import papermill

    staged = output.with_name(output.stem + ".source.ipynb")
    nbformat.write(notebook_node(source), staged)
    try:
        papermill.execute_notebook(str(staged), str(output), parameters=parameters, kernel_name=KERNEL_NAME,
                                   cwd=str(PROJECT_ROOT), progress_bar=progress, log_output=log_output,
                                   extra_arguments=KERNEL_ARGUMENTS)
    finally:
        staged.unlink(missing_ok=True)


# A cell raised (papermill), the kernel died (e.g. out of memory) or a cell hung past its timeout (nbclient).
NOTEBOOK_ERRORS = ("PapermillExecutionError", "DeadKernelError", "CellTimeoutError")


class NotebookFailed(RuntimeError):
    """A notebook raised: which one, the exception's name and value, and the executed copy to read."""

    def __init__(self, notebook: str, ename: str, evalue: str, executed: Path):
        super().__init__(f"notebook {notebook[:2]} failed: {ename}: {evalue}")
        self.notebook, self.ename, self.evalue, self.executed = notebook, ename, evalue, executed


class ProgressTail:
    """While a notebook runs, print each new line of the progress file, prefixed by the notebook."""

    def __init__(self, path: Path, prefix: str, interval: float = 0.5):
        self.path, self.prefix, self.interval = path, prefix, interval
        self.offset = path.stat().st_size if path.is_file() else 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True, name=f"progress-{prefix}")

    def __enter__(self) -> "ProgressTail":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _follow(self) -> None:
        while not self._stop.wait(self.interval):
            self._print_new()
        self._print_new()  # lines written just before the notebook ended

    def _print_new(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except OSError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a half-written line waits for the next look
        self.offset += len(complete)
        for line in complete.decode("utf-8", "replace").splitlines():
            # tqdm.write clears and redraws papermill's cell progress bar around the line
            tqdm.write(f"[{self.prefix}] {line}", file=sys.stdout)
        sys.stdout.flush()


def _terminate_as_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def run(*, data_dir: str | None = None, out_dir: str | os.PathLike | None = None, profile: str = "default",
        notebooks: str | None = None, seed: int = 42, device: str = "auto", run_id: str | None = None,
        progress: bool = True, log_output: bool = False, link_latest: bool = True,
        notebook_dir: Path | None = None, params: Iterable[str] = ()) -> Path:
    """Check everything that can be checked up front, then run the selected notebooks into a new run folder.

    `notebooks`: a selection like '03', '01-03', '02,05' or 'all'; None: all but PROFILE_LEAVES_OUT[profile].
    `params`: 'NAME=VALUE' settings, each for every chosen notebook whose parameters cell has NAME, typed like
    that notebook's default (utils.run.params); config.json records them.

    Options, device, output folder and data (the same cached, validated load the notebooks use, plus the
    sample submission) are checked before any folder is created; a problem raises ValueError/DataError.
    A notebook that raises stops the run with NotebookFailed; the run folder stays, with a FAILED file.
    `log_output` streams each cell's output to this process (useful where only the log is visible, as
    on Kaggle); `link_latest` points <out_dir>/latest at the new folder once every notebook succeeded.
    """
    if profile not in PROFILE_NAMES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {PROFILE_NAMES}")
    available = discover_notebooks(notebook_dir or NOTEBOOK_DIR)
    chosen = run_selection(available, profile, notebooks)
    if not chosen:
        raise ValueError(f"no notebooks to run (selection {notebooks!r})")
    if not notebooks and len(chosen) < len(available):
        left_out = ", ".join(p.stem for p in available if p not in chosen)
        print(f"profile {profile} leaves out {left_out} (docs/results.md says why); --notebooks all runs them",
              flush=True)
    assignments = parse_assignments(params)
    by_notebook = notebook_params(assignments, {p.stem: parameter_defaults(p) for p in chosen}) if assignments else {}
    check_device(device)
    root = Path(out_dir or os.environ.get("OUT_DIR") or SUBMISSIONS_DIR).expanduser().resolve()
    check_writable(root, "OUT_DIR")
    data_path, dataset = check_inputs(data_dir)
    for note in dataset.report.get("notes", []):
        print(f"data: {note}", flush=True)

    run_dir = new_run_dir(root, run_id)
    parameters = {"data_dir": str(data_path), "out_dir": str(run_dir), "profile": profile, "seed": seed,
                  "device": device}
    config = {**parameters, "notebooks": [p.name for p in chosen], "commit": git_commit(),
              "python": platform.python_version(), "started": dt.datetime.now().isoformat(timespec="seconds"),
              "data_fingerprint": dataset.fingerprint}
    if assignments:
        # as typed for the first notebook that takes each; every notebook's own values are in its executed copy
        config["params"] = {name: next(v[name] for v in by_notebook.values() if name in v) for name in assignments}
        config["params_notebooks"] = {name: [n for n, v in by_notebook.items() if name in v] for name in assignments}
    save_config(config, run_dir / "config.json")
    progress_file = run_dir / "progress.log"
    # The papermill kernel is started with this process's environment, so the notebooks see the file.
    previous = os.environ.get(PROGRESS_ENV)
    os.environ[PROGRESS_ENV] = str(progress_file)
    timings = {}
    try:
        for source in chosen:
            print(f"[{source.stem}] running …", flush=True)
            started = time.perf_counter()
            executed = run_dir / f"{source.stem}.ipynb"
            try:
                with ProgressTail(progress_file, source.stem):
                    execute(source, executed, {**parameters, **by_notebook.get(source.stem, {})}, progress=progress,
                            log_output=log_output)
            except Exception as error:
                if type(error).__name__ not in NOTEBOOK_ERRORS:
                    raise
                ename, evalue = getattr(error, "ename", type(error).__name__), getattr(error, "evalue", str(error))
                (run_dir / "FAILED").write_text(f"{source.name} failed: {ename}: {evalue}\ntraceback: {executed}\n")
                raise NotebookFailed(source.stem, ename, str(evalue), executed) from None
            finally:
                timings[source.stem] = round(time.perf_counter() - started, 1)
                save_config({**config, "seconds": timings}, run_dir / "config.json")
            print(f"[{source.stem}] done in {timings[source.stem]:.0f} s", flush=True)
    finally:
        if previous is None:
            os.environ.pop(PROGRESS_ENV, None)
        else:
            os.environ[PROGRESS_ENV] = previous
    if link_latest:
        point_latest(root, run_dir)
    print(f"run folder: {run_dir}")
    return run_dir


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m utils.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="folder with train_log.csv (default: $DATA_DIR, data/, Kaggle mount)")
    parser.add_argument("--out-dir", default=None, help="where run folders go (default: $OUT_DIR or submissions/)")
    parser.add_argument("--profile", default=os.environ.get("PROFILE") or "default", choices=PROFILE_NAMES)
    parser.add_argument("--notebooks", default=None, help="which to run: all, 03, 01-03, 02,05 (default: the "
                        "profile's: all but 03 and 04 in the default profile)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of every selected notebook whose parameters cell has NAME, typed like its "
                        "default (repeatable; default: $PARAMS, NAME=VALUE words split like a shell line)")
    parser.add_argument("--run-id", default=None, help="run folder name (default: the current time)")
    parser.add_argument("--no-progress", action="store_true", help="no per-cell progress bars")
    parser.add_argument("--log-output", action="store_true", help="stream every cell's output to the terminal")
    args = parser.parse_args(argv)
    previous_handler = signal.signal(signal.SIGTERM, _terminate_as_interrupt)  # `kill` stops like Ctrl-C
    try:
        # `make run PARAMS=...` passes them in the environment, like DATA_DIR, so quotes and spaces arrive whole.
        params = args.param or split_params(os.environ.get("PARAMS") or "")
        run(data_dir=args.data_dir, out_dir=args.out_dir, profile=args.profile, notebooks=args.notebooks,
            seed=args.seed, device=args.device, run_id=args.run_id, progress=not args.no_progress,
            log_output=args.log_output, params=params)
    except (DataError, ValueError) as error:
        print(error_line(error), file=sys.stderr)
        return 2
    except NotebookFailed as failure:
        print(error_line(failure), file=sys.stderr)
        print(f"  the traceback is in {failure.executed}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())

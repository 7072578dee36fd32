"""Train on a Kaggle GPU: build one self-contained notebook, push it, watch it, fetch its outputs, submit.

    python -m utils.kaggle_kernel build     # build/kaggle/: kernel-metadata.json + the notebook (make kaggle)
    python -m utils.kaggle_kernel push      # upload it and start a run on Kaggle (make kaggle-push)
    python -m utils.kaggle_kernel status    # queued, running, complete or error (make kaggle-status)
    python -m utils.kaggle_kernel output    # download its outputs into submissions/kaggle-<time>/
    python -m utils.kaggle_kernel submit submissions/kaggle-.../submission.csv --message "..."

Kaggle receives only the notebook named by `code_file`, so the build packs utils/**/*.py, notebooks/*.py
and requirements.txt into a base64 zip inside it. On Kaggle the notebook unpacks them, pip-installs what
the image lacks, runs every stage with the `kaggle` profile and copies submission.csv and metrics.json
to /kaggle/working. The same notebook runs anywhere with MALLORN_KAGGLE_INPUT and MALLORN_KAGGLE_WORKING
pointing at a fake input folder and a scratch folder.

Only the standard library is imported at module level: on Kaggle this module runs before the packages
it installs exist.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable

from . import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "kernel-metadata.json"
BUILD_DIR = PROJECT_ROOT / "build" / "kaggle"
BUILD_INFO = "kernel_build.json"  # inside the bundle, next to the built notebook and in the outputs
BUNDLED = ("utils", "notebooks", "requirements.txt")
SIZE_LIMIT = 1_000_000  # bytes; Kaggle rejects larger kernel sources
RESULT_FILES = ("submission.csv", "metrics.json", "oof.csv", "probabilities.csv")
SUBMISSION_STAGE = "05_"  # the stage that writes submission.csv
RUNTIME_SKIP = {"pytest", "kaggle"}  # the test runner and the laptop-side client: the stages need neither
NO_CREDENTIALS = ("no Kaggle credentials found. Create a token at https://www.kaggle.com/settings (API → Create New "
                  "Token) and save it as ~/.kaggle/kaggle.json, or set KAGGLE_USERNAME and KAGGLE_KEY.")


class KaggleKernelError(RuntimeError):
    """Building or talking to the Kaggle kernel failed; the message says what to do."""


# --- build (laptop side) -------------------------------------------------------------------------------

def kaggle_username() -> str:
    """The Kaggle user the kernel belongs to: $KAGGLE_USERNAME, else the username in kaggle.json."""
    if os.environ.get("KAGGLE_USERNAME"):
        return os.environ["KAGGLE_USERNAME"]
    config = Path(os.environ.get("KAGGLE_CONFIG_DIR", Path.home() / ".kaggle")) / "kaggle.json"
    try:
        username = json.loads(config.read_text()).get("username")
    except (OSError, ValueError):
        username = None
    if not username:
        raise KaggleKernelError(f"cannot tell whose kernel this is: set KAGGLE_USERNAME or put your username in "
                                f"{config} (the kaggle.json token from https://www.kaggle.com/settings has it).")
    return username


def kernel_metadata(username: str, template: Path = TEMPLATE) -> dict[str, Any]:
    """The committed template with the owner of `id` replaced by `username`."""
    metadata = json.loads(template.read_text())
    metadata["id"] = f"{username}/{metadata['id'].split('/', 1)[1]}"
    return metadata


def source_state(root: Path) -> tuple[str, bool]:
    """(short commit, True if the bundled paths differ from it); outside git: ("unknown", True)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=30).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").strip()
        changes = git("status", "--porcelain", "--untracked-files=all", "--", *BUNDLED)
    except (OSError, subprocess.SubprocessError):
        return "unknown", True
    return commit, bool(changes.strip())


def bundle_files(root: Path) -> list[Path]:
    """What the kernel needs to run every stage: utils/**/*.py, notebooks/*.py, requirements.txt."""
    files = [p for p in (root / "utils").rglob("*.py") if "__pycache__" not in p.parts]
    files += (root / "notebooks").glob("*.py")
    files.append(root / "requirements.txt")
    return sorted(files)


def make_bundle(root: Path, build_info: dict[str, Any]) -> bytes:
    """A zip of the bundled files plus BUILD_INFO; fixed timestamps, so one commit gives one notebook."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        entries = [(p.relative_to(root).as_posix(), p.read_bytes()) for p in bundle_files(root)]
        entries.append((BUILD_INFO, json.dumps(build_info, indent=2).encode()))
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buffer.getvalue()


HEADER = """\
# {title} · commit `{commit}`

Generated by `make kaggle` from commit `{commit}` of the MALLORN toolkit: edit the code in the repository,
not here. The cells below unpack the project's `utils` package and stage notebooks ({n_files} files),
pip-install what the Kaggle image lacks, run every stage with the `kaggle` profile and write
`submission.csv`, `metrics.json`, `oof.csv`, `probabilities.csv` and the executed stage notebooks
(`runs/kaggle-{commit}/`) to /kaggle/working."""

PARAMETERS = """\
profile = "kaggle"  # quick | default | kaggle
notebooks = "all"  # which stages: all, 02-05, 03,05, ...
seed = 42
device = "auto"  # auto: the GPU when there is one
install = True  # pip-install the packages the image lacks (needs enable_internet)
input_root = None  # None: $MALLORN_KAGGLE_INPUT, else /kaggle/input
working_root = None  # None: $MALLORN_KAGGLE_WORKING, else /kaggle/working"""

UNPACK = """\
import base64, io, sys, tempfile, zipfile
from pathlib import Path

# Outside /kaggle/working, so neither the code nor the data cache under it become kernel outputs.
code_dir = Path(tempfile.mkdtemp(prefix="mallorn-"))
zipfile.ZipFile(io.BytesIO(base64.b64decode(BUNDLE))).extractall(code_dir)
sys.path.insert(0, str(code_dir))
for name in [m for m in sys.modules if m == "utils" or m.startswith("utils.")]:
    del sys.modules[name]  # a `utils` module from the image must not shadow the project's
import utils

assert Path(utils.__file__).parent == code_dir / "utils", utils.__file__
print((code_dir / "{build_info}").read_text())"""

RUN = """\
from utils.kaggle_kernel import ensure_packages, run_stages

ensure_packages(code_dir / "requirements.txt", install=install)
run_dir = run_stages(input_root=input_root, working_root=working_root, profile=profile, notebooks=notebooks,
                     seed=seed, device=device)"""


def kernel_notebook(bundle: bytes, build_info: dict[str, Any], title: str):
    """The notebook Kaggle runs: header, parameters, the bundle, unpack, install and run."""
    import nbformat.v4 as nbf

    header = HEADER.format(title=title, commit=build_info["commit"], n_files=build_info["files"])
    bundle_cell = (f"# utils/, notebooks/ and requirements.txt at commit {build_info['commit']}, as a base64 zip\n"
                   f'BUNDLE = "{base64.b64encode(bundle).decode()}"')
    notebook = nbf.new_notebook(cells=[
        nbf.new_markdown_cell(header),
        nbf.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        nbf.new_code_cell(bundle_cell),
        nbf.new_code_cell(UNPACK.replace("{build_info}", BUILD_INFO)),
        nbf.new_code_cell(RUN),
    ])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def build(out_dir: str | os.PathLike = BUILD_DIR, *, root: str | os.PathLike = PROJECT_ROOT,
          allow_dirty: bool = False) -> Path:
    """Write kernel-metadata.json, the notebook and BUILD_INFO into out_dir; return the notebook's path.

    Refuses uncommitted changes to the bundled paths, so every Kaggle result maps to a commit.
    """
    import nbformat

    root, out_dir = Path(root), Path(out_dir)
    commit, dirty = source_state(root)
    if dirty and not allow_dirty:
        raise KaggleKernelError(f"uncommitted changes under {', '.join(BUNDLED)} in {root} (or no git checkout): "
                                "commit them first so the Kaggle result maps to a commit, or set ALLOW_DIRTY=1 "
                                "to build anyway (the kernel is then labelled '<commit>-dirty').")
    metadata = kernel_metadata(kaggle_username(), root / TEMPLATE.name)
    build_info = {"commit": f"{commit}-dirty" if dirty else commit, "kernel": metadata["id"],
                  "files": len(bundle_files(root))}
    notebook = kernel_notebook(make_bundle(root, build_info), build_info, metadata["title"])
    nbformat.validate(notebook)

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / metadata["code_file"]
    nbformat.write(notebook, path)
    size = path.stat().st_size
    if size > SIZE_LIMIT:
        path.unlink()
        largest = sorted(bundle_files(root), key=lambda p: p.stat().st_size, reverse=True)[:3]
        raise KaggleKernelError(f"the kernel notebook would be {size:,} bytes, over Kaggle's {SIZE_LIMIT:,}; the "
                                f"largest bundled files are {[str(p.relative_to(root)) for p in largest]}.")
    (out_dir / "kernel-metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    (out_dir / BUILD_INFO).write_text(json.dumps(build_info, indent=2) + "\n")
    print(f"built {path} ({size / 1e3:.0f} kB, commit {build_info['commit']}, kernel {metadata['id']})")
    return path


# --- run (Kaggle side; imported from the bundle inside the kernel) -------------------------------------

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
    from .data import COMPETITION, find_data_dir
    from .errors import DataError

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
    from .pipeline import run

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


# --- Kaggle API wrappers (laptop side) -----------------------------------------------------------------

def kaggle_call(action: str, call: Callable[[Any], Any]) -> Any:
    """Authenticate and run call(api), turning the kaggle client's failures into one clear error."""
    from .data import kaggle_credentials_present

    if not kaggle_credentials_present():
        raise KaggleKernelError(f"cannot {action}: {NO_CREDENTIALS}")
    try:
        import requests
        from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError as error:
        raise KaggleKernelError(f"cannot {action}: the kaggle package is missing ({error}); run `make venv`") from error
    try:
        api = KaggleApi()
        api.authenticate()
        return call(api)
    except SystemExit as error:  # the kaggle client exits on unusable credentials
        raise KaggleKernelError(f"cannot {action}: Kaggle did not accept the credentials. {NO_CREDENTIALS}") from error
    except requests.ConnectionError as error:
        raise KaggleKernelError(f"cannot {action}: kaggle.com is unreachable (no network?): {error}") from error
    except requests.HTTPError as error:
        raise KaggleKernelError(f"cannot {action}: Kaggle answered {error}. Check the kernel id, that you accepted "
                                f"the competition rules, and your token.") from error
    except (ValueError, OSError) as error:  # the client's own checks (bad slug, missing file) raise these
        raise KaggleKernelError(f"cannot {action}: {error}") from error


def kernel_id(build_dir: Path = BUILD_DIR) -> str:
    """The kernel's owner/slug: from the last build, else from the template and your username."""
    built = build_dir / "kernel-metadata.json"
    metadata = json.loads(built.read_text()) if built.is_file() else kernel_metadata(kaggle_username())
    return metadata["id"]


def push(build_dir: Path = BUILD_DIR) -> None:
    """Upload the built kernel; Kaggle saves it as a new version and starts running it."""
    if not (build_dir / "kernel-metadata.json").is_file():
        raise KaggleKernelError(f"nothing to push in {build_dir}: run `make kaggle` first")
    commit = json.loads((build_dir / BUILD_INFO).read_text())["commit"]
    response = kaggle_call("push the kernel", lambda api: api.kernels_push(str(build_dir)))
    if response.error:
        raise KaggleKernelError(f"Kaggle refused the push: {response.error}")
    # Kaggle still runs a kernel whose sources it could not attach; it then fails on missing data.
    for kind in ("competition", "dataset", "kernel", "model"):
        invalid = getattr(response, f"invalid_{kind}_sources")
        if invalid:
            print(f"warning: Kaggle did not attach {kind} sources {invalid}; for the competition, accept its rules "
                  "on kaggle.com first")
    print(f"pushed commit {commit} as version {response.version_number} of {kernel_id(build_dir)}: {response.url}\n"
          "watch it with `make kaggle-status`; when it is complete, `make kaggle-output` fetches the results")


def status(build_dir: Path = BUILD_DIR) -> str:
    """Print and return the latest version's state (queued, running, complete, error, ...)."""
    kid = kernel_id(build_dir)
    response = kaggle_call("get the kernel status", lambda api: api.kernels_status(kid))
    state = response.status.name.lower()
    print(f"{kid}: {state}  (https://www.kaggle.com/code/{kid})")
    if response.failure_message:
        print(f"failure: {response.failure_message}")
    return state


def download_output(out_root: Path | None = None, build_dir: Path = BUILD_DIR) -> Path:
    """Download the latest version's outputs into a new folder submissions/kaggle-<time>/ and return it."""
    from .pipeline import new_run_dir
    from .runs import SUBMISSIONS_DIR

    kid = kernel_id(build_dir)
    target = new_run_dir(Path(out_root or SUBMISSIONS_DIR), dt.datetime.now().strftime("kaggle-%Y%m%d-%H%M%S"))
    try:
        kaggle_call("download the kernel output",
                    lambda api: api.kernels_output(kid, str(target), force=True, quiet=True))
    except KaggleKernelError:
        shutil.rmtree(target, ignore_errors=True)
        raise
    print(f"downloaded the outputs of {kid} into {target}")
    if (target / "submission.csv").is_file():
        print(f"submit with: make kaggle-submit FILE={target / 'submission.csv'} MESSAGE=\"...\"")
    return target


def submit(file: str | os.PathLike | None, message: str | None = None) -> None:
    """Check that `file` looks like a submission (object_id,prediction) and submit it to the competition."""
    from .data import COMPETITION

    path = Path(file or "")
    if not file or not path.is_file():
        raise KaggleKernelError(f"no submission file {str(file or '')!r}: pass FILE=submissions/<run>/submission.csv")
    with path.open() as handle:
        header = handle.readline().strip().split(",")
    if header != ["object_id", "prediction"]:
        raise KaggleKernelError(f"{path} starts with columns {header}; a submission has object_id,prediction")
    message = message or f"{path.parent.name}/{path.name}"
    response = kaggle_call("submit", lambda api: api.competition_submit(str(path), message, COMPETITION))
    print(f"{getattr(response, 'message', '') or 'submitted'}: {path} ({message!r})\n"
          f"scores: https://www.kaggle.com/competitions/{COMPETITION}/submissions")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.kaggle_kernel", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="build build/kaggle/ (metadata + notebook)")
    build_parser.add_argument("--out", type=Path, default=BUILD_DIR)
    build_parser.add_argument("--allow-dirty", action="store_true", default=os.environ.get("ALLOW_DIRTY") == "1",
                              help="build from uncommitted changes (also: ALLOW_DIRTY=1)")
    for name, help_text in (("push", "upload and run the built kernel"), ("status", "state of the latest version"),
                            ("output", "download the latest version's outputs into submissions/")):
        commands.add_parser(name, help=help_text).add_argument("--dir", type=Path, default=BUILD_DIR)
    submit_parser = commands.add_parser("submit", help="submit a submission.csv to the competition")
    submit_parser.add_argument("file", nargs="?", help="path to submission.csv")
    submit_parser.add_argument("--message", default=None, help="submission description (default: the file's run)")
    args = parser.parse_args(argv)
    from .errors import DataError

    try:
        if args.command == "build":
            build(args.out, allow_dirty=args.allow_dirty)
        elif args.command == "push":
            push(args.dir)
        elif args.command == "status":
            status(args.dir)
        elif args.command == "output":
            download_output(build_dir=args.dir)
        else:
            submit(args.file, args.message)
    except (KaggleKernelError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

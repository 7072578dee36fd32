"""Talk to Kaggle from your machine: push the built kernel, watch it, download its outputs, submit a file.

The `kaggle` package is imported only inside `kaggle_api`, after the credentials are checked: some of its
versions (2.0.x) exit at import time when there are none.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

from ..data.load import COMPETITION, kaggle_credentials_present
from ..run.folder import SUBMISSIONS_DIR, new_run_dir
from .build import BUILD_DIR, BUILD_INFO, KaggleKernelError, kaggle_username, kernel_metadata

NO_CREDENTIALS = ("no Kaggle credentials found. Create a token at https://www.kaggle.com/settings (API → Create New "
                  "Token) and save it as ~/.kaggle/kaggle.json, or set KAGGLE_USERNAME and KAGGLE_KEY.")


def kaggle_call(action: str, call: Callable[[Any], Any]) -> Any:
    """Authenticate and run call(api), turning the kaggle client's failures into one clear error."""
    if not kaggle_credentials_present():
        raise KaggleKernelError(f"cannot {action}: {NO_CREDENTIALS}")
    try:
        import requests
        from kaggle.api.kaggle_api_extended import KaggleApi  # kaggle 2.0.x authenticates on import
    except ImportError as error:
        raise KaggleKernelError(f"cannot {action}: the kaggle package is missing ({error}); run `make venv`") from error
    except SystemExit as error:
        raise KaggleKernelError(f"cannot {action}: the kaggle package rejected the credentials on import. "
                                f"{NO_CREDENTIALS}") from error
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

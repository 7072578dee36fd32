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

* build.py    (your machine) the bundle and the kernel notebook
* runtime.py  (on Kaggle, from the bundle) install, find the data, run the stages, copy the results
* client.py   (your machine) the Kaggle API calls: push, status, output, submit
* cli.py      the command line above

Only the standard library is imported at module level: on Kaggle this package runs before the packages
it installs exist, and the `kaggle` client is imported only once credentials are known to exist.
"""


from .build import BUILD_INFO, SIZE_LIMIT, KaggleKernelError, build
from .cli import main
from .client import download_output, push, status, submit
from .runtime import ensure_packages, find_kaggle_data, run_stages

__all__ = ["BUILD_INFO", "SIZE_LIMIT", "KaggleKernelError", "build", "download_output", "ensure_packages",
           "find_kaggle_data", "main", "push", "run_stages", "status", "submit"]

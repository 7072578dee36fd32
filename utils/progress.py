"""One-line progress reports from long notebook cells to the terminal that runs `make run`.

    from utils.progress import progress_line
    progress_line(f"features train: {done:,}/{total:,} objects")

The runner (`python -m utils.run`) sets $MALLORN_PROGRESS_FILE to `<run folder>/progress.log` and
prints each new line there while the notebook runs; the papermill kernel inherits that variable. In
Jupyter, or anywhere it is unset, `progress_line` does nothing. It never raises: a progress report
must not stop a run.
"""

from __future__ import annotations

import datetime as dt
import os

PROGRESS_ENV = "MALLORN_PROGRESS_FILE"


def progress_line(message: str) -> None:
    """Append "HH:MM:SS message" to $MALLORN_PROGRESS_FILE (no-op when unset; I/O errors ignored)."""
    path = os.environ.get(PROGRESS_ENV)
    if not path:
        return
    line = f"{dt.datetime.now():%H:%M:%S} {' '.join(str(message).split())}\n"  # one line, whatever was passed
    try:
        # One write() of a short line in append mode: lines from parallel writers do not interleave.
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line)
    except (OSError, ValueError):
        pass


def progress_count(what: str, done: int, total: int, added: int, *, unit: str = "objects",
                   tenths: int = 10) -> None:
    """A progress_line each time `done` (just raised by `added`) crosses another 1/`tenths` of `total`,
    e.g. "features train: 4,000/9,569 objects"; always one at the end."""
    if total <= 0:
        return
    if done >= total or done * tenths // total > (done - added) * tenths // total:
        progress_line(f"{what}: {done:,}/{total:,} {unit}")

"""Write a file so that no reader ever sees half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], None],
                     check: Callable[[Path], None] | None = None) -> Path:
    """Call `write` on a unique temporary file beside `path`, then rename it over `path`.

    A reader sees the old file or the whole new one; two processes writing the same entry at once each write
    their own temporary file, and the last rename leaves one complete copy. The parent folder is created.
    `check(temporary_path)`, when given, reads the written file back before the rename; if it raises, `path`
    keeps its old content. The file gets the permissions of an ordinary new file (0644 under umask 022),
    not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=f"{path.suffix}.tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        if check is not None:
            check(Path(tmp_name))
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return path


def _umask() -> int:
    """The process umask (read by setting it and putting it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

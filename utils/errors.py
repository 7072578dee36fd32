"""The one exception type for bad input, so callers can tell data problems from bugs, and how every command reports
bad input: one `error: ...` line on stderr and exit status 2 (`error_line`; `ArgumentParser` for a bad command line).
"""

from __future__ import annotations

import argparse
from typing import NoReturn


class DataError(ValueError):
    """Input data is missing or malformed; the message names the file, column and example ids."""


def plain(value):
    """A value as a user would write it: numpy scalars as Python ones, whole floats as integers (2, not
    np.float64(2.0))."""
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        value = item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def examples(values, limit: int = 5) -> str:
    """Render up to `limit` example values for an error message, e.g. "'a', 'b' (+3 more)"."""
    values = list(dict.fromkeys(plain(v) for v in values))
    shown = ", ".join(repr(v) for v in values[:limit])
    extra = len(values) - limit
    return f"{shown} (+{extra} more)" if extra > 0 else shown


def error_line(error: BaseException | str) -> str:
    """`error: <message>` on one line, however many lines the message has: what a command prints for bad input."""
    return f"error: {' '.join(str(error).split())}"


class ArgumentParser(argparse.ArgumentParser):
    """argparse, except that a command line it refuses (an unknown option, `--chunk-size abc`) is one error_line
    and exit status 2, like any other bad input, instead of the usage text followed by `prog: error: ...`."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, error_line(f"{message} (--help lists the options)") + "\n")

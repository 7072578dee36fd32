"""The one exception type for bad input, so callers can tell data problems from bugs."""


class DataError(ValueError):
    """Input data is missing or malformed; the message names the file, column and example ids."""


def examples(values, limit: int = 5) -> str:
    """Render up to `limit` example values for an error message, e.g. "'a', 'b' (+3 more)"."""
    values = list(dict.fromkeys(values))
    shown = ", ".join(repr(v) for v in values[:limit])
    extra = len(values) - limit
    return f"{shown} (+{extra} more)" if extra > 0 else shown

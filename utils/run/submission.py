"""Validate a submission against sample_submission.csv, then write it atomically.

A submission must hold every sample id once, no other id, in the sample's order, with a 0/1
prediction. `write_submission` checks all that before touching the target file and replaces it
only with a complete, valid file, so a good submission is never overwritten by a bad one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import write_atomically
from ..errors import DataError, examples

COLUMNS = ["object_id", "prediction"]


def validate_submission(submission: pd.DataFrame, sample: pd.DataFrame) -> None:
    """Raise DataError naming what is wrong: columns, missing/duplicate/extra ids, order, non-binary values."""
    missing_columns = [c for c in COLUMNS if c not in submission.columns]
    if missing_columns:
        raise DataError(f"submission lacks column(s) {missing_columns}; it has {list(submission.columns)}")
    ids = submission["object_id"].astype(str)
    expected = sample["object_id"].astype(str)
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        raise DataError(f"submission repeats object_id {examples(duplicated)}")
    missing = pd.Index(expected).difference(pd.Index(ids))
    if len(missing):
        raise DataError(f"submission lacks {len(missing)} object_id of sample_submission.csv: {examples(missing)}")
    extra = pd.Index(ids).difference(pd.Index(expected))
    if len(extra):
        raise DataError(f"submission has {len(extra)} object_id absent from sample_submission.csv: {examples(extra)}")
    if not np.array_equal(ids.to_numpy(), expected.to_numpy()):
        raise DataError("submission rows are not in sample_submission.csv order")
    values = pd.to_numeric(submission["prediction"], errors="coerce")
    bad = ~values.isin([0, 1])
    if bad.any():
        raise DataError(f"prediction must be 0 or 1; got {examples(submission['prediction'][bad].astype(str))} "
                        f"for object_id {examples(ids[bad])}")


def make_submission(labels: pd.Series, sample: pd.DataFrame) -> pd.DataFrame:
    """0/1 labels indexed by object_id, laid out in sample_submission order (ids absent stay absent)."""
    ordered = labels.reindex(sample["object_id"].astype(str))
    return pd.DataFrame({"object_id": sample["object_id"].astype(str).to_numpy(),
                         "prediction": ordered.to_numpy()})


def write_submission(submission: pd.DataFrame, sample: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Validate, write to a temporary sibling, re-read and re-validate it, then rename over `path`."""
    validate_submission(submission, sample)
    out = submission[COLUMNS].copy()
    out["prediction"] = pd.to_numeric(out["prediction"]).astype(int)
    return write_atomically(path, lambda handle: out.to_csv(handle, index=False),
                            check=lambda written: validate_submission(pd.read_csv(written, dtype={"object_id": str}),
                                                                      sample))

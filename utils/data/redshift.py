"""Training redshifts made to look like the test's photometric ones.

Train Z is spectroscopic (exact); test Z is photometric with an error Z_err. A model trained on exact
redshifts trusts rest-frame times and luminosities more than the test set allows, so each training
object gets Z + ε, ε ~ N(0, σ²), with σ the Z_err of a test object of similar redshift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError

NEIGHBOURS = 20  # σ is drawn from the Z_err of this many test objects nearest in Z


def perturbed_redshift_and_error(train_log: pd.DataFrame, test_log: pd.DataFrame,
                                 seed: int) -> tuple[pd.Series, pd.Series]:
    """(Z + N(0, σ²), σ) per training object, σ drawn from test objects at similar Z; Z stays > -1 + 1e-3."""
    reference = test_log[["Z", "Z_err"]].dropna()
    if reference.empty:
        raise DataError("test_log.csv has no Z_err values to model the photometric redshift error on")
    rng = np.random.default_rng(seed)
    order = np.argsort(reference["Z"].to_numpy())
    test_z, test_err = reference["Z"].to_numpy()[order], reference["Z_err"].to_numpy()[order]
    position = np.searchsorted(test_z, train_log["Z"].to_numpy())
    offset = rng.integers(-NEIGHBOURS // 2, NEIGHBOURS // 2 + 1, size=len(train_log))
    sigma = test_err[np.clip(position + offset, 0, len(test_z) - 1)]
    noisy = train_log["Z"].to_numpy() + rng.normal(0.0, 1.0, len(train_log)) * sigma
    return (pd.Series(np.maximum(noisy, -1 + 1e-3), index=train_log.index, name="Z"),
            pd.Series(sigma, index=train_log.index, name="Z_err"))


def perturbed_redshift(train_log: pd.DataFrame, test_log: pd.DataFrame, seed: int) -> pd.Series:
    """Z + N(0, σ²) per training object, σ drawn from test objects at similar Z; stays > -1 + 1e-3."""
    return perturbed_redshift_and_error(train_log, test_log, seed)[0]

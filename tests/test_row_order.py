"""The same observations in another order give the same tables and features, bit for bit: an export's row order
(and observations that share a time, as a multi-band visit's do) must never move a score."""

import shutil

import numpy as np
import pandas as pd

from utils.data.load import load_dataset
from utils.features import feature_table


def with_shared_times(root):
    """Round every time to a whole day, so several bands of an object share each time."""
    for path in root.glob("split_*/*_lightcurves.csv"):
        table = pd.read_csv(path)
        table["Time (MJD)"] = table["Time (MJD)"].round(0)
        table.to_csv(path, index=False)
    return root


def shuffled_copy(root, target, seed=1):
    shutil.copytree(root, target)
    rng = np.random.default_rng(seed)
    for path in [*target.glob("*_log.csv"), *target.glob("split_*/*_lightcurves.csv")]:
        table = pd.read_csv(path, dtype={"object_id": str})
        table.iloc[rng.permutation(len(table))].to_csv(path, index=False)
    return target


def test_shuffled_rows_and_logs_give_identical_tables_and_features(kaggle_dir, tmp_path):
    original = with_shared_times(kaggle_dir)
    shuffled = shuffled_copy(original, tmp_path / "shuffled")
    a, b = load_dataset(original, cache_dir=tmp_path / "a"), load_dataset(shuffled, cache_dir=tmp_path / "b")
    assert a.train_lc.duplicated(["object_id", "time"]).sum() > 100  # the ties this is about
    for name in ("train_log", "test_log", "train_lc", "test_lc"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    groups = ["meta", "gp", "variability"]
    for kind in ("train", "test"):
        pd.testing.assert_frame_equal(
            feature_table(a, kind, n_jobs=1, groups=groups, progress=False, cache_dir=tmp_path / "a"),
            feature_table(b, kind, n_jobs=1, groups=groups, progress=False, cache_dir=tmp_path / "b"), check_exact=True)

"""Valid-but-odd data that must go through the whole feature path: an object with no usable observation."""

import numpy as np
import pandas as pd

from utils.data import load_dataset
from utils.features import feature_table


def test_feature_table_gives_an_object_without_observations_a_row(kaggle_dir):
    log = pd.read_csv(kaggle_dir / "test_log.csv", dtype={"object_id": str})
    pd.concat([log, log.iloc[[0]].assign(object_id="te_lonely")]).to_csv(kaggle_dir / "test_log.csv", index=False)
    ds = load_dataset(kaggle_dir)
    table = feature_table(ds, "test", n_jobs=1, progress=False)
    assert table.index.tolist() == ds.test_log.index.tolist()
    lonely = table.loc["te_lonely"]
    assert lonely.isna().mean() > 0.9  # light-curve features undefined; metadata (Z, EBV) still there
    assert np.isfinite(table.drop(index="te_lonely").to_numpy(dtype=float)).any(axis=1).all()

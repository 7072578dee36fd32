"""Valid-but-odd data that must go through the whole feature path: an object with no usable observation."""

import numpy as np
import pandas as pd

from utils.data.load import load_dataset
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


def test_notebook05_predicts_for_odd_ids_and_an_object_without_observations(kaggle_dir, tmp_path):
    """Ids that look like numbers stay text end to end; an unobserved test object still gets a 0/1."""
    from utils.run.pipeline import run

    renames = {"te_0000": "007", "te_0001": "1e5", "tr_0000": "0042"}
    paths = [kaggle_dir / "train_log.csv", kaggle_dir / "test_log.csv", kaggle_dir / "sample_submission.csv",
             *kaggle_dir.glob("split_*/*.csv")]
    for path in paths:
        table = pd.read_csv(path, dtype={"object_id": str})
        table["object_id"] = table["object_id"].replace(renames)
        table.to_csv(path, index=False)
    for name, row in (("test_log.csv", None), ("sample_submission.csv", {"object_id": "te_lonely", "prediction": 0})):
        table = pd.read_csv(kaggle_dir / name, dtype={"object_id": str})
        extra = table.iloc[[0]].assign(object_id="te_lonely") if row is None else pd.DataFrame([row])
        pd.concat([table, extra]).to_csv(kaggle_dir / name, index=False)
    run_dir = run(data_dir=str(kaggle_dir), out_dir=tmp_path / "runs", profile="quick", notebooks="05", progress=False)
    submission = pd.read_csv(run_dir / "submission.csv", dtype={"object_id": str})
    assert submission["object_id"].tolist()[:2] == ["007", "1e5"] and submission["object_id"].iloc[-1] == "te_lonely"
    assert submission["prediction"].isin([0, 1]).all() and len(submission) == 21
    oof = pd.read_csv(run_dir / "oof.csv", dtype={"object_id": str})
    assert "0042" in set(oof["object_id"])

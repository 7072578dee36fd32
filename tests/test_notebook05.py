"""Notebook 05 end to end, headless, quick profile, on a tiny data set it writes itself."""

import json

import pandas as pd
import pytest

from utils.config import save_config
from utils.data.load import load_dataset
from utils.run.folder import save_predictions
from utils.run.pipeline import NOTEBOOK_DIR, execute, run


def test_notebook05_writes_a_valid_submission_and_reports(kaggle_dir, cache_dir, tmp_path):
    """After notebook 02 (which extracts every feature table of the run), notebook 05 extracts none."""
    run(data_dir=str(kaggle_dir), out_dir=tmp_path / "runs", profile="quick", notebooks="02", progress=False)
    feature_cache = {path: path.stat().st_mtime_ns for path in (cache_dir / "features").iterdir()}
    run_dir = run(data_dir=str(kaggle_dir), out_dir=tmp_path / "runs", profile="quick", notebooks="05", progress=False)
    assert {path: path.stat().st_mtime_ns for path in (cache_dir / "features").iterdir()} == feature_cache
    sample = pd.read_csv(kaggle_dir / "sample_submission.csv")
    submission = pd.read_csv(run_dir / "submission.csv")
    assert submission["object_id"].tolist() == sample["object_id"].tolist()
    assert submission["prediction"].isin([0, 1]).all()

    oof = pd.read_csv(run_dir / "oof.csv")
    train_log = pd.read_csv(kaggle_dir / "train_log.csv")
    assert sorted(oof["object_id"]) == sorted(train_log["object_id"])
    assert {"target", "gbdt", "gbdt_binary", "ensemble"} <= set(oof.columns)
    probabilities = pd.read_csv(run_dir / "probabilities.csv")
    assert probabilities["object_id"].tolist() == sample["object_id"].tolist()
    page = (run_dir / "candidates.html").read_text()
    top = probabilities.sort_values("ensemble", ascending=False, kind="stable")["object_id"].head(3).astype(str)
    assert all(object_id in page for object_id in top)
    assert len(list((run_dir / "candidates").glob("*.png"))) == 3

    metrics = json.loads((run_dir / "metrics.json").read_text())
    for model in ("gbdt", "gbdt_binary", "ensemble"):
        scores = metrics["models"][model]
        assert {"f1", "f1_oof_optimised", "precision", "recall", "average_precision", "threshold"} <= set(scores)
    assert set(metrics["adversarial_auc"]) == {"before (spectroscopic train Z)", "after (train Z perturbed by test Z_err)"}
    assert (run_dir / "predictions" / "oof_gbdt.csv").is_file()
    for figure in ("05_pr_and_f1_curves", "05_false_positives_by_spectype", "05_feature_importance"):
        assert (run_dir / "figures" / f"{figure}.png").is_file()
    manifest = json.loads((run_dir / "model" / "manifest.json").read_text())
    assert manifest["threshold"] == metrics["models"]["ensemble"]["threshold"]
    assert manifest["blender"]["members"] == metrics["models"]["ensemble"]["members"]
    assert all((run_dir / path).is_file() for path in manifest["members"]["gbdt"]["boosters"])
    assert manifest["commit"] == json.loads((run_dir / "config.json").read_text())["commit"]  # the code that ran


def test_notebook05_blends_deep_model_predictions_when_present(kaggle_dir, tmp_path):
    """A CNN's predictions already in the run folder join the ensemble (run 05 into that folder).

    The same run has adversarial weights on and trains on one degraded copy of every object (one notebook run
    covers all three): the GBDTs record both."""
    run_dir = tmp_path / "run"
    train_log = pd.read_csv(kaggle_dir / "train_log.csv")
    test_log = pd.read_csv(kaggle_dir / "test_log.csv")
    save_predictions(run_dir, "cnn", train_log[["object_id", "target"]].assign(prob=train_log["target"] * 0.6 + 0.2),
                     test_log[["object_id"]].assign(prob=0.3), {"seconds": 1.0},
                     data_fingerprint=load_dataset(kaggle_dir).fingerprint)
    save_config({}, run_dir / "config.json")
    execute(NOTEBOOK_DIR / "05_ensemble_and_submit.py", run_dir / "05.ipynb",
            {"data_dir": str(kaggle_dir), "out_dir": str(run_dir), "profile": "quick", "seed": 1,
             "adversarial_weighting": True, "copies": 1}, progress=False)
    oof = pd.read_csv(run_dir / "oof.csv")
    assert "cnn" in oof.columns
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "cnn" in metrics["models"]["ensemble"]["members"]
    for model in ("gbdt", "gbdt_binary"):
        spread = metrics["models"][model]["sample_weight"]
        assert spread["mean"] == pytest.approx(1.0) and 0.2 <= spread["min"] <= spread["max"] <= 5.0
        assert spread["n"] == len(train_log)
        assert metrics["models"][model]["copies_per_object"] == 1
    assert "adversarial_weights" in metrics["seconds"]
    manifest = json.loads((run_dir / "model" / "manifest.json").read_text())
    assert manifest["members"]["cnn"] == {"kind": "unavailable",
                                          "reason": "member 'cnn' has no fold checkpoints under models/cnn/"}

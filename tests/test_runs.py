"""Ensemble members in a shared folder: predictions of another data set are left out, with a line saying why."""

import json

import pandas as pd
import pytest

from utils.run.folder import load_predictions, save_predictions

TRAIN = pd.DataFrame({"object_id": ["007", "1e5", "a"], "target": [1, 0, 0], "prob": [0.9, 0.1, 0.2]})
TEST = pd.DataFrame({"object_id": ["t1", "t2"], "prob": [0.3, 0.6]})


def test_members_of_this_data_are_loaded_with_text_ids(tmp_path):
    save_predictions(tmp_path, "gbdt", TRAIN, TEST, {"f1": 0.5}, data_fingerprint="abc")
    saved = load_predictions(tmp_path, data_fingerprint="abc", test_ids=["t2", "t1"])
    assert list(saved) == ["gbdt"]
    assert saved["gbdt"]["oof"]["object_id"].tolist() == ["007", "1e5", "a"]
    assert saved["gbdt"]["metrics"] == {"f1": 0.5, "data_fingerprint": "abc"}


def test_stale_and_incomplete_members_are_left_out_with_a_reason(tmp_path, capsys):
    save_predictions(tmp_path, "fresh", TRAIN, TEST, {}, data_fingerprint="abc")
    save_predictions(tmp_path, "other_data", TRAIN, TEST, {}, data_fingerprint="zzz")
    save_predictions(tmp_path, "too_few", TRAIN, TEST.iloc[:1], {}, data_fingerprint="abc")
    save_predictions(tmp_path, "has_nan", TRAIN, TEST.assign(prob=[0.1, float("nan")]), {}, data_fingerprint="abc")
    save_predictions(tmp_path, "unmarked", TRAIN, TEST, {}, data_fingerprint="abc")
    metrics = tmp_path / "predictions" / "metrics_unmarked.json"
    recorded = json.loads(metrics.read_text())
    metrics.write_text(json.dumps({k: v for k, v in recorded.items() if k != "data_fingerprint"}))
    saved = load_predictions(tmp_path, data_fingerprint="abc", test_ids=["t1", "t2"])
    assert list(saved) == ["fresh"]
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "left out has_nan: its test predictions are NaN for 1 test objects, e.g. 't2'",
        "left out other_data: its predictions are for other data (fingerprint zzz, this data abc)",
        "left out too_few: its test predictions lack 1 of the 2 test objects, e.g. 't2'",
        "left out unmarked: its predictions record no data fingerprint (saved by older code or by hand)",
    ]


def test_saving_needs_a_fingerprint(tmp_path):
    with pytest.raises(ValueError, match="needs the data fingerprint"):
        save_predictions(tmp_path, "gbdt", TRAIN, TEST, {}, data_fingerprint="")

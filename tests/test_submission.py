"""The submission validator and the atomic writer."""

import pandas as pd
import pytest

from utils.errors import DataError
from utils.run.submission import make_submission, validate_submission, write_submission

SAMPLE = pd.DataFrame({"object_id": ["c", "a", "b", "d"], "prediction": 0})


def good():
    return pd.DataFrame({"object_id": ["c", "a", "b", "d"], "prediction": [1, 0, 0, 1]})


@pytest.mark.parametrize("broken, message", [
    (good().iloc[:3], r"lacks 1 object_id .*'d'"),
    (pd.concat([good(), good().iloc[[0]]]), r"repeats object_id 'c'"),
    (pd.concat([good(), pd.DataFrame({"object_id": ["zz"], "prediction": [0]})]), r"absent from sample.*'zz'"),
    (good().assign(prediction=[1, 0, 0.5, 1]), r"0 or 1; got '0.5' for object_id 'b'"),
    (good().assign(prediction=[1, 0, 2, 1]), r"0 or 1; got '2'"),
    (good().assign(prediction=[1, 0, None, 1]), r"0 or 1"),
    (good().iloc[[1, 0, 2, 3]], "order"),
    (good().rename(columns={"prediction": "target"}), r"lacks column\(s\) \['prediction'\]"),
])
def test_validator_rejects_and_names_the_problem(broken, message):
    with pytest.raises(DataError, match=message):
        validate_submission(broken, SAMPLE)


def test_a_good_submission_passes_and_is_written(tmp_path):
    validate_submission(good(), SAMPLE)
    path = write_submission(good(), SAMPLE, tmp_path / "submission.csv")
    written = pd.read_csv(path, dtype={"object_id": str})
    assert written.equals(good())
    assert [p.name for p in tmp_path.iterdir()] == ["submission.csv"]  # no temporary left behind


def test_a_bad_submission_never_replaces_a_good_one(tmp_path):
    path = write_submission(good(), SAMPLE, tmp_path / "submission.csv")
    before = path.read_bytes()
    with pytest.raises(DataError):
        write_submission(good().iloc[:2], SAMPLE, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["submission.csv"]


def test_make_submission_follows_the_sample_order():
    labels = pd.Series({"a": 1, "b": 0, "c": 0, "d": 1})
    made = make_submission(labels, SAMPLE)
    assert made["object_id"].tolist() == ["c", "a", "b", "d"] and made["prediction"].tolist() == [0, 1, 0, 1]
    with pytest.raises(DataError, match="lacks|0 or 1"):
        validate_submission(make_submission(labels.iloc[:3], SAMPLE), SAMPLE)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_submission_file_gets_ordinary_permissions(tmp_path, umask, mode):
    import os

    sample = pd.DataFrame({"object_id": ["a", "b"], "prediction": [0, 0]})
    previous = os.umask(umask)
    try:
        path = write_submission(pd.DataFrame({"object_id": ["a", "b"], "prediction": [1, 0]}), sample,
                                tmp_path / "submission.csv")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == mode

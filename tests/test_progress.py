"""progress_line / progress_count: one timestamped line per call, silent without the variable, never raising."""

import re

from utils.progress import PROGRESS_ENV, progress_count, progress_line


def test_lines_are_appended_with_a_time(tmp_path, monkeypatch):
    path = tmp_path / "progress.log"
    monkeypatch.setenv(PROGRESS_ENV, str(path))
    progress_line("features train: 4,000/9,569 objects")
    progress_line("two\nlines become one")
    lines = path.read_text().splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d features train: 4,000/9,569 objects", lines[0])
    assert lines[1].endswith(" two lines become one") and len(lines) == 2


def test_no_variable_no_file_and_io_errors_are_swallowed(tmp_path, monkeypatch):
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    progress_line("nothing happens")
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv(PROGRESS_ENV, str(tmp_path / "no such folder" / "progress.log"))
    progress_line("an unwritable file does not stop the run")
    monkeypatch.setenv(PROGRESS_ENV, str(tmp_path))  # a folder, not a file
    progress_line("nor does this")


def test_counts_report_each_tenth_once_and_the_end(tmp_path, monkeypatch):
    path = tmp_path / "progress.log"
    monkeypatch.setenv(PROGRESS_ENV, str(path))
    done = 0
    for chunk in [300] * 31 + [269]:  # 9,569 objects in uneven chunks
        done += chunk
        progress_count("features train", done, 9569, chunk)
    lines = [line.split(" ", 1)[1] for line in path.read_text().splitlines()]
    assert len(lines) == 10 and lines[-1] == "features train: 9,569/9,569 objects"
    assert lines[0] == "features train: 1,200/9,569 objects"


def test_feature_extraction_reports_progress(kaggle_dir, tmp_path, monkeypatch):
    from utils.data.load import load_dataset
    from utils.features import feature_table

    path = tmp_path / "progress.log"
    monkeypatch.setenv(PROGRESS_ENV, str(path))
    feature_table(load_dataset(kaggle_dir), "test", n_jobs=1, groups=["meta", "photometry"], progress=False)
    lines = path.read_text().splitlines()
    assert lines and lines[-1].endswith("features test: 20/20 objects")


def test_gbdt_cross_validation_reports_each_repeat(tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd

    from utils.gbdt import cross_validate_gbdt

    path = tmp_path / "progress.log"
    monkeypatch.setenv(PROGRESS_ENV, str(path))
    rng = np.random.default_rng(0)
    index = pd.Index([f"o{i}" for i in range(60)], name="object_id")
    target = pd.Series((np.arange(60) % 4 == 0).astype(int), index=index)
    features = pd.DataFrame({"a": rng.normal(size=60) + target, "b": rng.normal(size=60)}, index=index)
    cross_validate_gbdt(features, target, n_splits=3, n_repeats=2, params={"n_estimators": 5, "verbose": -1})
    lines = [line.split(" ", 1)[1] for line in path.read_text().splitlines()]
    assert [line.split(" (")[0] for line in lines] == ["gbdt binary: CV repeat 1/2 done",
                                                        "gbdt binary: CV repeat 2/2 done"]

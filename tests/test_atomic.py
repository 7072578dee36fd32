"""utils.atomic.write_atomically: whole files or none."""

import os

import pandas as pd
import pytest

from utils.atomic import write_atomically
from utils.features.table import write_table


def test_the_file_appears_whole_in_a_new_folder(tmp_path):
    path = write_atomically(tmp_path / "new" / "entry.npy", lambda out: out.write(b"complete"))
    assert path.read_bytes() == b"complete"
    assert [p.name for p in path.parent.iterdir()] == ["entry.npy"]  # no temporary file left


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "entry.npy"
    path.write_bytes(b"old")

    def half_then_fail(out):
        out.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(path, half_then_fail)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["entry.npy"]


def test_a_feature_table_is_cached_whole_and_a_failed_one_leaves_the_old_entry(tmp_path):
    path = tmp_path / "features" / "entry.parquet"
    table = pd.DataFrame({"flux_max": [1.0, 2.5]}, index=pd.Index(["a", "b"], name="object_id"))
    write_table(table, path)
    pd.testing.assert_frame_equal(pd.read_parquet(path), table)
    unwritable = pd.DataFrame({"mixed": [1.0, object()]}, index=table.index)  # parquet cannot hold an object()
    with pytest.raises(ValueError):  # pyarrow's ArrowInvalid
        write_table(unwritable, path)
    pd.testing.assert_frame_equal(pd.read_parquet(path), table)
    assert [p.name for p in path.parent.iterdir()] == ["entry.parquet"]


def test_a_failed_check_of_the_written_file_keeps_the_old_one(tmp_path):
    path = tmp_path / "entry.csv"
    path.write_bytes(b"old")

    def reject(written):
        assert written.read_bytes() == b"new" and written != path  # the check reads the temporary
        raise ValueError("not what was meant")

    with pytest.raises(ValueError, match="not what was meant"):
        write_atomically(path, lambda out: out.write(b"new"), check=reject)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["entry.csv"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_the_file_gets_ordinary_permissions_not_mkstemp_ones(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        path = write_atomically(tmp_path / "entry.npy", lambda out: out.write(b"x"))
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == mode

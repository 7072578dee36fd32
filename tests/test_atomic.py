"""utils.atomic.write_atomically: whole files or none."""

import pandas as pd
import pytest

from utils.atomic import write_atomically
from utils.features import write_table


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

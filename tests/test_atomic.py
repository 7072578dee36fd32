"""utils.atomic.write_atomically: whole files or none."""

import pytest

from utils.atomic import write_atomically


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

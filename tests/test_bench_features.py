"""benchmarks/features_speed.py --objects on the tiny data set: one line per group (batch groups too), no cache
written."""

import re

import features_speed


def test_objects_mode_times_each_group_on_a_sample(kaggle_dir, cache_dir, capsys):
    assert features_speed.main(["--data-dir", str(kaggle_dir), "--groups", "meta,fits,parsnip", "--objects", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["meta", "fits", "parsnip"]  # parsnip: a batch group, one call
    assert all(re.search(r"ms/object CPU \(10 objects, one core\)", line) for line in lines)
    assert not (cache_dir / "features").exists()

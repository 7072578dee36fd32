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


def test_cold_mode_times_the_once_per_object_part_and_one_draw_apart(kaggle_dir, cache_dir, capsys):
    assert features_speed.main(["--data-dir", str(kaggle_dir), "--groups", "meta,timescales", "--n-jobs", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("train, once per object: 40 objects") and lines[1].startswith("test, once per object")
    assert re.match(r"train, one redshift draw \(transform\): 40 objects in [\d.]+ s \([\d.]+ ms/object\)", lines[2])
    assert lines[3].startswith("all: 60 objects")

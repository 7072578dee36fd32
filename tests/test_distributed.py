"""feature_table on the Dask executor, on a small Kaggle-layout data set: the joblib table, one cache entry."""

import os

import dask
import dask_speed
import numpy as np
import pandas as pd
import pytest
from distributed import Client

from utils.data.lightcurve import make_object
from utils.data.load import load_dataset
from utils.features import feature_table
from utils.features.distributed import (DaskExecutor, cluster_client, dask_executor, local_cluster, map_partitions,
                                        partitions)


@pytest.fixture
def dataset(kaggle_dir):
    return load_dataset(kaggle_dir)


def test_same_table_as_feature_table_on_a_local_cluster(dataset, tmp_path):
    # Every group, so the GP and the parametric fits run on the workers too; partitions of 7 leave a short last one.
    # A thread worker keeps the test fast; the benchmark test below runs worker processes. One thread, not two:
    # threadpool_limits is process-wide, so two threads entering and leaving it would let one GP fit run on
    # multi-threaded BLAS, whose other summation order changes the last bits (seen in 1 of 3 runs).
    expected = feature_table(dataset, "test", n_jobs=1, progress=False, cache_dir=tmp_path / "joblib")
    with dask_executor(n_workers=1, processes=False, partition_size=7) as executor:
        table = feature_table(dataset, "test", executor=executor, progress=False, cache_dir=tmp_path / "dask")
    pd.testing.assert_frame_equal(table, expected, check_exact=True)


def test_either_path_serves_the_other_from_one_cache_entry(dataset, cache_dir):
    groups = ["meta", "timescales"]
    with dask_executor(n_workers=2, processes=False, partition_size=6) as executor:
        first = feature_table(dataset, "train", executor=executor, groups=groups, progress=False)
    entries = list((cache_dir / "features").glob("train-*.parquet"))
    assert len(entries) == 1
    served = feature_table(dataset, "train", n_jobs=1, progress=False, groups=groups)  # a cache hit, not a rerun
    pd.testing.assert_frame_equal(served, first, check_exact=True)
    assert list((cache_dir / "features").glob("train-*.parquet")) == entries

    perturbed = feature_table(dataset, "train", n_jobs=1, progress=False, groups=groups, redshift_seed=2)
    unreachable = DaskExecutor(client=None)  # served from the cache: no cluster is ever asked
    again = feature_table(dataset, "train", executor=unreachable, groups=groups, redshift_seed=2, progress=False)
    pd.testing.assert_frame_equal(again, perturbed, check_exact=True)


def test_any_per_object_function_maps_over_partitions_on_a_running_cluster():
    rng = np.random.default_rng(0)
    objects = [make_object(np.arange(5.0), rng.normal(size=5), np.ones(5), list("ugriz"), object_id=f"o{i}")
               for i in range(11)]
    with cluster_client(n_workers=2, processes=False) as client:
        counts = map_partitions(_point_counts, objects, client, partition_size=3, progress=False)
        assert map_partitions(_point_counts, [], client, progress=False) == {}
    assert counts == {f"o{i}": 5 for i in range(11)}


def test_local_workers_keep_glibc_adaptive_malloc_and_leave_this_process_environment_alone(monkeypatch):
    # Dask's nanny exports MALLOC_TRIM_THRESHOLD_ (which fixes glibc's mmap threshold: slower GP kernels in the
    # workers; docs/results.md, "Predict and Dask")
    # and writes its spawn environment into the parent's os.environ.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = dict(os.environ)
    with local_cluster(1) as cluster, Client(cluster) as client:
        [worker_environ] = client.run(_environ_of, ["MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS"]).values()
        profiling = client.run(dask.config.get, "distributed.worker.profile.enabled")
    assert worker_environ == {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}
    assert list(profiling.values()) == [False]
    assert dict(os.environ) == before


def _environ_of(names):
    return {name: os.environ.get(name) for name in names}


def _point_counts(objects):
    return [len(obj.time) for obj in objects]


def test_copies_extract_on_dask_as_on_joblib(dataset, tmp_path):
    expected = feature_table(dataset, "train", n_jobs=1, groups=["meta", "photometry"], copies=2, progress=False,
                             cache_dir=tmp_path / "joblib")
    with dask_executor(n_workers=1, processes=False, partition_size=9) as executor:
        table = feature_table(dataset, "train", executor=executor, groups=["meta", "photometry"], copies=2,
                              progress=False, cache_dir=tmp_path / "dask")
    pd.testing.assert_frame_equal(table, expected, check_exact=True)
    assert table.index.str.contains("~copy").all()


@pytest.mark.parametrize("kwargs, message", [
    ({"partition_size": 0}, "partition_size must be at least 1"),
    ({"n_workers": 0}, "n_workers must be at least 1"),
])
def test_bad_executor_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message), dask_executor(processes=False, **kwargs):
        pass


def test_partitions_cover_every_object_once_in_order():
    assert list(partitions(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_benchmark_repeats_the_test_set_with_suffixed_ids(dataset):
    batch = dask_speed.repeated_test_set(dataset, 45)  # 20 test objects: two full copies and a part
    assert len(batch.test_log) == 45 and batch.test_log.index.is_unique
    assert list(batch.test_log.index[[0, 20, 44]]) == [f"{dataset.test_log.index[0]}_c0",
                                                       f"{dataset.test_log.index[0]}_c1",
                                                       f"{dataset.test_log.index[4]}_c2"]
    assert set(batch.test_lc["object_id"]) == set(batch.test_log.index)
    assert len(batch.test_lc) == 2 * len(dataset.test_lc) + dataset.test_lc["object_id"].isin(
        dataset.test_log.index[:5]).sum()
    assert batch.fingerprint != dataset.fingerprint


def test_benchmark_prints_one_row_per_cluster_size(kaggle_dir, capsys):
    # Worker processes, as the real measurement uses; cheap groups and few objects keep it to seconds.
    assert dask_speed.main(["--data-dir", str(kaggle_dir), "--objects", "25", "--workers", "1",
                                  "--partition-size", "10", "--groups", "meta,photometry"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("batch: 25 objects")
    assert lines[1].startswith("in-process yardstick (first 25 objects, one core, no Dask): ")
    assert float(lines[1].split(": ")[1].split()[0]) > 0
    assert lines[2].startswith("| workers | objects |")
    cells = [cell.strip() for cell in lines[4].strip("|").split("|")]
    assert cells[:2] == ["1", "25"] and len(lines) == 5
    rate, worker_mb, core_hours = float(cells[4]), float(cells[6]), float(cells[8])
    assert rate > 0 and worker_mb > 50  # a worker holding numpy, pandas and scipy is well past 50 MB
    assert core_hours == pytest.approx(1e7 / rate / 3600, rel=0.02)

"""Notebook 02 extracts every feature table the run reads: 03, 04 and 05 then only hit the cache."""

import pytest

import utils.features.table as feature_engine
from utils.data.load import load_dataset
from utils.features import TableRequest, cache_entries, feature_table
from utils.steps.deep import DEEP_NOTEBOOKS, notebook_settings
from utils.steps.features import extract_run_features, run_feature_requests
from utils.steps.gbdt import gbdt_feature_requests as notebook05_requests
from utils.steps.gbdt import notebook05_settings
from utils.training import prepare_inputs

SEED = 7


def test_the_run_reads_exactly_the_tables_its_settings_ask_for():
    spec_z, test = TableRequest("train"), TableRequest("test")
    # quick: the networks read no features; notebook 05 reads one draw (n_repeats 1)
    assert run_feature_requests("quick", SEED) == [spec_z, test, TableRequest("train", SEED)]
    # default: the networks read draw SEED (their cv_seed), which is notebook 05's first of three
    # and its GBDTs train on 2 degraded copies of every object under each of the three draws
    draws = [SEED, SEED + 1, SEED + 2]
    assert run_feature_requests("default", SEED) == [TableRequest("train", SEED), test, spec_z,
                                                     TableRequest("train", SEED + 1), TableRequest("train", SEED + 2),
                                                     *(TableRequest("train", draw, 2) for draw in draws)]
    assert [r.name for r in run_feature_requests("quick", SEED)] == ["train, spectroscopic Z", "test",
                                                                      f"train, Z draw {SEED}"]
    assert TableRequest("train", SEED, 2).name == f"train, Z draw {SEED}, 2 degraded copies"


@pytest.mark.parametrize("profile", ["quick", "default"])
def test_after_extraction_every_table_the_notebooks_read_is_a_cache_hit(kaggle_dir, monkeypatch, profile):
    dataset = load_dataset(kaggle_dir)
    summary = extract_run_features(dataset, profile, SEED, n_jobs=1, progress=False)
    requests = run_feature_requests(profile, SEED)
    assert summary["table"].tolist() == [r.name for r in requests]
    assert (summary["rows"] == [len(dataset.log(r.kind)) * max(1, r.copies) for r in requests]).all()
    entries = [cache_entries(dataset, r.kind, redshift_seed=r.redshift_seed, copies=r.copies, draws=r.draws)
               for r in requests]
    # a table is extracted by the first request that needs its entries (a transformed draw reads its reference's)
    made = [not set(mine) <= {path for earlier in entries[:k] for path in earlier} for k, mine in enumerate(entries)]
    assert summary["cached"].tolist() == [not m for m in made] and any(made)
    assert all(path.is_file() for mine in entries for path in mine)

    def extraction(table, path):
        raise AssertionError(f"{path.name} was extracted after notebook 02's extraction")

    monkeypatch.setattr(feature_engine, "write_table", extraction)  # every extraction ends in write_table
    for notebook, (_, models) in DEEP_NOTEBOOKS.items():  # what prepare_deep_run reads in notebooks 03 and 04
        settings = notebook_settings(notebook, profile=profile, variant="tuned", model=models[0], seed=SEED,
                                     device="cpu")
        inputs = prepare_inputs(dataset, settings)
        assert (inputs.scaler is not None) == (profile == "default")
    cfg = notebook05_settings(profile)
    for request in notebook05_requests(cfg, SEED):  # what notebook 05 reads
        feature_table(dataset, request.kind, n_jobs=1, redshift_seed=request.redshift_seed, copies=request.copies,
                      progress=False)
    again = extract_run_features(dataset, profile, SEED, n_jobs=1, progress=False)
    assert again["cached"].all() and again["columns"].tolist() == summary["columns"].tolist()


def test_a_table_is_cached_only_when_its_batch_group_is_too(kaggle_dir):
    """The spectroscopic-Z and perturbed training tables share ParSNIP's entry: the first one extracts it."""
    dataset = load_dataset(kaggle_dir)
    spec_z = cache_entries(dataset, "train")
    drawn = cache_entries(dataset, "train", redshift_seed=SEED, draws="extract")
    assert len(spec_z) == len(drawn) == 2 and spec_z[1] == drawn[1] and spec_z[0] != drawn[0]
    feature_table(dataset, "train", n_jobs=1, groups=["meta"], progress=False)
    assert not any(path.is_file() for path in spec_z)  # a meta-only table is another entry

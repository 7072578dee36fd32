"""feature_table on a small Kaggle-layout data set: shape, order, caching, argument checks."""

import numpy as np
import pytest

from utils.data.load import load_dataset
from utils.features import DEFAULT_GROUPS, GROUP_NAMES, JoblibExecutor, feature_table


@pytest.fixture
def dataset(kaggle_dir):
    return load_dataset(kaggle_dir)


def test_one_row_per_object_in_log_order_with_every_feature(dataset, cache_dir):
    table = feature_table(dataset, "train", n_jobs=1, progress=False)
    assert table.index.equals(dataset.train_log.index)
    assert list(table.columns) == [n for g in DEFAULT_GROUPS for n in GROUP_NAMES[g]]
    assert table.dtypes.eq("float64").all()
    assert table["z"].to_numpy() == pytest.approx(dataset.train_log["Z"].to_numpy())
    assert list((cache_dir / "features").glob("train-*.parquet"))


class CountingExecutor:
    """Extracts in this process, as JoblibExecutor(1) does, and counts the objects it was given."""

    def __init__(self):
        self.extracted = 0

    def map(self, function, objects, *, label, progress):
        self.extracted += len(objects)
        return JoblibExecutor(1).map(function, objects, label=label, progress=progress)


def test_a_cache_hit_returns_the_same_table_without_extracting_again(dataset):
    counting = CountingExecutor()
    first = feature_table(dataset, "test", executor=counting, progress=False, groups=["meta", "photometry"])
    assert counting.extracted == len(dataset.test_log)
    again = feature_table(dataset, "test", executor=counting, progress=False, groups=["meta", "photometry"])
    assert counting.extracted == len(dataset.test_log)  # read from the cache: no object extracted again
    assert again.equals(first)
    feature_table(dataset, "test", executor=counting, progress=False, groups=["meta"])  # another entry: extracted
    assert counting.extracted == 2 * len(dataset.test_log)


def test_parallel_and_serial_extraction_agree(dataset):
    serial = feature_table(dataset, "train", n_jobs=1, progress=False, groups=["timescales"])
    parallel = feature_table(dataset, "train", n_jobs=2, progress=False, groups=["timescales"], cache_dir=dataset.data_dir.parent / "other-cache")
    assert parallel.equals(serial)


def test_redshift_perturbation_changes_rest_frame_features_only(dataset):
    exact = feature_table(dataset, "train", n_jobs=1, progress=False, groups=["meta", "timescales"])
    noisy = feature_table(dataset, "train", n_jobs=1, progress=False, groups=["meta", "timescales"], redshift_seed=3)
    assert not np.allclose(exact["z"], noisy["z"])
    assert exact["ebv"].equals(noisy["ebv"])
    assert np.allclose(exact["fwhm_r"] * (1 + exact["z"]), noisy["fwhm_r"] * (1 + noisy["z"]), equal_nan=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "validation"}, "kind must be"),
    ({"kind": "train", "groups": ["colour magic"]}, "unknown feature group"),
    ({"kind": "test", "redshift_seed": 1}, "training redshifts only"),
])
def test_bad_arguments_say_what_is_wrong(dataset, kwargs, message):
    with pytest.raises(ValueError, match=message):
        feature_table(dataset, progress=False, **kwargs)


def test_every_feature_is_documented_in_docs_features_md():
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "features.md").read_text()
    documented = set()
    for cell in re.findall(r"^\| (`[^|]+) \|", doc, flags=re.M):
        for name in re.findall(r"`([^`]+)`", cell):
            documented |= expand(name)
    features = {n for names in GROUP_NAMES.values() for n in names}
    assert not features - documented, f"undocumented features: {sorted(features - documented)}"


def expand(pattern: str) -> set[str]:
    """`fwhm_{b}` -> fwhm_u ... fwhm_y; `x_{g,r}` -> x_g, x_r (several braces combine)."""
    import itertools
    import re

    parts = re.split(r"\{([^}]*)\}", pattern)
    choices = [[p] if i % 2 == 0 else (list("ugrizy") if p == "b" else p.split(",")) for i, p in enumerate(parts)]
    return {"".join(c) for c in itertools.product(*choices)}

"""SHAP contributions checked against LightGBM's raw scores; the candidate report on tiny synthetic objects."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from utils.data.lightcurve import make_object
from utils.data.load import load_dataset
from utils.errors import DataError
from utils.features import feature_table
from utils.gbdt.lightgbm import LightGBMModel
from utils.gbdt.member import shap_contributions
from utils.serve.candidates import gp_curves, top_candidates, write_candidate_report

PARAMS = {"n_estimators": 30, "num_leaves": 4, "min_child_samples": 3, "verbose": -1, "n_jobs": 1}


def toy_table(n: int = 120, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n), "constant": np.ones(n)},
                         index=[f"o{i}" for i in range(n)])
    return table, (table["signal"] + 0.3 * rng.normal(size=n) > 0.5).astype(int).to_numpy()


def test_binary_contributions_sum_to_the_mean_raw_score_and_skip_unused_features():
    table, labels = toy_table()
    models = [LightGBMModel.fit(table, labels, np.ones(len(labels)), multiclass=False, seed=seed,
                                params={**PARAMS, "subsample": 0.7, "subsample_freq": 1}) for seed in (0, 1)]
    boosters = [model.booster for model in models]
    contributions = shap_contributions(models, table[["constant", "noise", "signal"]])  # any column order
    assert list(contributions.columns) == ["signal", "noise", "constant", "bias"]
    raw = np.mean([b.predict(table.to_numpy(), raw_score=True) for b in boosters], axis=0)
    assert contributions.sum(axis=1).to_numpy() == pytest.approx(raw, abs=1e-9)
    assert not np.allclose(boosters[0].predict(table.to_numpy(), raw_score=True), raw)  # the average is over two
    assert all(b.feature_importance("split")[2] == 0 for b in boosters)
    assert (contributions["constant"] == 0).all()
    assert contributions["signal"].abs().mean() > contributions["noise"].abs().mean()


def test_multiclass_contributions_take_the_positive_class_block():
    table, labels = toy_table(150, seed=1)
    classes = np.where(labels == 1, "TDE", np.where(table["noise"] > 0, "AGN", "SN Ia"))
    model = LightGBMModel.fit(table, classes, np.ones(len(classes)), multiclass=True, seed=0, params=PARAMS)
    tde = list(model.classes_).index("TDE")
    contributions = shap_contributions([model], table, positive_column=tde)
    raw = model.booster.predict(table.to_numpy(), raw_score=True)
    assert contributions.sum(axis=1).to_numpy() == pytest.approx(raw[:, tde], abs=1e-9)
    assert not np.allclose(raw[:, tde], raw[:, (tde + 1) % 3])
    assert (contributions["constant"] == 0).all()
    with pytest.raises(ValueError, match="3-class booster needs a class index"):
        shap_contributions([model], table)


def test_contribution_inputs_that_cannot_work_are_named():
    table, labels = toy_table()
    model = LightGBMModel.fit(table, labels, np.ones(len(labels)), multiclass=False, seed=0, params=PARAMS)
    with pytest.raises(DataError, match="missing column.*'constant'"):
        shap_contributions([model], table.drop(columns="constant"))
    with pytest.raises(DataError, match="at least one model"):
        shap_contributions([], table)
    with pytest.raises(ValueError, match="binary booster has one raw score"):
        shap_contributions([model], table, positive_column=2)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A tiny data set, its cheap features, a small booster's test probabilities and contributions."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from synthetic import write_kaggle_dataset

    root = tmp_path_factory.mktemp("report")
    dataset = load_dataset(write_kaggle_dataset(root / "mallorn"), cache_dir=root / "cache")
    groups = ["meta", "photometry", "timescales"]
    train = feature_table(dataset, "train", n_jobs=1, progress=False, groups=groups, cache_dir=root / "cache")
    test = feature_table(dataset, "test", n_jobs=1, progress=False, groups=groups, cache_dir=root / "cache")
    labels = dataset.train_log["target"].astype(int).to_numpy()
    model = LightGBMModel.fit(train, labels, np.ones(len(labels)), multiclass=False, seed=0, params=PARAMS)
    probabilities = pd.Series(model.predict_proba(test)[:, 1], index=test.index, name="prob")
    return dataset, test, probabilities, shap_contributions([model], test)


def write(scored, out_dir, **kwargs):
    dataset, features, probabilities, contributions = scored
    arguments = {"log": dataset.test_log, "lightcurves": dataset.test_lc, "probabilities": probabilities,
                 "features": features, "contributions": contributions, "top_n": 3, **kwargs}
    return write_candidate_report(out_dir, **arguments)


def test_report_names_the_top_objects_in_order_and_links_only_existing_figures(scored, tmp_path):
    dataset, features, probabilities, contributions = scored
    members = pd.DataFrame({"gbdt": probabilities, "cnn": 1 - probabilities})
    threshold = float(probabilities.sort_values().iloc[-2])  # the top two are flagged, the third is not
    page = write(scored, tmp_path, threshold=threshold, members=members)
    assert page == tmp_path / "candidates.html"
    text = page.read_text()
    top = probabilities.sort_values(ascending=False, kind="stable").index[:3]  # ties keep the log's order
    positions = [text.index(f'href="#c{rank}">{object_id}<') for rank, object_id in enumerate(top, start=1)]
    assert positions == sorted(positions)
    assert probabilities.sort_values().index[0] not in text  # the least likely object is not reported
    assert text.count(">yes<") == 2 * 2 and text.count(">no<") == 1 * 2  # summary table and each section
    assert "P(cnn)" in text and f"{dataset.test_log.at[top[0], 'EBV']:.4g}" in text
    links = re.findall(r'src="([^"]+)"', text)
    assert len(links) == 3 and all((tmp_path / link).is_file() for link in links)
    assert sorted(p.name for p in (tmp_path / "candidates").iterdir()) == sorted(link.split("/")[1] for link in links)
    assert all((tmp_path / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for link in links)
    assert "<script" not in text and "http" not in text  # self-contained: nothing to run, nothing to fetch
    up = contributions.loc[top[0]].drop("bias").nlargest(1).index[0]
    assert f'<td class="id">{up}</td><td>{features.at[top[0], up]:.4g}</td>' in text

    shown = top_candidates(probabilities, 3).index  # the contributions of the shown objects are all a report needs
    assert list(shown) == list(top)
    alone = write(scored, tmp_path / "shown-only", contributions=contributions.loc[shown], threshold=threshold,
                  members=members)
    assert alone.read_text() == text

    write(scored, tmp_path, top_n=2, contributions=None)  # a smaller report leaves no stale figure behind
    assert len(list((tmp_path / "candidates").iterdir())) == 2
    assert "pushed up" not in page.read_text() and not list(tmp_path.glob(".candidates-*"))


def test_bad_input_is_refused_before_anything_is_overwritten(scored, tmp_path):
    dataset, features, probabilities, _ = scored
    page = write(scored, tmp_path, top_n=1)
    before = page.read_text()
    stray = pd.concat([probabilities, pd.Series([0.99], index=["not_in_log"])])
    with pytest.raises(DataError, match="absent from the log: 'not_in_log'"):
        write(scored, tmp_path, probabilities=stray)
    for top_n in (0, -1, 2.5):
        with pytest.raises(DataError, match="top_n must be a whole number of at least 1"):
            write(scored, tmp_path, top_n=top_n)
    best = probabilities.idxmax()
    with pytest.raises(DataError, match=f"features: no row for object_id '{best}'"):
        write(scored, tmp_path, features=features.drop(index=best))
    assert page.read_text() == before and len(list((tmp_path / "candidates").iterdir())) == 1


def test_a_top_object_without_observations_is_reported_with_none(scored, tmp_path):
    """A logged object without light-curve rows (kept as `make run` and predict keep one) may rank high on its
    redshift alone: its section says it has no observation, instead of the report failing."""
    dataset, _, probabilities, _ = scored
    best = probabilities.idxmax()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no matplotlib complaint about an empty plot either
        page = write(scored, tmp_path, lightcurves=dataset.test_lc[dataset.test_lc["object_id"] != best])
    text = page.read_text()
    assert f"<code>{best}</code>" in text and "<th>observations</th><td>0 (u 0, g 0, r 0, i 0, z 0, y 0)</td>" in text
    assert len(list((tmp_path / "candidates").iterdir())) == 3


def test_gp_curves_follow_a_hot_blue_transient_and_give_up_on_too_few_points():
    t = np.tile(np.linspace(-30, 150, 30), 3)
    band = np.repeat([1, 2, 0], 30)  # g, r, u
    shape = np.where(t < 0, np.exp(t / 10), (1 + np.abs(t) / 20) ** (-5 / 3))
    flux = 100 * shape * np.array([1.0, 0.7, 1.2])[np.repeat([0, 1, 2], 30)]
    obj = make_object(t, flux, np.full(90, 1.0), band, object_id="blue")
    curves = gp_curves(obj)
    at_peak = np.flatnonzero(curves.days == 0)[0]  # day 0: the brightest detection, on the decline
    assert curves.mean[at_peak, 1] == pytest.approx(100 * (1 + obj.peak_time / 20) ** (-5 / 3), rel=0.05)
    assert curves.colour("g", "r")[at_peak] == pytest.approx(-2.5 * np.log10(1 / 0.7), abs=0.1)
    assert np.isnan(curves.colour("g", "r")[-1])  # 300 days on, the flux is lost in the noise
    assert gp_curves(make_object([0.0, 1, 2], [1.0, 2, 1], [0.1] * 3, list("ggr"))) is None

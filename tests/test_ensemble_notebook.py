"""Notebook 05's steps: settings, members, blend, output tables, false positives."""

import numpy as np
import pandas as pd
import pytest

from utils.steps.ensemble import (Members, choose_blend, false_positive_table, results_table, write_oof,
                                  write_probabilities)
from utils.steps.gbdt import notebook05_settings


def members(n=60, seed=0):
    rng = np.random.default_rng(seed)
    ids = [f"o{i}" for i in range(n)]
    target = pd.Series((np.arange(n) % 4 == 0).astype(int), index=ids)
    oof = pd.DataFrame({"gbdt": np.clip(0.2 + 0.6 * target + rng.normal(0, 0.15, n), 0.01, 0.99),
                        "cnn": np.clip(0.3 + 0.4 * target + rng.normal(0, 0.2, n), 0.01, 0.99)}, index=ids)
    test = pd.DataFrame({"gbdt": [0.9, 0.1, 0.5], "cnn": [0.8, 0.2, 0.5]}, index=["t0", "t1", "t2"])
    return Members(oof, test, target)


def test_settings_refuse_an_unknown_blend_method():
    assert notebook05_settings("quick", n_repeats=None)["n_repeats"] == 1
    with pytest.raises(ValueError, match="blend_method"):
        notebook05_settings("quick", blend_method="vote")
    # Adversarial weighting: on where measured to help (benchmarks/features_ablation.py, row default@adv), off in quick.
    assert [notebook05_settings(p)["adversarial_weighting"] for p in ("quick", "default", "kaggle")] == [False, True, True]
    assert notebook05_settings("quick", adversarial_weighting=True)["adversarial_weighting"] is True


def test_blend_threshold_outputs_and_false_positives(tmp_path):
    m = members()
    blend = choose_blend(m, "f1", seed=0, blend_repeats=1, nested_repeats=1)
    assert set(blend.scores_by_method) == {"mean", "weights", "f1", "logistic"}
    assert blend.summary == blend.scores_by_method["f1"]
    assert blend.test["t0"] > blend.test["t1"]
    assert blend.oof.index.equals(m.oof.index)
    sample = pd.DataFrame({"object_id": ["t2", "t0", "t1"], "prediction": 0})
    probabilities = write_probabilities(tmp_path, m, blend, sample)
    assert probabilities["object_id"].tolist() == ["t2", "t0", "t1"]
    assert list(pd.read_csv(tmp_path / "probabilities.csv").columns) == ["object_id", "gbdt", "cnn", "ensemble"]
    write_oof(tmp_path, m, blend)
    assert list(pd.read_csv(tmp_path / "oof.csv").columns) == ["object_id", "target", "gbdt", "cnn", "ensemble"]

    spec = pd.Series(np.where(m.target == 1, "TDE", np.where(np.arange(60) % 2, "AGN", "SN Ia")), index=m.oof.index)
    fooled = false_positive_table(blend, m.target, spec)
    flagged = (blend.oof >= blend.threshold) & (m.target == 0)
    assert fooled["false positives"].sum() == flagged.sum()
    assert "TDE" not in fooled.index and fooled.loc["AGN", "objects"] == (spec == "AGN").sum()

    table = results_table({"ensemble": {**blend.summary, "seconds": 1.0}})
    assert table.loc["ensemble", "F1 (nested)"] == blend.summary["f1"]


def test_blend_with_member_selection_blends_only_what_earns_its_place():
    m = members(n=400)
    noise = np.random.default_rng(5).uniform(0.01, 0.99, len(m.oof))
    m = Members(m.oof.assign(noise=noise), m.test.assign(noise=[0.5, 0.5, 0.5]), m.target)
    blend = choose_blend(m, "f1", seed=0, blend_repeats=3, nested_repeats=1, select=True)
    assert "gbdt" in blend.blender.members and "noise" not in blend.blender.members
    assert blend.selection["decision"].iloc[0].startswith("drop noise")
    assert blend.test.index.equals(m.test.index)
    assert choose_blend(m, "f1", seed=0, blend_repeats=3, nested_repeats=1).selection is None

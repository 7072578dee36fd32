"""benchmarks/features_ablation.py on the tiny data set: row parsing, paired differences, stored scores, @adv rows."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from utils.features import DEFAULT_GROUPS

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "features_ablation.py"


@pytest.fixture
def ablate():
    spec = importlib.util.spec_from_file_location("features_ablation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rows_add_and_remove_groups(ablate):
    assert ablate.row_groups("default") == list(DEFAULT_GROUPS)
    assert ablate.row_groups("+blackbody") == [*DEFAULT_GROUPS, "blackbody"]
    assert ablate.row_groups("+fits+parsnip") == list(DEFAULT_GROUPS)  # already in: added once
    assert "gp" not in ablate.row_groups("-gp")
    with pytest.raises(SystemExit, match="not \\+group or -group"):
        ablate.row_groups("+colour_magic")


def test_rows_take_a_weighting_and_a_copies_suffix(ablate):
    assert ablate.parse_row("default") == (list(DEFAULT_GROUPS), None, 0)
    assert ablate.parse_row("default@adv") == (list(DEFAULT_GROUPS), "adv", 0)
    assert ablate.parse_row("+blackbody@adv") == ([*DEFAULT_GROUPS, "blackbody"], "adv", 0)
    assert ablate.parse_row("default@copies2@adv") == (list(DEFAULT_GROUPS), "adv", 2)
    for bad in ("default@importance", "default@", "default@copies", "default@copies0", "default@copiesx"):
        with pytest.raises(SystemExit, match="unknown suffix"):
            ablate.parse_row(bad)
    with pytest.raises(SystemExit, match="twice"):
        ablate.parse_row("+blackbody@adv@adv")


def test_paired_difference_and_its_standard_error(ablate):
    mean, se = ablate.paired([0.72, 0.70, 0.74], [0.70, 0.70, 0.71])
    diff = np.array([0.02, 0.0, 0.03])
    assert mean == pytest.approx(diff.mean())
    assert se == pytest.approx(diff.std(ddof=1) / np.sqrt(3))


def test_table_has_per_seed_cells_and_a_rerun_reuses_the_stored_scores(ablate, kaggle_dir, tmp_path, capsys,
                                                                       monkeypatch):
    full = ablate.cross_validate_gbdt
    monkeypatch.setattr(ablate, "cross_validate_gbdt", lambda *a, **k: full(*a, params={"n_estimators": 20}, **k))
    args = ["--data-dir", str(kaggle_dir), "--rows", "default,+blackbody", "--cv-seeds", "0,1",
            "--scores", str(tmp_path / "scores.json")]
    assert ablate.main(args) == 0
    first = capsys.readouterr().out
    rows = [line for line in first.splitlines() if line.startswith("| default") or line.startswith("| +blackbody")]
    assert len(rows) == 2
    assert len(rows[1].split(" | ")[1].split(" / ")) == 2
    assert rows[1].split(" | ")[3] != "—" and rows[0].split(" | ")[3] == "—"  # the paired column
    assert ablate.main(args) == 0
    again = capsys.readouterr().out
    assert "seed 0: F1" not in again  # nothing re-trained
    assert again.splitlines()[-2:] == first.splitlines()[-2:]


def test_adversarially_weighted_row_is_stored_under_its_own_key(ablate, kaggle_dir, tmp_path, capsys, monkeypatch):
    full = ablate.cross_validate_gbdt
    weighted = []
    monkeypatch.setattr(ablate, "cross_validate_gbdt", lambda *a, **k: weighted.append(k["sample_weight"] is not None)
                        or full(*a, params={"n_estimators": 20}, **k))
    scores = tmp_path / "scores.json"
    args = ["--data-dir", str(kaggle_dir), "--rows", "default,default@adv", "--cv-seeds", "0,1", "--scores", str(scores)]
    assert ablate.main(args) == 0
    assert weighted == [False, False, True, True]
    stored = ablate.load_scores(scores)
    assert len(stored) == 4 and {v["row"] for v in stored.values()} == {"default", "default@adv"}
    adv = [v for v in stored.values() if v["row"] == "default@adv"]
    assert all(v["weights"]["mean"] == pytest.approx(1.0) for v in adv)
    out = capsys.readouterr().out
    assert "effective share" in out
    row = next(line for line in out.splitlines() if line.startswith("| default@adv"))
    assert row.split(" | ")[3] != "—"  # paired against default

"""benchmarks/features_ablation.py on the tiny data set: row parsing, the paired table, stored scores, @adv rows."""

import common
import features_ablation
import pytest

from utils.features import DEFAULT_GROUPS


def test_rows_add_and_remove_groups():
    assert features_ablation.row_groups("default") == list(DEFAULT_GROUPS)
    assert features_ablation.row_groups("+blackbody") == [*DEFAULT_GROUPS, "blackbody"]
    assert features_ablation.row_groups("+fits+parsnip") == list(DEFAULT_GROUPS)  # already in: added once
    assert "gp" not in features_ablation.row_groups("-gp")
    with pytest.raises(SystemExit, match="not \\+group or -group"):
        features_ablation.row_groups("+colour_magic")


def test_rows_take_a_weighting_and_a_copies_suffix():
    assert features_ablation.parse_row("default") == (list(DEFAULT_GROUPS), None, 0)
    assert features_ablation.parse_row("default@adv") == (list(DEFAULT_GROUPS), "adv", 0)
    assert features_ablation.parse_row("+blackbody@adv") == ([*DEFAULT_GROUPS, "blackbody"], "adv", 0)
    assert features_ablation.parse_row("default@copies2@adv") == (list(DEFAULT_GROUPS), "adv", 2)
    for bad in ("default@importance", "default@", "default@copies", "default@copies0", "default@copiesx"):
        with pytest.raises(SystemExit, match="unknown suffix"):
            features_ablation.parse_row(bad)
    with pytest.raises(SystemExit, match="twice"):
        features_ablation.parse_row("+blackbody@adv@adv")


def test_table_has_per_seed_cells_and_a_rerun_reuses_the_stored_scores(kaggle_dir, tmp_path, capsys, monkeypatch):
    full = common.multiclass_cv
    monkeypatch.setattr(common, "multiclass_cv", lambda *a, **k: full(*a, params={"n_estimators": 20}, **k))
    args = ["--data-dir", str(kaggle_dir), "--rows", "default,+blackbody", "--cv-seeds", "0,1",
            "--scores", str(tmp_path / "scores.json")]
    assert features_ablation.main(args) == 0
    first = capsys.readouterr().out
    rows = [line for line in first.splitlines() if line.startswith("| default") or line.startswith("| +blackbody")]
    assert len(rows) == 2
    assert len(rows[1].split(" | ")[1].split(" / ")) == 2
    assert rows[1].split(" | ")[3] != "—" and rows[0].split(" | ")[3] == "—"  # the paired column
    assert features_ablation.main(args) == 0
    again = capsys.readouterr().out
    assert "seed 0: F1" not in again  # nothing re-trained
    assert again.splitlines()[-2:] == first.splitlines()[-2:]


def test_adversarially_weighted_row_is_stored_under_its_own_key(kaggle_dir, tmp_path, capsys, monkeypatch):
    full = common.multiclass_cv
    weighted = []
    monkeypatch.setattr(common, "multiclass_cv", lambda *a, **k: weighted.append(k["sample_weight"] is not None)
                        or full(*a, params={"n_estimators": 20}, **k))
    scores = tmp_path / "scores.json"
    args = ["--data-dir", str(kaggle_dir), "--rows", "default,default@adv", "--cv-seeds", "0,1", "--scores", str(scores)]
    assert features_ablation.main(args) == 0
    assert weighted == [False, False, True, True]
    stored = features_ablation.load_scores(scores)
    assert len(stored) == 4 and {v["row"] for v in stored.values()} == {"default", "default@adv"}
    adv = [v for v in stored.values() if v["row"] == "default@adv"]
    assert all(v["weights"]["mean"] == pytest.approx(1.0) for v in adv)
    out = capsys.readouterr().out
    assert "effective share" in out
    row = next(line for line in out.splitlines() if line.startswith("| default@adv"))
    assert row.split(" | ")[3] != "—"  # paired against default

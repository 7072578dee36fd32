"""Benchmark scripts on made-up run folders: their tables, and their errors on bad input."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from utils.data.load import load_dataset
from utils.training import CNN_PROFILES, cross_validate_network, deep_settings, make_deterministic, prepare_inputs

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def ensemble_checks():
    return load_script("blend_checks")


def write_oof(run: Path, log: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    target = log["target"].astype(int).to_numpy()
    good = np.clip(0.75 * target + rng.uniform(0, 0.3, len(target)), 0.01, 0.99)  # separates the classes
    noise = rng.uniform(0.01, 0.99, len(target))
    run.mkdir(parents=True)
    pd.DataFrame({"object_id": log.index, "target": target, "gbdt": good, "cnn": noise, "ensemble": good}).to_csv(
        run / "oof.csv", index=False)


def test_blend_table_scores_each_member_and_method(ensemble_checks, kaggle_dir, tmp_path, capsys):
    write_oof(tmp_path / "run", load_dataset(kaggle_dir).train_log)
    assert ensemble_checks.main(["--data-dir", str(kaggle_dir), "--run", str(tmp_path / "run"),
                                 "--experiment", "blend"]) == 0
    rows = {line.split(" | ")[0].lstrip("| "): line for line in capsys.readouterr().out.splitlines()}
    assert rows["gbdt alone"].split(" | ")[1].startswith("1.000")  # a perfect ranking scores F1 1 every seed
    assert float(rows["cnn alone"].split(" | ")[1].split()[0]) < 0.9
    assert {f"blend `{method}` of gbdt, cnn, {repeats} blender split(s)"
            for method in ("mean", "weights", "f1", "logistic") for repeats in (1, 5)} <= set(rows)
    assert rows["gbdt alone"].split(" | ")[2] == "1.000"  # the nested F1 at the notebooks' seed


def test_bad_run_folders_are_named(ensemble_checks, kaggle_dir, tmp_path):
    with pytest.raises(SystemExit, match=r"oof.csv not found: give the folder of a run of all notebooks"):
        ensemble_checks.main(["--data-dir", str(kaggle_dir), "--run", str(tmp_path), "--experiment", "blend"])
    log = load_dataset(kaggle_dir).train_log
    write_oof(tmp_path / "run", log.iloc[1:])
    with pytest.raises(SystemExit, match=rf"lacks 1 training objects of this data set, e.g. {log.index[0]}"):
        ensemble_checks.main(["--data-dir", str(kaggle_dir), "--run", str(tmp_path / "run"), "--experiment", "blend"])


def test_gbdt_tuning_table_has_one_cell_per_cv_seed(kaggle_dir, capsys):
    ablate_gbdt = load_script("gbdt_ablation")
    assert ablate_gbdt.main(["--data-dir", str(kaggle_dir), "--experiment", "tuning", "--cv-seeds", "0,1",
                             "--rows", "0,2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| variant | F1 nested at CV seeds 0 / 1 |")
    names = [line.split(" | ")[0].lstrip("| ") for line in lines[2:]]
    assert names == [ablate_gbdt.TUNING_ROWS[0][0], ablate_gbdt.TUNING_ROWS[2][0]]
    for line in lines[2:]:
        per_seed = [float(v) for v in line.split(" | ")[1].split(" / ")]
        assert len(per_seed) == 2 and all(0 <= v <= 1 for v in per_seed)


def test_fold_alignment_table_recomputes_what_the_run_saved(kaggle_dir, tmp_path, capsys):
    settings = deep_settings(CNN_PROFILES, "quick", device="cpu", n_folds=3)
    inputs = prepare_inputs(load_dataset(kaggle_dir), settings)
    make_deterministic(settings["seed"])
    result = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test, out_dir=tmp_path)
    (tmp_path / "predictions").mkdir()
    result.oof[["object_id", "prob"]].to_csv(tmp_path / "predictions" / "oof_cnn.csv", index=False)

    assert load_script("deep_fold_alignment").main(["--data-dir", str(kaggle_dir), "--run", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    fold_rows = [line.split(" | ")[0] for line in lines if line.startswith(("| 0 ", "| 1 ", "| 2 "))]
    assert fold_rows == ["| 0", "| 1", "| 2"]
    aligned = next(line for line in lines if line.startswith("| aligned"))
    assert aligned.endswith("| this |")  # the run aligned its folds, and the script recomputes that exactly
    assert float(aligned.split(" | ")[3]) == pytest.approx(
        average_precision_score(inputs.y, result.oof.prob), abs=5e-4)


def test_fold_alignment_names_a_folder_without_checkpoints(kaggle_dir, tmp_path):
    with pytest.raises(SystemExit, match="no deep-model checkpoints under"):
        load_script("deep_fold_alignment").main(["--data-dir", str(kaggle_dir), "--run", str(tmp_path)])


def test_a_deep_bundle_of_another_class_grouping_is_refused(tmp_path):
    ablate_deep = load_script("deep_ablation")
    settings = deep_settings(CNN_PROFILES, "default", sequence_length=64, distill_weight=0.0)
    arrays = {"band64_flux": np.zeros((2, 6, 64), np.float32), "object_ids": np.array(["a", "b"]),
              "y": np.array([0, 1]), "aux": np.array([0, 4])}
    np.savez(tmp_path / "old.npz", **arrays)  # exported before utils.classes: no aux_classes
    with pytest.raises(SystemExit, match="export it again"):
        ablate_deep.load_bundle(tmp_path / "old.npz", settings)
    np.savez(tmp_path / "other.npz", **arrays, aux_classes=np.array(["AGN", "SN Ia", "core-collapse SN", "SLSN", "TDE"]))
    with pytest.raises(SystemExit, match="another class grouping"):
        ablate_deep.load_bundle(tmp_path / "other.npz", settings)


def test_ablate_deep_switches_the_gp_grid_on(kaggle_dir, tmp_path):
    ablate_deep = load_script("deep_ablation")
    results = tmp_path / "ablations.jsonl"
    common = ["--data-dir", str(kaggle_dir), "--profile", "quick", "--no-test", "--results", str(results),
              "--seeds", "3", "--set", "n_folds=2", "gp_grid_steps=16"]
    ablate_deep.main([*common, "--tag", "plain"])
    ablate_deep.main([*common, "--set", "gp_grid=True", "--tag", "grid"])
    plain, grid = [json.loads(line) for line in results.read_text().splitlines()]
    assert grid["overrides"]["gp_grid"] is True and grid["parameters"] > plain["parameters"]
    with pytest.raises(SystemExit, match="a bundle holds no GP grids"):
        ablate_deep.load_bundle(tmp_path / "absent.npz", deep_settings(CNN_PROFILES, "default", gp_grid=True))
    with pytest.raises(SystemExit, match="no test light curves to distil onto: add --set distill_weight=0"):
        ablate_deep.load_bundle(tmp_path / "absent.npz", deep_settings(CNN_PROFILES, "default"))


def test_ablate_deep_runs_each_seed_and_pairs_it_with_the_baseline(kaggle_dir, tmp_path, capsys):
    ablate_deep = load_script("deep_ablation")
    results = tmp_path / "ablations.jsonl"
    common = ["--data-dir", str(kaggle_dir), "--profile", "quick", "--no-test", "--results", str(results),
              "--seeds", "3,4"]
    ablate_deep.main([*common, "--set", "n_folds=2", "--tag", "plain"])
    ablate_deep.main([*common, "--set", "n_folds=2", "--set", "pretrain=True", "--tag", "pretrained",
                      "--baseline", "plain"])
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert rows[2]["overrides"] == {"n_folds": 2, "pretrain": True}  # a repeated --set adds to the first
    assert [(row["tag"], row["seed"], row["cv_seed"]) for row in rows] == [
        ("plain", 3, 3), ("plain", 4, 4), ("pretrained", 3, 3), ("pretrained", 4, 4)]
    printed = capsys.readouterr().out
    for seed, plain, pretrained in zip((3, 4), rows[:2], rows[2:]):
        assert f"seed {seed}: nested F1 {pretrained['f1']:.3f}" in printed
        assert f"difference F1 {pretrained['f1'] - plain['f1']:+.3f}" in printed
    assert "paired difference over 2 seed(s)" in printed
    ablate_deep.main([*common, "--same-folds", "--set", "n_folds=2", "--tag", "same folds", "--baseline", "plain"])
    rows = [json.loads(line) for line in results.read_text().splitlines()][4:]
    assert [(row["seed"], row["cv_seed"]) for row in rows] == [(3, 42), (4, 42)]
    assert "no row tagged 'plain' for cnn at seed 3, cv_seed 42" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no complete row tagged 'absent'"):
        ablate_deep.main([*common, "--baseline", "absent"])


def test_time_pretrain_prints_both_epoch_times(kaggle_dir, capsys):
    load_script("deep_pretrain_speed").main(["--data-dir", str(kaggle_dir), "--objects", "20", "--epochs", "1",
                                       "--models", "cnn"])
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith("cnn (band layout, 20 objects): pretraining ") and "ratio" in line and "60 objects" in line


def fake_default_run(run: Path, seed: int) -> None:
    """A finished run folder as utils.run.pipeline leaves it, with every member's predictions."""
    (run / "predictions").mkdir(parents=True)
    for model in ("cnn", "transformer", "gbdt"):
        for kind in ("oof", "test"):
            (run / "predictions" / f"{kind}_{model}.csv").write_text("object_id,prob\n")
        (run / "predictions" / f"metrics_{model}.json").write_text("{}")
    for model, notebook in (("cnn", "03_cnn"), ("transformer", "04_transformer")):
        (run / "models" / model / "fold0").mkdir(parents=True)
        (run / "models" / model / "fold0" / "best_model.pt").write_bytes(b"weights")
        (run / f"{notebook}.ipynb").write_text("{}")
        (run / f"config_{notebook}.json").write_text("{}")
    (run / "metrics.json").write_text("{}")
    (run / "submission.csv").write_text("object_id,prediction\n")
    (run / "config.json").write_text(json.dumps({"seed": seed, "commit": "abc1234"}))


def test_blend_seeds_deep_from_reuses_the_deep_members_and_runs_notebook05_alone(tmp_path, kaggle_dir, monkeypatch):
    blend_seeds = load_script("blend_seeds")
    calls = []
    monkeypatch.setattr(blend_seeds, "execute", lambda source, output, parameters, progress: calls.append(
        (source.name, output, parameters)))
    source, run = tmp_path / "old-s3", tmp_path / "new-s3"
    fake_default_run(source, seed=3)

    blend_seeds.run_notebook05_on(str(kaggle_dir), 3, run, source)

    assert [(name, output) for name, output, _ in calls] == [("05_ensemble_and_submit.py",
                                                              run / "05_ensemble_and_submit.ipynb")]
    assert calls[0][2]["out_dir"] == str(run) and calls[0][2]["seed"] == 3 and calls[0][2]["profile"] == "default"
    # the deep members come along; the GBDT's predictions do not: notebook 05 makes them anew
    assert sorted(p.name for p in (run / "predictions").iterdir()) == [
        "metrics_cnn.json", "metrics_transformer.json", "oof_cnn.csv", "oof_transformer.csv", "test_cnn.csv",
        "test_transformer.csv"]
    assert (run / "models" / "transformer" / "fold0" / "best_model.pt").read_bytes() == b"weights"
    assert (run / "03_cnn.ipynb").is_file() and (run / "config_04_transformer.json").is_file()
    config = json.loads((run / "config.json").read_text())
    assert config["deep_members_from"] == str(source) and config["deep_members_commit"] == "abc1234"
    assert set(config["seconds"]) == {"05_ensemble_and_submit"}

    with pytest.raises(SystemExit, match="seed 3, not 4"):
        blend_seeds.run_notebook05_on(str(kaggle_dir), 4, tmp_path / "new-s4", source)
    with pytest.raises(SystemExit, match="exists but holds no finished run"):
        blend_seeds.run_notebook05_on(str(kaggle_dir), 3, run, source)
    with pytest.raises(SystemExit, match="holds no finished run"):
        blend_seeds.run_notebook05_on(str(kaggle_dir), 3, tmp_path / "other-s3", tmp_path / "missing-s3")
    assert len(calls) == 1


def test_blend_deep_variant_runs_the_deep_notebooks_with_its_parameters_and_replays_the_selection(
        tmp_path, kaggle_dir, monkeypatch, capsys):
    variant = load_script("blend_deep_variant")
    calls = []

    def fake_execute(source, output, parameters, progress):
        calls.append((source.name, parameters))
        model = "cnn" if source.name == "03_cnn.py" else "transformer"
        (output.parent / "predictions").mkdir(parents=True, exist_ok=True)
        oof.assign(prob=oof[model])[["target", "prob"]].to_csv(output.parent / "predictions" / f"oof_{model}.csv")

    rng = np.random.default_rng(0)
    target = np.r_[np.ones(30), np.zeros(270)].astype(int)
    oof = pd.DataFrame({"target": target, "gbdt": np.clip(0.7 * target + 0.3 * rng.random(300), 0, 1),
                        "cnn": rng.random(300), "transformer": rng.random(300)},
                       index=pd.Index([f"obj{i}" for i in range(300)], name="object_id"))
    gbdt_run = tmp_path / "old-s3"
    gbdt_run.mkdir()
    oof[["target", "gbdt"]].assign(ensemble=oof["gbdt"]).to_csv(gbdt_run / "oof.csv")
    monkeypatch.setattr(variant, "execute", fake_execute)
    run = tmp_path / "new-s3"

    variant.run_deep_notebooks(str(kaggle_dir), 3, run, {"distill_weight": 1.0})
    assert [name for name, _ in calls] == ["03_cnn.py", "04_transformer.py"]
    assert all(p["distill_weight"] == 1.0 and p["seed"] == 3 and p["out_dir"] == str(run) for _, p in calls)
    assert json.loads((run / "config.json").read_text())["distill_weight"] == 1.0
    config = (run / "config.json").read_text()
    variant.run_deep_notebooks(str(kaggle_dir), 3, run, {"distill_weight": 1.0})  # predictions exist: nothing runs
    assert len(calls) == 2 and (run / "config.json").read_text() == config  # and what ran stays recorded

    columns = variant.oof_columns(gbdt_run, run)
    assert list(columns.columns) == ["target", "gbdt", "cnn", "transformer"]
    row = variant.seed_row(3, columns)
    assert row["kept"] == "gbdt" and row["selected"] == row["gbdt"] > 0.9 > row["cnn"]  # noise members stay out

    # main: the finished run's own deep members (here: the same noise) are replayed next to the new ones
    (gbdt_run / "metrics.json").write_text(json.dumps({"seed": 3}))
    (gbdt_run / "submission.csv").write_text("object_id,prediction\n")
    shutil.copytree(run / "predictions", gbdt_run / "predictions")
    variant.main(["--data-dir", str(kaggle_dir), "--seeds", "3", "--runs-dir", str(tmp_path), "--prefix", "new",
                  "--gbdt-from", "old", "--deep-set", "distill_weight=1.0"])
    out = capsys.readouterr().out
    assert "deep models of the finished runs:" in out and "| 3 | " in out
    assert "selected - GBDT, nested F1: +0.0000" in out and "cnn: changed - before: +0.0000" in out
    assert len(calls) == 2

    oof.loc["obj0", "target"] = 0
    oof[["target", "gbdt"]].to_csv(gbdt_run / "oof.csv")
    with pytest.raises(SystemExit, match="not the GBDT run's objects and labels"):
        variant.oof_columns(gbdt_run, run)

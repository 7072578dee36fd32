"""Benchmark scripts on made-up run folders: their tables, and their errors on bad input; their shared helpers."""

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import blend_checks
import blend_deep_variant
import blend_seeds
import common
import deep_ablation
import deep_fold_alignment
import deep_pretrain_speed
import gbdt_ablation
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from utils.data.load import KAGGLE_MOUNTS, load_dataset
from utils.training import CNN_PROFILES, cross_validate_network, deep_settings, make_deterministic, prepare_inputs

BENCHMARKS = Path(common.__file__).resolve().parent


def test_no_benchmark_imports_another():
    # What two scripts share lives in common.py; a script importing a sibling drags in its whole set-up.
    scripts = {path.stem for path in BENCHMARKS.glob("*.py")}
    siblings = []
    for path in sorted(BENCHMARKS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            imported = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                        [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            siblings += [f"{path.name} imports {name}" for name in imported if name in scripts - {"common"}]
    assert siblings == []


def test_a_missing_data_folder_is_one_error_line_and_status_2(tmp_path):
    # data_speed.py hands the folder to a process per phase: the parent reports a missing one, not a traceback.
    done = subprocess.run([sys.executable, str(BENCHMARKS / "data_speed.py"), "--data-dir", str(tmp_path / "absent")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: data directory ") and len(done.stderr.splitlines()) == 1


def make_bench(tmp_path, *variables) -> subprocess.CompletedProcess:
    """`make bench` with no Kaggle credentials (nothing is downloaded) and no DATA_DIR but the one given."""
    stamp = tmp_path / "stamp"
    stamp.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_DIR", "KAGGLE_USERNAME", "KAGGLE_KEY",
                                                           "KAGGLE_API_TOKEN")}
    env["KAGGLE_CONFIG_DIR"] = str(tmp_path / "no-kaggle")
    return subprocess.run(["make", "--no-print-directory", "bench", f"PY={sys.executable}", f"STAMP={stamp}",
                           *variables], cwd=BENCHMARKS.parent, env=env, capture_output=True, text=True, timeout=300)


def test_make_bench_without_usable_data_is_one_error_line(tmp_path):
    """Without DATA_DIR, and with a DATA_DIR whose log the benchmark's phase process refuses: one `error:` line
    (besides make's own `make: ***` line) and exit status 2, never a traceback from either process."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    if any((folder / "train_log.csv").exists() for folder in (BENCHMARKS.parent / "data", *KAGGLE_MOUNTS)):
        pytest.skip("data is found without DATA_DIR here: make bench would run the benchmark")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "train_log.csv").write_text("object_id,Z,EBV,SpecType,target,split\n")
    for variables, message in (((), "error: no MALLORN data found"),
                               ((f"DATA_DIR={tmp_path / 'bad'}",), "train_log.csv has a header but no rows")):
        done = make_bench(tmp_path, *variables)
        ours = [line for line in done.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
        assert done.returncode == 2 and len(ours) == 1 and ours[0].startswith("error: "), done.stderr
        assert message in ours[0] and "Traceback" not in done.stdout + done.stderr


def test_a_bad_command_line_is_one_error_line():
    done = subprocess.run([sys.executable, str(BENCHMARKS / "data_speed.py"), "--data-dirr", "x"], capture_output=True,
                          text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == ["error: unrecognized arguments: --data-dirr x (--help lists the options)"]


def test_comma_lists_and_key_values():
    assert common.int_list("42,0,1") == [42, 0, 1] and common.names("gp,,fits") == ["gp", "fits"]
    with pytest.raises(argparse.ArgumentTypeError, match="not a comma-separated list of integers"):
        common.int_list("42,x")
    assert common.key_values(["epochs=3", "device='cuda'", "loss=focal", "gp_grid=True"]) == {
        "epochs": 3, "device": "cuda", "loss": "focal", "gp_grid": True}
    with pytest.raises(ValueError, match="is not KEY=VALUE"):
        common.key_values(["epochs"])


def test_paired_differences_over_seeds_and_one_seed():
    mean, error = common.paired([0.72, 0.70, 0.74], [0.70, 0.70, 0.71])
    diff = np.array([0.02, 0.0, 0.03])
    assert mean == pytest.approx(diff.mean()) and error == pytest.approx(diff.std(ddof=1) / np.sqrt(3))
    assert common.paired_line("x - y", [0.72, 0.70, 0.74], [0.70, 0.70, 0.71]) == (
        f"x - y: {diff.mean():+.4f} ± {error:.4f} (standard error, 3 seeds; positive at 2)")
    mean, error = common.paired([0.72], [0.70])
    assert mean == pytest.approx(0.02) and np.isnan(error)


def write_oof(run: Path, log: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    target = log["target"].astype(int).to_numpy()
    good = np.clip(0.75 * target + rng.uniform(0, 0.3, len(target)), 0.01, 0.99)  # separates the classes
    noise = rng.uniform(0.01, 0.99, len(target))
    run.mkdir(parents=True)
    pd.DataFrame({"object_id": log.index, "target": target, "gbdt": good, "cnn": noise, "ensemble": good}).to_csv(
        run / "oof.csv", index=False)


def test_blend_table_scores_each_member_and_method(kaggle_dir, tmp_path, capsys):
    write_oof(tmp_path / "run", load_dataset(kaggle_dir).train_log)
    assert blend_checks.main(["--data-dir", str(kaggle_dir), "--run", str(tmp_path / "run"),
                                 "--experiment", "blend"]) == 0
    rows = {line.split(" | ")[0].lstrip("| "): line for line in capsys.readouterr().out.splitlines()}
    assert rows["gbdt alone"].split(" | ")[1].startswith("1.000")  # a perfect ranking scores F1 1 every seed
    assert float(rows["cnn alone"].split(" | ")[1].split()[0]) < 0.9
    assert {f"blend `{method}` of gbdt, cnn, {repeats} blender split(s)"
            for method in ("mean", "weights", "f1", "logistic") for repeats in (1, 5)} <= set(rows)
    assert rows["gbdt alone"].split(" | ")[2] == "1.000"  # the nested F1 at the notebooks' seed


def test_bad_run_folders_are_named(kaggle_dir, tmp_path):
    with pytest.raises(SystemExit, match=r"oof.csv not found: give the folder of a run of all notebooks"):
        blend_checks.main(["--data-dir", str(kaggle_dir), "--run", str(tmp_path), "--experiment", "blend"])
    log = load_dataset(kaggle_dir).train_log
    write_oof(tmp_path / "run", log.iloc[1:])
    with pytest.raises(SystemExit, match=rf"lacks 1 training objects of this data set, e.g. {log.index[0]}"):
        blend_checks.main(["--data-dir", str(kaggle_dir), "--run", str(tmp_path / "run"), "--experiment", "blend"])


def test_gbdt_tuning_table_has_one_cell_per_cv_seed(kaggle_dir, capsys):
    assert gbdt_ablation.main(["--data-dir", str(kaggle_dir), "--experiment", "tuning", "--cv-seeds", "0,1",
                             "--rows", "0,2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| variant | F1 nested at CV seeds 0 / 1 |")
    names = [line.split(" | ")[0].lstrip("| ") for line in lines[2:]]
    assert names == [gbdt_ablation.TUNING_ROWS[0][0], gbdt_ablation.TUNING_ROWS[2][0]]
    for line in lines[2:]:
        per_seed = [float(v) for v in line.split(" | ")[1].split(" / ")]
        assert len(per_seed) == 2 and all(0 <= v <= 1 for v in per_seed)


def test_deep_fold_alignment_table_recomputes_what_the_run_saved(kaggle_dir, tmp_path, capsys):
    settings = deep_settings(CNN_PROFILES, "quick", device="cpu", n_folds=3)
    inputs = prepare_inputs(load_dataset(kaggle_dir), settings)
    make_deterministic(settings["seed"])
    result = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test, out_dir=tmp_path)
    (tmp_path / "predictions").mkdir()
    result.oof[["object_id", "prob"]].to_csv(tmp_path / "predictions" / "oof_cnn.csv", index=False)

    assert deep_fold_alignment.main(["--data-dir", str(kaggle_dir), "--run", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    fold_rows = [line.split(" | ")[0] for line in lines if line.startswith(("| 0 ", "| 1 ", "| 2 "))]
    assert fold_rows == ["| 0", "| 1", "| 2"]
    aligned = next(line for line in lines if line.startswith("| aligned"))
    assert aligned.endswith("| this |")  # the run aligned its folds, and the script recomputes that exactly
    assert float(aligned.split(" | ")[3]) == pytest.approx(
        average_precision_score(inputs.y, result.oof.prob), abs=5e-4)


def test_deep_fold_alignment_names_a_folder_without_checkpoints(kaggle_dir, tmp_path):
    with pytest.raises(SystemExit, match="no deep-model checkpoints under"):
        deep_fold_alignment.main(["--data-dir", str(kaggle_dir), "--run", str(tmp_path)])


def test_a_deep_bundle_of_another_class_grouping_is_refused(tmp_path):
    settings = deep_settings(CNN_PROFILES, "default", sequence_length=64, distill_weight=0.0)
    arrays = {"band64_flux": np.zeros((2, 6, 64), np.float32), "object_ids": np.array(["a", "b"]),
              "y": np.array([0, 1]), "aux": np.array([0, 4])}
    np.savez(tmp_path / "old.npz", **arrays)  # exported before utils.classes: no aux_classes
    with pytest.raises(SystemExit, match="export it again"):
        deep_ablation.load_bundle(tmp_path / "old.npz", settings)
    np.savez(tmp_path / "other.npz", **arrays, aux_classes=np.array(["AGN", "SN Ia", "core-collapse SN", "SLSN", "TDE"]))
    with pytest.raises(SystemExit, match="another class grouping"):
        deep_ablation.load_bundle(tmp_path / "other.npz", settings)


def test_deep_ablation_switches_the_gp_grid_on(kaggle_dir, tmp_path):
    results = tmp_path / "ablations.jsonl"
    base_args = ["--data-dir", str(kaggle_dir), "--profile", "quick", "--no-test", "--results", str(results),
              "--seeds", "3", "--set", "n_folds=2", "gp_grid_steps=16"]
    deep_ablation.main([*base_args, "--tag", "plain"])
    deep_ablation.main([*base_args, "--set", "gp_grid=True", "--tag", "grid"])
    plain, grid = [json.loads(line) for line in results.read_text().splitlines()]
    assert grid["overrides"]["gp_grid"] is True and grid["parameters"] > plain["parameters"]
    with pytest.raises(SystemExit, match="a bundle holds no GP grids"):
        deep_ablation.load_bundle(tmp_path / "absent.npz", deep_settings(CNN_PROFILES, "default", gp_grid=True))
    with pytest.raises(SystemExit, match="no test light curves to distil onto: add --set distill_weight=0"):
        deep_ablation.load_bundle(tmp_path / "absent.npz", deep_settings(CNN_PROFILES, "default"))


def test_deep_ablation_runs_each_seed_and_pairs_it_with_the_baseline(kaggle_dir, tmp_path, capsys):
    results = tmp_path / "ablations.jsonl"
    base_args = ["--data-dir", str(kaggle_dir), "--profile", "quick", "--no-test", "--results", str(results),
              "--seeds", "3,4"]
    deep_ablation.main([*base_args, "--set", "n_folds=2", "--tag", "plain"])
    deep_ablation.main([*base_args, "--set", "n_folds=2", "--set", "pretrain=True", "--tag", "pretrained",
                      "--baseline", "plain"])
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert rows[2]["overrides"] == {"n_folds": 2, "pretrain": True}  # a repeated --set adds to the first
    assert [(row["tag"], row["seed"], row["cv_seed"]) for row in rows] == [
        ("plain", 3, 3), ("plain", 4, 4), ("pretrained", 3, 3), ("pretrained", 4, 4)]
    printed = capsys.readouterr().out
    for seed, plain, pretrained in zip((3, 4), rows[:2], rows[2:]):
        assert f"seed {seed}: nested F1 {pretrained['f1']:.3f}" in printed
        assert f"difference F1 {pretrained['f1'] - plain['f1']:+.3f}" in printed
    gain = np.mean([pretrained["f1"] - plain["f1"] for plain, pretrained in zip(rows[:2], rows[2:])])
    assert f"paired difference, nested F1, 'pretrained' - 'plain': {gain:+.4f} ± " in printed  # and its SE
    assert "paired difference, AP, 'pretrained' - 'plain': " in printed
    deep_ablation.main([*base_args, "--same-folds", "--set", "n_folds=2", "--tag", "same folds", "--baseline", "plain"])
    rows = [json.loads(line) for line in results.read_text().splitlines()][4:]
    assert [(row["seed"], row["cv_seed"]) for row in rows] == [(3, 42), (4, 42)]
    assert "no row tagged 'plain' for cnn at seed 3, cv_seed 42" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no complete row tagged 'absent'"):
        deep_ablation.main([*base_args, "--baseline", "absent"])


def test_deep_pretrain_speed_prints_both_epoch_times(kaggle_dir, capsys):
    deep_pretrain_speed.main(["--data-dir", str(kaggle_dir), "--objects", "20", "--epochs", "1",
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
    monkeypatch.setattr(blend_deep_variant, "execute", fake_execute)
    run = tmp_path / "new-s3"

    blend_deep_variant.run_deep_notebooks(str(kaggle_dir), 3, run, {"distill_weight": 1.0})
    assert [name for name, _ in calls] == ["03_cnn.py", "04_transformer.py"]
    assert all(p["distill_weight"] == 1.0 and p["seed"] == 3 and p["out_dir"] == str(run) for _, p in calls)
    assert json.loads((run / "config.json").read_text())["distill_weight"] == 1.0
    config = (run / "config.json").read_text()
    # predictions exist: nothing runs
    blend_deep_variant.run_deep_notebooks(str(kaggle_dir), 3, run, {"distill_weight": 1.0})
    assert len(calls) == 2 and (run / "config.json").read_text() == config  # and what ran stays recorded

    columns = blend_deep_variant.oof_columns(gbdt_run, run)
    assert list(columns.columns) == ["target", "gbdt", "cnn", "transformer"]
    row = blend_deep_variant.seed_row(3, columns)
    assert row["kept"] == "gbdt" and row["selected"] == row["gbdt"] > 0.9 > row["cnn"]  # noise members stay out

    # main: the finished run's own deep members (here: the same noise) are replayed next to the new ones
    (gbdt_run / "metrics.json").write_text(json.dumps({"seed": 3}))
    (gbdt_run / "submission.csv").write_text("object_id,prediction\n")
    shutil.copytree(run / "predictions", gbdt_run / "predictions")
    blend_deep_variant.main(["--data-dir", str(kaggle_dir), "--seeds", "3", "--runs-dir", str(tmp_path),
                             "--prefix", "new", "--gbdt-from", "old", "--deep-set", "distill_weight=1.0"])
    out = capsys.readouterr().out
    assert "deep models of the finished runs:" in out and "| 3 | " in out
    assert "selected - GBDT, nested F1: +0.0000" in out and "cnn: changed - before: +0.0000" in out
    assert len(calls) == 2

    oof.loc["obj0", "target"] = 0
    oof[["target", "gbdt"]].to_csv(gbdt_run / "oof.csv")
    with pytest.raises(SystemExit, match="not the GBDT run's objects and labels"):
        blend_deep_variant.oof_columns(gbdt_run, run)

"""A run folder is a model: train a quick run, then score its test objects again from the run folder alone,
in a fresh process, and get the probabilities it wrote; bad input gets one `error:` line and exit status 2."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import torch
from synthetic import share_visit_times, shuffled_copy, write_kaggle_dataset

from utils import PROJECT_ROOT
from utils.config import save_config
from utils.data.load import load_dataset
from utils.errors import DataError
from utils.evaluation.blend import Blender, fit_blender
from utils.evaluation.cv_result import FoldAlignment
from utils.features import FEATURES_VERSION, feature_table
from utils.gbdt import cross_validate_gbdt
from utils.models import build_model
from utils.run.folder import save_predictions
from utils.run.model import MODEL_FORMAT, SCORED, blend_members, load_run_model, save_run_model
from utils.run.pipeline import NOTEBOOK_DIR, execute
from utils.serve.predict import main, predict_batch
from utils.training import (CNN_PROFILES, TRANSFORMER_PROFILES, DeepClassifier, FeatureScaler, checkpoint_path,
                            cross_validate_network, deep_settings, make_deterministic, prepare_inputs)
from utils.training.calibration import align_fold_scores, aligned_mean, save_fold_alignment

FAST = {"n_estimators": 20, "learning_rate": 0.1, "min_child_samples": 3}


def copy_test_side_as_batch(kaggle_dir: Path, batch: Path) -> pd.DataFrame:
    """The Kaggle test side in predict's own layout: log.csv (no SpecType/split) + two light-curve files."""
    batch.mkdir(parents=True)
    log = pd.read_csv(kaggle_dir / "test_log.csv")
    log[["object_id", "Z", "Z_err", "EBV"]].to_csv(batch / "log.csv", index=False)
    for k, path in enumerate(sorted(kaggle_dir.glob("split_*/test_full_lightcurves.csv"))):
        (batch / f"night{k}").mkdir()
        pd.read_csv(path).to_csv(batch / f"night{k}" / "lightcurves.csv", index=False)
    return log


def predict_in_fresh_process(args: list[str], cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MALLORN_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "utils.serve", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def train_deep_member(dataset, profiles, run_dir: Path, **overrides) -> str:
    """A quick deep CV written into the run folder as notebooks 03/04 do: checkpoints, alignment, predictions."""
    settings = deep_settings(profiles, "quick", device="cpu", n_folds=3, align_folds=True, **overrides)
    make_deterministic(settings["seed"])
    inputs = prepare_inputs(dataset, settings)
    result = cross_validate_network(settings, inputs.train, inputs.y, inputs.aux, inputs.test, scaler=inputs.scaler,
                                 out_dir=run_dir)
    save_predictions(run_dir, settings["model"], result.oof, result.test, {"seconds": result.seconds},
                     data_fingerprint=dataset.fingerprint)
    return settings["model"]


def test_a_run_scores_its_test_objects_again_from_the_run_folder_alone(kaggle_dir, tmp_path):
    run_dir = tmp_path / "run"
    share_visit_times(kaggle_dir)  # g and r observed in the same visits, as in LSST: rows tie on time
    dataset = load_dataset(kaggle_dir)
    deep = [train_deep_member(dataset, CNN_PROFILES, run_dir, use_features=True),
            train_deep_member(dataset, TRANSFORMER_PROFILES, run_dir)]
    save_config({}, run_dir / "config.json")
    execute(NOTEBOOK_DIR / "05_ensemble_and_submit.py", run_dir / "05.ipynb",
            {"data_dir": str(kaggle_dir), "out_dir": str(run_dir), "profile": "quick", "seed": 42}, progress=False)
    manifest = json.loads((run_dir / "model" / "manifest.json").read_text())
    members = manifest["blender"]["members"]
    assert set(members) == {"gbdt", "gbdt_binary", *deep} == set(manifest["members"])
    assert manifest["members"]["cnn"]["alignment"] == "models/cnn/alignment.npz"
    assert manifest["members"]["cnn"]["use_features"] and manifest["members"]["transformer"]["layout"] == "token"
    assert manifest["packages"]["lightgbm"] and manifest["feature_columns"]

    log = copy_test_side_as_batch(kaggle_dir, tmp_path / "batch")
    out = tmp_path / "scored"
    done = predict_in_fresh_process(["--run", str(run_dir), "--data-dir", str(tmp_path / "batch"), "--out", str(out),
                                     "--chunk-size", "6", "--report", "3", "--quiet", "--device", "cpu"],
                                    tmp_path / "fresh-cache")
    assert done.returncode == 0, done.stderr
    predicted = pd.read_csv(out / "predictions.csv")
    assert predicted["object_id"].tolist() == log["object_id"].tolist()
    assert list(predicted.columns) == ["object_id", "probability", *members, "prediction", "status"]
    assert (predicted["status"] == "scored").all()
    written = pd.read_csv(run_dir / "probabilities.csv").set_index("object_id").loc[predicted["object_id"]]
    for member in members:
        if member.startswith("gbdt"):  # the same trees on the same features: the same numbers
            assert (predicted[member].to_numpy() == written[member].to_numpy()).all(), member
        else:  # float32 networks: other batch compositions move the last bits (2e-8 seen with 210 features,
            # 4e-6 with the 236 of features-v4: a wider first layer sums more float32 terms)
            assert predicted[member].to_numpy() == pytest.approx(written[member].to_numpy(), rel=0, abs=2e-5), member
    # The blend holds the networks here (tiny data), so it carries their float32 bits too.
    assert predicted["probability"].to_numpy() == pytest.approx(written["ensemble"].to_numpy(), rel=0, abs=2e-5)
    submission = pd.read_csv(run_dir / "submission.csv").set_index("object_id").loc[predicted["object_id"]]
    assert (predicted["prediction"].to_numpy() == submission["prediction"].to_numpy()).all()
    assert json.loads((out / "config.json").read_text())["objects"] == len(log)
    page = (out / "candidates.html").read_text()
    ranked = predicted.sort_values("probability", ascending=False, kind="stable")["object_id"].astype(str)
    # 3 of 20 objects in chunks of 6: the report ranks what each chunk kept, and the batch's top 3 are among them
    assert all(object_id in page for object_id in ranked.iloc[:3])
    assert len(list((out / "candidates").glob("*.png"))) == 3

    # The same batch with its features extracted on a Dask cluster (utils.features.distributed) gives the same scores.
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        on_dask = predict_batch(run_dir, tmp_path / "batch", out=tmp_path / "scored-dask", chunk_size=6,
                                device="cpu", progress=False, report_top_n=0, scheduler=cluster.scheduler_address)
    assert not (on_dask / "candidates.html").exists()
    # Same features; the networks ran under another torch thread count here, so their float32 bits may move.
    pd.testing.assert_frame_equal(pd.read_csv(on_dask / "predictions.csv"), predicted, check_exact=False, rtol=0,
                                  atol=2e-5)
    assert (pd.read_csv(on_dask / "predictions.csv")["prediction"] == predicted["prediction"]).all()

    # The same batch in another order: every file's rows and the log shuffled, the two files' objects swapped.
    # Each file's objects are scored in object_id order and their rows in one canonical order, so every score is
    # the same to the last bit, the networks' too (the same objects share a chunk), in the log's new order.
    shuffled = copy_test_side_as_batch(shuffled_copy(kaggle_dir, tmp_path / "shuffled"), tmp_path / "shuffled-batch")
    done = predict_in_fresh_process(["--run", str(run_dir), "--data-dir", str(tmp_path / "shuffled-batch"), "--out",
                                     str(tmp_path / "scored-shuffled"), "--chunk-size", "6", "--report", "0", "--quiet",
                                     "--device", "cpu"], tmp_path / "fresh-cache-2")
    assert done.returncode == 0, done.stderr
    again = pd.read_csv(tmp_path / "scored-shuffled" / "predictions.csv")
    assert again["object_id"].tolist() == shuffled["object_id"].tolist() != predicted["object_id"].tolist()
    pd.testing.assert_frame_equal(again.set_index("object_id").loc[predicted["object_id"]].reset_index(), predicted,
                                  check_exact=True)


def test_aligned_mean_repeats_the_alignment_of_the_test_set():
    rng = np.random.default_rng(0)
    test_by_fold = rng.uniform(0.01, 0.99, (5, 40)) ** np.arange(1, 6)[:, None]
    fold_of = np.arange(30) % 5
    _, aligned_test = align_fold_scores(rng.uniform(0, 1, 30), fold_of, test_by_fold)
    from utils.evaluation.cv_result import FoldAlignment

    alignment = FoldAlignment.from_test_probabilities(test_by_fold)
    assert (aligned_mean(test_by_fold, alignment) == aligned_test).all()  # exactly, not approximately
    some = aligned_mean(test_by_fold[:, 5:9], alignment)  # a batch of 4 objects gets their own values
    assert (some == aligned_test[5:9]).all()
    assert (aligned_mean(test_by_fold, None) == test_by_fold.mean(axis=0)).all()


@pytest.fixture(scope="module")
def small_cv():
    """A tiny GBDT CV (with its models refitted on all objects) and the features it learnt from."""
    rng = np.random.default_rng(0)
    ids = [f"o{i}" for i in range(60)]
    # columns the feature table has (utils.features.meta), so a batch can be scored to the end
    features = pd.DataFrame(rng.normal(size=(60, 3)), index=ids, columns=["z", "ebv", "distance_modulus"])
    target = pd.Series((np.arange(60) % 3 == 0).astype(int), index=ids)
    result = cross_validate_gbdt(features, target, test_features=features.iloc[:5], n_splits=3, n_repeats=2, params=FAST)
    return features, target, result


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, small_cv):
    """A run folder with a tiny GBDT model on three of the real feature columns."""
    run_dir = tmp_path_factory.mktemp("small-run")
    features, target, result = small_cv
    oof = pd.DataFrame({"gbdt_binary": result.oof_prob}, index=features.index)
    save_run_model(run_dir, gbdt_results={"gbdt_binary": result}, blender=fit_blender(oof, target, "mean"),
                   threshold=0.5, threshold_method="test", feature_columns=features.columns, settings={})
    return run_dir


def test_saved_boosters_reproduce_the_refitted_models(small_run, small_cv):
    features, _, result = small_cv
    model = load_run_model(small_run)
    assert model.manifest["format"] == MODEL_FORMAT and len(model.members["gbdt_binary"].models) == 2
    assert model.threshold == 0.5 and model.blender.members == ("gbdt_binary",)
    # Bit for bit: each booster read back scores as the one refitted in memory, on the training rows and on new
    # ones, and the member's score is the CV's own test probability.
    fresh = pd.DataFrame(np.random.default_rng(1).normal(size=(40, 3)) * 2, columns=features.columns)
    for saved, refitted in zip(model.members["gbdt_binary"].models, result.models, strict=True):
        for rows in (features, fresh):
            assert (saved.predict_proba(rows) == refitted.predict_proba(rows)).all()
    assert (model.members["gbdt_binary"].predict(features.iloc[:5]) == result.test.prob.to_numpy()).all()


def refuse(capsys, args: list[str], message: str, out: Path) -> None:
    assert main([*args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not out.exists()


def test_a_failure_after_writing_began_leaves_no_output_and_no_staging_folder(kaggle_dir, tmp_path, small_run,
                                                                               monkeypatch):
    """The output is written into a temporary sibling and renamed; a write that fails (a full disk) removes it."""
    copy_test_side_as_batch(kaggle_dir, tmp_path / "batch")
    written = predict_batch(small_run, tmp_path / "batch", out=tmp_path / "scored", n_jobs=1, device="cpu",
                            progress=False, report_top_n=0)
    assert sorted(p.name for p in written.iterdir()) == ["config.json", "predictions.csv"]

    def full_disk(self, path, *args, **kwargs):
        assert Path(path).parent.name.startswith(".out-")  # the staging folder exists: the failure comes after it
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    with pytest.raises(OSError, match="No space left"):
        predict_batch(small_run, tmp_path / "batch", out=tmp_path / "out", n_jobs=1, device="cpu", progress=False,
                      report_top_n=0)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out-*"))


def test_bad_batches_are_refused_with_one_line(kaggle_dir, tmp_path, small_run, capsys):
    log = copy_test_side_as_batch(kaggle_dir, tmp_path / "batch")
    out = tmp_path / "out"
    run_args = ["--run", str(small_run), "--data-dir", str(tmp_path / "batch")]

    log.drop(columns="EBV").to_csv(tmp_path / "batch" / "log.csv", index=False)
    refuse(capsys, run_args, "log.csv: missing column 'EBV'", out)

    log.iloc[:0].to_csv(tmp_path / "batch" / "log.csv", index=False)
    refuse(capsys, run_args, "has a header but no rows", out)

    # a logged object without light curves is scored (test_logged_objects_without_observations_...); light curves
    # of an object the log lacks are refused
    log.iloc[1:][["object_id", "Z", "Z_err", "EBV"]].to_csv(tmp_path / "batch" / "log.csv", index=False)
    refuse(capsys, run_args, f"light curves for 1 object_id absent from the log: '{log['object_id'].iloc[0]}'", out)

    log[["object_id", "Z", "Z_err", "EBV"]].to_csv(tmp_path / "batch" / "log.csv", index=False)
    curves = pd.read_csv(tmp_path / "batch" / "night0" / "lightcurves.csv")
    curves.assign(Filter=curves["Filter"].replace("u", "w")).to_csv(tmp_path / "batch" / "night0" / "lightcurves.csv",
                                                                      index=False)
    refuse(capsys, run_args, "column 'Filter' has bands 'w'", out)

    refuse(capsys, ["--run", str(small_run), "--data-dir", str(kaggle_dir)], "has no log.csv (for the Kaggle layout "
           "pass --kind test)", out)


def test_bad_runs_are_refused_with_one_line(kaggle_dir, tmp_path, small_run, capsys):
    copy_test_side_as_batch(kaggle_dir, tmp_path / "batch")
    out = tmp_path / "out"
    batch = ["--data-dir", str(tmp_path / "batch")]
    refuse(capsys, ["--run", str(tmp_path / "nowhere"), *batch], "does not exist", out)
    (tmp_path / "bare-run").mkdir()
    refuse(capsys, ["--run", str(tmp_path / "bare-run"), *batch], "has no model/manifest.json", out)

    manifest = json.loads((small_run / "model" / "manifest.json").read_text())
    for key, value, message in (("features_version", "features-v0", "trained on features 'features-v0'"),
                                ("format", "run-model-v0", "stores model format 'run-model-v0'")):
        other = tmp_path / f"other-{key}"
        (other / "model").mkdir(parents=True)
        (other / "model" / "manifest.json").write_text(json.dumps({**manifest, key: value}))
        refuse(capsys, ["--run", str(other), *batch], message, out)
        with pytest.raises(DataError, match=message):
            load_run_model(other)


def test_runs_missing_a_member_are_refused(tmp_path, small_run):
    manifest = json.loads((small_run / "model" / "manifest.json").read_text())
    (tmp_path / "copy" / "model").mkdir(parents=True)
    (tmp_path / "copy" / "model" / "manifest.json").write_text(json.dumps(manifest))  # boosters left behind
    with pytest.raises(DataError, match="is incomplete: member 'gbdt_binary' misses .*repeat0.txt"):
        load_run_model(tmp_path / "copy")
    shutil.copytree(small_run, tmp_path / "run")
    manifest["members"]["cnn"] = {"kind": "unavailable", "reason": "member 'cnn' has no fold checkpoints under models/cnn/"}
    (tmp_path / "run" / "model" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="cannot score new objects: member 'cnn' has no fold checkpoints"):
        load_run_model(tmp_path / "run")


def test_the_command_line_fails_without_a_traceback(tmp_path):
    done = predict_in_fresh_process(["--run", str(tmp_path / "nowhere"), "--data-dir", str(tmp_path)], tmp_path / "c")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: run folder {tmp_path / 'nowhere'} does not exist"]


@pytest.fixture(scope="module")
def feature_run(tmp_path_factory):
    """(run folder, its Kaggle-layout data): a binary GBDT on the default feature groups and a CNN over two folds
    that reads them too, blended by their mean. The CNN keeps its initial weights (scoring only needs them to load
    and run), with a fold alignment as notebooks 03/04 store it."""
    root = tmp_path_factory.mktemp("feature-run")
    kaggle = write_kaggle_dataset(root / "mallorn")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MALLORN_CACHE_DIR", str(root / "cache"))
        dataset = load_dataset(kaggle)
        features = feature_table(dataset, "train", progress=False)
        test_features = feature_table(dataset, "test", progress=False)
    target = dataset.train_log["target"].astype(int)
    result = cross_validate_gbdt(features, target, test_features=test_features, n_splits=3, n_repeats=1, params=FAST)
    run_dir = root / "run"
    settings = deep_settings(CNN_PROFILES, "quick", device="cpu", n_folds=2, align_folds=True, use_features=True)
    scaler = FeatureScaler.fit(features)
    for fold in range(2):
        torch.manual_seed(fold)
        classifier = DeepClassifier(settings, scaler)
        classifier.networks = [build_model(settings, n_extra=len(scaler.names)).eval()]
        classifier.save(checkpoint_path(run_dir, "cnn", fold), fold=fold)
    rng = np.random.default_rng(0)
    save_fold_alignment(run_dir, "cnn", FoldAlignment.from_test_probabilities(rng.uniform(0.05, 0.95, (2, 20))))
    oof = pd.DataFrame({"gbdt_binary": result.oof_prob, "cnn": rng.uniform(0.05, 0.95, len(target))},
                       index=result.object_ids)
    save_run_model(run_dir, gbdt_results={"gbdt_binary": result}, blender=fit_blender(oof, target, "mean"),
                   threshold=float(np.median(result.oof_prob)), threshold_method="test",
                   feature_columns=features.columns, settings={})
    return run_dir, kaggle


def test_logged_objects_without_observations_are_scored_and_marked(feature_run, tmp_path, capsys):
    """As `make run` keeps a test object without a usable observation (NaN features, empty light curves) and still
    predicts it, predict scores one with no light-curve rows and one whose every flux is NaN; the others' scores do
    not move by a bit, since those two are scored in a chunk of their own."""
    run_dir, kaggle = feature_run
    log = copy_test_side_as_batch(kaggle, tmp_path / "batch")
    args = ["--run", str(run_dir), "--chunk-size", "4", "--report", "30", "--quiet", "--device", "cpu"]
    assert main([*args, "--data-dir", str(tmp_path / "batch"), "--out", str(tmp_path / "before")]) == 0
    before = pd.read_csv(tmp_path / "before" / "predictions.csv", dtype={"object_id": str})
    assert "no usable observation" not in capsys.readouterr().out

    night0 = tmp_path / "batch" / "night0" / "lightcurves.csv"
    curves = pd.read_csv(night0)
    blank = curves[curves["object_id"] == curves["object_id"].iloc[0]].assign(object_id="all_nan", Flux=np.nan)
    pd.concat([curves, blank]).to_csv(night0, index=False)
    extra = log.iloc[:2].assign(object_id=["no_rows", "all_nan"])
    pd.concat([log, extra])[["object_id", "Z", "Z_err", "EBV"]].to_csv(tmp_path / "batch" / "log.csv", index=False)
    assert main([*args, "--data-dir", str(tmp_path / "batch"), "--out", str(tmp_path / "after")]) == 0
    out = capsys.readouterr().out
    assert out.count("no usable observation") == 1 and "2 object(s)" in out and "'all_nan', 'no_rows'" in out, out

    after = pd.read_csv(tmp_path / "after" / "predictions.csv", dtype={"object_id": str})
    assert after["object_id"].tolist() == [*log["object_id"], "no_rows", "all_nan"]
    assert after["prediction"].dtype == np.int64 and set(after["prediction"]) <= {0, 1}
    assert np.isfinite(after[["probability", "gbdt_binary", "cnn"]].to_numpy()).all()
    empty = after.set_index("object_id").loc[["no_rows", "all_nan"]]
    assert (empty["status"] == "no observations").all()
    # the other objects: the same numbers to the last bit, and the same columns
    pd.testing.assert_frame_equal(after.iloc[:len(log)], before, check_exact=True)
    assert json.loads((tmp_path / "after" / "config.json").read_text())["without_observations"] == 2
    assert json.loads((tmp_path / "before" / "config.json").read_text())["without_observations"] == 0
    assert "no_rows" in (tmp_path / "after" / "candidates.html").read_text()  # the report takes them as they are


def test_a_member_without_a_finite_probability_is_left_out_of_that_objects_blend_and_named():
    """No member is expected to fail (the GBDTs take NaN features, the networks empty light curves); if one does,
    the object still gets a probability, from the others, and its status says which member was left out."""
    probabilities = pd.DataFrame({"gbdt": [0.2, 0.7, 0.9, 0.4], "cnn": [0.6, np.nan, 0.1, np.nan],
                                  "transformer": [0.3, 0.5, np.nan, np.nan]}, index=["a", "b", "c", "d"])
    blender = Blender("weights", ("gbdt", "cnn", "transformer"), np.array([0.5, 0.25, 0.25]))
    blended, status = blend_members(blender, probabilities)
    assert blended[0] == blender.predict(probabilities.iloc[:1]).iloc[0] and status[0] == SCORED
    alone = Blender("weights", ("gbdt", "transformer"), np.array([2 / 3, 1 / 3]))  # the same total weight, 1
    assert blended[1] == pytest.approx(alone.predict(probabilities.iloc[[1]]).iloc[0], rel=1e-15)
    assert list(status[1:]) == ["blended without cnn (no finite probability)",
                                "blended without transformer (no finite probability)",
                                "blended without cnn, transformer (no finite probability)"]
    assert blended[3] == pytest.approx(0.4, rel=1e-12) and np.isfinite(blended).all()
    with pytest.raises(DataError, match="no member with weight in the blend scored object_id 'd'"):
        blend_members(Blender("weights", blender.members, np.array([0.0, 0.5, 0.5])), probabilities)


MODEL_FILES = ["model/manifest.json", "model/gbdt/gbdt_binary/repeat0.txt", "models/cnn/fold0/best_model.pt",
               "models/cnn/alignment.npz"]


@pytest.mark.parametrize("damage", ["truncated", "truncated, no checksums", "deleted"])
@pytest.mark.parametrize("relative", MODEL_FILES)
def test_every_file_of_the_model_is_checked_at_load(feature_run, tmp_path, capsys, relative, damage):
    """A run folder copied in part or cut short: each file the model reads, truncated to half its bytes or deleted,
    is one DataError naming it, so predict prints one `error:` line, exits 2 and writes nothing. Without the sizes
    and checksums the manifest keeps (a run saved before it kept them), reading each file finds the damage."""
    run_dir = tmp_path / "run"
    shutil.copytree(feature_run[0], run_dir)
    manifest_path = run_dir / "model" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert set(manifest["files"]) == set(MODEL_FILES[1:]) | {"model/gbdt/gbdt_binary/repeat0.txt",
                                                             "models/cnn/fold1/best_model.pt"}
    if damage == "truncated, no checksums":
        manifest_path.write_text(json.dumps({key: value for key, value in manifest.items() if key != "files"}))
    load_run_model(run_dir)  # the undamaged copy loads
    path = run_dir / relative
    if damage.startswith("truncated"):
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    else:
        path.unlink()
    with pytest.raises(DataError, match=re.escape(relative)):
        load_run_model(run_dir)
    refuse(capsys, ["--run", str(run_dir), "--data-dir", str(tmp_path)], relative, tmp_path / "out")


@pytest.mark.parametrize("content, message", [
    ("[]", "it holds a JSON list, not an object"),
    (json.dumps({"format": MODEL_FORMAT, "features_version": FEATURES_VERSION}), "no 'feature_columns'; no 'members'"),
    (json.dumps({"format": MODEL_FORMAT}), "no 'features_version'; no 'feature_columns'; no 'members'"),
    ("drop:members.gbdt_binary.boosters", "member 'gbdt_binary' has no 'boosters'"),
    ("drop:blender.weights", "the blender has no 'weights'"),
    ("\udcff", "is not valid JSON"),
])
def test_a_manifest_that_is_not_a_run_models_is_refused_by_name(small_run, tmp_path, content, message):
    shutil.copytree(small_run, tmp_path / "run")
    path = tmp_path / "run" / "model" / "manifest.json"
    if content.startswith("drop:"):
        manifest = json.loads(path.read_text())
        *parents, key = content.removeprefix("drop:").split(".")
        entry = manifest
        for parent in parents:
            entry = entry[parent]
        del entry[key]
        path.write_text(json.dumps(manifest))
    elif content == "\udcff":
        path.write_bytes(b"\xff\xfe not text")
    else:
        path.write_text(content)
    with pytest.raises(DataError, match=re.escape(message)) as refused:
        load_run_model(tmp_path / "run")
    assert str(path) in str(refused.value)


@pytest.mark.parametrize("variables, message", [
    ([], "error: make predict needs RUN=<run folder> DATA_DIR=<folder>"),
    (["CHUNK_SIZE=abc"], "error: argument --chunk-size: invalid int value: 'abc'"),
    (["DEVICE=gpu"], "error: device 'gpu': use auto, cpu, cuda (or cuda:N) or mps"),
    (["PREDICT_OUT={file}/scored"], "is a file, not a folder; choose another --out (PREDICT_OUT)"),
    (["KIND=night"], "has no night_log.csv"),
], ids=["no RUN", "CHUNK_SIZE", "DEVICE", "PREDICT_OUT", "KIND"])
def test_make_predict_answers_bad_input_with_one_error_line(small_run, tmp_path, variables, message):
    """Each bad make variable is one `error:` line (make adds its own `make: ***` line) and exit status 2, no usage
    text and no traceback."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    stamp = tmp_path / "stamp"
    stamp.write_text("")
    (tmp_path / "a-file").write_text("")
    given = [v.format(file=tmp_path / "a-file") for v in variables]
    if variables:  # the no-RUN case names neither
        given += [f"RUN={small_run}", f"DATA_DIR={tmp_path}"]
    env = {k: v for k, v in os.environ.items() if k not in ("RUN", "DATA_DIR", "PREDICT_OUT", "KIND", "DEVICE")}
    done = subprocess.run(["make", "--no-print-directory", "predict", f"PY={sys.executable}", f"STAMP={stamp}", *given],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    ours = [line for line in done.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
    assert len(ours) == 1 and ours[0].startswith("error: ") and message in ours[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr and not (tmp_path / "a-file" / "scored").exists()

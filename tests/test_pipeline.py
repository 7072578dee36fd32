"""The papermill runner: notebook selection, run folders, and an end-to-end run on a tiny data set."""

import json
from pathlib import Path

import nbformat
import pytest

from utils import pipeline
from utils.config import resolve, save_config


def test_select_notebooks_by_number_range_and_list():
    books = [Path(f"{n:02d}_x.py") for n in range(1, 6)]
    assert pipeline.select_notebooks(books, None) == books
    assert pipeline.select_notebooks(books, "all") == books
    assert [p.name[:2] for p in pipeline.select_notebooks(books, "03")] == ["03"]
    assert [p.name[:2] for p in pipeline.select_notebooks(books, "01-03")] == ["01", "02", "03"]
    assert [p.name[:2] for p in pipeline.select_notebooks(books, "05,02")] == ["02", "05"]
    with pytest.raises(ValueError, match="no notebook numbered \\[7\\]"):
        pipeline.select_notebooks(books, "07")
    with pytest.raises(ValueError, match="use numbers"):
        pipeline.select_notebooks(books, "cnn")


def test_every_notebook_has_a_parameters_cell_with_the_shared_parameters():
    notebooks = pipeline.discover_notebooks()
    assert [p.name for p in notebooks][:2] == ["01_eda.py", "02_preprocessing.py"]
    for source in notebooks:
        node = pipeline.notebook_node(source)
        assert node.metadata["kernelspec"]["name"] == "python3"
        tagged = [c for c in node.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, source.name
        for name in ("data_dir", "out_dir", "profile", "seed", "device"):
            assert f"{name} =" in tagged[0].source, (source.name, name)


def test_run_folders_are_never_reused(tmp_path):
    first = pipeline.new_run_dir(tmp_path, "same")
    (first / "keep.txt").write_text("earlier output")
    second = pipeline.new_run_dir(tmp_path, "same")
    assert first != second and second.name == "same-2"
    assert (first / "keep.txt").read_text() == "earlier output"
    pipeline.point_latest(tmp_path, second)
    assert (tmp_path / "latest").resolve() == second.resolve()
    pipeline.point_latest(tmp_path, first)
    assert (tmp_path / "latest").resolve() == first.resolve()


def test_missing_data_fails_before_creating_a_run_folder(tmp_path, capsys):
    code = pipeline.main(["--data-dir", str(tmp_path / "absent"), "--out-dir", str(tmp_path / "runs")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_resolve_rejects_unknown_profiles_and_keys(tmp_path):
    profiles = {"quick": {"epochs": 1, "lr": 0.1}, "default": {"epochs": 5, "lr": 0.1}}
    assert resolve(profiles, "quick", epochs=None, lr=0.5) == {"epochs": 1, "lr": 0.5}
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        resolve(profiles, "huge")
    with pytest.raises(ValueError, match="unknown setting\\(s\\) \\['epoch'\\]"):
        resolve(profiles, "default", epoch=3)
    path = save_config({"path": tmp_path, "n": 1}, tmp_path / "c.json")
    assert json.loads(path.read_text()) == {"n": 1, "path": str(tmp_path)}


def test_end_to_end_eda_and_preprocessing_on_a_tiny_data_set(kaggle_dir, tmp_path):
    run_dir = pipeline.run(data_dir=str(kaggle_dir), out_dir=tmp_path / "runs", profile="quick",
                           notebooks="01-02", run_id="e2e", progress=False)
    assert run_dir == (tmp_path / "runs" / "e2e").resolve()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["profile"] == "quick" and set(config["seconds"]) == {"01_eda", "02_preprocessing"}
    for name in ("01_eda", "02_preprocessing"):
        executed = nbformat.read(run_dir / f"{name}.ipynb", as_version=4)
        errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
        assert not errors
        assert (run_dir / f"config_{name}.json").is_file()
    figures = {p.name for p in (run_dir / "figures").iterdir()}
    assert {"01_class_balance.png", "01_example_lightcurves.png", "02_deextinction_examples.png"} <= figures
    assert (tmp_path / "runs" / "latest").resolve() == run_dir


def test_commit_comes_from_the_bundle_where_there_is_no_git(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "PROJECT_ROOT", tmp_path)
    assert pipeline.git_commit() is None
    (tmp_path / "kernel_build.json").write_text(json.dumps({"commit": "abc1234"}))
    assert pipeline.git_commit() == "abc1234"

"""The Kaggle kernel: metadata the kaggle CLI accepts, a self-contained notebook, an offline run, clear errors."""

import base64
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from utils import PROJECT_ROOT
from utils.data.load import COMPETITION
from utils.errors import DataError
from utils.kaggle_kernel import (BUILD_INFO, SIZE_LIMIT, KaggleKernelError, build, ensure_packages, find_kaggle_data,
                                 main)

from synthetic import write_kaggle_dataset

# Every key kaggle 2.x's `kernels push` reads from kernel-metadata.json (KaggleApi.kernels_push).
KAGGLE_FIELDS = {"id", "id_no", "title", "code_file", "language", "kernel_type", "is_private", "enable_gpu",
                 "enable_tpu", "enable_internet", "dataset_sources", "competition_sources", "kernel_sources",
                 "model_sources", "keywords", "docker_image", "docker_image_pinning_type", "machine_shape"}


@pytest.fixture
def no_credentials(tmp_path, monkeypatch):
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle-config"))


@pytest.fixture
def kaggle_api(tmp_path, monkeypatch):
    """The KaggleApi class, imported with made-up credentials: kaggle 2.0.x authenticates, and exits without
    credentials, when imported. Nothing here reaches the network."""
    monkeypatch.setenv("KAGGLE_USERNAME", "tester")
    monkeypatch.setenv("KAGGLE_KEY", "not-a-real-key")
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle-config"))
    from kaggle.api.kaggle_api_extended import KaggleApi

    return KaggleApi


@pytest.fixture
def kernel(tmp_path, monkeypatch) -> Path:
    """The kernel built from the working tree (uncommitted changes allowed) for user `tester`."""
    monkeypatch.setenv("KAGGLE_USERNAME", "tester")
    return build(tmp_path / "build", allow_dirty=True)


def bundle_of(notebook) -> zipfile.ZipFile:
    source = next(c.source for c in notebook.cells if "BUNDLE = " in c.source)
    return zipfile.ZipFile(io.BytesIO(base64.b64decode(re.search(r'BUNDLE = "([^"]+)"', source).group(1))))


def test_metadata_is_what_the_kaggle_cli_accepts(kernel, kaggle_api):
    from slugify import slugify

    metadata = json.loads((kernel.parent / "kernel-metadata.json").read_text())
    assert set(metadata) <= KAGGLE_FIELDS
    assert metadata["id"] == "tester/mallorn-tde-pipeline"
    assert slugify(metadata["title"]) == "mallorn-tde-pipeline"  # the CLI warns when title and slug differ
    assert metadata["code_file"] == kernel.name
    assert metadata["language"] in kaggle_api.valid_push_language_types
    assert metadata["kernel_type"] == "notebook"
    assert metadata["enable_gpu"] is True and metadata["enable_internet"] is True
    assert metadata["competition_sources"] == [COMPETITION]

    class Connecting(Exception):
        pass

    def no_network():
        raise Connecting

    # The CLI's own checks of the folder all pass: the push gets as far as opening a connection.
    api = kaggle_api()
    api.build_kaggle_client = no_network
    with pytest.raises(Connecting):
        api.kernels_push(str(kernel.parent))


def test_notebook_carries_every_stage_and_the_utils_package(kernel):
    notebook = nbformat.read(kernel, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    assert any("parameters" in c.metadata.get("tags", []) for c in notebook.cells)
    assert kernel.stat().st_size <= SIZE_LIMIT
    names = set(bundle_of(notebook).namelist())
    expected = {p.relative_to(PROJECT_ROOT).as_posix() for p in (PROJECT_ROOT / "notebooks").glob("*.py")}
    assert expected <= names
    assert {"utils/__init__.py", "utils/run/pipeline.py", "utils/kaggle_kernel/runtime.py", "requirements.txt",
            BUILD_INFO, "utils/features/bandpasses/total_u.dat"} <= names
    assert not [n for n in names if "__pycache__" in n or not n.endswith((".py", ".dat", ".txt", ".json"))]


def test_build_refuses_uncommitted_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "tester")
    repo = tmp_path / "repo"
    for name in ("utils", "notebooks"):
        shutil.copytree(PROJECT_ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("requirements.txt", "kernel-metadata.json"):
        shutil.copy2(PROJECT_ROOT / name, repo / name)

    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                              capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "snapshot")
    commit = git("rev-parse", "--short", "HEAD")
    notebook = build(tmp_path / "clean", root=repo)
    assert json.loads((notebook.parent / BUILD_INFO).read_text())["commit"] == commit
    assert commit in notebook.read_text()

    (repo / "utils" / "new_module.py").write_text("X = 1\n")
    with pytest.raises(KaggleKernelError, match="ALLOW_DIRTY=1"):
        build(tmp_path / "dirty", root=repo)
    dirty = build(tmp_path / "dirty", root=repo, allow_dirty=True)
    assert json.loads((dirty.parent / BUILD_INFO).read_text())["commit"] == f"{commit}-dirty"


def test_build_names_the_missing_username(tmp_path, no_credentials):
    with pytest.raises(KaggleKernelError, match="KAGGLE_USERNAME"):
        build(tmp_path / "build", allow_dirty=True)


def test_packages_present_are_kept_and_missing_ones_reported(tmp_path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# pinned\nnumpy==0.0.1\nnot-a-real-package-xyz==1.0\npytest==0.1\n")
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd) or subprocess.CompletedProcess(cmd, 1))
    assert ensure_packages(requirements, install=False) == ["not-a-real-package-xyz==1.0"]
    assert calls == []
    with pytest.raises(KaggleKernelError, match="enable_internet"):
        ensure_packages(requirements)
    assert [c[-1] for c in calls] == ["not-a-real-package-xyz==1.0", "not-a-real-package-xyz"]  # pinned, then newest


def test_finds_the_data_in_both_kaggle_mount_layouts(tmp_path, cache_dir):
    newer = write_kaggle_dataset(tmp_path / "input" / "competitions" / COMPETITION, n_train=4, n_test=2)
    assert find_kaggle_data(tmp_path / "input") == newer
    with pytest.raises(DataError, match="competition_sources"):
        find_kaggle_data(tmp_path / "empty")


def test_cli_fails_clearly_without_credentials_or_file(kernel, tmp_path, no_credentials, capsys):
    assert main(["push", "--dir", str(kernel.parent)]) == 2
    assert "no Kaggle credentials" in capsys.readouterr().err
    assert main(["submit", str(tmp_path / "missing.csv")]) == 2
    assert "FILE=" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("id,prob\n1,0.5\n")
    assert main(["submit", str(bad)]) == 2
    assert "object_id,prediction" in capsys.readouterr().err


def test_kernel_runs_offline_against_a_fake_kaggle_input(kernel, tmp_path, monkeypatch, cache_dir):
    import papermill

    data = write_kaggle_dataset(tmp_path / "input" / COMPETITION)
    working = tmp_path / "working"
    monkeypatch.setenv("MALLORN_KAGGLE_INPUT", str(tmp_path / "input"))
    monkeypatch.setenv("MALLORN_KAGGLE_WORKING", str(working))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel unpacks its code into a temp dir: keep it here
    papermill.execute_notebook(str(kernel), str(tmp_path / "executed.ipynb"), kernel_name="python3",
                               parameters={"profile": "quick", "device": "cpu", "install": False},
                               cwd=str(tmp_path), progress_bar=False)

    commit = json.loads((kernel.parent / BUILD_INFO).read_text())["commit"]
    run_dir = working / "runs" / f"kaggle-{commit}"
    stages = sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert [p.name for p in stages] == json.loads((run_dir / "config.json").read_text())["notebooks"] and stages
    for stage in stages:
        assert (run_dir / f"{stage.stem}.ipynb").is_file()
    assert json.loads((working / BUILD_INFO).read_text())["commit"] == commit
    assert not (working / "runs" / "latest").exists()
    submission = pd.read_csv(working / "submission.csv")
    sample = pd.read_csv(data / "sample_submission.csv")
    assert list(submission.columns) == ["object_id", "prediction"]
    assert sorted(submission.object_id) == sorted(sample.object_id)
    assert submission.prediction.isin([0, 1]).all()  # F1 is scored on labels, not probabilities
    assert (working / "metrics.json").is_file()


def test_cli_wrappers_against_a_fake_kaggle_api(kernel, kaggle_api, tmp_path, monkeypatch, capsys):
    from kagglesdk.competitions.types.competition_api_service import ApiCreateSubmissionResponse
    from kagglesdk.kernels.types.kernels_api_service import ApiGetKernelSessionStatusResponse, ApiSaveKernelResponse
    from kagglesdk.kernels.types.kernels_enums import KernelWorkerStatus

    from utils.kaggle_kernel import download_output, submit

    saved, state, submitted = ApiSaveKernelResponse(), ApiGetKernelSessionStatusResponse(), ApiCreateSubmissionResponse()
    saved.url, saved.version_number = "https://www.kaggle.com/code/tester/mallorn-tde-pipeline", 3
    state.status = KernelWorkerStatus.COMPLETE
    submitted.message = "Successfully submitted"
    calls = {}

    def answer(name, response):
        def method(api, *args, **kwargs):
            calls[name] = args
            return response
        return method

    def output(api, kernel_id, path, **kwargs):
        calls["output"] = (kernel_id,)
        (Path(path) / "submission.csv").write_text("object_id,prediction\nte_0000,1\n")
        return [str(Path(path) / "submission.csv")], None

    monkeypatch.setattr(kaggle_api, "authenticate", lambda api: None)
    monkeypatch.setattr(kaggle_api, "kernels_push", answer("push", saved))
    monkeypatch.setattr(kaggle_api, "kernels_status", answer("status", state))
    monkeypatch.setattr(kaggle_api, "kernels_output", output)
    monkeypatch.setattr(kaggle_api, "competition_submit", answer("submit", submitted))

    assert main(["push", "--dir", str(kernel.parent)]) == 0
    assert "as version 3" in capsys.readouterr().out
    assert main(["status", "--dir", str(kernel.parent)]) == 0
    assert "tester/mallorn-tde-pipeline: complete" in capsys.readouterr().out
    target = download_output(tmp_path / "submissions", kernel.parent)
    assert target.parent == tmp_path / "submissions" and target.name.startswith("kaggle-")
    submit(target / "submission.csv", "first GPU run")
    assert calls == {"push": (str(kernel.parent),), "status": ("tester/mallorn-tde-pipeline",),
                     "output": ("tester/mallorn-tde-pipeline",),
                     "submit": (str(target / "submission.csv"), "first GPU run", COMPETITION)}

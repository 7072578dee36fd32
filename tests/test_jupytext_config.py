"""The notebooks open in Jupyter (jupytext pairing, jupytext.toml) and save back without churn."""

import shutil

import jupytext
import nbformat
import pytest
from jupytext.config import load_jupytext_config
from jupytext.sync_contentsmanager import TextFileContentsManager  # needs jupyter_server (requirements.txt)

from utils.run.pipeline import NOTEBOOK_DIR, discover_notebooks

NOTEBOOKS = discover_notebooks()


def test_the_project_config_pairs_the_notebooks_with_ipynb():
    config = load_jupytext_config(str(NOTEBOOK_DIR))
    assert config is not None and config.formats == ["ipynb,py:percent"]
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.name)
def test_reading_and_writing_back_with_the_project_config_changes_nothing(source):
    config = load_jupytext_config(str(NOTEBOOK_DIR))
    text = source.read_text()
    notebook = jupytext.reads(text, fmt="py:percent", config=config)
    # what Jupyter holds in memory and in the paired .ipynb, read back as the editor would
    notebook = nbformat.reads(nbformat.writes(notebook), as_version=4)
    assert jupytext.writes(notebook, fmt="py:percent", config=config) == text


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.name)
def test_the_jupyter_contents_manager_opens_the_py_as_a_notebook_and_saves_it_unchanged(source, tmp_path):
    """What `make lab` does when a notebook is opened and saved: the Jupyter server's contents manager as jupytext
    builds it."""
    root = tmp_path / "project"
    shutil.copytree(NOTEBOOK_DIR.parent / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.copy(NOTEBOOK_DIR.parent / "jupytext.toml", root / "jupytext.toml")
    manager = TextFileContentsManager(root_dir=str(root))
    model = manager.get(f"notebooks/{source.name}")
    assert model["type"] == "notebook"
    manager.save({"type": "notebook", "format": "json", "content": model["content"]}, f"notebooks/{source.name}")
    assert (root / "notebooks" / source.name).read_text() == source.read_text()
    assert (root / "notebooks" / f"{source.stem}.ipynb").is_file()  # the paired copy that keeps outputs

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The benchmark scripts import their helpers as `import common`, as Python finds them when it runs a script from
# benchmarks/; tests import the scripts the same way (`import features_ablation`).
sys.path.append(str(Path(__file__).resolve().parent.parent / "benchmarks"))

from synthetic import write_kaggle_dataset  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "mallorn"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """Each test gets its own cache so nothing leaks between tests or into the project's cache/."""
    path = tmp_path / "cache"
    monkeypatch.setenv("MALLORN_CACHE_DIR", str(path))
    return path


@pytest.fixture
def kaggle_dir(tmp_path, cache_dir):
    """A tiny data set in the Kaggle layout: 40 train objects (30% TDE), 20 test, 2 splits."""
    return write_kaggle_dataset(tmp_path / "mallorn")

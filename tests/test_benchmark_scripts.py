"""Every benchmark runs as the docstrings say, `python benchmarks/<name>.py`, from any folder: its --help works
(so its imports do: `import common` must come before the project's own)."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parent.parent / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", [p for p in BENCHMARKS if p.name != "common.py"], ids=lambda p: p.stem)
def test_help_runs_as_a_script(script, tmp_path):
    done = subprocess.run([sys.executable, str(script), "--help"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout

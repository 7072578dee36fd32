"""The README is a newcomer's first screen: what it tells them to type must exist."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()


def test_readme_stays_short():
    assert len(README.splitlines()) <= 150


def test_every_make_target_in_the_readme_exists():
    targets = set(re.findall(r"^([a-z][\w-]*):", MAKEFILE, flags=re.MULTILINE))
    mentioned = set(re.findall(r"\bmake ([a-z][\w-]*)", README))
    assert mentioned, "the README names no make target"
    assert mentioned <= targets, f"README names make targets the Makefile lacks: {sorted(mentioned - targets)}"


def test_every_module_the_readme_runs_exists():
    modules = set(re.findall(r"python -m (utils[\w.]*)", README))
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    assert not missing, f"README runs modules that do not exist: {missing}"


def test_every_project_path_and_link_in_the_readme_exists():
    linked = re.findall(r"\]\(((?!https?://)[^)#]+)\)", README)
    quoted = [p for p in re.findall(r"`((?:utils|notebooks|docs|benchmarks|tests)/[\w./]*)`", README) if "*" not in p and "NN_" not in p]
    missing = [p for p in [*linked, *quoted] if not (ROOT / p).exists()]
    assert not missing, f"README points at paths that do not exist: {missing}"

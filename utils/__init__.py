"""Shared library behind the MALLORN notebooks: load, validate, preprocess, features, models, submit."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BANDS = "ugrizy"

__all__ = ["PROJECT_ROOT", "BANDS"]

"""Flat settings dicts with named profiles; unknown keys are rejected, not silently ignored.

Each stage keeps its own table of profiles next to the code that uses it, e.g.::

    CNN_PROFILES = {"quick": {"epochs": 2, ...}, "default": {"epochs": 30, ...}, "kaggle": {...}}
    cfg = resolve(CNN_PROFILES, profile, epochs=epochs, lr=None)   # None keeps the profile's value

and `save_config` writes what was used next to the outputs it produced.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any, Mapping

import numpy as np

PROFILE_NAMES = ("quick", "default", "kaggle")
# The numbered notebooks a run leaves out when none are named. `default` leaves out the CNN (03) and the
# Transformer (04): blending them in did not raise the nested F1 beyond one standard error, even with the networks
# distilled from the multiclass GBDT (docs/results.md, "Blend"), so a CPU run saves their minutes (docs/results.md,
# "Speed"). `quick` (a smoke run of everything) and `kaggle` (a GPU, where they are cheap and bagged) run every
# notebook; `all` always does.
PROFILE_LEAVES_OUT = {"quick": (), "default": (3, 4), "kaggle": ()}


def resolve(profiles: Mapping[str, Mapping[str, Any]], profile: str, **overrides: Any) -> dict[str, Any]:
    """The profile's settings with non-None overrides applied; unknown profile or key raises."""
    if profile not in profiles:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(profiles)}")
    settings = dict(profiles[profile])
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}; known: {sorted(settings)}")
    settings.update({key: value for key, value in overrides.items() if value is not None})
    return settings


def save_config(settings: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write settings as indented JSON (paths and numpy scalars become plain values)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(settings), indent=2, sort_keys=True, default=_plain) + "\n")
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when installed) torch, so a run repeats on the CPU."""
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)

"""Which feature groups exist, which a run extracts, and what one object's features are.

REGISTRY maps every group to its module (utils.features.contract: NAMES + extract, or extract_batch for a
batch group); DEFAULT_GROUPS are the ones a plain feature_table call builds; the others are candidates that
benchmarks/features_ablation.py measures. The meaning and unit of every column is in docs/features.md.
"""

from __future__ import annotations

from types import ModuleType
from typing import Iterable, Sequence

from ..data.lightcurve import ObjectLightCurve
from . import agn, blackbody, fits, gp, lookalike, meta, parametric, parsnip, photometry, powerlaw, timescales, variability

# Bump whenever a default group's feature definition changes (v6: the DRW fit uses its analytic gradient).
FEATURES_VERSION = "features-v6"
REGISTRY: dict[str, ModuleType] = {
    "meta": meta, "photometry": photometry, "timescales": timescales, "powerlaw": powerlaw,
    "parametric": parametric, "variability": variability, "gp": gp, "parsnip": parsnip, "agn": agn, "fits": fits,
    "blackbody": blackbody, "lookalike": lookalike,
}
DEFAULT_GROUPS: tuple[str, ...] = ("meta", "photometry", "timescales", "powerlaw", "parametric", "variability", "gp",
                                   "fits", "parsnip", "agn")
GROUP_NAMES: dict[str, tuple[str, ...]] = {group: module.NAMES for group, module in REGISTRY.items()}
BATCH_GROUPS: tuple[str, ...] = tuple(g for g, module in REGISTRY.items() if hasattr(module, "extract_batch"))


def extract_object(obj: ObjectLightCurve, groups: Sequence[str] = DEFAULT_GROUPS) -> dict[str, float]:
    """All features of the chosen groups for one object (NaN where a feature is undefined); a batch group
    runs its model on this one object (feature_table batches many objects instead)."""
    features: dict[str, float] = {}
    for group in groups:
        module = REGISTRY[group]
        features.update(module.extract_batch([obj])[0] if group in BATCH_GROUPS else module.extract(obj))
    return features


def feature_group(column: str) -> str:
    """The group that produces a feature column."""
    for group, names in GROUP_NAMES.items():
        if column in names:
            return group
    raise KeyError(f"no feature group makes column {column!r}")


def group_versions(groups: Iterable[str]) -> dict[str, int]:
    """The own VERSION of each of these groups whose module has one: a candidate group bumps it when its
    definition changes, so its cached tables and scores are never read again while FEATURES_VERSION (and
    so every default-group table and trained run) stays valid."""
    return {g: REGISTRY[g].VERSION for g in sorted(groups) if hasattr(REGISTRY[g], "VERSION")}

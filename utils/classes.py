"""SpecType -> class group: the groupings of the training labels that the models learn.

    class_group(log["SpecType"])        # Series of group names: TDE, AGN, SN Ia, SN II, other
    class_group_index(log["SpecType"])  # int64 positions in CLASS_GROUPS (the deep models' auxiliary head)

The deep models' auxiliary head (utils.models) predicts the class groups next to P(TDE): TDE and its three
commonest look-alikes, AGN, SN Ia and SN II (IIn, IIP, IIb ...), each its own class, and everything rarer (SLSN,
SN Ib/c, unknown types) pooled as "other". The LightGBM multiclass model (utils.gbdt) learns a grouping of
GROUPINGS and reports P(TDE); the default and kaggle profiles take "lookalike" (lookalike_group), which also
sets the luminous supernovae apart (docs/results.md, "Look-alikes").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLASS_GROUPS = ("TDE", "AGN", "SN Ia", "SN II", "other")


def class_group(spec_type: pd.Series) -> pd.Series:
    """Each SpecType's group ('SN Ia-91T-like' -> SN Ia, 'SN IIn' -> SN II, 'SLSN-I' or missing -> other)."""
    text = spec_type.astype("string").fillna("")
    group = np.select(
        [text == "TDE", text == "AGN", text.str.startswith("SN Ia"), text.str.match(r"SN II")],
        ["TDE", "AGN", "SN Ia", "SN II"], default="other")
    return pd.Series(group, index=spec_type.index, name="group")


def class_group_index(spec_type: pd.Series) -> np.ndarray:
    """Each SpecType's group as its position in CLASS_GROUPS (int64), the auxiliary head's targets."""
    return class_group(spec_type).map({name: i for i, name in enumerate(CLASS_GROUPS)}).to_numpy(dtype=np.int64)


LOOKALIKE_TYPES = ("SN IIn", "SLSN-I", "SLSN-II")  # the supernovae the GBDT confuses with TDEs most often


def lookalike_group(spec_type: pd.Series) -> pd.Series:
    """class_group with the luminous, slowly evolving supernovae (LOOKALIKE_TYPES) as a group of their own,
    "SN lum", instead of scattered over SN II and other: the trees then learn what sets them apart from TDEs."""
    group = class_group(spec_type)
    return group.where(~spec_type.astype("string").fillna("").isin(LOOKALIKE_TYPES), "SN lum")


# What the specialist GBDT (notebook 05's mode "specialist") learns TDEs against: the objects that fool the
# multiclass model most, by share (the luminous supernovae) and by count (AGN).
SPECIALIST_NEGATIVES = (*LOOKALIKE_TYPES, "AGN")


def specialist_objects(spec_type: pd.Series) -> pd.Series:
    """True for the TDEs and the SPECIALIST_NEGATIVES: the objects a specialist GBDT learns from."""
    return spec_type.astype("string").fillna("").isin(("TDE", *SPECIALIST_NEGATIVES)).astype(bool)


# The groupings a GBDT may learn (notebook 05's setting class_groups).
GROUPINGS = {"default": class_group, "lookalike": lookalike_group}

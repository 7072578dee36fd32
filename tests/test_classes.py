"""One SpecType grouping for every model: the GBDT's multiclass labels and the deep models' auxiliary head."""

import numpy as np
import pandas as pd

from utils.classes import CLASS_GROUPS, class_group, class_group_index
from utils.classes import class_group as spec_group
from utils.models import build_model
from utils.training import CNN_PROFILES, deep_settings

SPEC_TYPES = pd.Series(["TDE", "AGN", "SN Ia", "SN Ia-91bg-like", "SN Iax[02cx-like]", "SN II", "SN IIn", "SN IIb",
                        "SN Ic-BL", "SN Ib", "SLSN-I", "SLSN-II", "Kilonova", None], index=range(10, 24))


def test_spec_types_fall_into_the_five_groups():
    assert class_group(SPEC_TYPES).tolist() == ["TDE", "AGN", "SN Ia", "SN Ia", "SN Ia", "SN II", "SN II", "SN II",
                                                "other", "other", "other", "other", "other", "other"]
    assert list(class_group(SPEC_TYPES).index) == list(SPEC_TYPES.index)


def test_the_index_form_follows_class_groups_order():
    index = class_group_index(SPEC_TYPES)
    assert index.dtype == np.int64
    assert [CLASS_GROUPS[i] for i in index] == class_group(SPEC_TYPES).tolist()


def test_the_gbdt_and_the_auxiliary_head_learn_the_same_groups():
    assert spec_group is class_group
    network = build_model(deep_settings(CNN_PROFILES, "quick", aux_weight=0.3))
    assert network.head.aux.out_features == len(CLASS_GROUPS)


def test_the_lookalike_grouping_gathers_the_luminous_supernovae_and_keeps_the_rest():
    from utils.classes import GROUPINGS, lookalike_group

    spec = pd.Series(["TDE", "SN IIn", "SLSN-I", "SLSN-II", "SN II", "SN IIP", "AGN", "SN Ib", None])
    assert lookalike_group(spec).tolist() == ["TDE", "SN lum", "SN lum", "SN lum", "SN II", "SN II", "AGN", "other",
                                              "other"]
    assert GROUPINGS["default"](spec).tolist()[1:4] == ["SN II", "other", "other"]

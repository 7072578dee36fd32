"""Physics features: one module per group (utils.features.contract), one engine that builds cached tables.

    from utils.features import feature_table
    train_features = feature_table(dataset, "train")            # DataFrame indexed by object_id
    test_features = feature_table(dataset, "test")

Modules: `registry` (the groups, the default set, FEATURES_VERSION), `table` (feature_table, its cache and
the joblib executor), `distributed` (the Dask executor), and one module per group. The meaning and unit of
every column is in docs/features.md.
"""

from .registry import (BATCH_GROUPS, DEFAULT_GROUPS, FEATURES_VERSION, GROUP_NAMES, REGISTRY, extract_object,
                       feature_group, group_versions)
from .table import JoblibExecutor, TableRequest, cache_entries, feature_table

__all__ = ["BATCH_GROUPS", "DEFAULT_GROUPS", "FEATURES_VERSION", "GROUP_NAMES", "JoblibExecutor", "REGISTRY",
           "TableRequest", "cache_entries", "extract_object", "feature_group", "feature_table", "group_versions"]

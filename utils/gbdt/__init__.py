"""The tabular models: gradient-boosted trees on the physics features.

    from utils.gbdt import cross_validate_gbdt, adversarial_weights
    result = cross_validate_gbdt(tables, target, spec_type=log["SpecType"], mode="multiclass", test_features=test)

Modules: `cv` (repeated stratified CV, copies, pseudo-labels), `adversarial` (train-vs-test classifier and its
weights), `member` (what a run keeps and predict scores with; the registry of model kinds), `lightgbm` (the
default kind).
"""

from .adversarial import (ADVERSARIAL_TREES, WEIGHT_CLIP, adversarial_auc, adversarial_weights, train_vs_test,
                          weight_summary)
from .cv import class_weights, cross_validate_gbdt
from .member import MODELS, TabularMember, shap_contributions

__all__ = ["ADVERSARIAL_TREES", "MODELS", "TabularMember", "WEIGHT_CLIP", "adversarial_auc", "adversarial_weights",
           "class_weights", "cross_validate_gbdt", "shap_contributions", "train_vs_test", "weight_summary"]

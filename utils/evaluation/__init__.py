"""How every model is split, scored and blended: `folds` (stratified K-fold), `metrics` (F1, nested thresholds,
the honest summary), `cv_result` (one CV result for every model), `blend` (members in logit space, member
selection) and `paired` (the paired-gain-beyond-one-SE decision rule)."""

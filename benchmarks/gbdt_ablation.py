"""Measure what each choice in the GBDT brings: feature groups, redshift handling, pseudo-labels, tuning.

    .venv/bin/python benchmarks/gbdt_ablation.py --data-dir ../shared/mallorn --experiment groups
    .venv/bin/python benchmarks/gbdt_ablation.py --data-dir ../shared/mallorn --experiment redshift
    .venv/bin/python benchmarks/gbdt_ablation.py --data-dir ../shared/mallorn --experiment pseudo
    .venv/bin/python benchmarks/gbdt_ablation.py --data-dir ../shared/mallorn --experiment tuning [--cv-seeds 42,0,1]

groups/redshift/pseudo: every row is the multiclass LightGBM (utils.gbdt defaults) under 3 x 5-fold
repeated stratified CV, seed 0, scored by utils.evaluation.metrics.honest_summary: nested-threshold F1 (mean ± std
over 10 fold splits), OOF-optimised F1, average precision. Prints a markdown table. Features come from
the cache (utils.features.feature_table), so after notebook 05 has run once only the models train.

tuning: the multiclass GBDT exactly as notebook 05 trains it (3 redshift draws, one per CV repeat), with
and without some feature columns (the SED-shape features, a feature group) and under other tree settings,
at several CV seeds (fold shuffles), because one shuffle alone moves the F1 noticeably (the spread over CV seeds:
docs/results.md, "Tuning"). Each cell is the nested F1 averaged over 10 seeds of the threshold splits; the row's
mean over the CV seeds is what to compare.
"""

from __future__ import annotations

import time

import common  # first: puts the project root on sys.path
import numpy as np
from sklearn.metrics import average_precision_score

from utils.data.load import load_dataset
from utils.evaluation.metrics import honest_summary
from utils.features import DEFAULT_GROUPS, GROUP_NAMES, feature_table
from utils.features.gp import SED_NAMES
from utils.gbdt import adversarial_auc
from utils.gbdt.lightgbm import PARAMS as LGBM_PARAMS


REDSHIFT_SEED = common.SEED  # the notebooks' default seed: the same perturbed table notebook 05 trains on
PREVIOUS_PARAMS = {"n_estimators": 800, "colsample_bytree": 0.3, "extra_trees": False}  # defaults before this table
TUNING_ROWS = (  # (name, feature columns left out, LightGBM settings over utils.gbdt.lightgbm.PARAMS)
    ("previous defaults: no SED-shape features, 800 trees", SED_NAMES, PREVIOUS_PARAMS),
    ("+ SED-shape features", (), PREVIOUS_PARAMS),
    ("+ SED-shape features, colsample 0.15", (), {**PREVIOUS_PARAMS, "colsample_bytree": 0.15}),
    ("+ SED-shape features, extra trees", (), {**PREVIOUS_PARAMS, "extra_trees": True}),
    ("+ SED-shape features, extra trees, 1600 trees (the default)", (), {}),
    ("+ SED-shape features, extra trees, colsample 0.15", (),
     {**PREVIOUS_PARAMS, "extra_trees": True, "colsample_bytree": 0.15}),
    ("no SED-shape features, colsample 0.15", SED_NAMES, {**PREVIOUS_PARAMS, "colsample_bytree": 0.15}),
    ("the default without the timescales group", GROUP_NAMES["timescales"], {}),
)


def score(name: str, features, dataset, **kwargs) -> list[str]:
    """The table row of the multiclass GBDT at CV seed 0 on these features."""
    result = common.multiclass_cv(dataset, features, 0, **kwargs)
    s = honest_summary(dataset.train_log["target"], result.oof_prob, repeats=10)
    extra = result.settings["pseudo_labels_per_fold"]
    return [name, f"{s['f1']:.3f} ± {s['f1_nested_std']:.3f}", f"{s['f1_oof_optimised']:.3f}",
            f"{s['average_precision']:.3f}", f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{extra:.0f}",
            f"{result.seconds:.0f}"]


def tuning_row(name: str, tables, dataset, params: dict, cv_seeds: list[int]) -> list[str]:
    """Nested F1 (mean over 10 threshold-split seeds) at each CV seed, their mean and spread, and mean AP."""
    y = dataset.train_log["target"].astype(int).to_numpy()
    started = time.perf_counter()
    f1s, aps = [], []
    for cv_seed in cv_seeds:
        prob = common.multiclass_cv(dataset, tables, cv_seed, params=params).oof_prob
        f1s.append(common.mean_nested_f1(y, prob))
        aps.append(average_precision_score(y, prob))
    return [name, " / ".join(f"{f:.3f}" for f in f1s), f"**{np.mean(f1s):.3f}** ± {np.std(f1s):.3f}",
            f"{np.mean(aps):.3f}", f"{time.perf_counter() - started:.0f}"]


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--experiment", choices=("groups", "redshift", "pseudo", "tuning"), required=True)
    parser.add_argument("--cv-seeds", type=common.int_list, default="42,0,1,2,3,4,5,6",
                        help="tuning: comma-separated CV seeds")
    parser.add_argument("--rows", type=common.int_list, default=None,
                        help="tuning: comma-separated row numbers (0-based) to run")
    args = parser.parse_args(argv)
    dataset = load_dataset(args.data_dir)
    if args.experiment == "tuning":
        draws = common.training_tables(dataset)
        common.print_header(["variant", f"F1 nested at CV seeds {' / '.join(map(str, args.cv_seeds))}", "mean ± sd",
                             "AP (mean)", "seconds"])
        for r in range(len(TUNING_ROWS)) if args.rows is None else args.rows:
            name, left_out, params = TUNING_ROWS[r]
            tables = [t.drop(columns=list(left_out)) for t in draws]
            common.print_row(tuning_row(name, tables, dataset, {**LGBM_PARAMS, **params}, args.cv_seeds))
        return 0
    spec_z = feature_table(dataset, "train")
    noisy_z = feature_table(dataset, "train", redshift_seed=REDSHIFT_SEED)
    test = feature_table(dataset, "test")
    common.print_header(["variant", "F1 nested", "F1 OOF-optimised", "AP", "precision", "recall",
                         "pseudo-labels per fold", "seconds"])
    if args.experiment == "groups":
        common.print_row(score("all groups", noisy_z, dataset))
        for group in DEFAULT_GROUPS:
            names = GROUP_NAMES[group]
            common.print_row(score(f"without {group}", noisy_z.drop(columns=list(names)), dataset))
    elif args.experiment == "redshift":
        common.print_row(score("train Z spectroscopic", spec_z, dataset))
        common.print_row(score("train Z perturbed by test Z_err (one draw)", noisy_z, dataset))
        common.print_row(score("train Z perturbed, one draw per CV repeat (3 draws)", common.training_tables(dataset),
                               dataset))
        for name, table in (("spectroscopic", spec_z), ("perturbed", noisy_z)):
            started = time.perf_counter()
            auc, telling = adversarial_auc(table, test, seed=REDSHIFT_SEED)
            print(f"adversarial AUC, train Z {name}: {auc:.3f} (top: {telling.head(3).round(3).to_dict()}, "
                  f"{time.perf_counter() - started:.0f} s)", flush=True)
    else:
        common.print_row(score("no pseudo-labels", noisy_z, dataset))
        for confidence in (0.97, 0.90):
            common.print_row(score(f"pseudo-labels at class probability >= {confidence}", noisy_z, dataset,
                                   test_features=test, pseudo_confidence=confidence))
    return 0


if __name__ == "__main__":
    common.run(main)

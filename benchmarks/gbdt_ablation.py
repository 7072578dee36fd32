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
at several CV seeds (fold shuffles), because one shuffle moves the F1 by ±0.02. Each cell is the nested
F1 averaged over 10 seeds of the threshold splits; the row's mean over the CV seeds is what to compare.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sklearn.metrics import average_precision_score  # noqa: E402

from utils.data.load import load_dataset  # noqa: E402
from utils.evaluation.metrics import honest_summary  # noqa: E402
from utils.features import DEFAULT_GROUPS, GROUP_NAMES, feature_table  # noqa: E402
from utils.features.gp import SED_NAMES  # noqa: E402
from utils.gbdt import adversarial_auc, cross_validate_gbdt  # noqa: E402
from utils.gbdt.lightgbm import PARAMS as LGBM_PARAMS  # noqa: E402

REDSHIFT_SEED = 42  # the notebooks' default seed: the same perturbed table notebook 05 trains on
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


def score(name: str, features, dataset, **kwargs) -> str:
    log = dataset.train_log
    result = cross_validate_gbdt(features, log["target"].astype(int), spec_type=log["SpecType"], mode="multiclass",
                            n_repeats=3, seed=0, **kwargs)
    s = honest_summary(log["target"], result.oof_prob, repeats=10)
    extra = result.settings["pseudo_labels_per_fold"]
    return (f"| {name} | {s['f1']:.3f} ± {s['f1_nested_std']:.3f} | {s['f1_oof_optimised']:.3f} | "
            f"{s['average_precision']:.3f} | {s['precision']:.3f} | {s['recall']:.3f} | "
            f"{extra:.0f} | {result.seconds:.0f} |")


def tuning_row(name: str, tables, dataset, params: dict, cv_seeds: list[int]) -> str:
    """Nested F1 (mean over 10 threshold-split seeds) at each CV seed, their mean and spread, and mean AP."""
    log = dataset.train_log
    y = log["target"].astype(int).to_numpy()
    started = time.perf_counter()
    f1s, aps = [], []
    for cv_seed in cv_seeds:
        prob = cross_validate_gbdt(tables, log["target"].astype(int), spec_type=log["SpecType"], mode="multiclass",
                              n_repeats=3, seed=cv_seed, params=params).oof_prob
        f1s.append(np.mean([honest_summary(y, prob, seed=s, repeats=3)["f1"] for s in range(10)]))
        aps.append(average_precision_score(y, prob))
    return (f"| {name} | {' / '.join(f'{f:.3f}' for f in f1s)} | **{np.mean(f1s):.3f}** ± {np.std(f1s):.3f} | "
            f"{np.mean(aps):.3f} | {time.perf_counter() - started:.0f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--experiment", choices=("groups", "redshift", "pseudo", "tuning"), required=True)
    parser.add_argument("--cv-seeds", default="42,0,1,2,3,4,5,6", help="tuning: comma-separated CV seeds")
    parser.add_argument("--rows", default=None, help="tuning: comma-separated row numbers (0-based) to run")
    args = parser.parse_args(argv)
    dataset = load_dataset(args.data_dir)
    if args.experiment == "tuning":
        cv_seeds = [int(s) for s in args.cv_seeds.split(",")]
        draws = [feature_table(dataset, "train", redshift_seed=REDSHIFT_SEED + r) for r in range(3)]
        rows = range(len(TUNING_ROWS)) if args.rows is None else [int(r) for r in args.rows.split(",")]
        print(f"| variant | F1 nested at CV seeds {' / '.join(map(str, cv_seeds))} | mean ± sd | AP (mean) | seconds |")
        print("| --- | --- | --- | --- | --- |")
        for r in rows:
            name, left_out, params = TUNING_ROWS[r]
            tables = [t.drop(columns=list(left_out)) for t in draws]
            print(tuning_row(name, tables, dataset, {**LGBM_PARAMS, **params}, cv_seeds), flush=True)
        return 0
    spec_z = feature_table(dataset, "train")
    noisy_z = feature_table(dataset, "train", redshift_seed=REDSHIFT_SEED)
    test = feature_table(dataset, "test")
    print("| variant | F1 nested | F1 OOF-optimised | AP | precision | recall | pseudo-labels per fold | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    if args.experiment == "groups":
        print(score("all groups", noisy_z, dataset), flush=True)
        for group in DEFAULT_GROUPS:
            names = GROUP_NAMES[group]
            print(score(f"without {group}", noisy_z.drop(columns=list(names)), dataset), flush=True)
    elif args.experiment == "redshift":
        print(score("train Z spectroscopic", spec_z, dataset), flush=True)
        print(score("train Z perturbed by test Z_err (one draw)", noisy_z, dataset), flush=True)
        draws = [feature_table(dataset, "train", redshift_seed=REDSHIFT_SEED + r) for r in range(3)]
        print(score("train Z perturbed, one draw per CV repeat (3 draws)", draws, dataset), flush=True)
        for name, table in (("spectroscopic", spec_z), ("perturbed", noisy_z)):
            started = time.perf_counter()
            auc, telling = adversarial_auc(table, test, seed=REDSHIFT_SEED)
            print(f"adversarial AUC, train Z {name}: {auc:.3f} (top: {telling.head(3).round(3).to_dict()}, "
                  f"{time.perf_counter() - started:.0f} s)", flush=True)
    else:
        print(score("no pseudo-labels", noisy_z, dataset), flush=True)
        for confidence in (0.97, 0.90):
            print(score(f"pseudo-labels at class probability >= {confidence}", noisy_z, dataset,
                        test_features=test, pseudo_confidence=confidence), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

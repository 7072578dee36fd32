"""Measure what each choice in the GBDT brings: feature groups, redshift handling, pseudo-labels.

    .venv/bin/python benchmarks/ablate_gbdt.py --data-dir ../shared/mallorn --experiment groups
    .venv/bin/python benchmarks/ablate_gbdt.py --data-dir ../shared/mallorn --experiment redshift
    .venv/bin/python benchmarks/ablate_gbdt.py --data-dir ../shared/mallorn --experiment pseudo

Every row is the multiclass LightGBM (utils.gbdt defaults) under 3 x 5-fold repeated stratified CV,
seed 0, scored by utils.metrics.honest_summary: nested-threshold F1 (mean ± std over 10 fold splits),
OOF-optimised F1, average precision. Prints a markdown table. Features come from the cache
(utils.features.feature_table), so after notebook 05 has run once only the models train.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from utils.data import load_dataset  # noqa: E402
from utils.features import GROUP_NAMES, feature_table  # noqa: E402
from utils.gbdt import adversarial_auc, cross_validate  # noqa: E402
from utils.metrics import honest_summary  # noqa: E402

REDSHIFT_SEED = 42  # the notebooks' default seed: the same perturbed table notebook 05 trains on


def score(name: str, features, dataset, **kwargs) -> str:
    log = dataset.train_log
    result = cross_validate(features, log["target"].astype(int), spec_type=log["SpecType"], mode="multiclass",
                            n_repeats=3, seed=0, **kwargs)
    s = honest_summary(log["target"], result.oof, repeats=10)
    extra = result.settings["pseudo_labels_per_fold"]
    return (f"| {name} | {s['f1']:.3f} ± {s['f1_nested_std']:.3f} | {s['f1_oof_optimised']:.3f} | "
            f"{s['average_precision']:.3f} | {s['precision']:.3f} | {s['recall']:.3f} | "
            f"{extra:.0f} | {result.seconds:.0f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--experiment", choices=("groups", "redshift", "pseudo"), required=True)
    args = parser.parse_args(argv)
    dataset = load_dataset(args.data_dir)
    spec_z = feature_table(dataset, "train")
    noisy_z = feature_table(dataset, "train", redshift_seed=REDSHIFT_SEED)
    test = feature_table(dataset, "test")
    print("| variant | F1 nested | F1 OOF-optimised | AP | precision | recall | pseudo-labels per fold | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    if args.experiment == "groups":
        print(score("all groups", noisy_z, dataset), flush=True)
        for group, names in GROUP_NAMES.items():
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

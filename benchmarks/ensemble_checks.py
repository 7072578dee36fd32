"""How much of the ensemble's and the GBDT's F1 is noise, and whether other ways to combine beat the blend.

    .venv/bin/python benchmarks/ensemble_checks.py --data-dir ../shared/mallorn --run submissions/latest \
        --experiment blend|stack|catboost|spectype

`--run` is a run folder of all five notebooks (its `oof.csv` holds every member's OOF probabilities).
Every F1 is the nested (honest) one, averaged over 10 seeds of the threshold splits (3 splits each), so
one lucky split does not decide a row:

* blend:    each member alone, and each blend method fitted inside CV, averaged over 10 blender fold splits.
* stack:    the multiclass GBDT on the physics features, and the same with the CNN's and Transformer's
            OOF logits as two extra features, at CV seeds 42, 0, 1, 2 (the fold-shuffle spread).
* catboost: a CatBoost multiclass model (needs `pip install catboost`), alone and blended with the GBDT.
* spectype: the multiclass GBDT with SN IIn and/or SLSN as classes of their own.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import utils.gbdt as gbdt  # noqa: E402
from utils.data import load_dataset  # noqa: E402
from utils.ensemble import METHODS, cross_validated_blend, logit  # noqa: E402
from utils.features import feature_table  # noqa: E402
from utils.metrics import honest_summary  # noqa: E402

SEED = 42  # the notebooks' default: the redshift draws notebook 05 trains on are SEED, SEED + 1, SEED + 2
N_SEEDS = 10


def mean_nested_f1(y: np.ndarray, prob_for_seed) -> tuple[float, float]:
    """Mean and spread of the nested F1 over N_SEEDS seeds; `prob_for_seed(s)` may depend on the seed."""
    scores = [honest_summary(y, np.asarray(prob_for_seed(s)), seed=s, repeats=3)["f1"] for s in range(N_SEEDS)]
    return float(np.mean(scores)), float(np.std(scores))


def row(name: str, y: np.ndarray, prob_for_seed, started: float) -> str:
    mean, spread = mean_nested_f1(y, prob_for_seed)
    one = np.asarray(prob_for_seed(0))
    summary = honest_summary(y, one, seed=0)
    return (f"| {name} | {mean:.3f} ± {spread:.3f} | {summary['f1_oof_optimised']:.3f} | "
            f"{summary['average_precision']:.3f} | {time.perf_counter() - started:.0f} |")


def multiclass_oof(tables, dataset, seed: int, spec_group=None) -> np.ndarray:
    """OOF P(TDE) of the default multiclass GBDT (3 repeats, one redshift draw each)."""
    log = dataset.train_log
    original = gbdt.spec_group
    if spec_group is not None:
        gbdt.spec_group = spec_group
    try:
        result = gbdt.cross_validate(tables, log["target"].astype(int), spec_type=log["SpecType"],
                                     mode="multiclass", n_repeats=3, seed=seed)
    finally:
        gbdt.spec_group = original
    return result.oof.to_numpy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--run", required=True, help="run folder of all notebooks (holds oof.csv)")
    parser.add_argument("--experiment", choices=("blend", "stack", "catboost", "spectype"), required=True)
    args = parser.parse_args(argv)
    oof_path = Path(args.run) / "oof.csv"
    if not oof_path.is_file():
        raise SystemExit(f"{oof_path} not found: give the folder of a run of all notebooks (make run)")
    oof = pd.read_csv(oof_path, index_col="object_id")
    dataset = load_dataset(args.data_dir)
    train_ids = dataset.train_log.index
    missing = train_ids.difference(oof.index)
    if len(missing):
        raise SystemExit(f"{oof_path} lacks {len(missing)} training objects of this data set, e.g. {missing[0]}")
    oof = oof.reindex(train_ids)
    y = oof["target"].to_numpy().astype(int)
    members = [c for c in oof.columns if c not in ("target", "ensemble")]
    if args.experiment != "blend":  # the blend needs only the OOF; the others retrain on the features
        tables = [feature_table(dataset, "train", redshift_seed=SEED + draw) for draw in range(3)]

    print("| variant | F1 nested (mean ± sd over 10 seeds) | F1 OOF-optimised | AP | seconds |")
    print("| --- | --- | --- | --- | --- |")
    started = time.perf_counter()
    if args.experiment == "blend":
        for member in members:
            print(row(f"{member} alone", y, lambda s, m=member: oof[m], started), flush=True)
        target = oof["target"].astype(int)
        for method in METHODS:
            started = time.perf_counter()
            print(row(f"blend `{method}` of {', '.join(members)}", y,
                      lambda s, m=method: cross_validated_blend(oof[members], target, m, seed=s), started), flush=True)
    elif args.experiment == "stack":
        deep = [m for m in ("cnn", "transformer") if m in oof.columns]
        if not deep:
            raise SystemExit(f"{oof_path} has no cnn/transformer column: run notebooks 03 and 04 first")
        extra = pd.DataFrame({m: logit(oof[m].to_numpy()) for m in deep}, index=train_ids)
        stacked = [table.join(extra) for table in tables]
        for cv_seed in (SEED, 0, 1, 2):
            for name, features in (("GBDT", tables), (f"GBDT + {' + '.join(deep)} OOF as features", stacked)):
                started = time.perf_counter()
                prob = multiclass_oof(features, dataset, cv_seed)
                print(row(f"{name}, CV seed {cv_seed}", y, lambda s: prob, started), flush=True)
    elif args.experiment == "catboost":
        prob = catboost_oof(tables, dataset)
        print(row("CatBoost multiclass (600 trees, depth 4)", y, lambda s: prob, started), flush=True)
        both = pd.DataFrame({"gbdt": oof["gbdt"].to_numpy(), "catboost": prob}, index=train_ids)
        target = oof["target"].astype(int)
        for method in ("mean", "weights"):
            started = time.perf_counter()
            print(row(f"blend `{method}` of GBDT and CatBoost", y,
                      lambda s, m=method: cross_validated_blend(both, target, m, seed=s), started), flush=True)
    else:
        for own_iin, own_slsn in ((False, False), (True, False), (False, True), (True, True)):
            started = time.perf_counter()
            name = {(False, False): "default groups (TDE, AGN, SN Ia, SN II, other)",
                    (True, False): "SN IIn its own class", (False, True): "SLSN its own class",
                    (True, True): "SN IIn and SLSN their own classes"}[own_iin, own_slsn]
            prob = multiclass_oof(tables, dataset, SEED, spec_group_variant(own_iin, own_slsn))
            print(row(name, y, lambda s: prob, started), flush=True)
    return 0


def spec_group_variant(own_iin: bool, own_slsn: bool):
    """The default SpecType groups, with SN IIn and/or SLSN split out."""
    default = gbdt.spec_group

    def spec_group(spec_type: pd.Series) -> pd.Series:
        group = default(spec_type).copy()
        text = spec_type.astype("string").fillna("")
        if own_iin:
            group[text == "SN IIn"] = "SN IIn"
        if own_slsn:
            group[text.str.startswith("SLSN")] = "SLSN"
        return group
    return spec_group


def catboost_oof(tables, dataset) -> np.ndarray:
    try:
        from catboost import CatBoostClassifier
    except ImportError:
        raise SystemExit("the catboost experiment needs catboost: .venv/bin/pip install catboost") from None
    log = dataset.train_log
    labels = gbdt.spec_group(log["SpecType"]).to_numpy()
    weight = gbdt.class_weights(labels, "sqrt")
    oof = np.zeros((3, len(labels)))
    for repeat, fit_rows, score_rows in gbdt.repeated_folds(labels, 5, 3, SEED):
        table = tables[repeat]
        model = CatBoostClassifier(iterations=600, learning_rate=0.05, depth=4, l2_leaf_reg=3, rsm=0.3,
                                   loss_function="MultiClass", verbose=0, thread_count=2, random_seed=SEED + repeat)
        model.fit(table.iloc[fit_rows], labels[fit_rows], sample_weight=weight[fit_rows])
        oof[repeat, score_rows] = model.predict_proba(table.iloc[score_rows])[:, list(model.classes_).index("TDE")]
    return oof.mean(axis=0)


if __name__ == "__main__":
    sys.exit(main())

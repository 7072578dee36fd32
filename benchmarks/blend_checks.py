"""How much of the ensemble's and the GBDT's F1 is noise, and whether other ways to combine beat the blend.

    .venv/bin/python benchmarks/blend_checks.py --data-dir ../shared/mallorn --run submissions/latest \
        --experiment blend|stack|catboost|spectype|repeats

`--run` is a run folder of all five notebooks (its `oof.csv` holds every member's OOF probabilities).
Every F1 is the nested (honest) one, averaged over 10 seeds of the threshold splits (3 splits each), so
one lucky split does not decide a row:

* blend:    each member alone, and each blend method fitted inside CV (on one blender fold split, and averaged
            over 5 as notebook 05 does), over 10 seeds of the blender splits.
* stack:    the multiclass GBDT on the physics features, and the same with the CNN's and Transformer's
            OOF logits as two extra features, at CV seeds 42, 0, 1, 2 (the fold-shuffle spread).
* catboost: a CatBoost multiclass model (needs `pip install catboost`), alone and blended with the GBDT.
* spectype: the multiclass GBDT with SN IIn and/or SLSN as classes of their own.
* repeats:  the multiclass GBDT with 5 redshift draws and 5 CV repeats at CV seeds 42, 0, 1: each repeat
            alone, and the average of the first 3 (the default) against all 5.
"""

from __future__ import annotations

import time
from pathlib import Path

import common  # first: puts the project root on sys.path
import numpy as np
import pandas as pd

from utils.classes import CLASS_GROUPS, class_group
from utils.data.load import load_dataset
from utils.evaluation.blend import METHODS, cross_validated_blend, logit
from utils.evaluation.folds import repeated_folds
from utils.evaluation.metrics import honest_summary
from utils.gbdt import class_weights


SEED = common.SEED  # the notebooks' default: the redshift draws notebook 05 trains on are SEED, SEED + 1, SEED + 2
N_SEEDS = common.THRESHOLD_SPLITS
BLEND_REPEATS = 5  # notebook 05's default profile


def row(name: str, y: np.ndarray, prob_for_seed, started: float) -> str:
    """One table row: nested F1 mean ± spread over N_SEEDS seeds (`prob_for_seed(s)` may depend on the
    seed, e.g. a blend fitted on seed-s folds); the nested F1 at seed SEED as notebook 05 computes it (10
    threshold splits; SEED is also the members' CV seed, so a blend's folds coincide with theirs); and
    OOF-optimised F1 and AP of the seed-0 probabilities."""
    probs = [np.asarray(prob_for_seed(s)) for s in range(N_SEEDS)]
    scores = [honest_summary(y, prob, seed=s, repeats=3)["f1"] for s, prob in enumerate(probs)]
    at_seed = honest_summary(y, np.asarray(prob_for_seed(SEED)), seed=SEED, repeats=10)["f1"]
    summary = honest_summary(y, probs[0], seed=0)
    return common.markdown_row([name, f"{np.mean(scores):.3f} ± {np.std(scores):.3f}", f"{at_seed:.3f}",
                                f"{summary['f1_oof_optimised']:.3f}", f"{summary['average_precision']:.3f}",
                                f"{time.perf_counter() - started:.0f}"])


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--run", required=True, help="run folder of all notebooks (holds oof.csv)")
    parser.add_argument("--experiment", choices=("blend", "stack", "catboost", "spectype", "repeats"),
                        required=True)
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
        n_draws = 5 if args.experiment == "repeats" else 3
        tables = common.training_tables(dataset, n_draws)

    common.print_header(["variant", f"F1 nested (mean ± sd over {N_SEEDS} seeds)", f"F1 nested, seed {SEED}",
                         "F1 OOF-optimised", "AP", "seconds"])
    started = time.perf_counter()
    if args.experiment == "blend":
        for member in members:
            print(row(f"{member} alone", y, lambda s, m=member: oof[m], started), flush=True)
        target = oof["target"].astype(int)
        for method in METHODS:
            for repeats in (1, BLEND_REPEATS):
                started = time.perf_counter()
                print(row(f"blend `{method}` of {', '.join(members)}, {repeats} blender split(s)", y,
                          lambda s, m=method, r=repeats: cross_validated_blend(oof[members], target, m, seed=s,
                                                                               n_repeats=r), started), flush=True)
    elif args.experiment == "stack":
        deep = [m for m in ("cnn", "transformer") if m in oof.columns]
        if not deep:
            raise SystemExit(f"{oof_path} has no cnn/transformer column: run notebooks 03 and 04 first")
        extra = pd.DataFrame({m: logit(oof[m].to_numpy()) for m in deep}, index=train_ids)
        stacked = [table.join(extra) for table in tables]
        for cv_seed in (SEED, 0, 1, 2):
            for name, features in (("GBDT", tables), (f"GBDT + {' + '.join(deep)} OOF as features", stacked)):
                started = time.perf_counter()
                prob = common.multiclass_cv(dataset, features, cv_seed).oof_prob
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
    elif args.experiment == "repeats":
        for cv_seed in (SEED, 0, 1):
            started = time.perf_counter()
            by_repeat = common.multiclass_cv(dataset, tables, cv_seed, n_repeats=5).oof_by_repeat
            for repeat, prob in enumerate(by_repeat):
                print(row(f"CV seed {cv_seed}, repeat {repeat} alone", y, lambda s, p=prob: p, started), flush=True)
            for k in (3, 5):
                print(row(f"CV seed {cv_seed}, mean of {k} repeats", y, lambda s, p=by_repeat[:k].mean(0): p,
                          started), flush=True)
    else:
        for own_iin, own_slsn in ((False, False), (True, False), (False, True), (True, True)):
            started = time.perf_counter()
            name = {(False, False): f"default groups ({', '.join(CLASS_GROUPS)})",
                    (True, False): "SN IIn its own class", (False, True): "SLSN its own class",
                    (True, True): "SN IIn and SLSN their own classes"}[own_iin, own_slsn]
            prob = common.multiclass_cv(dataset, tables, SEED, groups=spec_group_variant(own_iin, own_slsn)).oof_prob
            print(row(name, y, lambda s: prob, started), flush=True)
    return 0


def spec_group_variant(own_iin: bool, own_slsn: bool):
    """The default SpecType groups, with SN IIn and/or SLSN split out."""
    def spec_group(spec_type: pd.Series) -> pd.Series:
        group = class_group(spec_type).copy()
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
    labels = class_group(log["SpecType"]).to_numpy()
    weight = class_weights(labels, "sqrt")
    oof = np.zeros((3, len(labels)))
    for repeat, fit_rows, score_rows in repeated_folds(labels, 5, 3, SEED):
        table = tables[repeat]
        model = CatBoostClassifier(iterations=600, learning_rate=0.05, depth=4, l2_leaf_reg=3, rsm=0.3,
                                   loss_function="MultiClass", verbose=0, thread_count=2, random_seed=SEED + repeat)
        model.fit(table.iloc[fit_rows], labels[fit_rows], sample_weight=weight[fit_rows])
        oof[repeat, score_rows] = model.predict_proba(table.iloc[score_rows])[:, list(model.classes_).index("TDE")]
    return oof.mean(axis=0)


if __name__ == "__main__":
    common.run(main)

"""Which feature groups pay: the default against default + each candidate group, over several CV seeds.

    nice -n 10 .venv/bin/python benchmarks/features_ablation.py --data-dir ../shared/mallorn \
        --rows default,+parsnip,+agn,+fits --cv-seeds 42,0,1,2,3
    nice -n 10 .venv/bin/python benchmarks/features_ablation.py --data-dir ../shared/mallorn \
        --rows default,default@adv --cv-seeds 42,0,1,2,3

Every row is the multiclass GBDT exactly as notebook 05 trains it (3 training tables, one per redshift
draw and CV repeat; utils.gbdt.cross_validate_gbdt with utils.gbdt.lightgbm.PARAMS). A row is `default` (the
groups in utils.features.DEFAULT_GROUPS), `+g1+g2` (the default plus these groups) or `-g` (the default
without g), optionally followed by a weighting suffix: `@adv` trains with adversarial-validation
sample weights (utils.gbdt.adversarial_weights: the out-of-fold train-vs-test density ratio of each
training object, from the row's three perturbed-Z training tables against the test table of the same
groups, clipped to utils.gbdt.WEIGHT_CLIP and scaled to mean 1; estimated afresh at every CV seed, with
that seed, so the paired difference includes the weights' own estimation noise), e.g. `default@adv` or
`+agn@adv`. `@copies<N>` adds N degraded copies of every training object to each fold's training rows
(utils.data.copies; drawn once with COPY_SEED, features under the same redshift draws; scored on the
originals only), e.g. `default@adv@copies2`. An unknown suffix is refused. Per CV seed: the nested-threshold F1 averaged over 10 threshold-split seeds
(utils.evaluation.metrics.honest_summary) and the average precision of the OOF scores. Against the first row it
prints the paired difference per seed and its standard error (std of the paired differences / sqrt(n)).

Feature tables come from the cache (utils.features.feature_table; a candidate group is cached on its
own), and every (row, seed) score is stored in --scores (JSON), so a rerun or a new row costs only the
GBDTs not yet run; processes running other rows or seeds share the file (it is locked while written).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from pathlib import Path

import common  # first: puts the project root on sys.path
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from utils.data.copies import COPY_SEED, DROP_MAX_RATE, MIN_POINTS, NOISE_MAX_SIGMAS, degraded_copies
from utils.data.load import DEFAULT_CACHE_DIR, load_dataset
from utils.features import DEFAULT_GROUPS, FEATURES_VERSION, GROUP_NAMES, REGISTRY, feature_table, group_versions
from utils.gbdt import ADVERSARIAL_TREES, WEIGHT_CLIP, adversarial_weights, weight_summary
from utils.gbdt.lightgbm import PARAMS as LGBM_PARAMS


REDSHIFT_SEED = common.SEED  # notebook 05's: training tables use redshift draws 42, 43, 44
N_DRAWS = 3
THRESHOLD_SPLITS = common.THRESHOLD_SPLITS  # part of every score's key: nested F1 over 10 threshold-split seeds
DEFAULT_SCORES = DEFAULT_CACHE_DIR / "features_ablation_scores.json"
WEIGHTINGS = {"adv": "adversarial-validation sample weights (utils.gbdt.adversarial_weights)"}


def row_groups(row: str) -> list[str]:
    """'default' -> DEFAULT_GROUPS; '+a+b' adds groups a and b; '-a' removes group a."""
    groups = list(DEFAULT_GROUPS)
    if row == "default":
        return groups
    for token in row.replace("-", " -").replace("+", " +").split():
        sign, group = token[0], token[1:]
        if group not in REGISTRY or sign not in "+-":
            raise SystemExit(f"row {row!r}: {token!r} is not +group or -group of {list(REGISTRY)}")
        if sign == "+" and group not in groups:
            groups.append(group)
        elif sign == "-" and group in groups:
            groups.remove(group)
    return groups


def parse_row(row: str) -> tuple[list[str], str | None, int]:
    """'<groups>[@adv][@copies<N>]' -> (row_groups(<groups>), weighting or None, copies per object);
    e.g. 'default@adv' or 'default@adv@copies2'."""
    groups, *options = row.split("@")
    weighting, copies = None, 0
    if len(set(options)) < len(options):
        raise SystemExit(f"row {row!r}: a suffix appears twice")
    for option in options:
        if option in WEIGHTINGS:
            weighting = option
        elif option.startswith("copies") and option[len("copies"):].isdigit() and int(option[len("copies"):]) > 0:
            copies = int(option[len("copies"):])
        else:
            raise SystemExit(f"row {row!r}: unknown suffix '@{option}'; known: "
                             + ", ".join(f"@{name} ({meaning})" for name, meaning in WEIGHTINGS.items())
                             + ", @copies<N> (N degraded copies of every training object, utils.data.copies)")
    return row_groups(groups), weighting, copies


def score_key(dataset, groups: list[str], cv_seed: int, weighting: str | None = None, copies: int = 0) -> str:
    spec = [dataset.fingerprint, FEATURES_VERSION, sorted(groups), cv_seed, REDSHIFT_SEED, N_DRAWS,
            THRESHOLD_SPLITS, sorted(LGBM_PARAMS.items())]
    if weighting is not None:  # unweighted rows keep the keys they were stored under before weightings existed
        spec += [weighting, ADVERSARIAL_TREES, list(WEIGHT_CLIP)]
    if copies:  # likewise rows without copies
        spec += [f"copies{copies}", COPY_SEED, DROP_MAX_RATE, NOISE_MAX_SIGMAS, MIN_POINTS]
    versions = group_versions(groups)
    if versions:  # likewise rows of groups without their own VERSION
        spec.append(versions)
    spec = json.dumps(spec, default=str)
    return hashlib.sha1(spec.encode()).hexdigest()[:16]


def load_scores(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def save_score(path: Path, key: str, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several processes (rows, seed ranges) share the file
        scores = load_scores(path)  # re-read: another process may have added scores meanwhile
        scores[key] = value
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(scores, indent=1, sort_keys=True))
        tmp.replace(path)


def training_table(dataset, groups: list[str], redshift_seed: int | None, kind: str = "train") -> pd.DataFrame:
    """The default groups' cached table (less any removed group) joined with each added group's own
    cached table, so a candidate costs only its own extraction. kind 'test' takes redshift_seed None."""
    base = feature_table(dataset, kind, groups=list(DEFAULT_GROUPS), redshift_seed=redshift_seed)
    parts = [base[[n for g in DEFAULT_GROUPS if g in groups for n in GROUP_NAMES[g]]]]
    parts += [feature_table(dataset, kind, groups=[g], redshift_seed=redshift_seed)
              for g in groups if g not in DEFAULT_GROUPS]
    return pd.concat(parts, axis=1)


def run_cv(dataset, tables: list[pd.DataFrame], cv_seed: int, test_table: pd.DataFrame | None = None,
           copy_tables: list[pd.DataFrame] | None = None) -> dict:
    """One CV seed of the multiclass GBDT; with `test_table`, weighted by adversarial weights (seed cv_seed);
    with `copy_tables`, each fold also trains on its objects' degraded copies."""
    y = dataset.train_log["target"].astype(int).to_numpy()
    started = time.perf_counter()
    weights, extra = None, {}
    if test_table is not None:
        weights = adversarial_weights(tables, test_table, seed=cv_seed)
        extra = {"weights": weight_summary(weights), "weight_seconds": time.perf_counter() - started}
    prob = common.multiclass_cv(dataset, tables, cv_seed, n_repeats=N_DRAWS, sample_weight=weights,
                                copies=copy_tables).oof_prob
    f1 = common.mean_nested_f1(y, prob, THRESHOLD_SPLITS)
    return {"f1": f1, "ap": float(average_precision_score(y, prob)), "seconds": time.perf_counter() - started,
            "n_features": int(tables[0].shape[1]), **extra}


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--rows", type=common.names,
                        default="default," + ",".join(f"+{g}" for g in REGISTRY if g not in DEFAULT_GROUPS),
                        help="comma-separated rows (+group, -group, optional @adv suffix); the first is the "
                             "baseline of the paired differences")
    parser.add_argument("--cv-seeds", type=common.int_list, default="42,0,1,2,3")
    parser.add_argument("--scores", type=Path, default=DEFAULT_SCORES, help="JSON store of (row, seed) scores")
    parser.add_argument("--table-only", action="store_true", help="print the table from stored scores only")
    args = parser.parse_args(argv)
    dataset = load_dataset(args.data_dir)
    rows, cv_seeds = args.rows, args.cv_seeds
    results: dict[str, list[dict | None]] = {}
    parsed = {row: parse_row(row) for row in rows}  # every row checked before any GBDT runs
    for row in rows:
        groups, weighting, copies = parsed[row]
        keys = [score_key(dataset, groups, seed, weighting, copies) for seed in cv_seeds]
        stored = load_scores(args.scores)
        if not args.table_only and any(k not in stored for k in keys):
            tables = [training_table(dataset, groups, REDSHIFT_SEED + r) for r in range(N_DRAWS)]
            test_table = training_table(dataset, groups, None, kind="test") if weighting == "adv" else None
            copy_tables = None
            if copies:
                copied = degraded_copies(dataset, copies, COPY_SEED)
                copy_tables = [training_table(copied, groups, REDSHIFT_SEED + r) for r in range(N_DRAWS)]
            for seed, key in zip(cv_seeds, keys):
                if key not in load_scores(args.scores):
                    value = {"row": row, "cv_seed": seed, **run_cv(dataset, tables, seed, test_table, copy_tables)}
                    save_score(args.scores, key, value)
                    spread = (f"; weights {value['weights']['min']:.2f}-{value['weights']['max']:.2f}, effective "
                              f"share {value['weights']['effective_fraction']:.1%}" if "weights" in value else "")
                    print(f"{row} seed {seed}: F1 {value['f1']:.4f} AP {value['ap']:.4f} "
                          f"({value['seconds']:.0f} s{spread})", flush=True)
        stored = load_scores(args.scores)
        results[row] = [stored.get(k) for k in keys]

    # Only the seeds that every row has reached enter the table, so each difference is paired.
    done = [i for i in range(len(cv_seeds)) if all(results[row][i] is not None for row in rows)]
    missing = [cv_seeds[i] for i in range(len(cv_seeds)) if i not in done]
    if missing:
        print(f"\nnot every row has CV seeds {missing} yet; the table uses the seeds they all have")
    if not done:
        return 0
    seeds = [cv_seeds[i] for i in done]
    base = [results[rows[0]][i] for i in done]
    print()
    common.print_header(["row", f"nested F1 at CV seeds {' / '.join(map(str, seeds))}", "mean",
                         f"ΔF1 vs {rows[0]} ± SE", "AP mean", "ΔAP ± SE", "features"])
    for row in rows:
        cells = [results[row][i] for i in done]
        f1, ap = [c["f1"] for c in cells], [c["ap"] for c in cells]
        if row != rows[0]:
            d_f1 = "{:+.4f} ± {:.4f}".format(*common.paired(f1, [c["f1"] for c in base]))
            d_ap = "{:+.4f} ± {:.4f}".format(*common.paired(ap, [c["ap"] for c in base]))
        else:
            d_f1 = d_ap = "—"
        common.print_row([row, " / ".join(f"{v:.3f}" for v in f1), f"**{np.mean(f1):.4f}**", d_f1,
                          f"{np.mean(ap):.4f}", d_ap, cells[0]["n_features"]])
    return 0


if __name__ == "__main__":
    common.run(main)

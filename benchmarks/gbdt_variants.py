"""Notebook 05's GBDT under variants of its settings, over CV seeds: nested F1 and AP, paired with the first variant.

    .venv/bin/python benchmarks/gbdt_variants.py --data-dir ../shared/mallorn --cv-seeds 42,0,1,2,3 \
        --variants "default;draws=transform"
    .venv/bin/python benchmarks/gbdt_variants.py --data-dir ../shared/mallorn --variants "default;learning_rate=0.06,n_estimators=800"

Each CV seed runs what notebook 05's default profile runs (utils.steps.gbdt): the feature tables (training under
3 redshift draws, the degraded copies, the test set), adversarial weights, the multiclass GBDT under 3 x 5-fold
repeated CV with the copies, seeded by the CV seed (folds, weights, redshift draws are the profile's: draws 42-44,
as notebook 05 at seed 42, so only the folds and fits change with the CV seed). A variant is `default` or a
comma list of `name=value`: a notebook-05 setting (draws, copies, n_repeats, adversarial_weighting, ...) or a
LightGBM parameter (learning_rate, n_estimators, max_bin, ...), or `groups=+g` for the default feature groups and
candidate group g. Per (variant, seed): the nested-threshold F1
averaged over 10 threshold-split seeds (utils.evaluation.metrics.honest_summary) and the OOF AP; scores are
stored in --scores (JSON) so a rerun costs only what is missing. Prints the table with each variant's paired
difference from the first and its standard error (utils.evaluation.paired).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import common  # first: puts the project root on sys.path
import numpy as np
from sklearn.metrics import average_precision_score

from utils.data.load import DEFAULT_CACHE_DIR, load_dataset
from utils.features import FEATURES_VERSION, group_versions
from utils.gbdt.lightgbm import PARAMS
from utils.steps.gbdt import adversarial_sample_weights, fit_gbdt, load_gbdt_features, notebook05_settings


REDSHIFT_SEED = common.SEED  # the draws notebook 05 makes at seed 42: 42, 43, 44
DEFAULT_SCORES = DEFAULT_CACHE_DIR / "gbdt_variants_scores.json"
parse_variant = common.variant


def score_key(dataset, variant: str, cv_seed: int) -> str:
    settings, params, groups = parse_variant(variant)
    spec = [dataset.fingerprint, FEATURES_VERSION, notebook05_settings("default", **settings), {**PARAMS, **params},
            cv_seed, REDSHIFT_SEED, common.THRESHOLD_SPLITS]
    if groups is not None:  # the default groups keep their keys
        spec += [sorted(groups), group_versions(groups)]
    return hashlib.sha1(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_variant(dataset, variant: str, cv_seed: int) -> dict:
    """One CV seed of notebook 05's GBDT under the variant."""
    settings, params, groups = parse_variant(variant)
    cfg = notebook05_settings("default", **settings)
    started = time.perf_counter()
    features = load_gbdt_features(dataset, cfg, REDSHIFT_SEED, groups)
    feature_seconds = time.perf_counter() - started
    log = dataset.train_log
    weights = adversarial_sample_weights(features, cfg, cv_seed)
    result = fit_gbdt(features, log, cfg, cv_seed, "multiclass", weights, params=params)
    y = log["target"].astype(int).to_numpy()
    f1 = common.mean_nested_f1(y, result.oof_prob)
    return {"variant": variant, "cv_seed": cv_seed, "f1": f1, "ap": float(average_precision_score(y, result.oof_prob)),
            "seconds": time.perf_counter() - started, "feature_seconds": feature_seconds,
            "gbdt_seconds": result.seconds}


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--variants", type=common.variants, default="default",
                        help="';'-separated variants; the first is the baseline")
    parser.add_argument("--cv-seeds", type=common.int_list, default="42,0,1,2,3")
    parser.add_argument("--scores", type=Path, default=DEFAULT_SCORES)
    args = parser.parse_args(argv)
    variants, seeds = args.variants, args.cv_seeds
    dataset = load_dataset(args.data_dir)
    stored = json.loads(args.scores.read_text()) if args.scores.is_file() else {}
    for seed in seeds:
        for variant in variants:
            key = score_key(dataset, variant, seed)
            if key not in stored:
                stored[key] = run_variant(dataset, variant, seed)
                args.scores.parent.mkdir(parents=True, exist_ok=True)
                args.scores.write_text(json.dumps(stored, indent=1, sort_keys=True))
                v = stored[key]
                print(f"{variant} seed {seed}: F1 {v['f1']:.4f} AP {v['ap']:.4f} ({v['seconds']:.0f} s, GBDT "
                      f"{v['gbdt_seconds']:.0f} s)", flush=True)
    scores = {v: [stored[score_key(dataset, v, s)] for s in seeds] for v in variants}
    base = scores[variants[0]]
    common.print_header(["variant", f"nested F1 at CV seeds {' / '.join(map(str, seeds))}", "mean", "ΔF1 ± SE", "AP",
                         "ΔAP ± SE", "GBDT s"])
    for variant in variants:
        cells = scores[variant]
        f1, ap = [c["f1"] for c in cells], [c["ap"] for c in cells]
        delta = (("{:+.4f} ± {:.4f}".format(*common.paired(f1, [c["f1"] for c in base])),
                  "{:+.4f} ± {:.4f}".format(*common.paired(ap, [c["ap"] for c in base])))
                 if variant != variants[0] else ("—", "—"))
        common.print_row([variant, " / ".join(f"{v:.3f}" for v in f1), f"**{np.mean(f1):.4f}**", delta[0],
                          f"{np.mean(ap):.4f}", delta[1], f"{np.median([c['gbdt_seconds'] for c in cells]):.0f}"])
    return 0


if __name__ == "__main__":
    common.run(main)

"""The production-path estimate: notebook 05's whole path scored on held-out labelled objects (utils.steps.production).

    .venv/bin/python benchmarks/production_path.py --data-dir ../shared/mallorn --outer-seeds 0,1,2,3,4
    .venv/bin/python benchmarks/production_path.py --data-dir ../shared/mallorn --outer-seeds 0,1,2,3,4 \
        --variants "default;class_groups=lookalike"

Each variant is notebook 05's default profile with some settings changed (`default` or `name=value,...`: settings
of notebook 05, or `groups=+g` / `groups=-g` for the feature groups). Per variant and outer seed: the labelled
objects split into --folds stratified parts, --parts of them (default all: every object once) held out in turn and
scored by the refitted models of the rest's path at a photometric-like redshift; finished parts are stored in
--store and read back, so a run with more parts or seeds only computes what is new. Prints, per variant: F1, precision, recall, AP, flagged fraction
(mean ± SE over the outer seeds) under each cut rule, the share of each look-alike SpecType flagged, and the
paired differences from the first variant.
"""

from __future__ import annotations

from pathlib import Path

import common  # first: puts the project root on sys.path
from utils.data.load import DEFAULT_CACHE_DIR, load_dataset
from utils.steps.gbdt import notebook05_settings
from utils.steps.production import CUT_RULES, LOOKALIKES, compare, compare_rules, production_estimate


DEFAULT_STORE = DEFAULT_CACHE_DIR / "production_path"


def variant_settings(text: str) -> tuple[dict, list[str] | None]:
    """A variant (common.variant) as notebook-05 settings and feature groups; LightGBM parameters are refused here
    (the production path trains notebook 05's GBDT as it is)."""
    settings, params, groups = common.variant(text)
    if params:
        raise ValueError(f"variant {text!r}: the production path takes notebook-05 settings and groups, not {sorted(params)}")
    return notebook05_settings("default", **settings), groups


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--variants", type=common.variants, default="default",
                        help="';'-separated variants; the first is the baseline")
    parser.add_argument("--outer-seeds", type=common.int_list, default="0,1,2,3,4")
    parser.add_argument("--folds", type=int, default=5, help="stratified parts each outer seed splits into")
    parser.add_argument("--parts", type=int, default=None,
                        help="how many of those parts are held out in turn (default all: every object once)")
    parser.add_argument("--seed", type=int, default=42, help="the run seed notebook 05 would get")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    args = parser.parse_args(argv)
    variants = {v: variant_settings(v) for v in args.variants}
    seeds = args.outer_seeds
    dataset = load_dataset(args.data_dir)
    estimates = {name: production_estimate(dataset, cfg, outer_seeds=seeds, n_folds=args.folds, parts=args.parts, seed=args.seed,
                                           store=args.store, groups=groups) for name, (cfg, groups) in variants.items()}
    for name, estimate in estimates.items():
        print(f"\n## {name} (outer seeds {', '.join(map(str, seeds))}; {args.parts or args.folds} of {args.folds} parts held out each)")
        for rule in CUT_RULES:
            summary = estimate.summary(rule)
            cells = ", ".join(f"{metric} {summary.loc[metric, 'mean']:.4f} ± {summary.loc[metric, 'se']:.4f}"
                              for metric in ("f1", "precision", "recall", "average_precision", "flagged_fraction"))
            print(f"- {rule}: {cells}")
            print(f"  F1 per seed: {' / '.join(f'{v:.3f}' for v in summary.loc['f1'].iloc[2:])}")
        rates = estimate.flag_rates()
        shown = [t for t in ("TDE", *LOOKALIKES, "SN II", "SN Ia") if t in rates.index]
        print("- share flagged (oof_threshold): " + ", ".join(
            f"{t} {rates.loc[t, 'share']:.1%} ± {rates.loc[t, 'share_se']:.1%} ({rates.loc[t, 'flagged']:.1f} of "
            f"{rates.loc[t, 'objects']:.0f})" for t in shown))
        print("- false positives by SpecType (mean per seed): "
              + ", ".join(f"{t} {rates.loc[t, 'flagged']:.1f}" for t in rates.index if t != "TDE"
                          and rates.loc[t, "flagged"] >= 0.5))
        if len(seeds) > 1:
            print("- cut rules paired against oof_threshold:\n" + compare_rules(estimate).round(4).to_string())
    if len(estimates) > 1:
        for rule in CUT_RULES:
            print(f"\n### paired against {next(iter(estimates))} ({rule})\n")
            print(compare(estimates, rule).round(4).to_string())
    return 0


if __name__ == "__main__":
    common.run(main)

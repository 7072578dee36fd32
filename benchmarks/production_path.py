"""The production-path estimate: notebook 05's whole path scored on held-out labelled objects (utils.steps.production).

    .venv/bin/python benchmarks/production_path.py --data-dir ../shared/mallorn --outer-seeds 0,1,2,3,4
    .venv/bin/python benchmarks/production_path.py --data-dir ../shared/mallorn --outer-seeds 0,1,2,3,4 \
        --variants "default;class_groups=lookalike"

Each variant is notebook 05's default profile with some settings changed (`default` or `name=value,...`: settings
of notebook 05, or `groups=+g` / `groups=-g` for the feature groups). Per variant and outer seed: every labelled object held out once (5
stratified parts), scored by the refitted models of the rest's path at a photometric-like redshift; finished
outer seeds are stored in --store and read back. Prints, per variant: F1, precision, recall, AP, flagged fraction
(mean ± SE over the outer seeds) under each cut rule, the share of each look-alike SpecType flagged, and the
paired differences from the first variant.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from utils.data.load import DEFAULT_CACHE_DIR, load_dataset  # noqa: E402
from utils.errors import DataError  # noqa: E402
from utils.features import DEFAULT_GROUPS, REGISTRY  # noqa: E402
from utils.steps.gbdt import PROFILES, notebook05_settings  # noqa: E402
from utils.steps.production import CUT_RULES, LOOKALIKES, compare, production_estimate  # noqa: E402

DEFAULT_STORE = DEFAULT_CACHE_DIR / "production_path"


def variant_settings(text: str) -> tuple[dict, list[str] | None]:
    """'default' or 'a=1,b=x' -> (notebook-05 settings over the default profile, feature groups or None); `groups`
    takes '+g' (the default groups and g) or '-g'; unknown names are refused."""
    overrides, groups = {}, None
    for item in ([] if text == "default" else text.split(",")):
        name, _, raw = item.partition("=")
        if name == "groups":
            groups = list(DEFAULT_GROUPS)
            for token in raw.replace("-", " -").replace("+", " +").split():
                if token[1:] not in REGISTRY or token[0] not in "+-":
                    raise ValueError(f"variant {text!r}: {token!r} is not +group or -group of {list(REGISTRY)}")
                groups = groups + [token[1:]] if token[0] == "+" else [g for g in groups if g != token[1:]]
            continue
        if name not in PROFILES["default"]:
            raise ValueError(f"variant {text!r}: {name!r} is not a notebook-05 setting ({sorted(PROFILES['default'])}) "
                             "or groups")
        try:
            overrides[name] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            overrides[name] = raw
    return notebook05_settings("default", **overrides), groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--variants", default="default", help="';'-separated variants; the first is the baseline")
    parser.add_argument("--outer-seeds", default="0,1,2,3,4")
    parser.add_argument("--folds", type=int, default=5, help="held-out parts per outer seed")
    parser.add_argument("--seed", type=int, default=42, help="the run seed notebook 05 would get")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    args = parser.parse_args(argv)
    try:
        variants = {v: variant_settings(v) for v in args.variants.split(";") if v}
        seeds = [int(s) for s in args.outer_seeds.split(",")]
        dataset = load_dataset(args.data_dir)
    except (DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    estimates = {name: production_estimate(dataset, cfg, outer_seeds=seeds, n_folds=args.folds, seed=args.seed,
                                           store=args.store, groups=groups) for name, (cfg, groups) in variants.items()}
    for name, estimate in estimates.items():
        print(f"\n## {name} (outer seeds {', '.join(map(str, seeds))}; {args.folds} held-out parts each)")
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
            f"{int(rates.loc[t, 'objects'])})" for t in shown))
        print("- false positives by SpecType (mean per seed): "
              + ", ".join(f"{t} {rates.loc[t, 'flagged']:.1f}" for t in rates.index if t != "TDE"
                          and rates.loc[t, "flagged"] >= 0.5))
    if len(estimates) > 1:
        for rule in CUT_RULES:
            print(f"\n### paired against {next(iter(estimates))} ({rule})\n")
            print(compare(estimates, rule).round(4).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())

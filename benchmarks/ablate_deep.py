"""Measure one deep-model configuration with 5-fold CV on the real data; append the scores to a JSONL file.

    python benchmarks/ablate_deep.py --model cnn --set aug_redshift=0 --tag no-redshift
    python benchmarks/ablate_deep.py --model transformer --variant seed --tag seed

Every run uses the same folds (seed 42), so rows of the results file compare like with like.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from utils.data import load_dataset  # noqa: E402
from utils.models import build_model, count_parameters  # noqa: E402
from utils.training import (CNN_PROFILES, TRANSFORMER_PROFILES, cross_validate, deep_settings,  # noqa: E402
                            make_deterministic, prepare_inputs)


def parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "mallorn"))
    parser.add_argument("--model", default="cnn", choices=["cnn", "cnn_attn", "transformer"])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--variant", default="tuned")
    parser.add_argument("--set", nargs="*", default=[], help="key=value overrides, e.g. aug_noise=0 n_seeds=1")
    parser.add_argument("--tag", default="")
    parser.add_argument("--results", default="benchmarks/results/ablations.jsonl")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.set)
    overrides = {key: parse_value(value) for key, value in overrides.items()}
    profiles = TRANSFORMER_PROFILES if args.model == "transformer" else CNN_PROFILES
    settings = deep_settings(profiles, args.profile, args.variant, model=args.model, **overrides)
    make_deterministic(settings["seed"])
    dataset = load_dataset(args.data_dir)
    started = time.perf_counter()
    inputs = prepare_inputs(dataset, settings)
    result = cross_validate(settings, inputs.train, inputs.y, inputs.aux, inputs.test, scaler=inputs.scaler)
    n_extra = len(inputs.scaler.names) if inputs.scaler else 0
    row = {"tag": args.tag, "model": args.model, "variant": args.variant, "overrides": overrides,
           "parameters": count_parameters(build_model(settings, n_extra)),
           "seconds": round(time.perf_counter() - started, 1),
           "epochs_run": float(result.history.groupby(["fold", "seed"]).epoch.max().mean()),
           **({k: result.summary[k] for k in ("f1", "precision", "recall", "average_precision", "f1_oof_optimised")}
              if result.summary else {"fold_ap": float(result.folds.average_precision.mean())})}
    print(json.dumps(row))
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    with open(args.results, "a") as handle:
        handle.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

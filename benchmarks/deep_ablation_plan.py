"""The per-switch deep-model ablations (docs/results.md, "Other deep settings"): every switch on the same 5 folds.

    python benchmarks/deep_ablation_plan.py --list                            # the commands, one a line
    python benchmarks/deep_ablation_plan.py --workers 2 --set n_seeds=1 --results R.jsonl   # hours on 2 cores
    python benchmarks/deep_ablation_plan.py --set n_seeds=1 use_features=False --tag-prefix "sequence only: " \
        --only default "no augmentation" "no flux noise" ...   # what each switch does without the features
    python benchmarks/deep_ablation_plan.py --bundle build/deep_bundle.npz --device cuda --workers 12 --set distill_weight=0

Each row is one `benchmarks/deep_ablation.py` run: the default profile with one change, on `--data-dir` (else
$DATA_DIR, data/ or the Kaggle mount) or `--bundle`. Rows run in the order listed (most telling first) and
append to the results file as they finish.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import common

ROOT = common.ROOT
NO_AUGMENTATION = ["aug_noise=0", "aug_time=0", "aug_drop=0", "aug_redshift=0"]

# (tag, extra arguments for deep_ablation.py); each model gets every row that applies to it.
COMMON = [
    ("default", []),
    ("no physics features", ["--set", "use_features=False"]),
    ("features only (light curves hidden)", ["--blind"]),
    ("no augmentation", ["--set", *NO_AUGMENTATION]),
    ("no flux noise", ["--set", "aug_noise=0"]),
    ("no time stretch/shift", ["--set", "aug_time=0"]),
    ("no dropped points", ["--set", "aug_drop=0"]),
    ("no redshifting", ["--set", "aug_redshift=0"]),
    ("no auxiliary head", ["--set", "aux_weight=0"]),
    ("observer-frame time", ["--set", "rest_frame=False"]),
    ("normalised flux only", ["--set", "flux_scaling='normalised'"]),
    ("spectroscopic train Z", ["--set", "perturb_train_z=False"]),
    # the starter's per-band designs run at 64 steps: at 200 the Transformer takes hours on a CPU
    ("starter design (64 steps per band)", ["--variant", "starter", "--set", "sequence_length=64"]),
    ("starter design + physics features", ["--variant", "starter", "--set", "sequence_length=64", "use_features=True"]),
    ("default, seed 1", ["--set", "seed=1"]),
    ("default, seed 2", ["--set", "seed=2"]),
    ("time since first observation", ["--set", "time_reference='first'"]),
    ("weighted BCE", ["--set", "loss='bce'"]),
    ("no oversampling", ["--set", "oversample=0"]),
    ("2 seeds per fold", ["--set", "n_seeds=2"]),
    ("4 seeds per fold", ["--set", "n_seeds=4"]),
    ("40 epochs", ["--set", "epochs=40"]),
]
SPECIFIC = {
    "cnn": [("attention pooling (cnn_attn)", ["--model", "cnn_attn"]),
            ("64 steps per band", ["--set", "sequence_length=64"]),
            ("200 steps per band", ["--set", "sequence_length=200"])],
    "transformer": [("per-band encoders + cross-band attention", ["--set", "layout='band'"]),
                    ("128 tokens", ["--set", "token_length=128"]),
                    ("position encoding instead of time", ["--set", "time_encoding='position'"]),
                    ("d_model 64", ["--set", "d_model=64", "ff_dim=128"])],
}


def plan(models: list[str]) -> list[tuple[str, str, list[str]]]:
    """(model, tag, arguments) rows, interleaving models so each gets its first rows early."""
    per_model = {m: COMMON[:14] + SPECIFIC[m][:1] + COMMON[14:] + SPECIFIC[m][1:] for m in models}
    rows = []
    for i in range(max(len(v) for v in per_model.values())):
        for model in models:
            if i < len(per_model[model]):
                tag, args = per_model[model][i]
                rows.append((model, tag, args))
    return rows


def command(model: str, tag: str, args: list[str], options: argparse.Namespace) -> list[str]:
    if "--model" in args:  # a row that swaps the model (cnn -> cnn_attn) keeps its family's tag
        position = args.index("--model")
        model, args = args[position + 1], args[:position] + args[position + 2:]
    extra = ["--no-test", *(["--bundle", str(options.bundle)] if options.bundle else []),  # OOF is what counts
             *(["--data-dir", options.data_dir] if options.data_dir else [])]
    sets = list(options.set)  # the row's own settings come after, so they win
    if "--set" in args:
        position = args.index("--set")
        sets, args = sets + args[position + 1:], args[:position]
    if options.device:
        sets.append(f"device='{options.device}'")
    return [sys.executable, str(ROOT / "benchmarks" / "deep_ablation.py"), "--model", model,
            "--tag", options.tag_prefix + tag,
            "--results", str(options.results), *extra, *args, *(["--set", *sets] if sets else [])]


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--models", nargs="*", default=["cnn", "transformer"])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "ablations.jsonl")
    parser.add_argument("--bundle", type=Path, default=None)
    parser.add_argument("--device", default=None, help="cpu, cuda (default: the profile's 'auto')")
    parser.add_argument("--logs", type=Path, default=None, help="folder for one log per run")
    parser.add_argument("--only", nargs="*", default=None, help="run only rows with these tags")
    parser.add_argument("--set", nargs="*", default=[], help="key=value settings for every row, e.g. n_seeds=1")
    parser.add_argument("--tag-prefix", default="", help="prefix for every row's tag, e.g. 'sequence only: '")
    parser.add_argument("--list", action="store_true")
    options = parser.parse_args(argv)
    rows = [r for r in plan(options.models) if options.only is None or r[1] in options.only]
    commands = [command(*row, options) for row in rows]
    if options.list:
        for cmd in commands:
            print(" ".join(repr(c) if " " in c else c for c in cmd[1:]))
        return 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # one core per run

    def run(index: int) -> int:
        started = time.perf_counter()
        log = open(options.logs / f"run{index:02d}.log", "w") if options.logs else subprocess.DEVNULL
        code = subprocess.run(commands[index], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
        print(f"[{index:02d}] {rows[index][0]:<11} {rows[index][1]:<45} rc={code} {time.perf_counter() - started:.0f}s",
              flush=True)
        return code

    if options.logs:
        options.logs.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(options.workers) as pool:
        codes = list(pool.map(run, range(len(commands))))
    return int(any(codes))


if __name__ == "__main__":
    common.run(main)

"""Does the default ensemble beat the multiclass GBDT alone? Paired over CV seeds (issue 12, item 3).

    .venv/bin/python benchmarks/blend_seeds.py --data-dir ../shared/mallorn --seeds 42,0,1,2,3 \
        [--prefix blendseed] [--existing 42=submissions/v6-full]

For each seed, one default run of notebooks 02-05 (`python -m utils.run --seed S`, run folder
`submissions/<prefix>-s<S>`; a folder that already holds a finished run is read, not run again). The seed
sets everything a run draws: the CV folds of the CNN, the Transformer and the GBDT, the redshift draws, the
blender's splits. Each run's notebook 05 decides the blend by measurement (member selection); this script
reads what it decided and scores, from `metrics.json`:

* per seed: nested F1 (mean over notebook 05's 10 threshold splits) and AP of the GBDT, the CNN, the
  Transformer and the ensemble, and the members the ensemble kept;
* fixed blends, scored from the run's `oof.csv` as notebook 05 scores a blend but without member selection
  (which looks at the same OOF rows it is scored on): GBDT + Transformer and GBDT + CNN + Transformer, each
  the default blend method cross-validated over 5 blender splits, nested F1 over 10 threshold splits;
* the paired difference ensemble - GBDT (and each fixed blend - GBDT) over seeds: mean, its standard error
  (sd / sqrt(n)) and how many seeds it was positive at. The issue's bar: a gain beyond one standard error
  over >= 5 seeds.

A run costs what its notebooks cost (docs/results.md, "Speed"), less once notebook 02's feature tables are cached
(MALLORN_CACHE_DIR).

When only notebook 05 changed since an earlier measurement (e.g. the GBDT's training set), `--deep-from PREFIX`
reuses each seed's CNN and Transformer from `submissions/<PREFIX>-s<S>` (their predictions, checkpoints and
executed notebooks are copied) and runs notebook 05 alone into the new folder, a fraction of a whole run's
time. Only valid when the deep models' code and inputs are unchanged since
those runs; the new folder's config.json names the source run and both commits.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import common  # first: puts the project root on sys.path
import numpy as np
import pandas as pd

from utils.config import save_config
from utils.run.folder import git_commit
from utils.run.pipeline import NOTEBOOK_DIR, check_inputs, execute
from utils.steps.gbdt import notebook05_settings


MODELS = ("gbdt", "cnn", "transformer", "ensemble")
OPTIONAL_MEMBERS = ("gbdt_binary", "cnn")  # what the default run could spare: its selection re-run without each


def run_seed(data_dir: str | None, seed: int, run: Path) -> int:
    """A default run of notebooks 02-05 at `seed` into `run`; the run's exit status (its errors are its own
    `error: ...` lines)."""
    command = [sys.executable, "-m", "utils.run", "--notebooks", "02-05", "--seed", str(seed),
               "--out-dir", str(run.parent), "--run-id", run.name, "--no-progress",
               "--data-dir", common.data_dir(data_dir)]
    print("running:", " ".join(command), flush=True)
    return subprocess.run(command, cwd=common.ROOT).returncode


def run_notebook05_on(data_dir: str, seed: int, run: Path, deep_run: Path) -> None:
    """A default run of `seed` whose CNN and Transformer are `deep_run`'s and whose notebook 05 runs now."""
    if not common.finished(deep_run):
        raise SystemExit(f"--deep-from: {deep_run} holds no finished run")
    source_config = json.loads((deep_run / "config.json").read_text())
    if source_config.get("seed") != seed:
        raise SystemExit(f"--deep-from: {deep_run} was run with seed {source_config.get('seed')}, not {seed}")
    if run.exists():
        raise SystemExit(f"{run} exists but holds no finished run: remove it and run again")
    data_path, dataset = check_inputs(data_dir)
    (run / "predictions").mkdir(parents=True)
    for model, notebook in common.DEEP_NOTEBOOKS.items():
        for kind in ("oof", "test"):
            shutil.copy2(deep_run / "predictions" / f"{kind}_{model}.csv", run / "predictions")
        shutil.copy2(deep_run / "predictions" / f"metrics_{model}.json", run / "predictions")
        shutil.copytree(deep_run / "models" / model, run / "models" / model)
        for name in (f"{notebook}.ipynb", f"config_{notebook}.json"):
            shutil.copy2(deep_run / name, run)
    parameters = {"data_dir": str(data_path), "out_dir": str(run), "profile": "default", "seed": seed, "device": "auto"}
    config = {**parameters, "notebooks": ["05_ensemble_and_submit.py"], "commit": git_commit(),
              "deep_members_from": str(deep_run), "deep_members_commit": source_config.get("commit"),
              "data_fingerprint": dataset.fingerprint}
    print(f"running notebook 05 into {run} (CNN and Transformer from {deep_run})", flush=True)
    started = time.perf_counter()
    execute(NOTEBOOK_DIR / "05_ensemble_and_submit.py", run / "05_ensemble_and_submit.ipynb", parameters,
            progress=False)
    save_config({**config, "seconds": {"05_ensemble_and_submit": round(time.perf_counter() - started, 1)}},
                run / "config.json")


def seed_row(run: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    models = metrics["models"]
    row = {"seed": metrics["seed"], "run": str(run)}
    for name in MODELS:
        row[name] = models[name]["f1"] if name in models else np.nan
        row[f"{name}_ap"] = models[name]["average_precision"] if name in models else np.nan
    row["kept"] = " + ".join(models["ensemble"].get("blended_members") or ["gbdt"])
    settings = notebook05_settings("default")
    oof = pd.read_csv(run / "oof.csv", index_col="object_id")
    members = [c for c in oof.columns if c not in ("target", "ensemble")]
    row["selected again"] = common.selected_blend(oof, members, row["seed"], settings)[1]
    for left_out in OPTIONAL_MEMBERS:
        row[f"without {left_out}"] = common.selected_blend(oof, [m for m in members if m != left_out], row["seed"],
                                                           settings)[1]
    row.update(common.fixed_blend_f1s(oof, row["seed"], settings))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--seeds", type=common.int_list, default="42,0,1,2,3")
    parser.add_argument("--runs-dir", type=Path, default=common.ROOT / "submissions")
    parser.add_argument("--prefix", default="blendseed")
    parser.add_argument("--existing", nargs="*", default=[], help="SEED=RUN_FOLDER: a finished default run to read "
                        "for that seed instead of running one")
    parser.add_argument("--deep-from", default=None, metavar="PREFIX", help="reuse the CNN and Transformer of "
                        "<runs-dir>/<PREFIX>-s<seed> and run notebook 05 alone (deep models unchanged since)")
    args = parser.parse_args(argv)
    existing = common.existing_runs(args.existing)
    rows = []
    for seed in args.seeds:
        run = existing.get(seed, args.runs_dir / f"{args.prefix}-s{seed}")
        if not common.finished(run):
            if seed in existing:
                raise SystemExit(f"{run} holds no finished run (metrics.json and submission.csv)")
            if args.deep_from:
                run_notebook05_on(args.data_dir, seed, run, args.runs_dir / f"{args.deep_from}-s{seed}")
            elif status := run_seed(args.data_dir, seed, run):
                return status
        rows.append(seed_row(run))
        if rows[-1]["seed"] != seed:
            raise SystemExit(f"{run} was run with seed {rows[-1]['seed']}, not {seed}")

    blends = [*common.FIXED_BLENDS, "selected again", *(f"without {m}" for m in OPTIONAL_MEMBERS)]
    scores = [*MODELS, *blends, "gbdt_ap", "ensemble_ap"]
    common.print_header(["CV seed", "GBDT", "CNN", "Transformer", "ensemble", "kept", *blends, "GBDT AP",
                         "ensemble AP"])
    for r in rows:
        common.print_row([r["seed"], *(f"{r[m]:.3f}" for m in MODELS), r["kept"],
                          *(f"{r[s]:.3f}" for s in (*blends, "gbdt_ap", "ensemble_ap"))])
    table = {name: np.array([r[name] for r in rows]) for name in scores}
    common.print_row(["mean", *(f"{table[m].mean():.3f}" for m in MODELS), "",
                      *(f"{table[s].mean():.3f}" for s in (*blends, "gbdt_ap", "ensemble_ap"))])
    comparisons = {"ensemble - GBDT, nested F1": ("ensemble", "gbdt"), "ensemble - GBDT, AP": ("ensemble_ap", "gbdt_ap"),
                   **{f"{b} - GBDT, nested F1": (b, "gbdt") for b in common.FIXED_BLENDS},
                   **{f"ensemble {b} - ensemble, nested F1": (b, "ensemble") for b in blends if b.startswith("without")}}
    for label, (a, b) in comparisons.items():
        print(common.paired_line(label, table[a], table[b]))
    return 0


if __name__ == "__main__":
    common.run(main)

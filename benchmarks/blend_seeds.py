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

Each run takes ~11 minutes on 2 cores once notebook 02's feature tables are cached (MALLORN_CACHE_DIR).

When only notebook 05 changed since an earlier measurement (e.g. the GBDT's training set), `--deep-from PREFIX`
reuses each seed's CNN and Transformer from `submissions/<PREFIX>-s<S>` (their predictions, checkpoints and
executed notebooks are copied) and runs notebook 05 alone into the new folder: 7-9 minutes a seed with two
processes side by side, instead of ~20. Only valid when the deep models' code and inputs are unchanged since
those runs; the new folder's config.json names the source run and both commits.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from utils.config import save_config  # noqa: E402
from utils.evaluation.blend import cross_validated_blend, select_members  # noqa: E402
from utils.evaluation.metrics import honest_summary  # noqa: E402
from utils.run.folder import git_commit  # noqa: E402
from utils.run.pipeline import NOTEBOOK_DIR, check_inputs, execute
from utils.steps.gbdt import notebook05_settings  # noqa: E402

MODELS = ("gbdt", "cnn", "transformer", "ensemble")
DEEP_NOTEBOOKS = {"cnn": "03_cnn", "transformer": "04_transformer"}
OPTIONAL_MEMBERS = ("gbdt_binary", "cnn")  # what the default run could spare: its selection re-run without each
FIXED_BLENDS = {"gbdt+transformer": ["gbdt", "transformer"], "gbdt+cnn+transformer": ["gbdt", "cnn", "transformer"]}


def finished(run: Path) -> bool:
    return (run / "metrics.json").is_file() and (run / "submission.csv").is_file()


def run_seed(data_dir: str, seed: int, run: Path) -> None:
    command = [sys.executable, "-m", "utils.run", "--notebooks", "02-05", "--seed", str(seed),
               "--out-dir", str(run.parent), "--run-id", run.name, "--no-progress"]
    if data_dir:
        command += ["--data-dir", data_dir]
    print("running:", " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def run_notebook05_on(data_dir: str, seed: int, run: Path, deep_run: Path) -> None:
    """A default run of `seed` whose CNN and Transformer are `deep_run`'s and whose notebook 05 runs now."""
    if not finished(deep_run):
        raise SystemExit(f"--deep-from: {deep_run} holds no finished run")
    source_config = json.loads((deep_run / "config.json").read_text())
    if source_config.get("seed") != seed:
        raise SystemExit(f"--deep-from: {deep_run} was run with seed {source_config.get('seed')}, not {seed}")
    if run.exists():
        raise SystemExit(f"{run} exists but holds no finished run: remove it and run again")
    data_path, dataset = check_inputs(data_dir)
    (run / "predictions").mkdir(parents=True)
    for model, notebook in DEEP_NOTEBOOKS.items():
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
    row["selected again"] = selected_blend_f1(oof, members, row["seed"], settings)
    for left_out in OPTIONAL_MEMBERS:
        row[f"without {left_out}"] = selected_blend_f1(oof, [m for m in members if m != left_out], row["seed"], settings)
    row.update(fixed_blend_f1s(oof, row["seed"], settings))
    return row


def fixed_blend_f1s(oof: pd.DataFrame, seed: int, settings: dict) -> dict[str, float]:
    """Nested F1 of each FIXED_BLENDS blend of the OOF columns: notebook 05's blend method cross-validated over its
    blender splits, without member selection."""
    scores = {}
    for name, members in FIXED_BLENDS.items():
        blended = cross_validated_blend(oof[members], oof["target"], settings["blend_method"], seed=seed,
                                        n_repeats=settings["blend_repeats"])
        scores[name] = honest_summary(oof["target"].to_numpy(), blended.to_numpy(), seed=seed,
                                      repeats=settings["nested_repeats"])["f1"]
    return scores


def paired_line(label: str, diff: np.ndarray) -> str:
    """'label: mean ± standard error (n seeds; positive at k)' of paired per-seed differences."""
    error = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
    return (f"{label}: {diff.mean():+.4f} ± {error:.4f} (standard error, {len(diff)} seeds; "
            f"positive at {int((diff > 0).sum())})")


def selected_blend(oof: pd.DataFrame, members: list[str], seed: int, settings: dict) -> tuple[list[str], float]:
    """Notebook 05's default ensemble from these members: member selection, then the cross-validated blend of
    the kept ones; returns the kept members and the blend's nested F1 (its numbers, from the run's OOF columns)."""
    target, method, repeats = oof["target"], settings["blend_method"], settings["blend_repeats"]
    kept, _ = select_members(oof[members], target, method, anchor="gbdt", seed=seed, n_splits_seeds=repeats)
    blended = cross_validated_blend(oof[kept], target, method, seed=seed, n_repeats=repeats)
    return kept, honest_summary(target.to_numpy(), blended.to_numpy(), seed=seed,
                                repeats=settings["nested_repeats"])["f1"]


def selected_blend_f1(oof: pd.DataFrame, members: list[str], seed: int, settings: dict) -> float:
    return selected_blend(oof, members, seed, settings)[1]


def parse_existing(pairs: list[str]) -> dict[int, Path]:
    existing = {}
    for pair in pairs:
        seed, _, folder = pair.partition("=")
        if not folder:
            raise SystemExit(f"--existing takes SEED=RUN_FOLDER, not {pair!r}")
        existing[int(seed)] = Path(folder)
    return existing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", default="42,0,1,2,3")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "submissions")
    parser.add_argument("--prefix", default="blendseed")
    parser.add_argument("--existing", nargs="*", default=[], help="SEED=RUN_FOLDER: a finished default run to read "
                        "for that seed instead of running one")
    parser.add_argument("--deep-from", default=None, metavar="PREFIX", help="reuse the CNN and Transformer of "
                        "<runs-dir>/<PREFIX>-s<seed> and run notebook 05 alone (deep models unchanged since)")
    args = parser.parse_args(argv)
    existing = parse_existing(args.existing)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        run = existing.get(seed, args.runs_dir / f"{args.prefix}-s{seed}")
        if not finished(run):
            if seed in existing:
                raise SystemExit(f"{run} holds no finished run (metrics.json and submission.csv)")
            if args.deep_from:
                run_notebook05_on(args.data_dir, seed, run, args.runs_dir / f"{args.deep_from}-s{seed}")
            else:
                run_seed(args.data_dir, seed, run)
        rows.append(seed_row(run))
        if rows[-1]["seed"] != seed:
            raise SystemExit(f"{run} was run with seed {rows[-1]['seed']}, not {seed}")

    blends = [*FIXED_BLENDS, "selected again", *(f"without {m}" for m in OPTIONAL_MEMBERS)]
    print("| CV seed | GBDT | CNN | Transformer | ensemble | kept | " + " | ".join(blends) + " | GBDT AP | ensemble AP |")
    print("|---" * (8 + len(blends)) + "|")
    for r in rows:
        print(f"| {r['seed']} | {r['gbdt']:.3f} | {r['cnn']:.3f} | {r['transformer']:.3f} | {r['ensemble']:.3f} | "
              f"{r['kept']} | " + " | ".join(f"{r[b]:.3f}" for b in blends) +
              f" | {r['gbdt_ap']:.3f} | {r['ensemble_ap']:.3f} |")
    table = {name: np.array([r[name] for r in rows]) for name in (*MODELS, *blends, "gbdt_ap", "ensemble_ap")}
    print("| mean | " + " | ".join(f"{table[m].mean():.3f}" for m in MODELS) + " | | "
          + " | ".join(f"{table[b].mean():.3f}" for b in blends)
          + f" | {table['gbdt_ap'].mean():.3f} | {table['ensemble_ap'].mean():.3f} |")
    comparisons = {"ensemble - GBDT, nested F1": ("ensemble", "gbdt"), "ensemble - GBDT, AP": ("ensemble_ap", "gbdt_ap"),
                   **{f"{b} - GBDT, nested F1": (b, "gbdt") for b in FIXED_BLENDS},
                   **{f"ensemble {b} - ensemble, nested F1": (b, "ensemble") for b in blends if b.startswith("without")}}
    for label, (a, b) in comparisons.items():
        print(paired_line(label, table[a] - table[b]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

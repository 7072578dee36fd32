"""Would a changed CNN and Transformer earn a place next to the GBDT? Paired over CV seeds (issue 12, item 3).

    .venv/bin/python benchmarks/blend_deep_variant.py --data-dir ../shared/mallorn --seeds 42,0,1,2,3 \
        --gbdt-from blendseed-v8 --existing 42=submissions/v8-copies-full --deep-set distill_weight=1.0 \
        --prefix blendseed-distill

For each seed, notebooks 03 and 04 run with the default profile, that seed and the `--deep-set` parameters into
`submissions/<prefix>-s<S>` (a folder whose deep predictions exist is read, not run again). The GBDT is not
run again: its OOF column comes from the finished default run of the same seed (`<gbdt-from>-s<S>`, or
`--existing`), whose notebook 05 used the same seed's folds and redshift draws, and nothing the GBDT reads
changes. Then notebook 05's decision is replayed on those OOF columns (common.selected_blend: member
selection anchored on the GBDT, the cross-validated blend of the kept members, nested F1 over 10 threshold
splits), next to the fixed blends, and the paired difference from the GBDT alone is printed with its standard
error. The same replay on the finished runs' own CNN and Transformer (the deep models before the change) is
printed next to it, with the paired differences of each deep model and of the selected ensemble.
Two processes side by side (the seeds split between them) want OMP_NUM_THREADS=1: without it each one's torch
takes both cores and both crawl, several times slower. What notebooks 03 and 04 cost: docs/results.md, "Speed".
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import common  # first: puts the project root on sys.path
import numpy as np
import pandas as pd

from utils.config import save_config
from utils.evaluation.metrics import honest_summary
from utils.run.folder import git_commit
from utils.run.pipeline import NOTEBOOK_DIR, check_inputs, execute
from utils.steps.gbdt import notebook05_settings



def run_deep_notebooks(data_dir: str | None, seed: int, run: Path, deep_set: dict) -> None:
    """Notebooks 03 and 04 of a default run of `seed`, with `deep_set` as extra parameters, into `run`; a
    notebook whose predictions are there already is not run again, and a folder where nothing ran keeps its
    config.json."""
    pending = {model: notebook for model, notebook in common.DEEP_NOTEBOOKS.items()
               if not (run / "predictions" / f"oof_{model}.csv").is_file()}
    if not pending:
        return
    data_path, dataset = check_inputs(data_dir)
    run.mkdir(parents=True, exist_ok=True)
    parameters = {"data_dir": str(data_path), "out_dir": str(run), "profile": "default", "seed": seed,
                  "device": "auto", **deep_set}
    seconds = {}
    for model, notebook in pending.items():
        print(f"seed {seed}: running {notebook} into {run} with {deep_set}", flush=True)
        started = time.perf_counter()
        execute(NOTEBOOK_DIR / f"{notebook}.py", run / f"{notebook}.ipynb", parameters, progress=False)
        seconds[notebook] = round(time.perf_counter() - started, 1)
    save_config({**parameters, "notebooks": [f"{n}.py" for n in common.DEEP_NOTEBOOKS.values()], "commit": git_commit(),
                 "data_fingerprint": dataset.fingerprint, "seconds": seconds}, run / "config.json")


def oof_columns(gbdt_run: Path, deep_run: Path) -> pd.DataFrame:
    """target, gbdt (from the finished run), cnn and transformer (from the new notebooks), by object_id."""
    oof = pd.read_csv(gbdt_run / "oof.csv", index_col="object_id")[["target", "gbdt"]]
    for model in common.DEEP_NOTEBOOKS:
        deep = pd.read_csv(deep_run / "predictions" / f"oof_{model}.csv", index_col="object_id")
        if set(deep.index) != set(oof.index) or not (deep["target"].reindex(oof.index) == oof["target"]).all():
            raise SystemExit(f"{deep_run}: {model}'s OOF rows are not the GBDT run's objects and labels")
        oof[model] = deep["prob"].reindex(oof.index)
    return oof


def seed_row(seed: int, oof: pd.DataFrame) -> dict:
    settings = notebook05_settings("default")
    row = {"seed": seed}
    for model in ("gbdt", *common.DEEP_NOTEBOOKS):
        summary = honest_summary(oof["target"].to_numpy(), oof[model].to_numpy(), seed=seed,
                                 repeats=settings["nested_repeats"])
        row[model], row[f"{model}_ap"] = summary["f1"], summary["average_precision"]
    kept, row["selected"] = common.selected_blend(oof, ["gbdt", *common.DEEP_NOTEBOOKS], seed, settings)
    row["kept"] = " + ".join(kept)
    row.update(common.fixed_blend_f1s(oof, seed, settings))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--seeds", type=common.int_list, default="42,0,1,2,3")
    parser.add_argument("--runs-dir", type=Path, default=common.ROOT / "submissions")
    parser.add_argument("--prefix", required=True, help="new run folders: <runs-dir>/<prefix>-s<seed>")
    parser.add_argument("--gbdt-from", required=True, metavar="PREFIX", help="finished default runs whose GBDT is read")
    parser.add_argument("--existing", nargs="*", default=[], help="SEED=RUN_FOLDER: the GBDT run for that seed")
    parser.add_argument("--deep-set", nargs="*", default=[], help="KEY=VALUE parameters of notebooks 03 and 04")
    args = parser.parse_args(argv)
    deep_set = common.key_values(args.deep_set)
    existing = common.existing_runs(args.existing)
    rows, before = [], []
    for seed in args.seeds:
        gbdt_run = existing.get(seed, args.runs_dir / f"{args.gbdt_from}-s{seed}")
        if not common.finished(gbdt_run) or json.loads((gbdt_run / "metrics.json").read_text())["seed"] != seed:
            raise SystemExit(f"{gbdt_run} holds no finished run of seed {seed}")
        run = args.runs_dir / f"{args.prefix}-s{seed}"
        run_deep_notebooks(args.data_dir, seed, run, deep_set)
        rows.append(seed_row(seed, oof_columns(gbdt_run, run)))
        before.append(seed_row(seed, oof_columns(gbdt_run, gbdt_run)))
        print(json.dumps(rows[-1]), flush=True)

    columns = ["gbdt", *common.DEEP_NOTEBOOKS, "selected", *common.FIXED_BLENDS]
    for title, table_rows in (("deep models as changed", rows), ("deep models of the finished runs", before)):
        print(f"\n{title}:")
        common.print_header(["CV seed", *columns, "kept", "GBDT AP", "CNN AP", "Transformer AP"])
        for r in table_rows:
            common.print_row([r["seed"], *(f"{r[c]:.3f}" for c in columns), r["kept"],
                              *(f"{r[c]:.3f}" for c in ("gbdt_ap", "cnn_ap", "transformer_ap"))])
        common.print_row(["mean", *(f"{np.mean([r[c] for r in table_rows]):.3f}" for c in columns), "", "", "", ""])
    table = {c: np.array([r[c] for r in rows]) for c in [*columns, "cnn_ap", "transformer_ap"]}
    earlier = {c: np.array([r[c] for r in before]) for c in table}
    comparisons = {f"{name} - GBDT, nested F1": (table[name], table["gbdt"])
                   for name in ("selected", *common.FIXED_BLENDS)}
    comparisons.update({f"{name}: changed - before": (table[name], earlier[name])
                        for name in ("cnn", "transformer", "cnn_ap", "transformer_ap", "selected")})
    for label, (scores, baseline) in comparisons.items():
        print(common.paired_line(label, scores, baseline))
    return 0


if __name__ == "__main__":
    common.run(main)

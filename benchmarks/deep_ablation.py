"""Measure one deep-model configuration with 5-fold CV on the real data; append the scores to a JSONL file.

    python benchmarks/deep_ablation.py --model cnn --set aug_redshift=0 --tag no-redshift
    python benchmarks/deep_ablation.py --model transformer --variant starter --tag starter
    python benchmarks/deep_ablation.py --model cnn --blind --tag features-only   # the MLP without light curves
    python benchmarks/deep_ablation.py --model cnn --set use_features=False pretrain=True --seeds 42,0,1 \\
        --tag lc-pretrained --baseline lc   # a row per seed, each compared with the lc row of that seed

Every run uses the same folds (cv_seed 42), so rows of the results file compare like with like. `--seeds`
repeats the run with seed = cv_seed = each value (other folds, Z draw and weights), one row per seed
(`--same-folds`: only `seed`, the weights); with `--baseline TAG` it prints each seed's difference from the
stored row of that tag, model, seed and cv_seed, then the paired difference over the seeds and its standard error.
The data set: --data-dir, else $DATA_DIR, data/ or the Kaggle mount.
`--export-bundle F` writes the training arrays and physics features to one file, and `--bundle F` reads
them instead of the data set, for machines without the raw data (or without `extinction`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import common  # first: puts the project root on sys.path
import numpy as np
import pandas as pd
import torch

from utils.classes import CLASS_GROUPS
from utils.models import build_model, count_parameters
from utils.training import (CNN_PROFILES, TRANSFORMER_PROFILES, DeepInputs, FeatureScaler, LightCurveArrays,
                            cross_validate_network, deep_settings, make_deterministic)


BUNDLE_LAYOUTS = (("band", 64), ("band", 200), ("token", 128), ("token", 256))


def export_bundle(data_dir: str, path: Path) -> None:
    """Training arrays of every layout in BUNDLE_LAYOUTS, labels and physics features, in one .npz."""
    from utils.data.load import load_dataset
    from utils.training import physics_features, prepare_inputs
    from utils.training.prepare import training_log

    dataset = load_dataset(data_dir)
    seed = CNN_PROFILES["default"]["cv_seed"]
    stored = {}
    for layout, length in BUNDLE_LAYOUTS:
        settings = {"layout": layout, "sequence_length": length, "token_length": length, "use_features": False,
                    "perturb_train_z": False, "cv_seed": seed}
        inputs = prepare_inputs(dataset, settings)
        for key, value in inputs.train.tensors.items():
            if key != "z":
                stored[f"{layout}{length}_{key}"] = value.numpy().astype(np.int8) if key == "band" else value.numpy()
    ids = inputs.train.object_ids
    stored.update(object_ids=ids, y=inputs.y, aux=inputs.aux, aux_classes=np.array(CLASS_GROUPS))
    for perturbed in (False, True):
        name = "perturbed" if perturbed else "spectroscopic"
        stored[f"z_{name}"] = training_log(dataset, {"perturb_train_z": perturbed, "cv_seed": seed}).loc[ids, "Z"].to_numpy(np.float32)
        features, _ = physics_features(dataset, seed if perturbed else None)
        stored[f"features_{name}"] = features.loc[ids].to_numpy(dtype=np.float64)
    stored["feature_names"] = np.array(features.columns, dtype=str)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **stored)


def load_bundle(path: Path, settings: dict) -> DeepInputs:
    """DeepInputs from an exported bundle (no test set)."""
    if settings.get("gp_grid", False):
        raise SystemExit("a bundle holds no GP grids: run gp_grid=True on the data set (--data-dir)")
    if settings["distill_weight"] > 0:
        raise SystemExit("a bundle holds no test light curves to distil onto: add --set distill_weight=0, or run "
                         "on the data set (--data-dir)")
    stored = np.load(path, allow_pickle=False)
    length = settings["sequence_length"] if settings["layout"] == "band" else settings["token_length"]
    prefix = f"{settings['layout']}{length}_"
    tensors = {key[len(prefix):]: torch.from_numpy(stored[key].astype(np.int64) if key.endswith("_band") else stored[key])
               for key in stored.files if key.startswith(prefix)}
    if not tensors:
        raise SystemExit(f"{path} holds no {settings['layout']} arrays of length {length}")
    if "aux_classes" not in stored.files or tuple(stored["aux_classes"]) != CLASS_GROUPS:
        raise SystemExit(f"{path} holds auxiliary labels of another class grouping than {CLASS_GROUPS}: "
                         "export it again with --export-bundle")
    if settings["cv_seed"] != CNN_PROFILES["default"]["cv_seed"] and settings["perturb_train_z"]:
        raise SystemExit("the bundle's perturbed Z and features were drawn with the default cv_seed")
    name = "perturbed" if settings["perturb_train_z"] else "spectroscopic"
    tensors["z"] = torch.from_numpy(stored[f"z_{name}"])
    scaler = None
    if settings["use_features"]:
        table = pd.DataFrame(stored[f"features_{name}"], columns=list(stored["feature_names"]))
        scaler = FeatureScaler.fit(table)
        tensors["extra"] = torch.from_numpy(scaler.transform(table))
    train = LightCurveArrays(stored["object_ids"], tensors, settings["layout"])
    return DeepInputs(train, stored["y"], stored["aux"], None, scaler)


def blind(arrays: LightCurveArrays) -> LightCurveArrays:
    """The same objects with every observation hidden: what the MLP makes of Z, EBV and features alone."""
    tensors = dict(arrays.tensors)
    tensors["mask"] = torch.zeros_like(tensors["mask"])
    for key in ("flux", "time"):
        tensors[key] = torch.zeros_like(tensors[key])
    tensors["flux_err"] = torch.ones_like(tensors["flux_err"])
    return LightCurveArrays(arrays.object_ids, tensors, arrays.layout)


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--model", default="cnn", choices=["cnn", "cnn_attn", "transformer"])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--variant", default="tuned")
    parser.add_argument("--set", nargs="*", action="extend", default=[],
                        help="key=value overrides, e.g. aug_noise=0 n_seeds=1 (the flag may repeat)")
    parser.add_argument("--tag", default="")
    parser.add_argument("--results", default="benchmarks/results/ablations.jsonl")
    parser.add_argument("--blind", action="store_true", help="hide all observations (features-only reference)")
    parser.add_argument("--no-test", action="store_true", help="skip predicting the test set")
    parser.add_argument("--bundle", type=Path, default=None, help="read inputs from an exported bundle")
    parser.add_argument("--export-bundle", type=Path, default=None, help="write a bundle and exit")
    parser.add_argument("--seeds", type=common.int_list, default=None, help="comma-separated seeds, e.g. 42,0,1,2,3: "
                        "one run (and row) per seed, each with seed = cv_seed = that value")
    parser.add_argument("--same-folds", action="store_true", help="--seeds sets `seed` only: cv_seed (folds and Z "
                        "draw) stays the profile's, so a pretrained encoder is computed once for all seeds")
    parser.add_argument("--baseline", default=None, help="tag of stored rows (same model, same seed) to compare with")
    args = parser.parse_args(argv)
    if args.export_bundle:
        export_bundle(args.data_dir, args.export_bundle)
        return 0
    overrides = common.key_values(args.set)
    seeds = args.seeds or [None]
    if args.seeds and ({"seed", "cv_seed"} & set(overrides)):
        raise SystemExit("--seeds sets seed and cv_seed; drop them from --set")
    if args.same_folds and not args.seeds:
        raise SystemExit("--same-folds needs --seeds")
    baseline = baseline_rows(Path(args.results), args.baseline, args.model) if args.baseline else {}
    paired_rows = []  # (row, baseline row) per seed
    for seed in seeds:
        row = run_once(args, overrides, seed, same_folds=args.same_folds)
        print(json.dumps(row))
        Path(args.results).parent.mkdir(parents=True, exist_ok=True)
        with open(args.results, "a") as handle:
            handle.write(json.dumps(row) + "\n")
        line = (f"seed {row['seed']}: nested F1 {row.get('f1', float('nan')):.3f}, "
                f"AP {row.get('average_precision', float('nan')):.3f}")
        reference = baseline.get((row["seed"], row["cv_seed"]))
        if args.baseline and reference is None:
            line += (f"; no row tagged {args.baseline!r} for {args.model} at seed {row['seed']}, "
                     f"cv_seed {row['cv_seed']}")
        elif reference is not None and "f1" in row:
            paired_rows.append((row, reference))
            line += (f"; baseline F1 {reference['f1']:.3f}, AP {reference['average_precision']:.3f}; "
                     f"difference F1 {row['f1'] - reference['f1']:+.3f}, "
                     f"AP {row['average_precision'] - reference['average_precision']:+.3f}")
        print(line, flush=True)
    for key, name in (("f1", "nested F1"), ("average_precision", "AP")) if paired_rows else ():
        print(common.paired_line(f"paired difference, {name}, {args.tag!r} - {args.baseline!r}",
                                 [row[key] for row, _ in paired_rows], [base[key] for _, base in paired_rows]))
    return 0


def run_once(args: argparse.Namespace, overrides: dict, seed: int | None, *, same_folds: bool = False) -> dict:
    """One 5-fold CV of the configuration (at `seed`, and cv_seed = `seed` unless `same_folds`); its row."""
    profiles = TRANSFORMER_PROFILES if args.model == "transformer" else CNN_PROFILES
    seeded = {} if seed is None else {"seed": seed} if same_folds else {"seed": seed, "cv_seed": seed}
    settings = deep_settings(profiles, args.profile, args.variant, model=args.model, **overrides, **seeded)
    make_deterministic(settings["seed"], settings["threads"])
    started = time.perf_counter()
    if args.bundle:
        inputs = load_bundle(args.bundle, settings)
    else:
        from utils.data.load import load_dataset
        from utils.training import prepare_inputs

        inputs = prepare_inputs(load_dataset(args.data_dir), settings)
    train = blind(inputs.train) if args.blind else inputs.train
    # --no-test skips predicting the test set, not pretraining on its light curves (label-free, as in a run).
    result = cross_validate_network(settings, train, inputs.y, inputs.aux, None if args.no_test else inputs.test,
                            scaler=inputs.scaler, unlabelled=inputs.test, teacher_features=inputs.teacher_features)
    n_extra = len(inputs.scaler.names) if inputs.scaler else 0
    # with a test set the fold networks' scores are aligned on it (align_folds), so --no-test changes the OOF rows
    return {"tag": args.tag, "model": args.model, "variant": args.variant, "overrides": overrides, "blind": args.blind,
            "no_test": bool(args.no_test), "seed": settings["seed"], "cv_seed": settings["cv_seed"],
            "device": str(torch.device(settings["device"]) if settings["device"] != "auto" else "auto"),
            "parameters": count_parameters(build_model(settings, n_extra)),
            "seconds": round(time.perf_counter() - started, 1),
            "epochs_run": float(result.history.groupby(["fold", "seed"]).epoch.max().mean()),
            **({k: result.summary[k] for k in ("f1", "precision", "recall", "average_precision", "f1_oof_optimised")}
               if result.summary else {"fold_ap": float(result.folds.average_precision.mean())})}


def baseline_rows(path: Path, tag: str, model: str) -> dict[tuple[int, int], dict]:
    """The last stored row per (seed, cv_seed) with this tag and model (older rows: the profile's seeds unless
    their overrides set them)."""
    default_seed = CNN_PROFILES["default"]["seed"]
    rows = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("tag") == tag and row.get("model") == model and "f1" in row:
                overrides = row.get("overrides", {})
                seeds = (row.get("seed", overrides.get("seed", default_seed)),
                         row.get("cv_seed", overrides.get("cv_seed", default_seed)))
                rows[seeds] = row
    if not rows:
        raise SystemExit(f"no complete row tagged {tag!r} for model {model} in {path}")
    return rows


if __name__ == "__main__":
    common.run(main)

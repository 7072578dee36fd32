"""Measure one deep-model configuration with 5-fold CV on the real data; append the scores to a JSONL file.

    python benchmarks/ablate_deep.py --model cnn --set aug_redshift=0 --tag no-redshift
    python benchmarks/ablate_deep.py --model transformer --variant starter --tag starter
    python benchmarks/ablate_deep.py --model cnn --blind --tag features-only   # the MLP without light curves

Every run uses the same folds (cv_seed 42), so rows of the results file compare like with like.
`--export-bundle F` writes the training arrays and physics features to one file, and `--bundle F` reads
them instead of the data set, for machines without the raw data (or without `extinction`).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from utils.classes import CLASS_GROUPS  # noqa: E402
from utils.models import build_model, count_parameters  # noqa: E402
from utils.training import (CNN_PROFILES, TRANSFORMER_PROFILES, DeepInputs, FeatureScaler,  # noqa: E402
                            LightCurveArrays, cross_validate, deep_settings, make_deterministic)

BUNDLE_LAYOUTS = (("band", 64), ("band", 200), ("token", 128), ("token", 256))


def export_bundle(data_dir: str, path: Path) -> None:
    """Training arrays of every layout in BUNDLE_LAYOUTS, labels and physics features, in one .npz."""
    from utils.data import load_dataset
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
    parser.add_argument("--blind", action="store_true", help="hide all observations (features-only reference)")
    parser.add_argument("--no-test", action="store_true", help="skip predicting the test set")
    parser.add_argument("--bundle", type=Path, default=None, help="read inputs from an exported bundle")
    parser.add_argument("--export-bundle", type=Path, default=None, help="write a bundle and exit")
    args = parser.parse_args(argv)
    if args.export_bundle:
        export_bundle(args.data_dir, args.export_bundle)
        return 0
    overrides = dict(item.split("=", 1) for item in args.set)
    overrides = {key: parse_value(value) for key, value in overrides.items()}
    profiles = TRANSFORMER_PROFILES if args.model == "transformer" else CNN_PROFILES
    settings = deep_settings(profiles, args.profile, args.variant, model=args.model, **overrides)
    make_deterministic(settings["seed"], settings["threads"])
    started = time.perf_counter()
    if args.bundle:
        inputs = load_bundle(args.bundle, settings)
    else:
        from utils.data import load_dataset
        from utils.training import prepare_inputs

        inputs = prepare_inputs(load_dataset(args.data_dir), settings)
    train = blind(inputs.train) if args.blind else inputs.train
    result = cross_validate(settings, train, inputs.y, inputs.aux, None if args.no_test else inputs.test,
                            scaler=inputs.scaler)
    n_extra = len(inputs.scaler.names) if inputs.scaler else 0
    row = {"tag": args.tag, "model": args.model, "variant": args.variant, "overrides": overrides, "blind": args.blind,
           "device": str(torch.device(settings["device"]) if settings["device"] != "auto" else "auto"),
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

"""Seconds per self-supervised pretraining epoch against one classifier epoch, on a slice of real objects.

    python benchmarks/deep_pretrain_speed.py --data-dir ../shared/mallorn --objects 500 --epochs 3

For each default design (CNN: band layout, Transformer: token layout) it builds the sequences of the first
objects (a quarter from train, the rest from test; no cache written), pretrains for `--epochs` epochs, then
trains the classifier for as many epochs on the same objects, and prints both times per epoch, their
ratio and the pretraining epoch scaled to all train + test objects.
"""

from __future__ import annotations

import time

import common  # first: puts the project root on sys.path
import numpy as np
import torch

from utils.data.extinction import deextinct
from utils.data.load import load_dataset
from utils.training import (CNN_PROFILES, TRANSFORMER_PROFILES, LightCurveArrays, arrays_from_sequences, deep_settings,
                            make_deterministic, train_network)
from utils.training.pretrain import light_curves_only, pretrain
from utils.training.sequences import build_band_sequences, build_token_sequences


PROFILES = {"cnn": CNN_PROFILES, "transformer": TRANSFORMER_PROFILES}


def slice_arrays(dataset, settings: dict, n_objects: int) -> LightCurveArrays:
    """The first n_objects / 4 train and the first 3 n_objects / 4 test objects as model tensors."""
    build = build_band_sequences if settings["layout"] == "band" else build_token_sequences
    length = settings["sequence_length"] if settings["layout"] == "band" else settings["token_length"]
    parts = []
    for kind, count in (("train", n_objects // 4), ("test", n_objects - n_objects // 4)):
        log = dataset.log(kind).iloc[:count]
        curves = dataset.lightcurves(kind)
        curves = curves[curves["object_id"].isin(log.index)]
        sequences = build(deextinct(curves, log["EBV"]), log, length=length, rest_frame=False)
        parts.append(arrays_from_sequences(sequences, log))
    return light_curves_only(parts)


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--models", type=common.names, default="cnn,transformer")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    dataset = load_dataset(args.data_dir)
    n_all = len(dataset.train_log) + len(dataset.test_log)
    print(f"torch threads {torch.get_num_threads()}; {args.objects} objects, {args.epochs} epochs")
    for model in args.models:
        settings = deep_settings(PROFILES[model], "default", device=args.device, use_features=False,
                                 pretrain_epochs=args.epochs, epochs=args.epochs)
        arrays = slice_arrays(dataset, settings, args.objects)
        make_deterministic(0)
        started = time.perf_counter()
        pretrained = pretrain(settings, arrays)
        pretrain_epoch = (time.perf_counter() - started) / args.epochs
        labels = np.zeros(len(arrays), dtype=int)
        labels[::20] = 1  # made up: only the time is wanted
        started = time.perf_counter()
        train_network(settings, arrays, labels, np.zeros(len(arrays), dtype=int), None, None, seed=0)
        train_epoch = (time.perf_counter() - started) / args.epochs
        losses = ", ".join(f"{record['loss']:.3f}" for record in pretrained.history)
        print(f"{model} ({settings['layout']} layout, {len(arrays)} objects): pretraining {pretrain_epoch:.2f} s/epoch "
              f"(reconstruction loss {losses}), classifier {train_epoch:.2f} s/epoch, ratio "
              f"{pretrain_epoch / train_epoch:.2f}; pretraining on all {n_all:,} objects "
              f"≈ {pretrain_epoch * n_all / len(arrays):.0f} s/epoch", flush=True)
    return 0


if __name__ == "__main__":
    common.run(main)

"""Speed and memory of the deep models: seconds per training epoch, samples/s and peak memory.

    python benchmarks/deep_speed.py                  # CPU, and CUDA when present
    python benchmarks/deep_speed.py --devices cpu --samples 512 --threads 1

Batches are random tensors shaped like the real inputs (2,000 training objects per epoch by default,
augmentation on), so no data set is needed. Each (model, device) runs in a fresh process so peak
memory is its own: peak resident memory on the CPU, peak allocated memory on CUDA.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import common  # first: puts the project root on sys.path
from utils.models import MODEL_NAMES
from utils.training.profiles import VARIANTS


CASES = [(model, variant) for variant in VARIANTS for model in MODEL_NAMES]


def measure(model: str, variant: str, device_name: str, samples: int, epochs: int) -> dict:
    import torch

    from utils.models import build_model, count_parameters
    from utils.training import CNN_PROFILES, TRANSFORMER_PROFILES, augment, deep_settings, make_loss, pick_device

    profiles = TRANSFORMER_PROFILES if model == "transformer" else CNN_PROFILES
    settings = deep_settings(profiles, "default", variant, model=model, device=device_name)
    device = pick_device(device_name)
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    length = settings["sequence_length"] if settings["layout"] == "band" else settings["token_length"]
    shape = (samples, 6, length) if settings["layout"] == "band" else (samples, length)
    observed = torch.randint(length // 4, length, shape[:-1])
    mask = torch.arange(length) < observed.unsqueeze(-1)
    data = {"flux": torch.randn(shape) * 10 * mask, "flux_err": torch.ones(shape), "mask": mask,
            "time": torch.sort(torch.rand(shape) * 2000, -1).values * mask,
            "band": torch.randint(0, 6, shape), "z": torch.rand(samples), "ebv": torch.rand(samples) * 0.1}
    y = (torch.rand(samples) < 0.05).float()
    network = build_model(settings).to(device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3)
    loss_fn = make_loss(settings)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def one_epoch() -> None:
        network.train()
        for start in range(0, samples, settings["batch_size"]):
            rows = torch.arange(start, min(start + settings["batch_size"], samples))
            batch = augment({k: v[rows].to(device) for k, v in data.items()}, settings, generator)
            loss = loss_fn(network(batch)["logit"], y[rows].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    one_epoch()  # warm-up: allocations, kernel selection
    started = time.perf_counter()
    for _ in range(epochs):
        one_epoch()
    seconds = (time.perf_counter() - started) / epochs
    network.eval()
    started = time.perf_counter()
    with torch.no_grad():
        for start in range(0, samples, 512):
            network({k: v[start:start + 512].to(device) for k, v in data.items()})
    if device.type == "cuda":
        torch.cuda.synchronize()
    predict = time.perf_counter() - started
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"model": model, "variant": variant, "layout": settings["layout"], "length": length,
            "device": device.type, "threads": torch.get_num_threads(), "parameters": count_parameters(network),
            "epoch_s": round(seconds, 3), "train_samples_per_s": round(samples / seconds),
            "predict_samples_per_s": round(samples / predict), "peak_memory_mib": round(peak)}


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__, data_dir=False)
    parser.add_argument("--devices", nargs="*", default=None, help="cpu, cuda (default: cpu, plus cuda when present)")
    parser.add_argument("--samples", type=int, default=2000, help="training objects per epoch")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs (after one warm-up epoch)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "VARIANT", "DEVICE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        print(json.dumps(measure(*args.one, args.samples, args.epochs)))
        return 0
    devices = args.devices
    if devices is None:
        import torch

        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        for model, variant in CASES:
            out = subprocess.run([sys.executable, __file__, "--one", model, variant, device, "--samples", str(args.samples),
                                  "--epochs", str(args.epochs),
                                  *(["--threads", str(args.threads)] if args.threads else [])],
                                 capture_output=True, text=True, cwd=common.ROOT)
            if out.returncode:
                print(out.stderr, file=sys.stderr)
                return out.returncode
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(" ".join(f"{k}={v}" for k, v in rows[-1].items()), flush=True)
    print()
    common.print_header(rows[0])
    for row in rows:
        common.print_row(row.values())
    return 0


if __name__ == "__main__":
    common.run(main)

"""Pick the accelerator and make CPU runs repeat bit for bit."""

from __future__ import annotations

import os

import torch

from ..config import seed_everything


def pick_device(device: str = "auto") -> torch.device:
    """'auto' -> cuda if present, then mps, else cpu; any other name is taken as given."""
    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def make_deterministic(seed: int, threads: int | None = None) -> None:
    """Seed everything and ask torch for deterministic kernels (exact on CPU; best effort on GPUs).

    `threads`: torch CPU threads (None keeps torch's choice, one per core). On a CPU shared with other
    busy processes one thread can be several times faster than two fighting for the same core.
    """
    seed_everything(seed)
    # cuBLAS is deterministic only with a fixed workspace; read when CUDA first starts, so set it before.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    if threads:
        torch.set_num_threads(threads)

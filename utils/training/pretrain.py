"""Self-supervised pretraining of the deep models' light-curve encoders: masked-observation reconstruction.

As Astromer does (Donoso-Oliva et al. 2023): hide a random share (`pretrain_mask_fraction`) of each
object's observed points from the encoder, and train the encoder with a small reconstruction head to
predict every hidden point's flux, divided by the object's max |flux| over its *visible* points. The head
queries the encoder's per-step outputs (`encode_steps`) with the hidden point's band and time (rest frame,
relative to the peak of the visible points, as the encoder sees time) by one cross-attention layer. Loss:
Gaussian negative log-likelihood whose variance is the head's predicted variance plus the point's own
measurement variance, so noisy points weigh less. The training augmentations (augment.py) act first.

With settings['pretrain_feature_weight'] > 0 a second head also regresses, from the encoder's pooled visible
steps, each object's standardised physics features (utils.features: rise and decline times, colours,
model-comparison fits ... computed from its full light curve), mean squared error at that weight: the physics
we know, taught to the encoder on every object. The features are functions of the light curve alone, so
pretraining still sees no label.

Pretraining reads light curves (and, with the feature head, their physics features) of train and test only,
no target and no SpecType, so its weights depend on the input arrays alone. `pretrained_encoder` runs it
once per (input arrays, pretraining settings), caches it under cache_root()/pretrain and copies it next to
the run's checkpoints; every fold network of every seed then starts from those encoder weights, with a fresh
classification head and pooling:

    state = pretrained_encoder(settings, inputs.train, inputs.test, out_dir=run_folder)
    classifier = DeepClassifier(settings).fit(train, y, aux, pretrained=state)

`cross_validate_network` does both when settings['pretrain'] is on.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .. import BANDS
from ..atomic import write_atomically
from ..data.load import cache_root
from ..models import build_model
from ..models.inputs import object_channels, object_scale, relative_time
from ..models.layers import ContinuousTimeEmbedding
from ..progress import progress_line
from .arrays import LightCurveArrays
from .augment import augment, compact
from .device import pick_device

PRETRAIN_VERSION = 1  # bump when the objective changes: old cache entries are then never read
# What the pretrained weights depend on besides the input arrays (the cache key).
PRETRAIN_SETTINGS = (
    "model", "layout", "cnn_channels", "kernel_size", "d_model", "n_heads", "n_layers", "ff_dim", "time_encoding",
    "dropout", "flux_scaling", "rest_frame", "time_reference", "aug_noise", "aug_time", "aug_drop", "aug_redshift",
    "batch_size", "weight_decay", "pretrain_epochs", "pretrain_mask_fraction", "pretrain_lr", "pretrain_seed",
    "pretrain_feature_weight",
)
# The light-curve tensors pretraining reads; the classifier's features ("extra") and labels never enter.
LIGHT_CURVE_KEYS = ("flux", "flux_err", "time", "mask", "band", "z", "ebv")
FEATURE_TARGET = "feature_target"  # standardised physics features, the feature head's targets (prepare.py)
HEAD_WIDTH = 32
FEATURE_HEAD_WIDTH = 64
LOSS_BATCH = 256


class ReconstructionHead(nn.Module):
    """Predicts hidden points from the visible steps' encodings: one cross-attention layer whose queries
    are the hidden points' time and band (plus the object vector), then an MLP -> (mean, raw variance)."""

    def __init__(self, step_channels: int, n_objects: int, width: int = HEAD_WIDTH, n_heads: int = 2):
        super().__init__()
        self.keys = nn.Linear(step_channels, width)
        self.when = ContinuousTimeEmbedding(width)
        self.band = nn.Embedding(len(BANDS), width)
        self.objects = nn.Linear(n_objects, width)
        self.attention = nn.MultiheadAttention(width, n_heads, batch_first=True)
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(), nn.Linear(width, 2))

    def forward(self, steps: torch.Tensor, step_time: torch.Tensor, step_band: torch.Tensor, step_mask: torch.Tensor,
                query_time: torch.Tensor, query_band: torch.Tensor,
                objects: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """steps (B, N, C) with time, band, mask (B, N); queries (B, Q) -> mean and raw variance (B, Q)."""
        keys = self.keys(steps) + self.when(step_time) + self.band(step_band)
        query = self.when(query_time) + self.band(query_band) + self.objects(objects).unsqueeze(1)
        ignore = ~step_mask
        ignore[:, 0] &= step_mask.any(1)  # an object with nothing visible attends to its first (zero) step
        mixed, _ = self.attention(query, keys, keys, key_padding_mask=ignore, need_weights=False)
        mean, raw_variance = self.out(query + mixed).unbind(-1)
        return mean, raw_variance


class FeatureHead(nn.Module):
    """Predicts an object's standardised physics features from the mean and max of its visible steps and
    its object vector (redshift, EBV, flux scale: luminosities need the distance)."""

    def __init__(self, step_channels: int, n_objects: int, n_features: int, width: int = FEATURE_HEAD_WIDTH):
        super().__init__()
        self.n_features = n_features
        pooled = 2 * step_channels + n_objects
        self.out = nn.Sequential(nn.LayerNorm(pooled), nn.Linear(pooled, width), nn.GELU(),
                                 nn.Linear(width, n_features))

    def forward(self, steps: torch.Tensor, step_mask: torch.Tensor, objects: torch.Tensor) -> torch.Tensor:
        """steps (B, N, C), mask (B, N), objects (B, n_objects) -> (B, n_features)."""
        weights = step_mask.unsqueeze(-1).to(steps.dtype)
        mean = (steps * weights).sum(1) / weights.sum(1).clamp(min=1)
        largest = steps.masked_fill(~step_mask.unsqueeze(-1), float("-inf")).amax(1)
        largest = torch.where(step_mask.any(1, keepdim=True), largest, torch.zeros_like(largest))
        return self.out(torch.cat([mean, largest, objects], dim=1))


def hide_observations(mask: torch.Tensor, fraction: float,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(hidden, visible): a random `fraction` of each object's observed points hidden; an object whose points
    would all be hidden keeps them all visible (nothing to reconstruct from)."""
    # drawn on the CPU with a CPU generator, as augment.py does, so the draws do not depend on the device
    hidden = mask & (torch.rand(mask.shape, generator=generator).to(mask.device) < fraction)
    nothing_left = ~(mask & ~hidden).flatten(1).any(1)
    hidden = hidden & ~nothing_left.view((-1,) + (1,) * (mask.dim() - 1))
    return hidden, mask & ~hidden


def _gather_hidden(values: dict[str, torch.Tensor],
                   hidden: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The hidden points of (B, N) tensors packed to the front of (B, Q) ones; Q = most hidden in an object."""
    count = hidden.sum(1)
    width = max(int(count.max()), 1) if len(count) else 1
    order = torch.sort((~hidden).to(torch.int8), dim=1, stable=True).indices[:, :width]
    valid = torch.arange(width, device=hidden.device) < count.unsqueeze(1)
    return {key: value.gather(1, order) for key, value in values.items()}, valid


def pretraining_losses(encoder: nn.Module, head: ReconstructionHead, batch: Mapping[str, torch.Tensor],
                       settings: Mapping[str, Any], generator: torch.Generator,
                       feature_head: FeatureHead | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(mean Gaussian NLL of the hidden points' scaled flux given the visible points (see module doc), feature
    MSE or None without `feature_head`), both from one pass of the encoder over the visible points."""
    hidden, visible = hide_observations(batch["mask"], settings["pretrain_mask_fraction"], generator)
    shown = compact({**batch, "mask": visible})
    shown["flux"] = shown["flux"].masked_fill(~shown["mask"], 0.0)  # hidden points look like padding
    shown["time"] = shown["time"].masked_fill(~shown["mask"], 0.0)
    shown["flux_err"] = shown["flux_err"].masked_fill(~shown["mask"], 1.0)
    steps, objects = encoder.encode_steps(shown)
    frame = {key: settings[key] for key in ("rest_frame", "time_reference")}
    step_time = relative_time(shown, **frame) * shown["mask"]
    # the hidden points on the encoder's time axis: its peak is found among the visible points too
    query_time = relative_time({**batch, "mask": visible}, **frame)
    scale = object_scale(batch["flux"], visible).view((-1,) + (1,) * (batch["flux"].dim() - 1))
    queries, valid = _gather_hidden({"time": query_time.flatten(1), "band": batch["band"].flatten(1),
                                     "target": (batch["flux"] / scale).flatten(1),
                                     "error": (batch["flux_err"] / scale).flatten(1)}, hidden.flatten(1))
    mean, raw_variance = head(steps.flatten(1, -2), step_time.flatten(1), shown["band"].flatten(1),
                              shown["mask"].flatten(1), queries["time"], queries["band"], objects)
    variance = F.softplus(raw_variance) + queries["error"] ** 2 + 1e-6
    nll = 0.5 * (torch.log(variance) + (queries["target"] - mean) ** 2 / variance)
    reconstruction = (nll * valid).sum() / valid.sum().clamp(min=1)
    if feature_head is None:
        return reconstruction, None
    predicted = feature_head(steps.flatten(1, -2), shown["mask"].flatten(1), objects)
    return reconstruction, F.mse_loss(predicted, batch[FEATURE_TARGET])


def pretraining_keys(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The tensors pretraining reads under these settings."""
    return LIGHT_CURVE_KEYS + ((FEATURE_TARGET,) if settings.get("pretrain_feature_weight", 0.0) > 0 else ())


def _check_keys(parts: Sequence[LightCurveArrays], keys: Sequence[str]) -> None:
    for key in keys:
        if any(key not in part.tensors for part in parts):
            raise ValueError(f"pretraining reads {key!r}, which some arrays lack (pretrain_feature_weight > 0 needs "
                             "the physics features as targets: utils.training.prepare_inputs adds them)")


def light_curves_only(parts: Sequence[LightCurveArrays], keys: Sequence[str] = LIGHT_CURVE_KEYS) -> LightCurveArrays:
    """The light-curve tensors (`keys`) of all `parts` (e.g. train and test) in one LightCurveArrays."""
    layouts = {part.layout for part in parts}
    if len(layouts) != 1:
        raise ValueError(f"pretraining arrays mix layouts {sorted(layouts)}")
    _check_keys(parts, keys)
    tensors = {key: torch.cat([part.tensors[key] for part in parts]) for key in keys}
    return LightCurveArrays(np.concatenate([part.object_ids for part in parts]), tensors, layouts.pop())


def _encoder_and_head(settings: Mapping[str, Any]) -> tuple[nn.Module, ReconstructionHead]:
    encoder = build_model(settings)
    return encoder, ReconstructionHead(encoder.step_channels, object_channels(settings["flux_scaling"]))


def _feature_head(settings: Mapping[str, Any], encoder: nn.Module, n_features: int | None) -> FeatureHead | None:
    if settings.get("pretrain_feature_weight", 0.0) <= 0:
        return None
    return FeatureHead(encoder.step_channels, object_channels(settings["flux_scaling"]), n_features)


@dataclass
class PretrainedEncoder:
    """A pretrained network (its classification head untrained) with its reconstruction head (and feature
    head, when pretraining regressed the physics features)."""

    settings: dict[str, Any]
    encoder: nn.Module
    head: ReconstructionHead
    history: list[dict] = field(default_factory=list)
    feature_head: FeatureHead | None = None

    def encoder_state(self) -> dict[str, torch.Tensor]:
        """The weights `encode_steps` uses (type(encoder).STEP_ENCODER): what fine-tuning starts from."""
        prefixes = type(self.encoder).STEP_ENCODER
        return {key: value.detach().cpu().clone() for key, value in self.encoder.state_dict().items()
                if key.split(".")[0] in prefixes}

    def save(self, path: str | os.PathLike, **info: Any) -> Path:
        """One file, written atomically (utils.atomic)."""
        stored = {"settings": self.settings, "encoder": {k: v.cpu() for k, v in self.encoder.state_dict().items()},
                  "head": {k: v.cpu() for k, v in self.head.state_dict().items()}, "history": self.history,
                  "version": PRETRAIN_VERSION, "info": info}
        if self.feature_head is not None:
            stored["feature_head"] = {k: v.cpu() for k, v in self.feature_head.state_dict().items()}
            stored["n_features"] = self.feature_head.n_features
        return write_atomically(path, lambda out: torch.save(stored, out))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PretrainedEncoder":
        stored = torch.load(path, map_location="cpu", weights_only=False)
        encoder, head = _encoder_and_head(stored["settings"])
        encoder.load_state_dict(stored["encoder"])
        head.load_state_dict(stored["head"])
        feature_head = _feature_head(stored["settings"], encoder, stored.get("n_features"))
        if feature_head is not None:
            feature_head.load_state_dict(stored["feature_head"])
        return cls(stored["settings"], encoder, head, stored["history"], feature_head)


def pretrain(settings: Mapping[str, Any], arrays: LightCurveArrays, *, progress: bool = False) -> PretrainedEncoder:
    """Train encoder + reconstruction head (+ feature head) for settings['pretrain_epochs'] epochs over `arrays`
    (no labels)."""
    device = pick_device(settings["device"])
    seed = settings["pretrain_seed"]
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    encoder, head = _encoder_and_head(settings)
    feature_weight = settings.get("pretrain_feature_weight", 0.0)
    n_features = arrays.tensors[FEATURE_TARGET].shape[1] if FEATURE_TARGET in arrays.tensors else None
    if feature_weight > 0 and n_features is None:
        raise ValueError("pretrain_feature_weight > 0 but the arrays hold no feature targets (prepare_inputs adds "
                         "them when settings['pretrain'] is on)")
    feature_head = _feature_head(settings, encoder, n_features)
    modules = [module.to(device) for module in (encoder, head, feature_head) if module is not None]
    parameters = [p for module in modules for p in module.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=settings["pretrain_lr"], weight_decay=settings["weight_decay"])
    epochs, batch_size = settings["pretrain_epochs"], settings["batch_size"]
    steps = math.ceil(len(arrays) / batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=settings["pretrain_lr"],
                                                   total_steps=max(epochs * steps, 1), pct_start=0.1)
    history = []
    bar = tqdm(range(epochs), desc=f"pretrain {settings['model']}", disable=not progress, leave=False)
    for epoch in bar:
        started = time.perf_counter()
        for module in modules:
            module.train()
        rows = torch.randperm(len(arrays), generator=generator)
        totals = np.zeros(2)
        for start in range(0, len(rows), batch_size):
            index = rows[start:start + batch_size]
            batch = augment(arrays.batch(index, device), settings, generator)
            reconstruction, features = pretraining_losses(encoder, head, batch, settings, generator, feature_head)
            loss = reconstruction if features is None else reconstruction + feature_weight * features
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            schedule.step()
            totals += len(index) * np.array([reconstruction.item(), 0.0 if features is None else features.item()])
        mean = totals / max(len(rows), 1)
        history.append({"epoch": epoch + 1, "loss": float(mean[0]), "seconds": time.perf_counter() - started,
                        **({"feature_loss": float(mean[1])} if feature_head is not None else {})})
        bar.set_postfix(loss=f"{history[-1]['loss']:.4f}")
        if (epoch + 1) % 5 == 0 or epoch + 1 == epochs:
            extra = f", feature MSE {mean[1]:.4f}" if feature_head is not None else ""
            progress_line(f"pretrain {settings['model']}: epoch {epoch + 1}/{epochs}, "
                          f"reconstruction loss {history[-1]['loss']:.4f}{extra}")
    return PretrainedEncoder(dict(settings), encoder.cpu(), head.cpu(), history,
                             feature_head.cpu() if feature_head is not None else None)


def reconstruction_loss(pretrained: PretrainedEncoder, arrays: LightCurveArrays, *, seed: int = 0) -> float:
    """The objective on `arrays` in eval mode, without augmentation, with hidden points drawn from `seed`."""
    return _evaluate(pretrained, arrays, seed, with_features=False)[0]


def feature_loss(pretrained: PretrainedEncoder, arrays: LightCurveArrays, *, seed: int = 0) -> float:
    """The feature head's mean squared error on `arrays`, evaluated as reconstruction_loss is; only for encoders
    pretrained with the feature head."""
    if pretrained.feature_head is None:
        raise ValueError("this encoder was pretrained without the feature head (pretrain_feature_weight 0)")
    return _evaluate(pretrained, arrays, seed, with_features=True)[1]


def _evaluate(pretrained: PretrainedEncoder, arrays: LightCurveArrays, seed: int, *,
              with_features: bool) -> tuple[float, float]:
    """Mean (reconstruction NLL, feature MSE or 0) over `arrays`, eval mode, no augmentation."""
    generator = torch.Generator().manual_seed(seed)
    feature_head = pretrained.feature_head if with_features else None
    for module in (pretrained.encoder, pretrained.head, feature_head):
        if module is not None:
            module.eval()
    totals = np.zeros(2)
    with torch.no_grad():
        for start in range(0, len(arrays), LOSS_BATCH):
            rows = np.arange(start, min(start + LOSS_BATCH, len(arrays)))
            reconstruction, features = pretraining_losses(pretrained.encoder, pretrained.head, arrays.batch(rows),
                                                          pretrained.settings, generator, feature_head)
            totals += len(rows) * np.array([reconstruction.item(), 0.0 if features is None else features.item()])
    return tuple(totals / max(len(arrays), 1))


def pretrain_key(settings: Mapping[str, Any], parts: Sequence[LightCurveArrays]) -> str:
    """Hash of the light-curve tensors (so of the data, sequence length and Z draw), the settings pretraining
    reads and the kind of device (CPU and GPU arithmetic differ); labels are no part of it."""
    keys = pretraining_keys(settings)
    _check_keys(parts, keys)
    digest = hashlib.sha1()
    for part in parts:
        for key in keys:
            digest.update(key.encode())
            digest.update(part.tensors[key].contiguous().numpy().tobytes())
    chosen = {key: settings[key] for key in PRETRAIN_SETTINGS} | {"device": pick_device(settings["device"]).type}
    return hashlib.sha1(json.dumps([PRETRAIN_VERSION, digest.hexdigest(), chosen], sort_keys=True)
                        .encode()).hexdigest()[:16]


def pretrained_path(settings: Mapping[str, Any], parts: Sequence[LightCurveArrays],
                    cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the cache keeps the pretrained encoder for these arrays and settings."""
    return cache_root(cache_dir) / "pretrain" / f"{settings['model']}-{pretrain_key(settings, parts)}.pt"


def run_copy_path(out_dir: str | os.PathLike, model: str) -> Path:
    """The pretrained encoder's copy in a run folder, next to the fold checkpoints."""
    return Path(out_dir) / "models" / model / "pretrained_encoder.pt"


def pretrained_encoder(settings: Mapping[str, Any], train: LightCurveArrays, test: LightCurveArrays | None = None, *,
                       cache_dir: str | os.PathLike | None = None, out_dir: str | os.PathLike | None = None,
                       progress: bool = False) -> dict[str, torch.Tensor]:
    """The pretrained encoder weights for these light curves (train and, when given, test) and settings:
    from the cache, or pretrained now and cached; with `out_dir`, also copied into the run folder."""
    parts = [train] + ([test] if test is not None else [])
    path = pretrained_path(settings, parts, cache_dir)
    if path.is_file():
        pretrained = PretrainedEncoder.load(path)
        print(f"pretrained {settings['model']} encoder from the cache: {path.name}")
    else:
        arrays = light_curves_only(parts, pretraining_keys(settings))
        started = time.perf_counter()
        pretrained = pretrain(settings, arrays, progress=progress)
        seconds = time.perf_counter() - started
        pretrained.save(path, n_objects=len(arrays), seconds=round(seconds, 1))
        message = f"pretrained the {settings['model']} encoder on {len(arrays):,} light curves in {seconds:.0f} s"
        if pretrained.history:
            first, last = pretrained.history[0], pretrained.history[-1]
            message += f"; reconstruction loss {first['loss']:.3f} -> {last['loss']:.3f}"
            if "feature_loss" in last:
                message += f", feature MSE {first['feature_loss']:.3f} -> {last['feature_loss']:.3f}"
        print(message)
    if out_dir is not None:
        target = run_copy_path(out_dir, settings["model"])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return pretrained.encoder_state()


def load_encoder_state(model: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Put pretrained encoder weights into a freshly built network; every other weight keeps its init."""
    missing, unexpected = model.load_state_dict(dict(state), strict=False)
    lacking = [key for key in missing if key.split(".")[0] in type(model).STEP_ENCODER]
    if unexpected or lacking:
        raise ValueError(f"pretrained encoder weights do not fit this network: unexpected {unexpected[:5]}, "
                         f"missing {lacking[:5]} (was it pretrained with other settings?)")

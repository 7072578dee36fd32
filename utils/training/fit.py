"""Train one network (epochs, oversampling, augmentation, early stopping) and a seed-bagged classifier."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedShuffleSplit
from tqdm import tqdm

from ..classes import CLASS_GROUPS
from ..models import build_model
from ..progress import progress_line
from .arrays import FeatureScaler, LightCurveArrays
from .augment import augment
from .device import pick_device
from .distill import TDE_GROUP
from .losses import make_loss
from .pretrain import load_encoder_state

PREDICT_BATCH = 512


def epoch_rows(y: np.ndarray, oversample: float, generator: torch.Generator) -> torch.Tensor:
    """Row order for one epoch of len(y) draws: a permutation, or, when `oversample` > 0, weighted
    draws with replacement so that positives make up that fraction of the epoch on average."""
    n = len(y)
    if oversample <= 0:
        return torch.randperm(n, generator=generator)
    positive = torch.as_tensor(y, dtype=torch.bool)
    n_pos = int(positive.sum())
    weights = torch.where(positive, oversample / max(n_pos, 1), (1 - oversample) / max(n - n_pos, 1))
    return torch.multinomial(weights.double(), n, replacement=True, generator=generator)


def predict_logits(model: torch.nn.Module, arrays: LightCurveArrays, device: torch.device) -> np.ndarray:
    """TDE logits for every object, in eval mode, in batches."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(arrays), PREDICT_BATCH):
            rows = np.arange(start, min(start + PREDICT_BATCH, len(arrays)))
            out.append(model(arrays.batch(rows, device))["logit"].float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def _lr_schedule(optimizer, epochs: int, steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    # One-cycle: a short warm-up, then cosine decay; reaches ~0 at the last planned epoch.
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[g["lr"] for g in optimizer.param_groups],
                                               total_steps=max(epochs * steps, 1), pct_start=0.1)


def parameter_groups(model: torch.nn.Module, settings: Mapping[str, Any],
                     pretrained: Mapping[str, torch.Tensor] | None) -> list[dict]:
    """One group at settings['lr']; with pretrained weights, those at lr x settings['pretrain_encoder_lr_scale']."""
    if pretrained is None:
        return [{"params": list(model.parameters())}]
    named = dict(model.named_parameters())
    encoder = [named[key] for key in pretrained if key in named]  # buffers are no parameters
    rest = [value for key, value in named.items() if key not in pretrained]
    return [{"params": encoder, "lr": settings["lr"] * settings["pretrain_encoder_lr_scale"]}, {"params": rest}]


def train_network(settings: Mapping[str, Any], train: LightCurveArrays, y: np.ndarray, aux: np.ndarray | None,
                  val: LightCurveArrays | None, y_val: np.ndarray | None, *, seed: int,
                  pretrained: Mapping[str, torch.Tensor] | None = None,
                  progress: bool = False, description: str = "",
                  unlabelled: LightCurveArrays | None = None,
                  soft_targets: np.ndarray | None = None) -> tuple[torch.nn.Module, list[dict]]:
    """Fit one network; with a validation set keep the epoch of best validation AP (early stopping).

    `unlabelled` and `soft_targets` (P(TDE) per unlabelled object, distill.py): each step also draws as many
    unlabelled objects as the batch holds, in the same forward pass, and adds settings['distill_weight'] times
    their binary cross-entropy against the soft targets. Soft targets of shape (n, len(CLASS_GROUPS)) (a
    multiclass teacher) give P(TDE) from their TDE column, and with an auxiliary head the whole distribution
    also teaches that head, at distill_weight x aux_weight.

    `pretrained`: encoder weights from pretrain.pretrained_encoder, required exactly when settings['pretrain'];
    the network starts from them (its pooling and head from the seed's initialisation).
    Returns the network (best weights loaded, on the CPU) and the per-epoch history.
    """
    if settings["pretrain"] != (pretrained is not None):
        raise ValueError("settings['pretrain'] is " + ("on but no pretrained encoder weights were given "
                         "(utils.training.pretrain.pretrained_encoder)" if settings["pretrain"] else
                         "off but pretrained encoder weights were given"))
    device = pick_device(settings["device"])
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = build_model(settings, n_extra=train.tensors["extra"].shape[1] if "extra" in train.tensors else 0)
    if pretrained is not None:
        load_encoder_state(model, pretrained)
    model = model.to(device)
    optimizer = torch.optim.AdamW(parameter_groups(model, settings, pretrained), lr=settings["lr"],
                                  weight_decay=settings["weight_decay"])
    steps = int(np.ceil(len(train) / settings["batch_size"]))
    schedule = _lr_schedule(optimizer, settings["epochs"], steps)
    loss_fn = make_loss(settings)
    # torch.tensor copies: the label arrays may be read-only views, which torch.as_tensor would share (and warn)
    targets = torch.tensor(y, dtype=torch.float32)
    aux_targets = torch.tensor(aux, dtype=torch.long) if aux is not None else None
    use_aux = settings["aux_weight"] > 0 and aux_targets is not None
    distils = unlabelled is not None
    if distils != (soft_targets is not None) or (distils and len(soft_targets) != len(unlabelled)):
        raise ValueError("distillation needs unlabelled light curves and one soft target per unlabelled object")
    soft = torch.tensor(soft_targets, dtype=torch.float32) if distils else None
    if soft is not None and soft.ndim == 2 and soft.shape[1] != len(CLASS_GROUPS):
        raise ValueError(f"multiclass soft targets need {len(CLASS_GROUPS)} columns {CLASS_GROUPS}, "
                         f"not {soft.shape[1]}")
    soft_tde = soft[:, TDE_GROUP] if soft is not None and soft.ndim == 2 else soft
    soft_groups = soft if soft is not None and soft.ndim == 2 and use_aux else None

    history, best_ap, best_state, waited = [], -1.0, None, 0
    bar = tqdm(range(settings["epochs"]), desc=description, disable=not progress, leave=False)
    for epoch in bar:
        started = time.perf_counter()
        model.train()
        rows = epoch_rows(y, settings["oversample"], generator)
        total = 0.0
        for start in range(0, len(rows), settings["batch_size"]):
            index = rows[start:start + settings["batch_size"]]
            batch = augment(train.batch(index, device), settings, generator)
            n_labelled = len(index)
            if soft is not None:
                drawn = torch.randint(len(unlabelled), (n_labelled,), generator=generator)
                extra = augment(unlabelled.batch(drawn, device), settings, generator)
                batch = {key: torch.cat([value, extra[key]]) for key, value in batch.items()}
            out = model(batch)
            loss = loss_fn(out["logit"][:n_labelled], targets[index].to(device))
            if use_aux:
                loss = loss + settings["aux_weight"] * F.cross_entropy(out["aux_logits"][:n_labelled],
                                                                       aux_targets[index].to(device))
            if soft is not None:
                loss = loss + settings["distill_weight"] * F.binary_cross_entropy_with_logits(
                    out["logit"][n_labelled:], soft_tde[drawn].to(device))
            if soft_groups is not None:
                loss = loss + settings["distill_weight"] * settings["aux_weight"] * F.cross_entropy(
                    out["aux_logits"][n_labelled:], soft_groups[drawn].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += loss.item() * len(index)
        record = {"epoch": epoch + 1, "loss": total / len(rows), "seconds": time.perf_counter() - started}
        if val is not None:
            record["val_ap"] = float(average_precision_score(y_val, predict_logits(model, val, device)))
            if record["val_ap"] > best_ap:
                best_ap, best_state, waited = record["val_ap"], copy.deepcopy(model.state_dict()), 0
            else:
                waited += 1
        history.append(record)
        if (epoch + 1) % 5 == 0:
            progress_line(f"{description or settings['model']}: epoch {epoch + 1}/{settings['epochs']}, "
                          f"loss {record['loss']:.4f}, val AP {record.get('val_ap', float('nan')):.3f}")
        bar.set_postfix(loss=f"{record['loss']:.4f}", val_ap=f"{record.get('val_ap', float('nan')):.3f}")
        if val is not None and waited >= settings["patience"]:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.cpu(), history


class DeepClassifier:
    """sklearn-like: `fit` trains `n_seeds` networks (each with its own seed and inner validation split
    for early stopping) and `predict_proba` averages their probabilities.

    The flat settings dict travels with the weights in `save`/`load`, like LSSTDESC/parsnip's models.
    """

    def __init__(self, settings: Mapping[str, Any], scaler: FeatureScaler | None = None):
        self.settings = dict(settings)
        self.scaler = scaler
        self.networks: list[torch.nn.Module] = []
        self.histories: list[list[dict]] = []

    def fit(self, arrays: LightCurveArrays, y: np.ndarray, aux: np.ndarray | None = None, *, seed: int = 0,
            pretrained: Mapping[str, torch.Tensor] | None = None, progress: bool = False,
            description: str = "", unlabelled: LightCurveArrays | None = None,
            soft_targets: np.ndarray | None = None) -> "DeepClassifier":
        """`pretrained`: the encoder weights every bagged network starts from; `unlabelled` and `soft_targets`:
        the distillation set (see train_network)."""
        y = np.asarray(y).astype(int)
        self.networks, self.histories = [], []
        for bag in range(self.settings["n_seeds"]):
            bag_seed = seed + 1000 * bag
            train_rows, val_rows = self._inner_split(y, bag_seed)
            val = arrays.subset(val_rows) if len(val_rows) else None
            network, history = train_network(
                self.settings, arrays.subset(train_rows), y[train_rows],
                aux[train_rows] if aux is not None else None, val, y[val_rows] if len(val_rows) else None,
                seed=bag_seed, pretrained=pretrained, progress=progress,
                description=f"{description} seed {bag + 1}/{self.settings['n_seeds']}",
                unlabelled=unlabelled, soft_targets=soft_targets)
            self.networks.append(network)
            self.histories.append(history)
        return self

    def _inner_split(self, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        fraction = self.settings["val_fraction"]
        if fraction <= 0:
            return np.arange(len(y)), np.arange(0)
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        train_rows, val_rows = next(splitter.split(np.zeros(len(y)), y))
        return np.sort(train_rows), np.sort(val_rows)

    def predict_proba(self, arrays: LightCurveArrays) -> np.ndarray:
        """P(TDE) per object: the mean over the bagged networks' probabilities."""
        if not self.networks:
            raise RuntimeError("fit or load the classifier before predicting")
        device = pick_device(self.settings["device"])
        probs = [1 / (1 + np.exp(-predict_logits(net.to(device), arrays, device))) for net in self.networks]
        for net in self.networks:
            net.cpu()
        return np.mean(probs, axis=0)

    def save(self, path: str | Path, **info: Any) -> Path:
        """Weights of every bagged network, the settings, the feature scaler and `info` in one file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"settings": self.settings, "state_dicts": [net.state_dict() for net in self.networks],
                    "scaler": self.scaler.to_dict() if self.scaler else None,
                    "n_extra": len(self.scaler.names) if self.scaler else 0,
                    "histories": self.histories, "info": info}, path)
        return path

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> "DeepClassifier":
        stored = torch.load(path, map_location="cpu", weights_only=False)
        settings = dict(stored["settings"], **({"device": device} if device else {}))
        scaler = FeatureScaler.from_dict(stored["scaler"]) if stored["scaler"] else None
        classifier = cls(settings, scaler)
        for state in stored["state_dicts"]:
            network = build_model(settings, n_extra=stored["n_extra"])
            network.load_state_dict(state)
            classifier.networks.append(network)
        classifier.histories = stored["histories"]
        return classifier

"""Model-ready tensors for a set of objects: raw observations, metadata, labels, optional features."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .sequences import Sequences


@dataclass
class LightCurveArrays:
    """Tensors keyed like a model batch (flux, flux_err, time, mask, band, z, ebv, [extra], [gp_grid]) on the CPU."""

    object_ids: np.ndarray
    tensors: dict[str, torch.Tensor]
    layout: str

    def __len__(self) -> int:
        return len(self.object_ids)

    def batch(self, rows, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        rows = torch.as_tensor(rows, dtype=torch.long)
        return {key: value[rows].to(device) for key, value in self.tensors.items()}

    def subset(self, rows) -> "LightCurveArrays":
        rows = torch.as_tensor(rows, dtype=torch.long)
        tensors = {key: value[rows] for key, value in self.tensors.items()}
        return LightCurveArrays(self.object_ids[rows.numpy()], tensors, self.layout)


def arrays_from_sequences(sequences: Sequences, log: pd.DataFrame, extra: np.ndarray | None = None,
                          gp_grid: np.ndarray | None = None,
                          feature_target: np.ndarray | None = None) -> LightCurveArrays:
    """Undo the per-object flux normalisation of `prepare_sequences` (observer-frame time expected).

    Band layout -> (N, 6, L) tensors; token layout -> (N, L). `extra`: (N, F) standardised features (the
    networks read them); `gp_grid`: (N, 12, T) GP means and stds (gp_grid.py); `feature_target`: (N, F)
    standardised features that only pretraining reads, as regression targets (pretrain.py); rows in the
    sequences' order.
    """
    meta = log.loc[sequences.object_ids]
    scale = sequences.scale.astype(np.float32)
    if sequences.channels == ("flux", "flux_err", "time"):
        layout = "band"
        scale = scale[:, None, None]
        n, n_bands, length = sequences.mask.shape
        band = np.broadcast_to(np.arange(n_bands)[None, :, None], (n, n_bands, length))
    elif sequences.channels == ("time", "band", "flux", "flux_err"):
        layout = "token"
        scale = scale[:, None]
        band = sequences.channel("band")
    else:
        raise ValueError(f"unexpected sequence channels {sequences.channels}")
    tensors = {
        "flux": torch.from_numpy(sequences.channel("flux") * scale),
        "flux_err": torch.from_numpy(sequences.channel("flux_err") * scale),
        "time": torch.from_numpy(np.ascontiguousarray(sequences.channel("time"))),
        "mask": torch.from_numpy(sequences.mask),
        "band": torch.from_numpy(np.ascontiguousarray(band).astype(np.int64)),
        "z": torch.tensor(meta["Z"].to_numpy(dtype=np.float32)),
        "ebv": torch.tensor(meta["EBV"].to_numpy(dtype=np.float32)),
    }
    if extra is not None:
        if len(extra) != len(sequences.object_ids):
            raise ValueError(f"extra features have {len(extra)} rows for {len(sequences.object_ids)} objects")
        tensors["extra"] = torch.as_tensor(np.asarray(extra, dtype=np.float32))
    if feature_target is not None:
        if len(feature_target) != len(sequences.object_ids):
            raise ValueError(f"feature targets have {len(feature_target)} rows for {len(sequences.object_ids)} objects")
        tensors["feature_target"] = torch.as_tensor(np.asarray(feature_target, dtype=np.float32))
    if gp_grid is not None:
        if len(gp_grid) != len(sequences.object_ids):
            raise ValueError(f"GP grids have {len(gp_grid)} rows for {len(sequences.object_ids)} objects")
        tensors["gp_grid"] = torch.as_tensor(np.asarray(gp_grid, dtype=np.float32))
    # Padded steps hold zeros; a zero error would divide by zero in S/N, so pad errors with 1.
    tensors["flux_err"] = torch.where(tensors["mask"], tensors["flux_err"], torch.ones_like(tensors["flux_err"]))
    return LightCurveArrays(np.asarray(sequences.object_ids), tensors, layout)


@dataclass(frozen=True)
class FeatureScaler:
    """Robust standardisation of physics features: (x - median) / IQR, clipped to +-5, NaN -> 0."""

    names: tuple[str, ...]
    median: np.ndarray
    spread: np.ndarray

    @classmethod
    def fit(cls, table: pd.DataFrame) -> "FeatureScaler":
        values = np.array(table, dtype=np.float64)  # a copy: pandas may hand out read-only views
        values[~np.isfinite(values)] = np.nan
        with warnings.catch_warnings():  # an all-NaN column is legitimate: it scales to zeros
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nan_to_num(np.nanmedian(values, axis=0))
            q75, q25 = np.nanpercentile(values, [75, 25], axis=0)
        spread = np.nan_to_num(q75 - q25, nan=1.0)
        return cls(tuple(table.columns), median, np.where(spread > 0, spread, 1.0))

    def transform(self, table: pd.DataFrame) -> np.ndarray:
        values = np.array(table.reindex(columns=list(self.names)), dtype=np.float64)
        values[~np.isfinite(values)] = np.nan
        scaled = np.clip((values - self.median) / self.spread, -5, 5)
        return np.nan_to_num(scaled, nan=0.0).astype(np.float32)

    def to_dict(self) -> dict:
        return {"names": list(self.names), "median": self.median.tolist(), "spread": self.spread.tolist()}

    @classmethod
    def from_dict(cls, stored: dict) -> "FeatureScaler":
        return cls(tuple(stored["names"]), np.asarray(stored["median"]), np.asarray(stored["spread"]))

"""A finished run folder is a model: what notebook 05 keeps in `<run>/model/` and how it is loaded back.

Layout (paths in the manifest are relative to the run folder)::

    <run>/model/manifest.json                 format, FEATURES_VERSION, feature columns, members, blender,
                                              threshold and how it was chosen, settings, commit, packages
    <run>/model/gbdt/<member>/repeat<r>.txt   the GBDT member's models refitted on all training objects (utils.gbdt.member)
    <run>/models/<model>/fold<k>/best_model.pt   deep fold checkpoints (written by utils.training.cv)
    <run>/models/<model>/alignment.npz        what the fold alignment learned (sorted test logits per fold
                                              and their mean quantile function), when the folds were aligned
    <run>/models/<model>/pretrained_encoder.pt   the self-supervised encoder the folds started from, when
                                              settings['pretrain'] (a record: the fold checkpoints hold all weights)

`load_run_model` refuses, with one sentence, a run whose model format or FEATURES_VERSION differs from the
code's, a run without model/, or one whose members cannot all be scored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..config import save_config
from ..errors import DataError, examples
from ..evaluation.blend import Blender
from ..evaluation.cv_result import CVResult, FoldAlignment
from ..features.registry import FEATURES_VERSION
from ..gbdt.member import TabularMember
from ..training.arrays import arrays_from_sequences
from ..training.calibration import aligned_mean, alignment_path, load_fold_alignment
from ..training.fit import DeepClassifier
from ..training.gp_grid import gp_grid_for
from ..training.sequences import prepare_sequences
from .folder import git_commit

MODEL_FORMAT = "run-model-v1"  # bump when the layout or the manifest's meaning changes
MODEL_DIR = "model"
SCORED = "scored"  # the status of an object that every member of the blend scored
PACKAGES = ("numpy", "pandas", "scipy", "lightgbm", "torch", "scikit-learn", "light-curve", "extinction", "pyarrow")


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _deep_member(run_dir: Path, name: str) -> dict[str, Any]:
    """Manifest entry of a member trained by notebook 03/04, or an 'unavailable' entry saying why."""
    checkpoints = sorted((run_dir / "models" / name).glob("fold*/best_model.pt"),
                         key=lambda p: int(p.parent.name.removeprefix("fold")))
    if not checkpoints:
        return {"kind": "unavailable", "reason": f"member {name!r} has no fold checkpoints under models/{name}/"}
    import torch

    settings = torch.load(checkpoints[0], map_location="cpu", weights_only=False)["settings"]
    alignment = alignment_path(run_dir, name)
    if settings.get("align_folds") and not alignment.is_file():
        return {"kind": "unavailable", "reason": f"member {name!r} aligned its folds but models/{name}/alignment.npz "
                                                 "is missing"}
    return {"kind": "deep", "checkpoints": [str(p.relative_to(run_dir)) for p in checkpoints],
            "alignment": str(alignment.relative_to(run_dir)) if settings.get("align_folds") else None,
            "layout": settings["layout"], "use_features": bool(settings.get("use_features"))}


def _run_commit(run_dir: Path) -> str | None:
    """The commit the pipeline recorded when the run started (the code may have moved on since)."""
    config = run_dir / "config.json"
    return json.loads(config.read_text()).get("commit") if config.is_file() else None


def save_run_model(run_dir: str | os.PathLike, *, gbdt_results: Mapping[str, CVResult], blender: Blender,
                   threshold: float, threshold_method: str, feature_columns, settings: Mapping[str, Any],
                   data_fingerprint: str | None = None) -> Path:
    """Write `<run>/model/` (boosters and manifest); staged in a temporary folder and renamed into place, so
    a failure leaves no half-written model. Members absent from `gbdt_results` are deep models whose fold
    checkpoints are already in the run folder."""
    run_dir = Path(run_dir).resolve()
    target = run_dir / MODEL_DIR
    staging = Path(tempfile.mkdtemp(prefix=".model-", dir=run_dir))
    try:
        members = {}
        for name in blender.members:
            result = gbdt_results.get(name)
            if result is None:
                members[name] = _deep_member(run_dir, name)
                continue
            members[name] = TabularMember.from_result(result).save(staging / "gbdt" / name, relative_to=staging)
            members[name]["boosters"] = [f"{MODEL_DIR}/{path}" for path in members[name]["boosters"]]
        manifest = {
            "format": MODEL_FORMAT, "features_version": FEATURES_VERSION,
            "feature_columns": [str(c) for c in feature_columns],
            "members": members,
            "blender": {"method": blender.method, "members": list(blender.members),
                        "weights": [float(w) for w in blender.weights], "intercept": float(blender.intercept)},
            "threshold": float(threshold), "threshold_method": threshold_method,
            "settings": dict(settings), "data_fingerprint": data_fingerprint,
            "commit": _run_commit(run_dir) or git_commit(), "packages": package_versions(),
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        save_config(manifest, staging / "manifest.json")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


@dataclass
class DeepMember:
    classifiers: list  # one DeepClassifier per fold
    alignment: FoldAlignment | None
    layout: str
    length: int
    use_features: bool
    gp_grid_steps: int | None = None  # the networks read GP grids of this many steps (settings['gp_grid'])

    def predict(self, dataset, features: pd.DataFrame | None) -> np.ndarray:
        """P(TDE) for the batch's objects (in log order): each fold network, aligned and averaged."""
        sequences = prepare_sequences(dataset, "test", layout=self.layout, length=self.length, rest_frame=False)
        scaler = self.classifiers[0].scaler
        extra = scaler.transform(features.loc[sequences.object_ids]) if scaler is not None else None
        grid = (gp_grid_for(dataset, "test", sequences.object_ids, n_steps=self.gp_grid_steps)
                if self.gp_grid_steps else None)
        arrays = arrays_from_sequences(sequences, dataset.test_log, extra, grid)
        prob_by_fold = np.array([classifier.predict_proba(arrays) for classifier in self.classifiers])
        return aligned_mean(prob_by_fold, self.alignment)


@dataclass
class RunModel:
    run_dir: Path
    manifest: dict
    members: dict[str, TabularMember | DeepMember] = field(default_factory=dict)

    @property
    def blender(self) -> Blender:
        stored = self.manifest["blender"]
        return Blender(stored["method"], tuple(stored["members"]), np.asarray(stored["weights"], dtype=float),
                       float(stored["intercept"]))

    @property
    def threshold(self) -> float:
        return float(self.manifest["threshold"])

    @property
    def feature_columns(self) -> list[str]:
        return list(self.manifest["feature_columns"])

    def score(self, dataset, features: pd.DataFrame) -> pd.DataFrame:
        """object_id, probability, one column per member, prediction (0/1 at the run's threshold), status.

        status is SCORED, or names the members left out of that object's blend: a member without a finite
        probability for it (none is expected to: the GBDTs take NaN features, the networks empty light curves) is
        left empty, and the others blend with their weights scaled to the same total; an object that no weighted
        member scored is a DataError."""
        log = dataset.test_log
        missing = [c for c in self.feature_columns if c not in features.columns]
        if missing:
            raise DataError(f"the feature table lacks {len(missing)} column(s) the run trained on, e.g. {missing[:3]}")
        table = features.reindex(log.index)[self.feature_columns]
        probabilities = pd.DataFrame(index=log.index)
        for name, member in self.members.items():
            probabilities[name] = (member.predict(table) if isinstance(member, TabularMember)
                                   else member.predict(dataset, features.reindex(log.index)))
        blended, status = blend_members(self.blender, probabilities)
        out = pd.DataFrame({"object_id": log.index, "probability": blended})
        for name in self.members:
            out[name] = probabilities[name].to_numpy()
        out["prediction"] = (out["probability"] >= self.threshold).astype(int)
        out["status"] = status
        return out


def blend_members(blender: Blender, probabilities: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The blended probability and status of each row; rows where members have no finite probability are blended
    from the others (their weights scaled to the blend's total, so a mean stays a mean)."""
    blended = np.array(blender.predict(probabilities), dtype=float)  # a copy: rows below may be replaced
    status = np.full(len(probabilities), SCORED, dtype=object)
    finite = np.isfinite(probabilities[list(blender.members)].to_numpy())
    patterns = {tuple(row) for row in finite[~finite.all(axis=1)]}
    for pattern in patterns:
        rows = (finite == pattern).all(axis=1)
        kept = [k for k, ok in enumerate(pattern) if ok]
        left_out = [blender.members[k] for k, ok in enumerate(pattern) if not ok]
        total, kept_total = blender.weights.sum(), blender.weights[kept].sum()
        if not kept or abs(kept_total) < 1e-12:
            raise DataError(f"no member with weight in the blend scored object_id "
                            f"{examples(probabilities.index[rows])} ({', '.join(left_out)} gave no finite probability)")
        partial = Blender(blender.method, tuple(blender.members[k] for k in kept),
                          blender.weights[kept] * (total / kept_total), blender.intercept)
        blended[rows] = partial.predict(probabilities[rows]).to_numpy()
        status[rows] = f"blended without {', '.join(left_out)} (no finite probability)"
    return blended, status


def load_run_model(run_dir: str | os.PathLike, *, device: str | None = "cpu") -> RunModel:
    """The scoring parts of a finished run; DataError (one sentence) when it cannot score with this code."""
    run_dir = Path(run_dir).expanduser().resolve()
    if not run_dir.is_dir():
        raise DataError(f"run folder {run_dir} does not exist")
    path = run_dir / MODEL_DIR / "manifest.json"
    if not path.is_file():
        raise DataError(f"run folder {run_dir} has no {MODEL_DIR}/manifest.json: it was trained before runs kept "
                        "their models, or its notebook 05 did not finish")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DataError(f"{path} is not valid JSON ({error})") from error
    if manifest.get("format") != MODEL_FORMAT:
        raise DataError(f"run {run_dir.name} stores model format {manifest.get('format')!r} but this code reads "
                        f"{MODEL_FORMAT!r}; retrain the run or check out commit {manifest.get('commit')}")
    if manifest.get("features_version") != FEATURES_VERSION:
        raise DataError(f"run {run_dir.name} was trained on features {manifest.get('features_version')!r} but this "
                        f"code extracts {FEATURES_VERSION!r}; retrain the run or check out commit "
                        f"{manifest.get('commit')}")
    members: dict[str, TabularMember | DeepMember] = {}
    for name, entry in manifest["members"].items():
        if entry["kind"] == "unavailable":
            raise DataError(f"run {run_dir.name} cannot score new objects: {entry['reason']}")
        paths = [run_dir / p for p in entry.get("boosters", entry.get("checkpoints", []))]
        absent = [str(p) for p in paths if not p.is_file()]
        if absent:
            raise DataError(f"run {run_dir.name} is incomplete: member {name!r} misses {absent[0]}")
        if entry["kind"] == "gbdt":
            members[name] = TabularMember.load(entry, run_dir)
        else:
            classifiers = [DeepClassifier.load(p, device=device) for p in paths]
            settings = classifiers[0].settings
            length = settings["sequence_length"] if settings["layout"] == "band" else settings["token_length"]
            alignment = load_fold_alignment(run_dir / entry["alignment"]) if entry["alignment"] else None
            members[name] = DeepMember(classifiers, alignment, settings["layout"], length, entry["use_features"],
                                       settings["gp_grid_steps"] if settings.get("gp_grid") else None)
    return RunModel(run_dir, manifest, members)

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

The manifest records the size and SHA-256 of every file the model reads (`files`), and `load_run_model` checks
each before loading it. It refuses, with one sentence naming the file, a run whose model format or FEATURES_VERSION
differs from the code's, a run without model/, one whose members cannot all be scored, and a damaged run: a manifest
that is missing, cut short or not the manifest's JSON, or a listed file (booster, fold checkpoint, alignment) that
is missing, of another size or content than the run saved, or that its library cannot read. Runs saved before the
manifest kept `files` are checked by reading each file (a LightGBM booster cut short included, which LightGBM
itself would load with the trees it still holds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
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


def member_files(entry: Mapping[str, Any]) -> list[str]:
    """The files a member's manifest entry lists (relative to the run folder): what load_run_model reads."""
    return [*entry.get("boosters", []), *entry.get("checkpoints", []),
            *([entry["alignment"]] if entry.get("alignment") else [])]


def file_record(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of a file, as the manifest records every file the model reads."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


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
        # Every file load_run_model reads, by size and SHA-256, so that a copy cut short or changed is refused by
        # name: the boosters are still in staging, the deep members' files already in the run folder.
        files = {}
        for entry in members.values():
            for relative in member_files(entry):
                inside = relative.removeprefix(f"{MODEL_DIR}/")
                files[relative] = file_record(staging / inside if inside != relative else run_dir / relative)
        manifest = {
            "format": MODEL_FORMAT, "features_version": FEATURES_VERSION, "files": files,
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


DAMAGED = "the run folder is damaged: copy it again or retrain the run"
MANIFEST_KEYS = {"format": str, "features_version": str, "feature_columns": list, "members": dict, "blender": dict,
                 "threshold": (int, float)}
MEMBER_KEYS = {"gbdt": ("boosters", "positive_column"), "deep": ("checkpoints", "alignment", "layout", "use_features"),
               "unavailable": ("reason",)}
BLENDER_KEYS = ("method", "members", "weights", "intercept")


def read_manifest(run_dir: Path) -> dict:
    """model/manifest.json, checked for what load_run_model reads; a DataError naming it when it is missing, cut
    short or not the manifest's JSON, or one saying so when it is another model format or feature version's."""
    path = run_dir / MODEL_DIR / "manifest.json"
    if not path.is_file():
        raise DataError(f"run folder {run_dir} has no {MODEL_DIR}/manifest.json: it was trained before runs kept "
                        "their models, or its notebook 05 did not finish")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{path} is not valid JSON ({error}); {DAMAGED}") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read it ({error.strerror or error})") from None
    if not isinstance(manifest, dict):
        raise DataError(f"{path}: not a run model's manifest: it holds a JSON {type(manifest).__name__}, not an "
                        f"object; {DAMAGED}")
    # Another format or feature version first: its manifest may well lack what this code's holds. (Without either
    # entry it is no manifest at all: the checks below say so.)
    if "format" in manifest and manifest["format"] != MODEL_FORMAT:
        raise DataError(f"run {run_dir.name} stores model format {manifest.get('format')!r} but this code reads "
                        f"{MODEL_FORMAT!r}; retrain the run or check out commit {manifest.get('commit')}")
    if "features_version" in manifest and manifest["features_version"] != FEATURES_VERSION:
        raise DataError(f"run {run_dir.name} was trained on features {manifest['features_version']!r} but this "
                        f"code extracts {FEATURES_VERSION!r}; retrain the run or check out commit "
                        f"{manifest.get('commit')}")
    problems = [f"no '{key}'" for key in MANIFEST_KEYS if key not in manifest]
    if not problems:
        problems += [f"'{key}' is not a {kind.__name__ if isinstance(kind, type) else 'number'}"
                     for key, kind in MANIFEST_KEYS.items() if key in manifest and not isinstance(manifest[key], kind)]
        if not isinstance(manifest.get("files", {}), dict):
            problems.append("'files' is not an object")
    if not problems:
        for name, entry in manifest["members"].items():
            kind = entry.get("kind") if isinstance(entry, dict) else None
            if kind not in MEMBER_KEYS:
                problems.append(f"member {name!r} has no known kind ({kind!r})")
            else:
                problems += [f"member {name!r} has no '{key}'" for key in MEMBER_KEYS[kind] if key not in entry]
        blender = manifest["blender"]
        problems += [f"the blender has no '{key}'" for key in BLENDER_KEYS if key not in blender]
        if not problems and (len(blender["members"]) != len(blender["weights"])
                             or not set(blender["members"]) <= set(manifest["members"])):
            problems.append(f"the blender's members {blender['members']} and weights do not match its members "
                            f"{list(manifest['members'])}")
    if problems:
        raise DataError(f"{path}: not a run model's manifest: {'; '.join(problems)}; {DAMAGED}")
    return manifest


def check_file(run_dir: Path, relative: str, member: str, recorded: dict | None) -> None:
    """A DataError naming a file the manifest lists unless it is there and (when the manifest recorded it) has the
    size and SHA-256 the run saved."""
    path = run_dir / relative
    if not path.is_file():
        raise DataError(f"run {run_dir.name} is incomplete: member {member!r} misses {path}")
    if recorded is not None:
        found = file_record(path)
        if found["bytes"] != recorded["bytes"]:
            raise DataError(f"{path}: {found['bytes']} bytes, but the run saved {recorded['bytes']} (cut short or "
                            f"changed); {DAMAGED}")
        if found["sha256"] != recorded["sha256"]:
            raise DataError(f"{path}: its content differs from what the run saved (SHA-256); {DAMAGED}")


def _read(path: Path, what: str, read):
    """read(path), with any library's error for a damaged file as one DataError naming it."""
    try:
        return read(path)
    except Exception as error:  # torch, numpy and zipfile raise their own types for a damaged file
        reason = " ".join(str(error).split())[:200]
        raise DataError(f"{path}: cannot load this {what} ({type(error).__name__}: {reason}); {DAMAGED}") from None


def _deep_member_from(run_dir: Path, entry: dict, paths: list[Path], device: str | None) -> DeepMember:
    classifiers = [_read(p, "fold checkpoint", lambda p: DeepClassifier.load(p, device=device)) for p in paths]
    settings = classifiers[0].settings
    length = settings["sequence_length"] if settings["layout"] == "band" else settings["token_length"]
    alignment = None
    if entry["alignment"]:
        path = run_dir / entry["alignment"]
        alignment = _read(path, "fold alignment", load_fold_alignment)
        if len(alignment.sorted_logits) != len(classifiers):
            raise DataError(f"{path}: an alignment of {len(alignment.sorted_logits)} folds for "
                            f"{len(classifiers)} fold checkpoints; {DAMAGED}")
    return DeepMember(classifiers, alignment, settings["layout"], length, entry["use_features"],
                      settings["gp_grid_steps"] if settings.get("gp_grid") else None)


def load_run_model(run_dir: str | os.PathLike, *, device: str | None = "cpu") -> RunModel:
    """The scoring parts of a finished run; DataError (one sentence, naming the file) when it cannot score with this
    code or a file of its model is missing or damaged."""
    run_dir = Path(run_dir).expanduser().resolve()
    if not run_dir.is_dir():
        raise DataError(f"run folder {run_dir} does not exist")
    manifest = read_manifest(run_dir)
    recorded = manifest.get("files")  # absent in runs saved before it was kept: those files are only read
    members: dict[str, TabularMember | DeepMember] = {}
    for name, entry in manifest["members"].items():
        if entry["kind"] == "unavailable":
            raise DataError(f"run {run_dir.name} cannot score new objects: {entry['reason']}")
        for relative in member_files(entry):
            check_file(run_dir, relative, name, None if recorded is None else recorded.get(relative))
        if entry["kind"] == "gbdt":
            members[name] = TabularMember.load(entry, run_dir)
        else:
            members[name] = _deep_member_from(run_dir, entry, [run_dir / p for p in entry["checkpoints"]], device)
    return RunModel(run_dir, manifest, members)

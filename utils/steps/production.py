"""What a user gets on objects the project has never seen: notebook 05's whole path, measured on held-out labels.

    estimate = production_estimate(dataset, cfg, outer_seeds=[0, 1, 2, 3, 4])
    estimate.summary()          # F1, precision, recall, AP, flagged fraction: mean ± SE over the outer seeds
    estimate.flag_rates()       # share of each SpecType flagged (TDE: recall; the rest: false positives)

The nested F1 of notebook 05 cuts out-of-fold rows of fold models trained on perturbed spectroscopic redshifts;
the submission cuts refitted models' scores of objects with photometric redshifts. This module measures the
second path. Each outer seed splits the labelled objects into `n_folds` stratified parts (by SpecType, rare ones
pooled); each part in turn is held out and treated exactly as the real test set is:

* its redshifts are photometric-like draws (utils.data.redshift: Z plus noise with a σ drawn from test objects
  of similar Z), and its features are extracted at them, not transformed;
* it is unlabelled: it joins the test set as what the adversarial weights compare the training rows with (and
  what pseudo-labels would come from), and no copy of it is made;
* everything notebook 05 does runs on the rest (utils.steps.gbdt and utils.steps.ensemble: feature tables under
  the run's redshift draws, copies of the rest only, adversarial weights, the GBDTs' repeated CV and refits, the
  blend and its member selection, the threshold rule), and the refitted models score the held-out part.

Each object is held out once per outer seed, so every seed scores all labelled objects. The cut rules
(CUT_RULES) are compared on the same scores.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from ..evaluation.blend import logit, sigmoid
from ..evaluation.folds import stratified_folds
from ..evaluation.metrics import best_threshold
from ..evaluation.paired import paired_gain
from ..features import feature_table
from ..features.registry import FEATURES_VERSION, group_versions
from ..gbdt.lightgbm import PARAMS as LGBM_PARAMS
from ..progress import progress_line
from .ensemble import Members, choose_blend
from .gbdt import GBDTFeatures, adversarial_sample_weights, fit_gbdt, gbdt_member_name, load_gbdt_features

HELD_OUT_DRAW = 10_000  # the held-out objects' photometric-like redshifts: draw HELD_OUT_DRAW + outer seed
MIN_STRATUM = 10  # SpecTypes rarer than this are pooled into one stratum for the outer split
LOOKALIKES = ("SN IIn", "SLSN-I", "SLSN-II", "AGN")


@dataclass
class HeldOutFold:
    """One held-out part: its scores, and what the training part's path chose (everything a cut rule needs)."""

    held_ids: np.ndarray
    held_prob: np.ndarray
    threshold: float  # notebook 05's: the F1-best cut of the blend's OOF scores
    oof_prob: np.ndarray  # the training part's blended OOF scores (the blender fitted on all of them)
    oof_target: np.ndarray
    test_prob: np.ndarray  # the real test set's blended scores under this training part


@dataclass
class ProductionEstimate:
    """Held-out scores per outer seed; the metrics of any cut rule are computed from them."""

    spec_type: pd.Series  # of every labelled object
    target: pd.Series
    folds: dict[int, list[HeldOutFold]] = field(default_factory=dict)  # outer seed -> its held-out parts

    def predictions(self, seed: int, rule: str = "oof_threshold") -> pd.DataFrame:
        """object_id, prob, flagged (0/1 under the cut rule) for every object held out at this outer seed."""
        parts = []
        for part in self.folds[seed]:
            threshold = CUT_RULES[rule](part)
            parts.append(pd.DataFrame({"prob": part.held_prob, "flagged": (part.held_prob >= threshold).astype(int)},
                                      index=pd.Index(part.held_ids, name="object_id")))
        held = pd.concat(parts)
        return held.reindex(self.target.index[self.target.index.isin(held.index)])

    def seed_metrics(self, seed: int, rule: str = "oof_threshold") -> dict[str, float]:
        predicted = self.predictions(seed, rule)
        y = self.target.loc[predicted.index].to_numpy().astype(bool)
        flagged = predicted["flagged"].to_numpy().astype(bool)
        tp, fp, fn = int((flagged & y).sum()), int((flagged & ~y).sum()), int((~flagged & y).sum())
        return {"f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0, "precision": tp / (tp + fp) if tp + fp else 0.0,
                "recall": tp / (tp + fn) if tp + fn else 0.0,
                "average_precision": float(average_precision_score(y, predicted["prob"])),
                "flagged_fraction": float(flagged.mean()), "false_positives": fp, "true_positives": tp}

    def summary(self, rule: str = "oof_threshold") -> pd.DataFrame:
        """Each metric's mean, its standard error over the outer seeds, and the per-seed values."""
        table = pd.DataFrame({seed: self.seed_metrics(seed, rule) for seed in sorted(self.folds)}).T
        return pd.DataFrame({"mean": table.mean(), "se": table.std(ddof=1) / np.sqrt(len(table)),
                             **{f"seed {seed}": table.loc[seed] for seed in table.index}})

    def flag_rates(self, rule: str = "oof_threshold") -> pd.DataFrame:
        """Per SpecType: objects held out and flagged (means per seed), share flagged (mean ± SE over the seeds)."""
        held, flagged = {}, {}
        for seed in sorted(self.folds):
            predicted = self.predictions(seed, rule)["flagged"]
            by_type = predicted.groupby(self.spec_type.reindex(predicted.index))
            held[seed], flagged[seed] = by_type.size(), by_type.sum()
        held = pd.DataFrame(held).fillna(0)
        flagged = pd.DataFrame(flagged).reindex(held.index).fillna(0)
        shares = flagged / held.where(held > 0)
        out = pd.DataFrame({"objects": held.mean(axis=1), "flagged": flagged.mean(axis=1),
                            "share": shares.mean(axis=1), "share_se": shares.std(axis=1, ddof=1) / np.sqrt(shares.shape[1])})
        return out.sort_values("flagged", ascending=False)

    def record(self, rules=None) -> dict[str, Any]:
        """What metrics.json keeps: every rule's summary and the look-alikes' flag rates."""
        rules = rules or list(CUT_RULES)
        rates = self.flag_rates()
        return {"outer_seeds": sorted(self.folds), "held_out_parts": len(next(iter(self.folds.values()))),
                "rules": {rule: self.summary(rule)[["mean", "se"]].round(4).to_dict("index") for rule in rules},
                "flag_share": {name: round(float(rates.loc[name, "share"]), 4) for name in ("TDE", *LOOKALIKES)
                               if name in rates.index}}


def _oof_threshold(part: HeldOutFold) -> float:
    return part.threshold


def _oof_rate(part: HeldOutFold) -> float:
    """The cut that flags, among the unlabelled objects (the test set and the held-out part), the share of the
    training part's OOF rows that notebook 05's threshold flags."""
    rate = float(np.mean(part.oof_prob >= part.threshold))
    unlabelled = np.concatenate([part.test_prob, part.held_prob])
    return float(np.quantile(unlabelled, 1 - rate, method="higher"))


def _prior_corrected(part: HeldOutFold) -> float:
    """The F1-best cut of the OOF rows reweighted to the TDE share estimated on the unlabelled objects (EM on
    calibrated scores, Saerens et al. 2002): positives × π'/π, negatives × (1 − π')/(1 − π)."""
    calibrate = _platt(part.oof_prob, part.oof_target)
    prior = part.oof_target.mean()
    unlabelled = calibrate(np.concatenate([part.test_prob, part.held_prob]))
    shifted = _em_prior(unlabelled, prior)
    weight = np.where(part.oof_target == 1, shifted / prior, (1 - shifted) / (1 - prior))
    return _weighted_best_threshold(part.oof_target, part.oof_prob, weight)


BAGGED_RESAMPLES = 200


def _bagged(part: HeldOutFold) -> float:
    """The mean of the F1-best cuts of BAGGED_RESAMPLES bootstrap resamples of the OOF rows: where the OOF F1 is flat
    near its top, one resample's best cut jumps along the plateau; their mean does not."""
    rng = np.random.default_rng(0)
    rows = len(part.oof_target)
    cuts = [best_threshold(part.oof_target[pick], part.oof_prob[pick])[0]
            for pick in (rng.integers(0, rows, rows) for _ in range(BAGGED_RESAMPLES))]
    return float(np.mean(cuts))


def _calibrated_half(part: HeldOutFold) -> float:
    """The score whose Platt-calibrated probability is half the OOF rows' best F1: for calibrated probabilities the
    F1-best cut is F1*/2 (Lipton et al. 2014), a cut set by the whole score distribution, not by the few rows at it."""
    _, best_f1 = best_threshold(part.oof_target, part.oof_prob)
    return _platt(part.oof_prob, part.oof_target, inverse=True)(best_f1 / 2)


CUT_RULES: dict[str, Callable[[HeldOutFold], float]] = {
    "oof_threshold": _oof_threshold, "oof_rate": _oof_rate, "prior_corrected": _prior_corrected,
    "bagged": _bagged, "calibrated_half": _calibrated_half}


def _platt(prob: np.ndarray, target: np.ndarray, inverse: bool = False):
    """Logistic calibration of scores on their logits, logit(c) = a logit(p) + b: the map from scores to calibrated
    probabilities, or with `inverse` from calibrated probabilities back to scores."""
    model = LogisticRegression(C=1e4).fit(logit(prob).reshape(-1, 1), target)
    slope, intercept = float(model.coef_[0, 0]), float(model.intercept_[0])
    if inverse:
        return lambda calibrated: float(sigmoid((logit(calibrated) - intercept) / slope))
    return lambda values: sigmoid(slope * logit(values) + intercept)


def _em_prior(calibrated: np.ndarray, prior: float, iterations: int = 200) -> float:
    """The class prior of unlabelled objects whose calibrated P(positive) assume `prior` (Saerens et al. 2002)."""
    shifted = prior
    for _ in range(iterations):
        ratio_pos, ratio_neg = shifted / prior, (1 - shifted) / (1 - prior)
        posterior = ratio_pos * calibrated / (ratio_pos * calibrated + ratio_neg * (1 - calibrated))
        new = float(np.clip(posterior.mean(), 1e-4, 1 - 1e-4))
        if abs(new - shifted) < 1e-7:
            return new
        shifted = new
    return shifted


def _weighted_best_threshold(target: np.ndarray, prob: np.ndarray, weight: np.ndarray) -> float:
    """The cut maximising the weighted F1 (weights per row), midway between scores as best_threshold does."""
    order = np.argsort(-prob, kind="stable")
    p, y, w = prob[order], target[order].astype(bool), weight[order]
    tp = np.cumsum(w * y)
    fp = np.cumsum(w * ~y)
    f1 = 2 * tp / (tp + fp + (w * y).sum())
    last = np.r_[p[1:] != p[:-1], True]  # a cut can only fall between distinct scores
    best = int(np.flatnonzero(last)[np.argmax(f1[last])])
    below = p[best + 1:] if best + 1 < len(p) else np.array([])
    return float((p[best] + below.max()) / 2) if len(below) else float(p[best])


def outer_strata(spec_type: pd.Series) -> np.ndarray:
    """SpecType, with those rarer than MIN_STRATUM pooled, so each outer part holds every common type."""
    counts = spec_type.value_counts()
    return spec_type.where(spec_type.map(counts) >= MIN_STRATUM, "rare").to_numpy()


def held_out_features(dataset, outer_seed: int, cfg: dict[str, Any], groups=None) -> pd.DataFrame:
    """Every labelled object's features at a photometric-like redshift draw (extracted, as the test set's are)."""
    return feature_table(dataset, "train", n_jobs=cfg["feature_jobs"], redshift_seed=HELD_OUT_DRAW + outer_seed,
                         draws="extract", progress=False, groups=groups)


def held_out_fold(dataset, features: GBDTFeatures, held: pd.DataFrame, rest_ids: pd.Index, cfg: dict[str, Any],
                  seed: int) -> HeldOutFold:
    """Notebook 05's path trained on `rest_ids`, scoring `held` (features at photometric-like Z) as test objects."""
    train_log = dataset.train_log.loc[rest_ids]
    unlabelled = pd.concat([features.test, held])
    rest = features.restricted(rest_ids, unlabelled)
    weights = adversarial_sample_weights(rest, cfg, seed)
    results = {gbdt_member_name(mode): fit_gbdt(rest, train_log, cfg, seed, mode, weights) for mode in cfg["modes"]}
    target = train_log["target"].astype(int)
    members = Members(pd.DataFrame({name: r.oof_series for name, r in results.items()}),
                      pd.DataFrame({name: pd.Series(r.test_prob, index=r.test_ids) for name, r in results.items()}),
                      target)
    blend = choose_blend(members, cfg["blend_method"], seed=seed, blend_repeats=cfg["blend_repeats"],
                         nested_repeats=cfg["nested_repeats"], select=cfg["select_members"])
    oof = blend.blender.predict(members.oof)
    return HeldOutFold(held.index.to_numpy(), blend.test.loc[held.index].to_numpy(), blend.threshold,
                       oof.to_numpy(), target.to_numpy(), blend.test.loc[features.test.index].to_numpy())


def estimate_key(dataset, cfg: dict[str, Any], outer_seed: int, n_folds: int, seed: int, groups=None) -> str:
    """What a stored outer seed's scores depend on."""
    spec = [dataset.fingerprint, FEATURES_VERSION, cfg, LGBM_PARAMS, outer_seed, n_folds, seed, HELD_OUT_DRAW,
            MIN_STRATUM]
    if groups is not None:  # the default groups keep the keys they were stored under
        spec += [sorted(groups), group_versions(groups)]
    return hashlib.sha1(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


def production_estimate(dataset, cfg: dict[str, Any], *, outer_seeds: list[int], n_folds: int = 5,
                        parts: int | None = None, seed: int = 42, store: Path | None = None,
                        groups=None) -> ProductionEstimate:
    """Held-out scores of notebook 05's path (settings `cfg`, run seed `seed`) for each outer seed.

    Each outer seed splits the labelled objects into `n_folds` stratified parts; `parts` of them (all by default)
    are held out in turn: fewer parts estimate the same quantity from fewer held-out objects, at that fraction of
    the cost. With `store`, each finished part is kept in that folder and read back instead of run again.
    `groups`: feature groups other than the default ones (to measure a candidate group)."""
    parts = n_folds if parts is None else parts
    if not 1 <= parts <= n_folds:
        raise ValueError(f"parts must be between 1 and n_folds ({n_folds}), not {parts}")
    log = dataset.train_log
    estimate = ProductionEstimate(log["SpecType"], log["target"].astype(int))
    features = load_gbdt_features(dataset, cfg, seed, groups)
    strata = outer_strata(log["SpecType"])
    for outer_seed in outer_seeds:
        key = estimate_key(dataset, cfg, outer_seed, n_folds, seed, groups)
        held_all, done = None, []
        splits = list(stratified_folds(strata, n_folds, outer_seed))[:parts]
        for k, (rest_rows, held_rows) in enumerate(splits):
            path = None if store is None else Path(store) / f"{key}-part{k}.npz"
            if path is not None and path.is_file():
                done.extend(_load(path))
                continue
            if held_all is None:
                held_all = held_out_features(dataset, outer_seed, cfg, groups)[features.train.columns]
            part = held_out_fold(dataset, features, held_all.iloc[held_rows], log.index[rest_rows], cfg, seed)
            if path is not None:
                _save(path, [part])
            done.append(part)
            progress_line(f"production path: outer seed {outer_seed}, part {k + 1}/{parts} done")
        estimate.folds[outer_seed] = done
    return estimate


def _paired_table(metrics_of: dict[str, Callable[[int], dict[str, float]]], seeds: list[int],
                  metrics: tuple[str, ...]) -> pd.DataFrame:
    """Per row name, each metric's mean over `seeds` and, after the first (the baseline), the mean and SE of its
    paired per-seed difference from the baseline. `metrics_of[name](seed)` gives that row's seed metrics."""
    values = {name: {m: [] for m in metrics} for name in metrics_of}
    for name, of in metrics_of.items():
        for seed in seeds:
            measured = of(seed)
            for m in metrics:
                values[name][m].append(measured[m])
    baseline = next(iter(values.values()))
    rows = {}
    for i, (name, by_metric) in enumerate(values.items()):
        row = {m: float(np.mean(by_metric[m])) for m in metrics}
        if i and len(seeds) > 1:
            for m in metrics:
                row[f"Δ{m}"], row[f"Δ{m} se"] = paired_gain(by_metric[m], baseline[m])
        rows[name] = row
    return pd.DataFrame(rows).T


def compare(estimates: dict[str, ProductionEstimate], rule: str = "oof_threshold",
            metrics=("f1", "precision", "recall", "average_precision", "flagged_fraction")) -> pd.DataFrame:
    """Each estimate against the first, paired by outer seed: the mean and SE of the differences per metric."""
    seeds = sorted(set.intersection(*(set(e.folds) for e in estimates.values())))
    return _paired_table({name: (lambda s, e=e: e.seed_metrics(s, rule)) for name, e in estimates.items()},
                         seeds, tuple(metrics))


def compare_rules(estimate: ProductionEstimate, baseline: str = "oof_threshold",
                  metrics=("f1", "precision", "recall", "flagged_fraction")) -> pd.DataFrame:
    """Each cut rule against `baseline` on the same held-out scores, paired by outer seed: mean and SE of the
    differences per metric (a rule is worth keeping only where its F1 gain beats one SE)."""
    rules = [baseline, *(rule for rule in CUT_RULES if rule != baseline)]
    return _paired_table({rule: (lambda s, r=rule: estimate.seed_metrics(s, r)) for rule in rules},
                         sorted(estimate.folds), tuple(metrics))


def _save(path: Path, parts: list[HeldOutFold]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for k, part in enumerate(parts):
        for name in ("held_ids", "held_prob", "oof_prob", "oof_target", "test_prob"):
            arrays[f"{k}_{name}"] = np.asarray(getattr(part, name)).astype(str if name == "held_ids" else float)
        arrays[f"{k}_threshold"] = np.array(part.threshold)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, n=np.array(len(parts)), **arrays)
    tmp.replace(path)


def _load(path: Path) -> list[HeldOutFold]:
    with np.load(path, allow_pickle=False) as stored:
        return [HeldOutFold(stored[f"{k}_held_ids"], stored[f"{k}_held_prob"], float(stored[f"{k}_threshold"]),
                            stored[f"{k}_oof_prob"], stored[f"{k}_oof_target"].astype(int), stored[f"{k}_test_prob"])
                for k in range(int(stored["n"]))]

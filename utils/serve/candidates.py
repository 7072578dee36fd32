"""The candidate report a person sends with a spectrograph request: why each top object looks like a TDE.

    contributions = member.contributions(test_features[feature_columns])  # utils.gbdt.member.TabularMember
    write_candidate_report(out_dir, dataset.test_log, dataset.test_lc, test_prob, test_features, contributions,
                           top_n=20, threshold=threshold, members=member_probabilities)

`candidates.html` is one page without JavaScript or anything fetched from the network; the figures it
shows are PNGs in `candidates/` beside it. For each of the top-N objects: the de-extinguished light
curve with the 2-D GP of utils.features.gp (mean and ±1σ per band), the GP's g-r and u-g colours and
blackbody temperature against rest-frame time, Z, Z_err, EBV, the probability (and each ensemble
member's), and the ten features that pushed the score up most and the five that pushed it down most.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

from .. import BANDS
from ..data.lightcurve import ObjectLightCurve, deextinguished_objects
from ..data.validate import require_columns
from ..errors import DataError, examples
from ..features import gp
from ..plots import BAND_COLOURS

N_UP, N_DOWN = 10, 5  # features listed as pushing the score up / down
MIN_GP_SNR = 2.0  # colours and temperatures are drawn only where the GP mean is this many σ above zero
FIGURE_DPI = 100


@dataclass(frozen=True)
class GPCurves:
    """The GP of utils.features.gp evaluated on its grid, in the object's de-extinguished µJy."""

    days: np.ndarray  # rest-frame days from the brightest detection (gp.GRID_DAYS)
    mean: np.ndarray  # (days, bands)
    std: np.ndarray  # (days, bands)
    rest_wavelength: np.ndarray  # (bands,) Å

    def colour(self, blue: str, red: str) -> np.ndarray:
        """blue - red in magnitudes, NaN where either band's GP flux is under MIN_GP_SNR σ."""
        b, r = BANDS.index(blue), BANDS.index(red)
        good = (self.mean[:, b] > MIN_GP_SNR * self.std[:, b]) & (self.mean[:, r] > MIN_GP_SNR * self.std[:, r])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(good, -2.5 * np.log10(self.mean[:, b] / self.mean[:, r]), np.nan)

    def temperature(self) -> np.ndarray:
        """Blackbody temperature (K) of each day's six GP fluxes, as gp's bb_temp_* features fit it.

        NaN where fewer than three bands are above MIN_GP_SNR σ.
        """
        out = np.full(len(self.days), np.nan)
        for day, (mean, std) in enumerate(zip(self.mean, self.std)):
            if np.sum(mean > MIN_GP_SNR * std) >= 3:
                out[day] = gp.blackbody_temperature(self.rest_wavelength, mean, std)
        return out


def gp_curves(obj: ObjectLightCurve) -> GPCurves | None:
    """Fit the 2-D GP to the points gp.extract fits and evaluate it on gp.GRID_DAYS (None if too few points)."""
    # One BLAS thread, as in feature extraction: threads fighting over small matrices slow the fit ~10x.
    with threadpool_limits(1), np.errstate(all="ignore"):
        fitted = gp.fit(obj)
        if fitted is None:
            return None
        mean, std = fitted.mean_std(gp.GRID_DAYS)
    scale = fitted.points.scale
    return GPCurves(gp.GRID_DAYS, mean * scale, std * scale, fitted.points.rest_wavelength)


def _candidate_figure(obj: ObjectLightCurve, curves: GPCurves | None, contributions: pd.Series | None,
                      values: pd.Series) -> Figure:
    # A bare Figure (no pyplot): rendered by Agg, never registered with a GUI, freed with the object. Margins
    # are fixed in inches instead of a constrained layout, which draws every figure twice.
    height = 10.5 if contributions is not None else 7.0
    fig = Figure(figsize=(11, height))
    grid = fig.add_gridspec(2, 2, height_ratios=[1.3, 1], left=0.07, right=0.98, top=1 - 0.35 / height,
                            bottom=(3.6 if contributions is not None else 0.55) / height, hspace=0.4, wspace=0.2)
    ax_lc = fig.add_subplot(grid[0, :])
    days = (obj.time - obj.peak_time) / obj.dilation
    for b, band in enumerate(BANDS):
        rows_b = obj.band == b
        if rows_b.any():
            ax_lc.errorbar(days[rows_b], obj.flux[rows_b], yerr=obj.flux_err[rows_b], fmt="o", ms=3, lw=0.7,
                           color=BAND_COLOURS[band], label=band)
        if curves is not None:
            ax_lc.plot(curves.days, curves.mean[:, b], color=BAND_COLOURS[band], lw=1.2)
            ax_lc.fill_between(curves.days, curves.mean[:, b] - curves.std[:, b], curves.mean[:, b] + curves.std[:, b],
                               color=BAND_COLOURS[band], alpha=0.15, lw=0)
    ax_lc.axhline(0, color="0.6", lw=0.6)
    observed = len(days) > 0  # an object without a usable observation is reported too: scored from Z and EBV alone
    left, right = ((max(gp.WINDOW_DAYS[0], days.min() - 10), min(gp.WINDOW_DAYS[1], days.max() + 10)) if observed
                   else gp.WINDOW_DAYS)
    # The y range follows what is in view: points outside the window and huge error bars would squash it.
    visible = [obj.flux[(days >= left) & (days <= right)], [0.0]]
    if curves is not None:
        in_view = (curves.days >= left) & (curves.days <= right)
        visible += [(curves.mean - curves.std)[in_view].ravel(), (curves.mean + curves.std)[in_view].ravel()]
    low, high = np.min(np.concatenate(visible)), np.max(np.concatenate(visible))
    span = (high - low) or 1.0  # nothing in view but the zero line
    ax_lc.set(xlim=(left, right), ylim=(low - 0.08 * span, high + 0.15 * span))
    ax_lc.set(xlabel="rest-frame days from the brightest detection", ylabel="de-extinguished flux (µJy)",
              title="light curve and 2-D GP (mean ± 1σ)" if curves is not None
              else "light curve (too few points in the window for the GP)" if observed
              else "no usable observation (no light-curve rows, or every flux NaN)")
    if observed:  # a legend of nothing is a matplotlib warning
        ax_lc.legend(ncol=6, fontsize=8, loc="upper right")

    ax_colour, ax_temp = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
    if curves is not None:
        ax_colour.plot(curves.days, curves.colour("g", "r"), label="g - r", color=BAND_COLOURS["r"])
        ax_colour.plot(curves.days, curves.colour("u", "g"), label="u - g", color=BAND_COLOURS["u"])
        ax_colour.legend(fontsize=8)
        ax_temp.plot(curves.days, curves.temperature() / 1e3, color="0.2")
    ax_colour.set(xlabel="rest-frame days", ylabel="colour (mag)", title=f"GP colours (where S/N > {MIN_GP_SNR:g})",
                  xlim=ax_lc.get_xlim())
    ax_temp.set(xlabel="rest-frame days", ylabel="temperature (10³ K)", title="blackbody temperature of the GP SED",
                xlim=ax_lc.get_xlim())

    if contributions is not None:
        # The wide left margin holds the "feature = value" labels.
        bars = fig.add_gridspec(1, 1, left=0.3, right=0.98, top=2.75 / height, bottom=0.5 / height)
        ax_bar = fig.add_subplot(bars[0])
        shown = _pushes(contributions)
        labels = [f"{name} = {_number(values.get(name, np.nan))}" for name in shown.index]
        ax_bar.barh(np.arange(len(shown)), shown.to_numpy(), color=np.where(shown > 0, "#d55e00", "#0072b2"))
        ax_bar.set_yticks(np.arange(len(shown)), labels, fontsize=8)
        ax_bar.invert_yaxis()
        ax_bar.axvline(0, color="0.3", lw=0.6)
        ax_bar.set(xlabel="contribution to the TDE score (log-odds)",
                   title=f"features that pushed it up ({N_UP}) and down ({N_DOWN})")
    return fig


def _pushes(contributions: pd.Series) -> pd.Series:
    """The N_UP largest positive contributions, then the N_DOWN most negative (bias excluded)."""
    features = contributions.drop("bias", errors="ignore").dropna()
    up = features[features > 0].sort_values(ascending=False).head(N_UP)
    down = features[features < 0].sort_values().head(N_DOWN)
    return pd.concat([up, down.iloc[::-1]])


def _number(value, digits: int = 4) -> str:
    """A number to `digits` significant digits; a dash where it is missing."""
    if value is None or pd.isna(value):
        return "—"
    return f"{float(value):.{digits}g}"


def _require_ids(table: pd.DataFrame | pd.Series, ids: pd.Index, what: str) -> None:
    missing = ids.difference(table.index)
    if len(missing):
        raise DataError(f"{what}: no row for object_id {examples(missing)} among the top candidates")


def _file_name(rank: int, object_id: str) -> str:
    return f"{rank:03d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', object_id)}.png"


def top_candidates(probabilities: pd.Series, top_n: int) -> pd.Series:
    """The top_n highest probabilities, highest first (ties in their given order), indexed by object_id as str:
    the objects write_candidate_report shows, so only their SHAP contributions need computing."""
    top = probabilities.astype("float64").sort_values(ascending=False, kind="stable").head(top_n)
    top.index = pd.Index(top.index.astype(str))
    return top


def write_candidate_report(out_dir: str | os.PathLike, log: pd.DataFrame, lightcurves: pd.DataFrame,
                           probabilities: pd.Series, features: pd.DataFrame, contributions: pd.DataFrame | None,
                           top_n: int = 20, threshold: float | None = None,
                           members: pd.DataFrame | None = None) -> Path:
    """Write out_dir/candidates.html (+ candidates/*.png) for the top_n objects by probability; return its path.

    `log` (indexed by object_id, with Z, EBV and optionally Z_err), `lightcurves` (object_id, time, flux,
    flux_err, band; not yet de-extinguished), `features` and `contributions` (from utils.gbdt.member.shap_contributions) are
    indexed by object_id; `members`: optional per-member probabilities, one column per model. Objects at or
    above `threshold` are marked flagged. Everything is checked before anything is written, and the new
    report replaces the old one only once it is complete.
    """
    if isinstance(top_n, bool) or not isinstance(top_n, (int, np.integer)) or top_n < 1:
        raise DataError(f"top_n must be a whole number of at least 1, not {top_n!r}")
    if len(probabilities) == 0:
        raise DataError("probabilities: empty; there are no objects to report")
    if not probabilities.index.is_unique:
        repeated = probabilities.index[probabilities.index.duplicated()]
        raise DataError(f"probabilities: object_id repeated: {examples(repeated)}")
    unknown = probabilities.index.difference(log.index)
    if len(unknown):
        raise DataError(f"probabilities: object_id absent from the log: {examples(unknown)}")
    if probabilities.isna().any():
        raise DataError(f"probabilities: NaN for object_id {examples(probabilities.index[probabilities.isna()])}")
    require_columns(log, ["Z", "EBV"], "log")
    require_columns(lightcurves, ["object_id", "time", "flux", "flux_err", "band"], "lightcurves")
    if contributions is not None:
        require_columns(contributions, ["bias"], "contributions")

    top = top_candidates(probabilities, top_n)
    ids = top.index
    _require_ids(features, ids, "features")
    if contributions is not None:
        _require_ids(contributions, ids, "contributions")
    if members is not None:
        _require_ids(members, ids, "members")
    # A logged object without light-curve rows (no usable observation, kept as `make run` keeps it) is shown with none.
    curves = lightcurves[lightcurves["object_id"].astype(str).isin(ids)]
    top_log = log.loc[ids]
    objects = {obj.object_id: obj for obj in deextinguished_objects(curves, top_log)}

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".candidates-", dir=out_dir))
    try:
        (staging / "candidates").mkdir()
        sections = []
        for rank, (object_id, probability) in enumerate(top.items(), start=1):
            obj = objects[object_id]
            file_name = _file_name(rank, object_id)
            shown = None if contributions is None else contributions.loc[object_id]
            figure = _candidate_figure(obj, gp_curves(obj), shown, features.loc[object_id])
            figure.savefig(staging / "candidates" / file_name, dpi=FIGURE_DPI)
            sections.append(_section(rank, object_id, probability, top_log.loc[object_id], obj, file_name, shown,
                                     features.loc[object_id], None if members is None else members.loc[object_id],
                                     threshold))
        page = _page(top, top_log, threshold, len(probabilities), contributions is not None, sections)
        (staging / "candidates.html").write_text(page, encoding="utf-8")
        if (out_dir / "candidates").exists():
            shutil.rmtree(out_dir / "candidates")
        (staging / "candidates").rename(out_dir / "candidates")
        (staging / "candidates.html").replace(out_dir / "candidates.html")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir / "candidates.html"


STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1150px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #f2f2f2; } td.id, th.id { text-align: left; font-family: monospace; }
section { border-top: 2px solid #444; margin-top: 2em; } img { max-width: 100%; }
.up { color: #a04000; } .down { color: #005a8c; } .flagged { font-weight: bold; }
.pushes { display: flex; gap: 2em; }
"""


def _flagged(probability: float, threshold: float | None) -> str:
    return "—" if threshold is None else ("yes" if probability >= threshold else "no")


def _page(top: pd.Series, top_log: pd.DataFrame, threshold: float | None, n_scored: int, explained: bool,
          sections: list[str]) -> str:
    rule = "no threshold given" if threshold is None else f"flagged: probability ≥ {threshold:.4g}"
    shap = (" Contributions are SHAP values of the gradient-boosted trees, in log-odds (raw score)."
            if explained else "")
    rows = "".join(
        f"<tr class=\"{'flagged' if _flagged(p, threshold) == 'yes' else ''}\"><td>{rank}</td>"
        f"<td class=\"id\"><a href=\"#c{rank}\">{html.escape(object_id)}</a></td><td>{p:.4f}</td>"
        f"<td>{_number(top_log.at[object_id, 'Z'])}</td><td>{_flagged(p, threshold)}</td></tr>"
        for rank, (object_id, p) in enumerate(top.items(), start=1))
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>TDE candidates</title>"
            f"<style>{STYLE}</style></head><body>\n"
            f"<h1>TDE candidates: the top {len(top)} of {n_scored:,} objects</h1>\n"
            f"<p>Ranked by probability; {rule}. Light curves are corrected for Milky Way dust (EBV); times are "
            f"rest-frame days from the brightest detection.{shap}</p>\n"
            f"<table class=\"summary\"><tr><th>rank</th><th class=\"id\">object_id</th>"
            f"<th>probability</th><th>Z</th><th>flagged</th></tr>{rows}</table>\n" + "\n".join(sections)
            + "\n</body></html>\n")


def _section(rank: int, object_id: str, probability: float, log_row: pd.Series, obj: ObjectLightCurve,
             file_name: str, contributions: pd.Series | None, values: pd.Series, members: pd.Series | None,
             threshold: float | None) -> str:
    per_band = ", ".join(f"{b} {int(np.sum(obj.band == i))}" for i, b in enumerate(BANDS))
    facts = [("probability", f"{probability:.4f}"), ("flagged", _flagged(probability, threshold)),
             ("Z", _number(log_row["Z"])), ("Z_err", _number(log_row.get("Z_err"))), ("EBV", _number(log_row["EBV"])),
             ("observations", f"{len(obj.time)} ({per_band})")]
    if members is not None:
        facts += [(f"P({name})", _number(value)) for name, value in members.items()]
    fact_rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(v)}</td></tr>" for k, v in facts)
    parts = [f"<section id=\"c{rank}\"><h2>{rank}. <code>{html.escape(object_id)}</code></h2>",
             f"<table>{fact_rows}</table>",
             f"<img src=\"candidates/{quote(file_name)}\" alt=\"light curve, GP, colours, temperature and "
             f"feature contributions of {html.escape(object_id)}\">"]
    if contributions is not None:
        shown = _pushes(contributions)
        tables = []
        for title, css, chosen in (("pushed up", "up", shown[shown > 0]), ("pushed down", "down", shown[shown < 0])):
            rows = "".join(f"<tr><td class=\"id\">{html.escape(name)}</td>"
                           f"<td>{_number(values.get(name, np.nan))}</td>"
                           f"<td class=\"{css}\">{value:+.3f}</td></tr>" for name, value in chosen.items())
            tables.append(f"<div><h3>{title}</h3><table><tr><th class=\"id\">feature</th><th>value</th>"
                          f"<th>log-odds</th></tr>{rows or '<tr><td colspan=3>none</td></tr>'}</table></div>")
        parts.append(f"<div class=\"pushes\">{''.join(tables)}</div><p>bias (the model's expected raw score over "
                     f"its training rows): {contributions['bias']:+.3f}</p>")
    parts.append("</section>")
    return "\n".join(parts)


__all__ = ["GPCurves", "gp_curves", "top_candidates", "write_candidate_report"]

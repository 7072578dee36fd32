"""A redshift draw as a transform of the reference table: exact where the feature is an observer-frame quantity
divided by 1 + z or a distance, and the same path in feature_table; every rule known, every column real."""

import numpy as np
import pandas as pd
import pytest

from utils.data.lightcurve import make_object
from utils.data.load import load_dataset
from utils.data.redshift import perturbed_redshift
from utils.features import DEFAULT_GROUPS, REGISTRY, cache_entries, feature_table
from utils.features.draws import RULES, column_rules, redraw, transformable
from utils.features.registry import extract_object

from synthetic import BANDS, gaussian_flux, tde_flux

# Columns whose transform is exact: observer-frame durations divided by 1 + z, and the distance-based ones.
EXACT = ["z", "distance_modulus", "abs_mag_peak", "log_peak_luminosity", "det_duration_rest",
         *[c for c in REGISTRY["timescales"].NAMES], *[f"bazin_{k}_{b}" for b in "gri" for k in ("rise", "fall")]]


def objects_at(z: float, n: int = 6) -> list:
    """The same light curves (TDE- and SN-like) seen at redshift z."""
    rng = np.random.default_rng(5)
    out = []
    for i in range(n):
        times, fluxes, errs, bands = [], [], [], []
        for b, band in enumerate(BANDS):
            t = np.sort(rng.uniform(0, 400, 30))
            flux = (tde_flux(t, 120.0, 150.0 - 10 * b) if i % 2 else gaussian_flux(t, 100.0 + 3 * b, 90.0, 14.0 + 3 * b))
            err = np.full(len(t), 2.0)
            times.append(t + 60000)
            fluxes.append(flux + rng.normal(0, err))
            errs.append(err)
            bands += [band] * len(t)
        out.append(make_object(np.concatenate(times), np.concatenate(fluxes), np.concatenate(errs), bands, z=z,
                               object_id=f"o{i}"))
    return out


@pytest.mark.parametrize("z_ref, z_new", [(0.1, 0.35), (0.4, 0.05), (0.2, -0.05)])
def test_exact_columns_equal_a_fresh_extraction_at_the_new_redshift(z_ref, z_new):
    groups = ["meta", "photometry", "timescales", "parametric"]
    at = {z: pd.DataFrame([extract_object(obj, groups) for obj in objects_at(z)], index=[f"o{i}" for i in range(6)])
          for z in (z_ref, z_new)}
    index = at[z_ref].index
    moved = redraw(at[z_ref], groups, pd.Series(z_ref, index=index), pd.Series(z_new, index=index))
    exact = [c for c in EXACT if c in moved.columns]
    assert at[z_ref][exact].notna().to_numpy().mean() > 0.8  # the comparison is about real numbers
    pd.testing.assert_frame_equal(moved[exact], at[z_new][exact], rtol=1e-9, atol=1e-12)
    assert not np.allclose(at[z_ref]["rise_half_g"], at[z_new]["rise_half_g"])  # the redshift did move them


def test_each_rule_moves_its_columns_the_documented_way():
    index = pd.Index(["a", "b"])
    table = pd.DataFrame({"gp_rise_half": [10.0, 20.0], "gp_log_length_time": [1.0, 2.0], "bb_temp_0": [1e4, 2e4],
                          "bb_temp_slope": [-10.0, 5.0], "fit_tde_log_temp": [4.0, 4.5], "gp_colour_gr_slope": [0.01, 0.02],
                          "gp_colour_gr_30": [0.3, 0.1]}, index=index)
    z_ref, z_new = pd.Series([0.2, 0.0], index=index), pd.Series([0.5, 1.0], index=index)
    d = np.array([1.2 / 1.5, 1.0 / 2.0])
    moved = redraw(table, ["gp", "fits"], z_ref, z_new)
    assert moved["gp_rise_half"].to_numpy() == pytest.approx(table["gp_rise_half"].to_numpy() * d)
    assert moved["gp_log_length_time"].to_numpy() == pytest.approx(table["gp_log_length_time"].to_numpy() + np.log10(d))
    assert moved["bb_temp_0"].to_numpy() == pytest.approx(table["bb_temp_0"].to_numpy() / d)
    assert moved["bb_temp_slope"].to_numpy() == pytest.approx(table["bb_temp_slope"].to_numpy() / d ** 2)
    assert moved["fit_tde_log_temp"].to_numpy() == pytest.approx(table["fit_tde_log_temp"].to_numpy() - np.log10(d))
    assert moved["gp_colour_gr_slope"].to_numpy() == pytest.approx(table["gp_colour_gr_slope"].to_numpy() / d)
    assert moved["gp_colour_gr_30"].equals(table["gp_colour_gr_30"])  # taken as fixed


def test_every_default_group_declares_its_rules_and_every_rule_names_a_real_column():
    assert transformable(DEFAULT_GROUPS)
    rules = column_rules(DEFAULT_GROUPS)
    assert set(rules.values()) <= set(RULES)
    names = {c for g in DEFAULT_GROUPS for c in REGISTRY[g].NAMES}
    assert set(rules) <= names
    assert not transformable(["blackbody"])  # a group without rules is extracted at every draw


def test_feature_table_transforms_a_draw_from_the_cached_reference(kaggle_dir):
    dataset = load_dataset(kaggle_dir)
    groups = ["meta", "timescales", "gp"]
    reference = feature_table(dataset, "train", n_jobs=1, groups=groups, progress=False)
    drawn = feature_table(dataset, "train", n_jobs=1, groups=groups, redshift_seed=3, progress=False, draws="transform")
    z = perturbed_redshift(dataset.train_log, dataset.test_log, 3)
    pd.testing.assert_frame_equal(drawn, redraw(reference, groups, dataset.train_log["Z"], z))
    assert cache_entries(dataset, "train", groups=groups, redshift_seed=3, draws="transform") == \
        cache_entries(dataset, "train", groups=groups)
    extracted = feature_table(dataset, "train", n_jobs=1, groups=groups, redshift_seed=3, progress=False, draws="extract")
    exact = [c for c in EXACT if c in drawn.columns]
    pd.testing.assert_frame_equal(drawn[exact], extracted[exact], rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="draws must be one of"):
        feature_table(dataset, "train", groups=groups, redshift_seed=3, draws="guess")

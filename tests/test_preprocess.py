"""De-extinction and sequence building on light curves with known answers."""

import extinction
import numpy as np
import pandas as pd
import pytest

from utils.data.extinction import LSST_WAVELENGTHS, deextinct, extinction_per_ebv
from utils.data.load import load_dataset
from utils.errors import DataError
from utils.training.sequences import (Sequences, build_band_sequences, build_token_sequences, cached_sequences,
                                      prepare_sequences)

from races import race_two_processes


def frame(rows):
    lc = pd.DataFrame(rows, columns=["object_id", "time", "flux", "flux_err", "band"])
    lc["band"] = pd.Categorical(lc["band"], categories=list("ugrizy"))
    return lc


def log_of(ids, z=0.0, ebv=0.0):
    return pd.DataFrame({"Z": z, "EBV": ebv}, index=pd.Index(ids, name="object_id"))


def test_extinction_factor_at_g_matches_fitzpatrick99():
    ebv = 0.1
    lc = frame([("a", 0.0, 10.0, 1.0, "g"), ("a", 1.0, -4.0, 2.0, "g")])
    out = deextinct(lc, pd.Series({"a": ebv}))
    a_g = extinction.fitzpatrick99(np.array([4704.0]), 3.1 * ebv, 3.1)[0]
    factor = 10 ** (0.4 * a_g)
    np.testing.assert_allclose(out["flux"], [10.0 * factor, -4.0 * factor], rtol=1e-12)
    np.testing.assert_allclose(out["flux_err"], [1.0 * factor, 2.0 * factor], rtol=1e-12)
    assert out["flux"].iloc[1] < 0  # baseline-subtracted negatives stay negative
    assert lc["flux"].iloc[0] == 10.0  # input untouched


def test_extinction_is_strongest_in_u_and_zero_without_dust():
    per_ebv = extinction_per_ebv()
    assert list(np.argsort(-per_ebv)) == [0, 1, 2, 3, 4, 5]  # u > g > r > i > z > y
    assert 4.0 < per_ebv[0] < 5.5 and 1.0 < per_ebv[5] < 1.6  # F99, R_V = 3.1, at 3641 Å and 10056 Å
    lc = frame([("a", 0.0, 5.0, 1.0, b) for b in "ugrizy"])
    np.testing.assert_array_equal(deextinct(lc, pd.Series({"a": 0.0}))["flux"], lc["flux"])
    assert set(LSST_WAVELENGTHS) == set("ugrizy")


def test_deextinct_needs_ebv_for_every_object():
    with pytest.raises(DataError, match="no EBV for object_id 'b'"):
        deextinct(frame([("b", 0.0, 1.0, 1.0, "r")]), pd.Series({"a": 0.1}))


def test_band_sequences_layout_normalisation_and_mask():
    lc = frame([("a", 100.0, 2.0, 0.5, "g"), ("a", 110.0, -8.0, 1.0, "g"), ("a", 105.0, 4.0, 1.0, "r"),
                ("b", 50.0, 3.0, 1.0, "y")])
    seq = build_band_sequences(lc, log_of(["a", "b"]), length=4)
    assert seq.values.shape == (2, 6, 4, 3) and seq.mask.shape == (2, 6, 4)
    assert seq.mask[0].sum() == 3 and seq.mask[1].sum() == 1
    np.testing.assert_array_equal(seq.mask[0, 1], [True, True, False, False])  # g: 2 points, then padding
    np.testing.assert_allclose(seq.channel("flux")[0, 1, :2], [2 / 8, -8 / 8])  # divided by max |flux| = 8
    np.testing.assert_allclose(seq.channel("flux_err")[0, 1, :2], [0.5 / 8, 1 / 8])
    np.testing.assert_allclose(seq.channel("time")[0, 1, :2], [0.0, 10.0])  # days since first observation
    np.testing.assert_allclose(seq.channel("time")[0, 2, 0], 5.0)
    assert seq.scale.tolist() == [8.0, 3.0]
    assert (seq.values[~seq.mask] == 0).all()


def test_rest_frame_divides_time_by_one_plus_z():
    lc = frame([("a", 0.0, 1.0, 1.0, "r"), ("a", 30.0, 2.0, 1.0, "r")])
    observed = build_band_sequences(lc, log_of(["a"], z=0.5), length=3)
    rest = build_band_sequences(lc, log_of(["a"], z=0.5), length=3, rest_frame=True)
    assert observed.channel("time")[0, 2, 1] == 30.0
    assert rest.channel("time")[0, 2, 1] == pytest.approx(20.0)


def test_long_band_keeps_a_window_around_the_peak():
    times = np.arange(300.0)
    flux = np.exp(-0.5 * ((times - 260) / 5) ** 2)
    lc = frame([("a", t, f, 0.1, "i") for t, f in zip(times, flux)])
    seq = build_band_sequences(lc, log_of(["a"]), length=100)
    kept = seq.channel("time")[0, 3]
    assert seq.mask[0, 3].all()
    assert kept[0] == 200.0 and kept[-1] == 299.0  # window clipped at the end, peak (260) inside
    assert seq.channel("flux")[0, 3].max() == pytest.approx(1.0)


def test_token_sequences_are_time_ordered_across_bands():
    lc = frame([("a", 3.0, 1.0, 1.0, "y"), ("a", 1.0, 2.0, 1.0, "u"), ("a", 2.0, -4.0, 1.0, "r")])
    seq = build_token_sequences(lc.sort_values("time"), log_of(["a"]), length=5)
    assert seq.channels == ("time", "band", "flux", "flux_err")
    np.testing.assert_array_equal(seq.mask[0], [True, True, True, False, False])
    np.testing.assert_allclose(seq.channel("time")[0, :3], [0.0, 1.0, 2.0])
    np.testing.assert_allclose(seq.channel("band")[0, :3], [0, 2, 5])
    np.testing.assert_allclose(seq.channel("flux")[0, :3], [0.5, -1.0, 0.25])


def test_subset_reorders_and_rejects_unknown_ids():
    lc = frame([("a", 0.0, 1.0, 1.0, "r"), ("b", 0.0, 2.0, 1.0, "r")])
    seq = build_band_sequences(lc, log_of(["a", "b"]), length=2)
    part = seq.subset(["b", "a"])
    assert part.object_ids.tolist() == ["b", "a"] and part.scale.tolist() == [2.0, 1.0]
    with pytest.raises(KeyError, match="zzz"):
        seq.subset(["zzz"])


def test_cached_sequences_build_once(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return Sequences(np.array(["a"]), np.ones((1, 2, 3), np.float32), np.ones((1, 2), bool), np.ones(1, np.float32), ("x", "y", "z"))

    first = cached_sequences("t", "k1", build, tmp_path)
    second = cached_sequences("t", "k1", build, tmp_path)
    assert len(calls) == 1
    np.testing.assert_array_equal(first.values, second.values)
    assert second.channels == ("x", "y", "z") and second.object_ids.tolist() == ["a"]


def test_prepare_sequences_on_a_kaggle_layout(kaggle_dir):
    ds = load_dataset(kaggle_dir)
    band = prepare_sequences(ds, "train", layout="band", length=32, rest_frame=True)
    token = prepare_sequences(ds, "test", layout="token", length=64)
    assert band.values.shape == (40, 6, 32, 3) and band.object_ids.tolist() == ds.train_log.index.tolist()
    assert token.values.shape == (20, 64, 4)
    assert np.abs(band.channel("flux")[band.mask]).max() == pytest.approx(1.0)
    again = prepare_sequences(ds, "train", layout="band", length=32, rest_frame=True)
    np.testing.assert_array_equal(band.values, again.values)
    with pytest.raises(ValueError, match="layout"):
        prepare_sequences(ds, "train", layout="grid")


def _build_slowly(root):
    import time

    def build():
        time.sleep(0.3)  # both writers are inside the build when the other one saves
        return Sequences(np.array(["a", "b"]), np.arange(12, dtype=np.float32).reshape(2, 2, 3),
                         np.ones((2, 2), bool), np.ones(2, np.float32), ("x", "y", "z"))

    return cached_sequences("race", "k", build, root).values.sum()


def test_two_processes_writing_the_same_sequences_entry(tmp_path):
    outcomes = race_two_processes(_build_slowly, tmp_path, timeout=60)
    assert outcomes == [66.0, 66.0]
    assert [p.name for p in (tmp_path / "sequences").iterdir()] == ["race-k.npz"]  # no temporary file left
    loaded = cached_sequences("race", "k", lambda: pytest.fail("should load, not build"), tmp_path)
    assert loaded.values.sum() == 66.0 and loaded.object_ids.tolist() == ["a", "b"]


def test_an_object_without_observations_gets_an_empty_sequence(kaggle_dir):
    log = pd.read_csv(kaggle_dir / "test_log.csv", dtype={"object_id": str})
    pd.concat([log, log.iloc[[0]].assign(object_id="te_lonely")]).to_csv(kaggle_dir / "test_log.csv", index=False)
    ds = load_dataset(kaggle_dir)
    for layout in ("band", "token"):
        seq = prepare_sequences(ds, "test", layout=layout, length=32)
        lonely = seq.object_ids.tolist().index("te_lonely")
        assert seq.object_ids.tolist() == ds.test_log.index.tolist()
        assert not seq.mask[lonely].any() and not seq.values[lonely].any()
        assert np.isfinite(seq.values).all() and seq.scale[lonely] == 1.0

"""Loading, validation and caching of the Kaggle-layout data, including every bad-input case."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from utils.data import degraded_copies, iter_objects, make_object
from utils.data import load as data_module
from utils.data.load import find_data_dir, load_dataset, load_sample_submission
from utils.errors import DataError
from utils.features import feature_table

from races import race_two_processes
from synthetic import share_visit_times, shuffled_copy

LC = "split_01/train_full_lightcurves.csv"


def edit_csv(path, change):
    table = pd.read_csv(path)
    changed = change(table)  # edits in place, or returns a new table
    (table if changed is None else changed).to_csv(path, index=False)


def test_load_tidies_columns_and_types(kaggle_dir):
    ds = load_dataset(kaggle_dir)
    assert list(ds.train_lc.columns) == ["object_id", "time", "flux", "flux_err", "band"]
    assert list(ds.train_lc["band"].cat.categories) == list("ugrizy")
    assert ds.train_log.index.name == "object_id"
    assert len(ds.train_log) == 40 and len(ds.test_log) == 20
    assert ds.train_log["target"].sum() == 12
    assert ds.test_log["Z_err"].notna().all() and ds.train_log["Z_err"].isna().all()
    assert ds.report["train"]["rows"] == 40 * 6 * 25
    # sorted by object then time, so per-object slices are contiguous
    assert ds.train_lc["object_id"].is_monotonic_increasing


def test_second_load_comes_from_cache_and_matches(kaggle_dir, cache_dir):
    first = load_dataset(kaggle_dir)
    assert (cache_dir / first.fingerprint / "train_lc.parquet").is_file()
    second = load_dataset(kaggle_dir)
    pd.testing.assert_frame_equal(first.train_lc, second.train_lc)
    # Columns that are entirely missing (train Z_err, test SpecType) are compared as missing, explicitly:
    # NaN and None both mean "absent" here, whichever the parquet round trip returns.
    for kind, empty in (("train_log", "Z_err"), ("test_log", "SpecType")):
        a, b = getattr(first, kind), getattr(second, kind)
        assert a[empty].isna().all() and b[empty].isna().all()
        pd.testing.assert_frame_equal(a.drop(columns=empty), b.drop(columns=empty))


def test_cache_key_follows_the_contents_not_the_modification_time(kaggle_dir):
    before = load_dataset(kaggle_dir)
    path = kaggle_dir / LC
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # a copy, same bytes
    assert load_dataset(kaggle_dir).fingerprint == before.fingerprint
    edit_csv(path, lambda t: t.__setitem__("Flux", t["Flux"] + 1.0))  # same name, new values
    assert load_dataset(kaggle_dir).fingerprint != before.fingerprint


def test_nan_flux_rows_are_dropped_and_counted(kaggle_dir):
    edit_csv(kaggle_dir / LC, lambda t: t.__setitem__("Flux", t["Flux"].where(t.index % 10 != 0)))
    ds = load_dataset(kaggle_dir)
    dropped = ds.report["train"]["nan_flux_by_file"][LC]
    assert dropped == len(pd.read_csv(kaggle_dir / LC)) // 10 + (len(pd.read_csv(kaggle_dir / LC)) % 10 > 0)
    assert ds.report["train"]["nan_flux_rows_dropped"] == dropped
    assert not ds.train_lc["flux"].isna().any()


def test_sample_submission_is_read_in_order(kaggle_dir):
    sample = load_sample_submission(kaggle_dir)
    assert list(sample.columns) == ["object_id", "prediction"]
    assert sample["object_id"].tolist() == pd.read_csv(kaggle_dir / "test_log.csv")["object_id"].tolist()


@pytest.mark.parametrize("case, change, message", [
    ("missing column", lambda t: t.drop(columns="Flux_err"), "missing column 'Flux_err'"),
    ("misnamed column", lambda t: t.rename(columns={"Flux_err": "FluxErr"}), "found 'FluxErr': misnamed?"),
    ("text time", lambda t: t.__setitem__("Time (MJD)", t["Time (MJD)"].astype(object).where(t.index != 3, "yesterday")),
     "column 'Time (MJD)' has non-numeric values 'yesterday'"),
    ("infinite time", lambda t: t.__setitem__("Time (MJD)", t["Time (MJD)"].where(t.index != 3, np.inf)),
     "column 'Time (MJD)' is infinite"),
    ("NaN flux error", lambda t: t.__setitem__("Flux_err", t["Flux_err"].where(t.index != 3)),
     "column 'Flux_err' is missing"),
    ("infinite flux error", lambda t: t.__setitem__("Flux_err", t["Flux_err"].where(t.index != 3, np.inf)),
     "column 'Flux_err' is infinite"),
    ("zero flux error", lambda t: t.__setitem__("Flux_err", t["Flux_err"].where(t.index != 3, 0.0)),
     "'Flux_err' must be > 0"),
    ("negative flux error", lambda t: t.__setitem__("Flux_err", t["Flux_err"].where(t.index != 3, -1.0)),
     "'Flux_err' must be > 0"),
    ("unknown band", lambda t: t.__setitem__("Filter", t["Filter"].where(t.index != 3, "V")),
     "bands 'V' outside ugrizy"),
    ("orphan light curve", lambda t: t.__setitem__("object_id", t["object_id"].where(t.index != 3, "ghost_object")),
     "absent from the log: 'ghost_object'"),
])
def test_bad_light_curve_file_is_named_in_the_error(kaggle_dir, case, change, message):
    edit_csv(kaggle_dir / LC, change)
    with pytest.raises(DataError) as error:
        load_dataset(kaggle_dir)
    assert message in str(error.value)
    if case != "orphan light curve":  # per-file checks name the file; the cross-check names the set
        assert "split_01/train_full_lightcurves.csv" in str(error.value)
    else:
        assert "train" in str(error.value)


def test_example_ids_are_named(kaggle_dir):
    table = pd.read_csv(kaggle_dir / LC)
    culprit = table.loc[3, "object_id"]
    edit_csv(kaggle_dir / LC, lambda t: t.__setitem__("Filter", t["Filter"].where(t.index != 3, "q")))
    with pytest.raises(DataError, match=culprit):
        load_dataset(kaggle_dir)


@pytest.mark.parametrize("change, message", [
    (lambda t: t.__setitem__("object_id", t["object_id"].where(t.index != 1, t.loc[0, "object_id"])), "duplicate object_id 'tr_0000'"),
    (lambda t: t.__setitem__("Z", t["Z"].where(t.index != 2)), "column 'Z' is missing"),
    (lambda t: t.__setitem__("EBV", t["EBV"].where(t.index != 2)), "column 'EBV' is missing"),
    (lambda t: t.__setitem__("EBV", t["EBV"].astype(object).where(t.index != 2, "dusty")), "'EBV' has non-numeric values 'dusty'"),
    (lambda t: t.drop(columns="target"), "missing column 'target'"),
    (lambda t: t.__setitem__("target", t["target"].where(t.index != 2, 3)),
     "'target' must be 0 or 1; got 3 for object_id 'tr_0002'"),  # 3, as the file has it, not np.float64(3.0)
])
def test_bad_train_log_is_named_in_the_error(kaggle_dir, change, message):
    edit_csv(kaggle_dir / "train_log.csv", change)
    with pytest.raises(DataError) as error:
        load_dataset(kaggle_dir)
    assert "train_log.csv" in str(error.value) and message in str(error.value)


def test_test_object_without_observations_is_kept_and_reported(kaggle_dir):
    log = pd.read_csv(kaggle_dir / "test_log.csv")
    extra = log.iloc[[0]].assign(object_id="te_lonely")
    pd.concat([log, extra]).to_csv(kaggle_dir / "test_log.csv", index=False)
    ds = load_dataset(kaggle_dir)
    assert "te_lonely" in ds.test_log.index and len(ds.test_log) == 21
    assert not (ds.test_lc["object_id"] == "te_lonely").any()
    assert ds.report["test"]["without_observations"] == ["te_lonely"]
    assert any("te_lonely" in note and "still get a prediction" in note for note in ds.report["notes"])
    assert load_dataset(kaggle_dir).report == ds.report  # the cached copy says the same


def test_training_object_with_only_nan_flux_is_dropped_with_a_note(kaggle_dir):
    victim = pd.read_csv(kaggle_dir / LC)["object_id"].iloc[0]
    edit_csv(kaggle_dir / LC, lambda t: t.__setitem__("Flux", t["Flux"].where(t["object_id"] != victim)))
    ds = load_dataset(kaggle_dir)
    assert victim not in ds.train_log.index and len(ds.train_log) == 39
    assert ds.report["train"]["without_observations"] == [victim]
    assert any(f"dropped 1 training object" in note and victim in note for note in ds.report["notes"])


def test_training_set_without_any_observation_is_an_error(kaggle_dir):
    for split in ("split_01", "split_02"):
        edit_csv(kaggle_dir / split / "train_full_lightcurves.csv", lambda t: t.__setitem__("Flux", np.nan))
    with pytest.raises(DataError, match="train_log.csv: no training object has a usable"):
        load_dataset(kaggle_dir)


def test_truncated_csv(kaggle_dir):
    path = kaggle_dir / LC
    text = path.read_text()
    path.write_text(text[: len(text) // 2].rsplit(",", 2)[0] + "\n")
    with pytest.raises(DataError, match="split_01/train_full_lightcurves.csv: corrupt or truncated CSV"):
        load_dataset(kaggle_dir)


def test_binary_garbage_csv(kaggle_dir):
    (kaggle_dir / LC).write_bytes(b"\x00\xff\x13garbage\n\x01,\x02\n\x03\n")
    with pytest.raises(DataError, match="split_01/train_full_lightcurves.csv"):
        load_dataset(kaggle_dir)


def test_missing_light_curve_file(kaggle_dir):
    (kaggle_dir / "split_02" / "test_full_lightcurves.csv").unlink()
    with pytest.raises(DataError, match="missing file .*split_02/test_full_lightcurves.csv"):
        load_dataset(kaggle_dir)


def test_missing_log(kaggle_dir):
    (kaggle_dir / "test_log.csv").unlink()
    with pytest.raises(DataError, match="missing file .*test_log.csv"):
        load_dataset(kaggle_dir)


def test_missing_directory_says_how_to_get_data(tmp_path):
    with pytest.raises(DataError, match="does not exist(.|\n)*DATA_DIR"):
        find_data_dir(tmp_path / "nowhere")


def test_directory_without_data(tmp_path):
    with pytest.raises(DataError, match="has no train_log.csv"):
        find_data_dir(tmp_path)


def test_data_dir_search_order(kaggle_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(kaggle_dir))
    assert find_data_dir() == kaggle_dir.resolve()
    assert find_data_dir(kaggle_dir) == kaggle_dir.resolve()
    monkeypatch.delenv("DATA_DIR")
    fake_root = tmp_path / "project"
    (fake_root / "data").mkdir(parents=True)
    monkeypatch.setattr(data_module, "PROJECT_ROOT", fake_root)
    monkeypatch.setattr(data_module, "KAGGLE_MOUNTS", (kaggle_dir,))
    assert find_data_dir(download=False) == kaggle_dir  # data/ is empty: falls through to the mount
    monkeypatch.setattr(data_module, "KAGGLE_MOUNTS", ())
    monkeypatch.setattr(data_module, "kaggle_credentials_present", lambda: False)
    with pytest.raises(DataError, match="no MALLORN data found(.|\n)*kaggle.json"):
        find_data_dir()


def test_bad_data_never_destroys_an_existing_cache(kaggle_dir, cache_dir):
    good = load_dataset(kaggle_dir)
    edit_csv(kaggle_dir / LC, lambda t: t.__setitem__("Filter", "q"))
    with pytest.raises(DataError):
        load_dataset(kaggle_dir)
    assert (cache_dir / good.fingerprint / "train_lc.parquet").is_file()
    assert [p.name for p in cache_dir.iterdir()] == [good.fingerprint]  # no half-written cache left


@pytest.mark.skipif(not (Path(__file__).resolve().parents[2] / "shared" / "mallorn" / "train_log.csv").is_file(),
                    reason="the shared MALLORN copy is not beside this checkout")
def test_real_mallorn_data_loads_and_validates(cache_dir):
    ds = load_dataset(Path(__file__).resolve().parents[2] / "shared" / "mallorn")
    assert len(ds.train_log) > 2000 and len(ds.test_log) > 7000
    assert set(ds.train_log["target"].unique()) == {0, 1}
    assert ds.report["train"]["nan_flux_rows_dropped"] > 0  # the real data has NaN fluxes, counted
    assert set(ds.train_lc["object_id"].unique()) == set(ds.train_log.index)


def test_download_from_kaggle_unzips_the_competition(kaggle_dir, tmp_path, monkeypatch):
    """The kaggle client is replaced by a fake that 'downloads' a zip of the tiny data set."""
    import shutil
    import sys
    import types

    archive = shutil.make_archive(str(tmp_path / "mallorn"), "zip", kaggle_dir)

    class FakeApi:
        def authenticate(self):
            pass

        def competition_download_files(self, competition, path, quiet):
            assert competition == "mallorn-astronomical-classification-challenge"
            shutil.copy(archive, Path(path) / "mallorn-astronomical-classification-challenge.zip")

    module = types.ModuleType("kaggle.api.kaggle_api_extended")
    module.KaggleApi = FakeApi
    monkeypatch.setitem(sys.modules, "kaggle.api.kaggle_api_extended", module)
    target = data_module.download_from_kaggle(tmp_path / "data")
    assert (target / "train_log.csv").is_file() and not list(target.glob("*.zip"))
    assert len(load_dataset(target).train_log) == 40


def test_download_failure_says_how_to_get_the_data(tmp_path, monkeypatch):
    import sys
    import types

    class BrokenApi:
        def authenticate(self):
            raise OSError("could not find kaggle.json")

    module = types.ModuleType("kaggle.api.kaggle_api_extended")
    module.KaggleApi = BrokenApi
    monkeypatch.setitem(sys.modules, "kaggle.api.kaggle_api_extended", module)
    with pytest.raises(DataError, match="downloading .* failed: could not find kaggle.json(.|\n)*DATA_DIR"):
        data_module.download_from_kaggle(tmp_path / "data")


def _gzip_bytes(path):
    import gzip

    return gzip.compress(path.read_bytes())


def _zip_bytes(path):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(path, path.name)
    return buffer.getvalue()


@pytest.mark.parametrize("name, damage, message", [
    ("train_log.csv", lambda p: p.write_bytes(b""), "is empty \\(0 bytes\\)"),
    (LC, lambda p: p.write_bytes(b""), "is empty \\(0 bytes\\)"),
    ("train_log.csv", lambda p: p.write_bytes(_gzip_bytes(p)), "is gzip-compressed, not plain CSV"),
    (LC, lambda p: p.write_bytes(_zip_bytes(p)), "is zip-compressed, not plain CSV"),
    ("test_log.csv", lambda p: (p.unlink(), p.mkdir()), "is a folder, not a CSV file"),
    (LC, lambda p: (p.unlink(), p.mkdir()), "is a folder, not a CSV file"),
    ("train_log.csv", lambda p: p.write_text(p.read_text().splitlines()[0] + "\n"), "has a header but no rows"),
    (LC, lambda p: p.write_text(p.read_text().splitlines()[0] + "\n"), "has a header but no rows"),
])
def test_unreadable_files_are_named_in_a_sentence(kaggle_dir, name, damage, message):
    damage(kaggle_dir / name)
    with pytest.raises(DataError, match=message) as error:
        load_dataset(kaggle_dir)
    assert name.split("/")[-1] in str(error.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file regardless of its mode")
def test_permission_denied_file_is_named(kaggle_dir):
    (kaggle_dir / LC).chmod(0)
    with pytest.raises(DataError, match="permission denied") as error:
        load_dataset(kaggle_dir)
    assert LC.split("/")[-1] in str(error.value)


def test_permission_denied_is_a_sentence_even_as_root(kaggle_dir, monkeypatch):
    """Root ignores file modes, so the failing open is simulated for one file."""
    import builtins

    real_open = builtins.open
    target = kaggle_dir / LC

    def refusing_open(file, *args, **kwargs):
        if Path(file) == target:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing_open)
    with pytest.raises(DataError, match="split_01/train_full_lightcurves.csv: cannot read .* \\(permission denied\\)"):
        load_dataset(kaggle_dir)


def test_object_ids_that_look_like_numbers_stay_text(kaggle_dir):
    renames = {"tr_0000": "007", "tr_0001": "1e5", "te_0000": "0042", "te_0001": "3.10"}

    def rename(table):
        table["object_id"] = table["object_id"].replace(renames)

    for path in [kaggle_dir / "train_log.csv", kaggle_dir / "test_log.csv", kaggle_dir / "sample_submission.csv",
                 *kaggle_dir.glob("split_*/*.csv")]:
        edit_csv(path, rename)
    for _ in range(2):  # first from CSV, then from the cache
        ds = load_dataset(kaggle_dir)
        assert {"007", "1e5"} <= set(ds.train_log.index) and {"0042", "3.10"} <= set(ds.test_log.index)
        assert {"007", "1e5"} <= set(ds.train_lc["object_id"]) and {"0042", "3.10"} <= set(ds.test_lc["object_id"])
    sample = load_sample_submission(kaggle_dir)
    assert sample["object_id"].tolist()[:2] == ["0042", "3.10"]
    data_module.check_sample_matches_test(sample, ds.test_log)


@pytest.mark.parametrize("row, spec, target, message", [
    (0, "SN Ia", 1, "target 1 with SpecType other than 'TDE' \\('SN Ia'\\) for object_id 'tr_0000'"),
    (30, "TDE", 0, "SpecType 'TDE' with target 0 for object_id 'tr_0030'"),
])
def test_contradicting_labels_are_an_error(kaggle_dir, row, spec, target, message):
    def relabel(table):
        table.loc[row, ["SpecType", "target"]] = [spec, target]

    edit_csv(kaggle_dir / "train_log.csv", relabel)
    with pytest.raises(DataError, match=message) as error:
        load_dataset(kaggle_dir)
    assert "train_log.csv: columns 'target' and 'SpecType' contradict" in str(error.value)


@pytest.mark.parametrize("change, message", [
    (lambda t: t.iloc[1:], "lacks 1 object_id of test_log.csv: 'te_0000'"),
    (lambda t: pd.concat([t, pd.DataFrame({"object_id": ["te_stranger"], "prediction": [0]})]),
     "has 1 object_id absent from test_log.csv: 'te_stranger'"),
    (lambda t: pd.concat([t, t.iloc[[3]]]), "repeats 'te_0003'"),
])
def test_sample_submission_must_list_the_test_objects(kaggle_dir, change, message):
    edit_csv(kaggle_dir / "sample_submission.csv", change)
    with pytest.raises(DataError, match=message) as error:
        data_module.check_sample_matches_test(load_sample_submission(kaggle_dir), load_dataset(kaggle_dir).test_log)
    assert "sample_submission.csv: column 'object_id'" in str(error.value)


def test_cache_root_order(tmp_path, monkeypatch):
    monkeypatch.setenv("MALLORN_CACHE_DIR", str(tmp_path / "env"))
    assert data_module.cache_root(tmp_path / "arg") == tmp_path / "arg"
    assert data_module.cache_root() == tmp_path / "env"
    monkeypatch.delenv("MALLORN_CACHE_DIR")
    assert data_module.cache_root() == data_module.PROJECT_ROOT / "cache"


def _fingerprint(data_dir):
    return load_dataset(data_dir).fingerprint


def test_two_processes_writing_the_same_cache_entry(kaggle_dir, cache_dir):
    outcomes = race_two_processes(_fingerprint, kaggle_dir)
    expected = load_dataset(kaggle_dir)
    assert outcomes == [expected.fingerprint] * 2
    assert [p.name for p in cache_dir.iterdir()] == [expected.fingerprint]  # no staging folder left behind
    assert data_module._cache_complete(cache_dir / expected.fingerprint)
    assert len(expected.train_log) == 40


def test_a_finished_entry_of_another_process_is_kept(kaggle_dir, cache_dir):
    first = load_dataset(kaggle_dir)
    entry = cache_dir / first.fingerprint
    before = {p.name: p.stat().st_mtime_ns for p in entry.iterdir()}
    tables = {"train_log": first.train_log, "test_log": first.test_log, "train_lc": first.train_lc,
              "test_lc": first.test_lc}
    data_module._write_cache(entry, tables, first.report)  # the slower of two runs arrives
    assert {p.name: p.stat().st_mtime_ns for p in entry.iterdir()} == before
    assert [p.name for p in cache_dir.iterdir()] == [first.fingerprint]


def test_the_order_of_rows_and_files_changes_nothing(kaggle_dir, tmp_path):
    """LSST takes several bands in one visit, so observations share times; shuffling every file's rows, the logs
    and which split folder holds which objects must give the same tables, features and degraded copies, bit for bit."""
    share_visit_times(kaggle_dir)
    shuffled = shuffled_copy(kaggle_dir, tmp_path / "shuffled")
    first, second = load_dataset(kaggle_dir), load_dataset(shuffled)
    assert first.fingerprint != second.fingerprint  # other files, read afresh
    for name in ("train_log", "test_log"):
        pd.testing.assert_frame_equal(getattr(first, name).drop(columns="split"),
                                      getattr(second, name).drop(columns="split"), check_exact=True)
    assert first.train_log.index.is_monotonic_increasing
    for name in ("train_lc", "test_lc"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name), check_exact=True)
    assert first.train_lc.duplicated(["object_id", "time"]).sum() > 100  # the ties the test is about
    pd.testing.assert_frame_equal(degraded_copies(first, 1).train_lc, degraded_copies(second, 1).train_lc,
                                  check_exact=True)
    for kind, copies in (("train", 0), ("test", 0), ("train", 1)):
        tables = [feature_table(ds, kind, n_jobs=1, progress=False, groups=["variability", "photometry"], copies=copies)
                  for ds in (first, second)]
        pd.testing.assert_frame_equal(*tables, check_exact=True)


def test_exact_duplicate_rows_are_dropped_with_a_note_and_clashes_refused(kaggle_dir):
    table = pd.read_csv(kaggle_dir / LC)
    victim = table.loc[7, "object_id"]
    pd.concat([table, table.iloc[[7, 7, 9]]]).to_csv(kaggle_dir / LC, index=False)
    ds = load_dataset(kaggle_dir)
    assert ds.report["train"]["duplicate_rows_dropped"] == 3 and ds.report["train"]["duplicates_by_file"] == {LC: 3}
    assert not ds.train_lc.duplicated(["object_id", "time", "band"]).any()
    assert any(note.startswith(f"{LC}: dropped 3 exact duplicate observation row(s)") and victim in note
               for note in ds.report["notes"])
    # the same object, band and time with another flux is two measurements of one thing: refused, named
    clash = table.iloc[[7]].assign(Flux=table.loc[7, "Flux"] + 1.0)
    pd.concat([table, clash]).to_csv(kaggle_dir / LC, index=False)
    with pytest.raises(DataError, match=f"{LC}: 2 rows give different 'Flux'/'Flux_err' for the same object_id, "
                                        f"'Time \\(MJD\\)' and 'Filter' .*object_id '{victim}'"):
        load_dataset(kaggle_dir)


@pytest.mark.parametrize("log, change, message", [
    ("train_log.csv", lambda t: t.__setitem__("Z", t["Z"].where(t.index != 2, -0.3)),
     "train_log.csv: column 'Z' must be >= 0 .*object_id 'tr_0002' \\(values -0.3\\)"),
    ("test_log.csv", lambda t: t.__setitem__("Z", t["Z"].where(t.index != 4, -0.3)),
     "test_log.csv: column 'Z' must be >= 0 \\(a photometric Z may be below 0 by at most its Z_err\\)"),
    ("test_log.csv", lambda t: t.__setitem__("Z_err", t["Z_err"].where(t.index != 4, -0.01)),
     "test_log.csv: column 'Z_err' must be >= 0 where given"),
    ("test_log.csv", lambda t: t.__setitem__("EBV", t["EBV"].where(t.index != 4, -0.01)),
     "test_log.csv: column 'EBV' must be >= 0"),
    ("train_log.csv", lambda t: t.assign(target=0, SpecType=t["SpecType"].replace("TDE", "AGN")),
     "train_log.csv: column 'target' has no TDE \\(target 1\\) among the 40 training objects"),
    ("train_log.csv", lambda t: t.assign(SpecType=t["SpecType"].where(t["SpecType"] != "TDE", "")),
     "train_log.csv: column 'SpecType' names no 'TDE' although 12 object\\(s\\) have target 1"),
    ("test_log.csv", lambda t: t.assign(Z_err=np.nan),
     "test_log.csv: column 'Z_err' is empty for all 20 objects"),
])
def test_physically_invalid_or_untrainable_logs_are_refused(kaggle_dir, log, change, message):
    edit_csv(kaggle_dir / log, change)
    with pytest.raises(DataError, match=message):
        load_dataset(kaggle_dir)


def test_a_photometric_redshift_may_dip_below_zero_within_its_error(kaggle_dir):
    """MALLORN's own test log holds Z = -0.0175 +- 0.0202; only a Z further below 0 than its error is refused."""
    edit_csv(kaggle_dir / "test_log.csv", lambda t: t.assign(Z=t["Z"].where(t.index != 4, -0.0175),
                                                             Z_err=t["Z_err"].where(t.index != 4, 0.0202)))
    assert load_dataset(kaggle_dir).test_log.loc["te_0004", "Z"] == -0.0175


def test_objects_come_out_in_one_order_whatever_the_rows_order(kaggle_dir):
    """iter_objects orders each object's rows itself (time, band, flux, flux_err): a frame built by hand or
    shuffled (a Dask partition, a predict chunk) gives the same arrays as the validated table."""
    share_visit_times(kaggle_dir)
    ds = load_dataset(kaggle_dir)
    shuffled = ds.train_lc.sample(frac=1, random_state=0)
    for one, other in zip(iter_objects(ds.train_lc, ds.train_log), iter_objects(shuffled, ds.train_log)):
        for name in ("time", "flux", "flux_err", "band"):
            assert np.array_equal(getattr(one, name), getattr(other, name)), (one.object_id, name)
        rebuilt = make_object(one.time[::-1], one.flux[::-1], one.flux_err[::-1], one.band[::-1])
        assert np.array_equal(rebuilt.flux, one.flux) and np.array_equal(rebuilt.band, one.band)

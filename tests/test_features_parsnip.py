"""The ParSNIP group on synthetic light curves: unit and dust conventions, empty objects, order, bandpasses.

The pretrained model ships inside the astro-parsnip wheel and the bandpasses inside the project, so
this runs offline; loading the model takes a few seconds (once per module).
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from utils import BANDS, PROJECT_ROOT
from utils.data.extinction import extinction_per_ebv
from utils.data.lightcurve import make_object
from utils.features import GROUP_NAMES, parsnip

from synthetic import gaussian_flux

COLOUR = {"u": 0.5, "g": 0.9, "r": 1.0, "i": 0.9, "z": 0.8, "y": 0.7}


def supernova_like(scale: float = 1.0, ebv: float = 0.0, object_id: str = "sn", seed: int = 0,
                   dust: float = 0.0):
    """A 6-band Gaussian flare sampled every ~3 days; `dust` dims the fluxes by E(B−V) = dust first."""
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(60000.0, 60200.0, 120))
    band = np.array([BANDS[i % 6] for i in range(len(times))])
    flux = np.array([gaussian_flux(t, peak_time=60080.0, amplitude=100.0 * COLOUR[b], sigma=12.0)
                     for t, b in zip(times, band)]) + rng.normal(0, 1.0, len(times))
    err = np.full(len(times), 1.0)
    observed = 10.0 ** (-0.4 * extinction_per_ebv()[[BANDS.index(b) for b in band]] * dust)
    # As feature_table hands them over: de-extinguished with the object's own EBV.
    deextinct = 10.0 ** (0.4 * extinction_per_ebv()[[BANDS.index(b) for b in band]] * ebv)
    return make_object(times, flux * scale * observed * deextinct, err * scale * observed * deextinct, band,
                       z=0.2, z_err=0.02, ebv=ebv, object_id=object_id)


@pytest.fixture(scope="module")
def run():
    def features(objects):
        return np.array([[row[n] for n in parsnip.NAMES] for row in parsnip.extract_batch(objects)])
    return features


def test_a_constant_flux_factor_moves_only_the_amplitude(run):
    base, scaled = run([supernova_like(1.0), supernova_like(7.0, object_id="sn7")])
    columns = list(parsnip.NAMES)
    amplitude = columns.index("parsnip_amplitude")
    assert scaled[amplitude] == pytest.approx(7.0 * base[amplitude], rel=1e-4)
    shape = [columns.index(n) for n in ("parsnip_s1", "parsnip_s2", "parsnip_s3", "parsnip_color",
                                        "parsnip_redshift", "parsnip_chi2_per_dof")]
    assert scaled[shape] == pytest.approx(base[shape], rel=1e-3, abs=1e-4)
    assert np.isfinite(base).all()


def test_the_model_sees_the_fluxes_before_the_dust_correction(run):
    """An object dimmed by dust and de-extinguished (ebv = 0.3) looks to ParSNIP like the dimmed curve
    with no dust at all: the group undoes the correction; the model was trained on uncorrected fluxes."""
    corrected, dimmed = run([supernova_like(ebv=0.3, dust=0.3), supernova_like(dust=0.3, object_id="dim")])
    assert corrected == pytest.approx(dimmed, rel=1e-4, abs=1e-5)
    clean = run([supernova_like(object_id="clean")])[0]
    colour = list(parsnip.NAMES).index("parsnip_color")
    assert corrected[colour] > clean[colour] + 0.05  # reddened: the model's colour says so


def test_no_observations_give_nan_and_order_does_not_matter(run):
    empty = make_object([], [], [], [], object_id="empty")
    objects = [supernova_like(seed=s, object_id=f"o{s}") for s in range(3)] + [empty]
    forward = run(objects)
    backward = run(objects[::-1])[::-1]
    assert np.isnan(forward[3]).all()
    assert np.array_equal(forward, backward, equal_nan=True)
    assert tuple(parsnip.NAMES) == GROUP_NAMES["parsnip"]


def test_an_object_the_decoder_refuses_gets_nan_and_the_others_their_features(run, monkeypatch):
    """ParSNIP's decoder raises for a few sparse light curves (seen on a degraded copy whose 7 points all lay in
    the padding around the time window): that object gets NaN features; any other error still stops the run."""
    objects = [supernova_like(seed=s, object_id=f"o{s}") for s in range(3)]
    expected = run(objects)
    real = parsnip._predict_batch

    def refusing(model, inputs, message="Kernel size can't be greater than actual input size"):
        if inputs[0][1]["object_id"] == "o1":
            raise RuntimeError(f"Calculated padded input size per channel: (0). {message}")
        return real(model, inputs)

    monkeypatch.setattr(parsnip, "_predict_batch", refusing)
    got = np.array([[row[n] for n in parsnip.NAMES] for row in parsnip.extract_batch(objects, n_jobs=1)])
    assert np.isnan(got[1]).all()
    assert np.array_equal(got[[0, 2]], expected[[0, 2]])
    monkeypatch.setattr(parsnip, "_predict_batch", lambda model, inputs: refusing(model, inputs, "something else"))
    with pytest.raises(RuntimeError, match="something else"):
        parsnip.extract_batch(objects, n_jobs=1)


def test_shipped_bandpasses_register_with_sncosmo():
    import sncosmo

    parsnip.register_lsst_bandpasses()
    for band, (low, high) in {"u": (3500, 3800), "g": (4600, 4900), "r": (6000, 6300), "z": (8500, 8800)}.items():
        assert low < sncosmo.get_bandpass(f"lsst{band}").wave_eff < high


def parsnip_own_path(objects):
    """The reference: astropy tables through parsnip's own preprocess + predict_dataset (slow, exact)."""
    import lcdata
    from astropy.table import Table

    tables = []
    for obj in objects:
        undo_dust = 10.0 ** (-0.4 * extinction_per_ebv()[obj.band] * obj.ebv)
        table = Table({"time": obj.time, "flux": obj.flux * undo_dust * parsnip.UJY_TO_PLASTICC,
                       "fluxerr": obj.flux_err * undo_dust * parsnip.UJY_TO_PLASTICC,
                       "band": np.array([f"lsst{BANDS[b]}" for b in obj.band], dtype="U5")})
        z_err = obj.z_err if np.isfinite(obj.z_err) else 0.0  # as the group shows spectroscopic redshifts
        table.meta.update({"object_id": obj.object_id, "hostgal_photoz": obj.z, "hostgal_photoz_err": z_err,
                           "hostgal_specz": obj.z, "redshift": obj.z, "mwebv": obj.ebv})
        tables.append(table)
    model = parsnip.load_model()
    predictions = model.predict_dataset(model.preprocess(lcdata.from_light_curves(tables), verbose=False))
    return parsnip.to_features(predictions.to_pandas().set_index("object_id")).loc[[o.object_id for o in objects]]


def with_long_baseline(seed: int, offset: float):
    """A flare plus two years of flat points carrying a constant offset: ParSNIP's background correction
    estimates it from the points outside its window and subtracts it."""
    rng = np.random.default_rng(seed)
    flare = supernova_like(seed=seed, ebv=0.05)
    times = np.concatenate([flare.time, rng.uniform(59300.0, 59700.0, 40), rng.uniform(60500.0, 60800.0, 30)])
    band = np.concatenate([flare.band, rng.integers(0, 6, 70)])
    flux = np.concatenate([flare.flux + offset, offset + rng.normal(0, 1.0, 70)])
    return make_object(times, flux, np.full(len(times), 1.0), band, z=0.4, z_err=0.05, ebv=0.05,
                       object_id=f"long{seed}")


def test_fast_inputs_match_parsnips_own_preprocessing(run):
    objects = [supernova_like(seed=1, object_id="a", ebv=0.1), with_long_baseline(2, offset=8.0),
               with_long_baseline(3, offset=-5.0), supernova_like(seed=4, object_id="faint", scale=0.02)]
    ours = run(objects)
    reference = parsnip_own_path(objects)[list(parsnip.NAMES)].to_numpy()
    assert np.isfinite(ours).all()
    # float32 convolutions over other batch compositions: agreement to ~1e-5 relative, not bit-identical.
    assert ours == pytest.approx(reference, rel=2e-4, abs=2e-4)


def test_an_objects_features_do_not_depend_on_the_others_in_the_call(run):
    """utils.serve.predict scores new objects in chunks: each object's features must be those of the full run."""
    a, b = supernova_like(seed=7), supernova_like(seed=8)
    dense = make_object(np.r_[a.time, b.time], np.r_[a.flux, b.flux], np.r_[a.flux_err, b.flux_err],
                        np.r_[a.band, b.band], z=0.2, z_err=0.02, object_id="dense")  # 240 points, the others 120
    objects = [supernova_like(seed=s, object_id=f"b{s}") for s in range(3)] + [dense, with_long_baseline(5, 2.0)]
    together = run(objects)
    alone = np.vstack([run([obj]) for obj in objects])
    assert np.array_equal(together, alone, equal_nan=True)


def test_chunks_in_worker_processes_give_the_same_features(run, monkeypatch):
    """Many objects run chunk by chunk in joblib workers; the result is what one process computes."""
    objects = [supernova_like(seed=s, object_id=f"w{s}") for s in range(4)]
    in_process = run(objects)  # one chunk: this process
    monkeypatch.setattr(parsnip, "CHUNK", 2)  # two chunks: worker processes
    assert np.array_equal(run(objects), in_process, equal_nan=True)


def test_extraction_passes_no_library_warning_to_the_terminal():
    """torch warns once per process while parsnip.load_model builds its band weights; nobody can act on it, so it is
    hidden. A fresh process, where that once has not happened yet, turns every warning into an error."""
    code = textwrap.dedent("""
        import sys, warnings
        import numpy as np
        sys.path[:0] = ["tests", "."]
        from test_features_parsnip import supernova_like
        from utils.features import parsnip
        warnings.simplefilter("error")  # after the imports: what extraction itself raises, parsnip's import included
        rows = parsnip.extract_batch([supernova_like(), supernova_like(object_id="b", seed=1)], n_jobs=1)
        assert all(np.isfinite(row["parsnip_s1"]) for row in rows)
        print("extracted", len(rows))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "extracted 2" and "Warning" not in done.stderr, done.stderr[-3000:]

"""The ParSNIP group on synthetic light curves: unit and dust conventions, empty objects, order, bandpasses.

The pretrained model ships inside the astro-parsnip wheel and the bandpasses inside the project, so
this runs offline; loading the model takes a few seconds (once per module).
"""

import numpy as np
import pytest

from synthetic import gaussian_flux
from utils import BANDS
from utils.features import GROUP_NAMES, make_object, parsnip
from utils.preprocess import extinction_per_ebv

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


def test_shipped_bandpasses_register_with_sncosmo():
    import sncosmo

    parsnip.register_lsst_bandpasses()
    for band, (low, high) in {"u": (3500, 3800), "g": (4600, 4900), "r": (6000, 6300), "z": (8500, 8800)}.items():
        assert low < sncosmo.get_bandpass(f"lsst{band}").wave_eff < high

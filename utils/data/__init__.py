"""Raw CSV files in, a validated and de-extinguished `Dataset` out.

    from utils.data import load_dataset, objects
    dataset = load_dataset("../shared/mallorn")        # validated, cached as parquet
    for obj in objects(dataset, "train"):               # de-extinguished ObjectLightCurve, in log order
        ...

Modules: `load` (find, read, validate, cache), `validate` (the checks), `extinction` (Milky Way dust),
`lightcurve` (one object's light curve), `redshift` (photometric-like draws of training Z), `copies`
(degraded copies of the training light curves).
"""

from .copies import degraded_copies, source_of
from .extinction import LSST_WAVELENGTHS, deextinct, extinction_per_ebv
from .lightcurve import ObjectLightCurve, deextinguished_objects, iter_objects, make_object, objects
from .load import (COMPETITION, Dataset, cache_root, check_sample_matches_test, find_data_dir, load_dataset,
                   load_sample_submission, read_csv)
from .redshift import perturbed_redshift, perturbed_redshift_and_error

__all__ = ["COMPETITION", "Dataset", "LSST_WAVELENGTHS", "ObjectLightCurve", "cache_root", "check_sample_matches_test",
           "deextinct", "deextinguished_objects", "degraded_copies", "extinction_per_ebv", "find_data_dir",
           "iter_objects", "load_dataset", "load_sample_submission", "make_object", "objects",
           "perturbed_redshift", "perturbed_redshift_and_error", "read_csv", "source_of"]

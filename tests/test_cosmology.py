"""One cosmology: the tabulated numpy distance (features) and the torch one (models) agree with astropy's."""

import numpy as np
import pytest
import torch

from utils.cosmology import luminosity_distance_mpc
from utils.models.inputs import luminosity_distance_mpc as torch_luminosity_distance_mpc


def test_tabulated_distance_matches_flat_lcdm():
    # astropy FlatLambdaCDM(H0=70, Om0=0.3).luminosity_distance: 460.0 Mpc at z=0.1, 6607.7 Mpc at z=1
    assert luminosity_distance_mpc(np.array([0.1, 1.0])) == pytest.approx([460.0, 6607.7], rel=1e-3)


def test_features_and_models_use_the_same_distance():
    z = np.array([0.01, 0.3, 1.5, 4.0])
    in_torch = torch_luminosity_distance_mpc(torch.tensor(z), steps=256).numpy()
    assert in_torch == pytest.approx(luminosity_distance_mpc(z), rel=1e-4)

"""The damped-random-walk fit of the variability group: its gradient and a simulated DRW of known τ."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from utils.features import variability


def simulated_drw(tau, sigma, n=120, span=1500.0, noise=0.02, seed=0):
    """An Ornstein–Uhlenbeck process sampled at random times (exact AR(1) updates) plus white noise."""
    rng = np.random.default_rng(seed)
    time = np.sort(rng.uniform(0, span, n))
    value = np.empty(n)
    value[0] = rng.normal(0, sigma)
    for i in range(1, n):
        decay = np.exp(-(time[i] - time[i - 1]) / tau)
        value[i] = decay * value[i - 1] + rng.normal(0, sigma * np.sqrt(1 - decay ** 2))
    return time, value + rng.normal(0, noise, n), np.full(n, noise)


def test_the_likelihood_gradient_is_the_derivative_of_the_likelihood():
    time, flux, flux_err = simulated_drw(tau=80.0, sigma=0.3, n=40)
    lag, centred = np.abs(time[:, None] - time[None, :]), flux - flux.mean()
    for params in ([np.log(0.2), np.log(30.0)], [np.log(0.5), np.log(300.0)]):
        params = np.array(params)
        _, gradient = variability.drw_neg_log_likelihood(params, lag, centred, flux_err ** 2)
        numeric = approx_fprime(params, lambda p: variability.drw_neg_log_likelihood(p, lag, centred, flux_err ** 2)[0],
                                1e-6)
        assert gradient == pytest.approx(numeric, rel=1e-4, abs=1e-4)


def test_a_simulated_drw_gives_back_its_timescale_and_amplitude():
    estimates = np.array([variability.fit_drw(*simulated_drw(tau=100.0, sigma=0.3, n=200, seed=seed))
                          for seed in range(5)])
    log_tau, log_sigma = np.median(estimates, axis=0)
    assert log_tau == pytest.approx(2.0, abs=0.3)  # τ within a factor 2 (five short realisations)
    assert log_sigma == pytest.approx(np.log10(0.3), abs=0.15)

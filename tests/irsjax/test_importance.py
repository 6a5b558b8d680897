"""Rare-outage estimation (irsjax.importance, SchedulingImportance): the radial conditional estimator and the
cross-entropy importance sampler are unbiased (against the exact conditional SS law deep in the tail and
against plain Monte Carlo where it is feasible), their weights average to one, and they reduce variance."""
import math

import numpy as np
import pytest
import jax
import jax.numpy as jnp
from scipy import special as sps

from irsjax import importance, montecarlo
from irsjax.systems.scheduling import SchedulingImportance, SchedulingSystem, log_gamma_tail


def _agree(a, b, sigmas=4.0):
    """Two independent estimates agree within ``sigmas`` combined standard errors."""
    return abs(a.mean - b.mean) <= sigmas * math.hypot(a.std_err, b.std_err)


def test_log_gamma_tail_matches_scipy_and_survives_underflow():
    xs = np.asarray([0.0, 0.3, 2.0, 10.0, 60.0])
    for n in (1, 2, 8, 32):
        want = np.where(xs > 0, np.log(sps.gammaincc(n, xs)), 0.0)
        got = np.asarray(log_gamma_tail(n, jnp.asarray(xs, jnp.float32)))
        assert np.all(np.abs(got - want) <= 1e-4 * np.maximum(1.0, np.abs(want))), (n, got, want)
    deep = float(log_gamma_tail(8, jnp.float32(2000.0)))  # Q(8, 2000) = e^-2000 2000^7/7! ~ e^-1955: no underflow
    assert np.isfinite(deep) and abs(deep - (-2000.0 + 7 * math.log(2000.0) - math.log(5040.0))) < 0.05
    assert float(log_gamma_tail(3, jnp.float32(jnp.inf))) == -np.inf


def test_untilted_proposal_has_unit_weights_and_the_model_law():
    m = SchedulingImportance(SchedulingSystem(N=8, K=3, L=2, rho_dB=120.0), radial=False)
    score, log_w, suff = jax.jit(m.sample_score)(jax.random.key(3))
    assert float(log_w) == 0.0 and suff.shape == (4,) and np.all(np.asarray(suff) > 0)
    with pytest.raises(ValueError, match="links"):
        SchedulingImportance(SchedulingSystem(links="independent"))
    with pytest.raises(ValueError, match="scheme"):
        SchedulingImportance(SchedulingSystem(), scheme="NOMA")


def test_ss_deep_tail_matches_the_exact_conditional_law():
    """SS at ~1e-7 (N=64, K=4, L=2, 120 dB): the radial estimator (eavesdroppers' power integrated out, no
    closed form used) from 2^13 realisations agrees with the exact conditional estimator, where plain Monte
    Carlo would need ~1e9."""
    cfg = SchedulingSystem(N=64, K=4, L=2, rho_dB=120.0, conditional_only=True)
    exact = montecarlo.estimate(cfg, jax.random.key(11), 2**15)["log_cond_SS"]
    res = importance.estimate(SchedulingImportance(cfg, scheme="SS"), jax.random.key(12), 2**13, level=1.0)
    assert 1e-8 < exact.mean < 1e-6 and res.rel_error < 0.2
    assert _agree(res.estimate, exact), (res.estimate.mean, exact.mean)
    assert res.variance_reduction > 1e4  # per realisation, against plain MC's p(1-p)


def test_os_agrees_with_plain_monte_carlo_and_reduces_variance():
    """OS in the full model (no closed form) at N=16, K=2, L=2, 120 dB: CE-fitted importance sampling with
    radial conditioning agrees with plain Monte Carlo, with mean weight 1 and a smaller variance."""
    cfg = SchedulingSystem(N=16, K=2, L=2, rho_dB=120.0, noma=False)
    plain = montecarlo.estimate(cfg, jax.random.key(21), 2**17, probabilities=("out_OS",))["out_OS"]
    model = SchedulingImportance(cfg, scheme="OS")
    fitted = importance.fit(model, jax.random.key(22), level=1.0, samples=4096, rounds=2)
    res = importance.estimate(fitted.model, jax.random.key(23), 2**13, level=1.0)
    assert 1e-4 < plain.mean < 0.05
    assert _agree(res.estimate, plain), (res.estimate.mean, plain.mean)
    assert abs(res.mean_weight.mean - 1.0) < 4 * res.mean_weight.std_err + 1e-3
    assert res.variance_reduction > 3.0 and res.ess > 100


@pytest.mark.slow
def test_os_rare_point_against_a_million_plain_realisations():
    """OS at ~1e-3 (N=16, K=4, L=2, 120 dB): 2^20 plain realisations vs 2^16 of the rare-outage estimator."""
    cfg = SchedulingSystem(N=16, K=4, L=2, rho_dB=120.0, noma=False)
    plain = montecarlo.estimate(cfg, jax.random.key(31), 2**20, probabilities=("out_OS",))["out_OS"]
    fitted = importance.fit(SchedulingImportance(cfg, scheme="OS"), jax.random.key(32), level=1.0, samples=10_000,
                            rounds=3)
    res = importance.estimate(fitted.model, jax.random.key(33), 2**16, level=1.0)
    assert 1e-4 < plain.mean < 3e-3 and _agree(res.estimate, plain), (res.estimate.mean, plain.mean)
    assert res.variance_reduction > 5.0

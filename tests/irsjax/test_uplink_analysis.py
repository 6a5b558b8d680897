"""Theorem 1 of the uplink paper (irsjax.analysis.uplink, MODELS.md 3(g), eq. 3.7): against scipy's regularised
incomplete gamma (float64, 1e-6 relative), its derivative, Monte Carlo over Eve's channel draws (abs. error < 0.01
at 1e5 draws) and the independence of Eve's law from the phases."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp
from scipy import special as sps

from irsjax.analysis import uplink as an
from irsjax.systems import uplink as up


def test_closed_form_matches_scipy_in_float64():
    with jax.enable_x64(True):
        x = np.concatenate([np.linspace(-1.0, 0.0, 5), np.logspace(-4, 1.7, 60)])
        for ne in (1, 2, 3, 4, 8):
            got = np.asarray(an.sop_from_x(jnp.asarray(x, jnp.float64), ne))
            ref = sps.gammaincc(ne, np.maximum(x, 0.0))
            assert got.dtype == np.float64
            np.testing.assert_allclose(got, ref, rtol=1e-6, atol=0)
        assert float(an.sop_from_x(jnp.asarray(-3.0, jnp.float64), 2)) == 1.0


def test_derivative_closed_form_autodiff_and_finite_differences():
    with jax.enable_x64(True):
        x = jnp.asarray(np.logspace(-3, 1.3, 40), jnp.float64)
        for ne in (1, 2, 4):
            d = np.asarray(an.sop_derivative(x, ne))
            g = np.asarray(jax.vmap(jax.grad(lambda t: an.sop_from_x(t, ne)))(x))
            np.testing.assert_allclose(g, d, rtol=1e-6, atol=1e-300)
            xn = np.asarray(x)
            h = 1e-5 * xn  # central differences of the smaller of P and Q = 1 - P (no cancellation near 1)
            fd_q = (sps.gammaincc(ne, xn + h) - sps.gammaincc(ne, xn - h)) / (2 * h)
            fd_p = -(sps.gammainc(ne, xn + h) - sps.gammainc(ne, xn - h)) / (2 * h)
            fd = np.where(sps.gammaincc(ne, xn) < 0.5, fd_q, fd_p)
            np.testing.assert_allclose(d, fd, rtol=1e-6, atol=0)
            assert np.all(d < 0)  # strictly decreasing in x
        assert float(an.sop_derivative(jnp.asarray(-1.0, jnp.float64), 2)) == 0.0
        assert np.isfinite(float(jax.grad(lambda t: an.sop_from_x(t, 2))(jnp.asarray(0.0, jnp.float64))))


def test_x_from_capacity_equals_x_from_sinr():
    sinr = jnp.asarray([0.5, 3.0, 10.0, 100.0])
    eps = jnp.asarray([1e-10, 2e-10, 5e-11, 1e-10])
    rho_e = jnp.full(4, 1e10)
    a = an.x_from_capacity(jnp.log2(1 + sinr), eps, rho_e, 1.5)
    b = an.x_from_sinr(sinr, eps, rho_e, 1.5)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5)
    assert float(a[0]) < 0  # C_B < R_s: x < 0, SOP = 1


def _decision(cfg, ch, key):
    k1, k2 = jax.random.split(key)
    v = jnp.exp(jax.lax.complex(0.0, jax.random.uniform(k1, (cfg.N,), maxval=6.283))).astype(ch.G.dtype)
    W = jax.random.normal(k2, (cfg.K, cfg.M), dtype=ch.G.dtype)
    return up.UplinkDecision(v, W / jnp.linalg.norm(W, axis=1, keepdims=True).astype(W.dtype))


def test_closed_form_matches_monte_carlo_over_eve_draws():
    """MODELS.md 3(f): (3.7) = Monte Carlo over Eve's channel at 1e5 draws, abs. error < 0.01 (per user)."""
    cfg = up.UplinkConfig(K=4, M=4, N=16, N_E=2, R_s=0.5)
    ch = up.sample(jax.random.key(11), cfg)
    for s in range(1):
        v = _decision(cfg, ch, jax.random.key(100 + s)).phases
        dec = up.UplinkDecision(v, up.matched_filters(up.effective_channels(ch, v)))
        cf = np.asarray(an.sop(cfg, ch, dec))
        mcs = np.asarray(jax.jit(an.conditional_sop)(cfg, ch, dec, jax.random.split(jax.random.key(s), 100_000)))
        assert np.max(np.abs(mcs - cf)) < 0.01
        assert np.any((cf > 0.05) & (cf < 0.95))  # not a trivial 0/1 comparison


def test_eve_law_is_gamma_and_independent_of_the_phases():
    """||h_E,k||^2 ~ Gamma(N_E, eps_k) whatever the phases: its tail at several thresholds, by Monte Carlo under two
    different phase vectors, equals Q_Gamma(N_E, t / eps_k) (so the SOP given C_B does not depend on Theta)."""
    cfg = up.UplinkConfig(K=3, M=2, N=32, N_E=3, alpha_ue=6.0)  # the IRS-Eve path dominates
    ch = up.sample(jax.random.key(2), cfg)
    eps = np.asarray(up.eve_variance(ch))
    assert np.all(np.asarray(ch.beta_ie) * np.sum(np.abs(np.asarray(ch.h_r)) ** 2, axis=1) > 0.5 * eps)

    @jax.jit
    def norms(v, keys):
        return jax.vmap(lambda k: jnp.sum(jnp.abs(up.eve_effective_channels(ch, up.sample_eve(k, cfg, ch), v)) ** 2,
                                          axis=-1))(keys)

    keys = jax.random.split(jax.random.key(3), 100_000)
    tails = []
    for s in range(2):
        v = _decision(cfg, ch, jax.random.key(20 + s)).phases
        n2 = np.asarray(norms(v, keys))  # (draws, K)
        np.testing.assert_allclose(n2.mean(axis=0) / (cfg.N_E * eps), 1.0, atol=0.015)
        t = np.array([0.5, 1.0, 3.0, 6.0])[:, None] * eps[None, :]
        tail = np.mean(n2[None, :, :] > t[:, None, :], axis=1)
        np.testing.assert_allclose(tail, sps.gammaincc(cfg.N_E, t / eps[None, :]), atol=0.006)
        tails.append(tail)
    assert np.max(np.abs(tails[0] - tails[1])) < 0.008


def test_sop_gradient_with_respect_to_phases_is_finite_and_matches_finite_differences():
    with jax.enable_x64(True):
        cfg = up.UplinkConfig(K=2, M=2, N=6, R_s=0.5)
        ch = up.sample(jax.random.key(4), cfg)
        dec = _decision(cfg, ch, jax.random.key(5))
        th0 = jnp.angle(dec.phases)

        def f(th):
            return jnp.sum(an.sop(cfg, ch, up.UplinkDecision(jnp.exp(jax.lax.complex(jnp.zeros_like(th), th)),
                                                             dec.receivers)))

        g = np.asarray(jax.jit(jax.grad(f))(th0))
        e = np.zeros(6)
        e[2] = 1e-6
        fj = jax.jit(f)
        fd = (float(fj(th0 + e)) - float(fj(th0 - e))) / 2e-6
        assert np.all(np.isfinite(g)) and g[2] == pytest.approx(fd, rel=1e-4, abs=1e-10)

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special as ss
from scipy import integrate

from irsjax import channels, metrics, phases, special


def test_align_cophases_cascade():
    key = jax.random.key(0)
    h = channels.complex_normal(key, (32,))
    g = channels.complex_normal(jax.random.key(1), (32,))
    v = phases.align(h * g)
    assert np.allclose(np.abs(np.asarray(v)), 1.0, atol=1e-6)
    total = complex(channels.cascade(g, v, h))
    assert total.real == pytest.approx(float(jnp.sum(jnp.abs(h) * jnp.abs(g))), rel=1e-5)
    assert abs(total.imag) < 1e-4
    # zero coefficient: unit-modulus, no NaN
    v0 = phases.align(jnp.zeros(3, jnp.complex64))
    assert np.allclose(np.asarray(v0), 1.0)


def test_random_and_quantized_phases():
    v = phases.random(jax.random.key(2), 10_000)
    assert np.allclose(np.abs(np.asarray(v)), 1.0, atol=1e-6)
    assert abs(complex(jnp.mean(v))) < 0.03
    q = phases.quantize(v, 2)
    ang = np.mod(np.angle(np.asarray(q)), 2 * np.pi)
    levels = np.round(ang / (np.pi / 2)) % 4
    assert np.allclose(ang, levels * np.pi / 2, atol=1e-5)
    # quantisation error at most half a step
    err = np.abs(np.angle(np.asarray(q) / np.asarray(v)))
    assert err.max() <= np.pi / 4 + 1e-5
    assert np.allclose(np.asarray(phases.project_unit_modulus(jnp.array([2.0 + 0j, -3j]))), [1.0, -1j])


def _objective(theta, h, g, rho):
    v = phases.from_angles(theta)
    return jnp.log2(1 + rho * jnp.abs(channels.cascade(g, v, h)) ** 2)


def test_phase_gradient_matches_finite_differences():
    h = channels.complex_normal(jax.random.key(3), (8,))
    g = channels.complex_normal(jax.random.key(4), (8,))
    theta = jax.random.uniform(jax.random.key(5), (8,), maxval=2 * np.pi)
    with jax.enable_x64(True):
        h64, g64, t64 = h.astype(jnp.complex128), g.astype(jnp.complex128), theta.astype(jnp.float64)
        grad = np.asarray(jax.grad(_objective)(t64, h64, g64, 10.0))
        eps = 1e-6
        fd = np.array([(float(_objective(t64.at[i].add(eps), h64, g64, 10.0)) -
                        float(_objective(t64.at[i].add(-eps), h64, g64, 10.0))) / (2 * eps) for i in range(8)])
    assert np.allclose(grad, fd, rtol=1e-5, atol=1e-8)


def test_complex_gradient_is_conjugate_direction():
    # JAX convention: grad of a real f at complex v is conj(df/dv) = 2 df/dv* ... i.e. the ascent direction
    # in C is conj(jax.grad). Check on f(v) = |c^H v|^2 whose ascent direction is 2 c (c^H v).
    c = channels.complex_normal(jax.random.key(6), (4,))
    v = phases.random(jax.random.key(7), 4)
    f = lambda v: jnp.abs(jnp.vdot(c, v)) ** 2
    gj = jax.grad(f)(v)
    ascent = 2 * c * jnp.vdot(c, v)
    assert np.allclose(np.asarray(jnp.conj(gj)), np.asarray(ascent), atol=1e-5)
    # a small step along conj(grad) increases f; along grad it generally does not match the ascent
    step = 1e-3
    assert float(f(v + step * jnp.conj(gj))) > float(f(v))


def test_secrecy_rate_properties():
    snr_b = jnp.array([0.0, 1.0, 3.0, 10.0])
    snr_e = jnp.array([1.0, 1.0, 1.0, 1.0])
    sr = np.asarray(metrics.secrecy_rate(snr_b, snr_e))
    assert np.all(sr >= 0)
    assert sr[0] == 0 and sr[1] == 0
    assert sr[2] == pytest.approx(1.0)
    assert np.all(np.diff(sr) >= 0)
    raw = np.asarray(metrics.secrecy_rate(snr_b, snr_e, clip=False))
    assert raw[0] == pytest.approx(-1.0)
    # outage: C_s < R_th
    out = np.asarray(metrics.secrecy_outage(snr_b, snr_e, 1.0))
    assert list(out) == [1.0, 1.0, 0.0, 0.0]  # snr_b = 3 gives C_s = 1 exactly: not an outage
    # gradient of the clipped rate is finite at the kink
    gr = jax.grad(lambda b: metrics.secrecy_rate(b, 1.0))(1.0)
    assert np.isfinite(float(gr))


def test_fbr_rate_tends_to_shannon():
    snr_b, snr_e = 20.0, 2.0
    lbr = float(metrics.secrecy_rate(snr_b, snr_e))
    vals = [float(metrics.fbr_secrecy_rate(snr_b, snr_e, blocklength=n, error_prob=1e-5, leakage=1e-5))
            for n in (100, 1000, 10**4, 10**6, 10**9)]
    assert all(v <= lbr + 1e-6 for v in vals)
    assert all(np.diff(vals) > 0)
    assert vals[-1] == pytest.approx(lbr, abs=1e-3)
    # value check against the formula with scipy
    n = 100
    V = lambda g: 1 - (1 + g) ** -2
    expected = (np.log2(1 + snr_b) - np.log2(1 + snr_e) - np.log2(np.e) * (
        -ss.ndtri(1e-5) * np.sqrt(V(snr_b) / n) + -ss.ndtri(1e-5) * np.sqrt(V(snr_e) / n)))
    assert vals[0] == pytest.approx(max(expected, 0.0), rel=1e-4)
    # no NaN gradient at snr = 0 (dispersion sqrt at 0)
    g = jax.grad(lambda s: metrics.fbr_rate(s, blocklength=100, error_prob=1e-5))(0.0)
    assert np.isfinite(float(g))
    fbr = lambda s: metrics.fbr_secrecy_rate(s, 0.0, blocklength=100, error_prob=1e-5, leakage=1e-5, clip=False)
    g2 = jax.grad(fbr)(0.0)
    assert np.isfinite(float(g2))


def test_jain_index():
    assert float(metrics.jain_index(jnp.array([1.0, 1.0, 1.0]))) == pytest.approx(1.0)
    assert float(metrics.jain_index(jnp.array([1.0, 0.0, 0.0, 0.0]))) == pytest.approx(0.25)
    assert float(metrics.jain_index(jnp.zeros(3))) == 0.0
    r = jax.random.uniform(jax.random.key(0), (100, 5))
    j = np.asarray(metrics.jain_index(r))
    assert np.all((j >= 0.2 - 1e-6) & (j <= 1 + 1e-6))


def test_soft_min_bounds():
    x = jnp.array([1.0, 2.0, 5.0])
    for tau in (1.0, 0.1, 0.01):
        s = float(metrics.soft_min(x, tau))
        assert s <= 1.0 + 1e-6
        assert s >= 1.0 - tau * math.log(3) - 1e-6


def test_special_functions_against_scipy():
    x = np.linspace(-5, 8, 50)
    assert np.allclose(np.asarray(special.q_function(x)), 0.5 * ss.erfc(x / np.sqrt(2)), rtol=1e-5, atol=1e-30)
    p = np.logspace(-12, -0.31, 30)
    with jax.enable_x64(True):
        assert np.allclose(np.asarray(special.q_inverse(p)), -ss.ndtri(p), rtol=1e-10)
        z = np.logspace(-3, 5, 60)
        ref = ss.exp1(z) * np.exp(np.minimum(z, 700))
        got = np.asarray(special.exp_e1(jnp.asarray(z)))
        ok = z < 700
        assert np.allclose(got[ok], ref[ok], rtol=1e-10)
        zb = np.array([800.0, 5e3, 1e5])
        # asymptotic branch vs the continued fraction value from scipy's scaled form
        ref = [ss.exp1(t) * np.exp(t) if t < 709 else 1 / (t + 1 - 1 / (t + 3)) for t in zb]
        assert np.allclose(np.asarray(special.exp_e1(jnp.asarray(zb))), ref, rtol=1e-6)
        # G(m) = E ln(1 + Exp(m))
        for m in (0.01, 1.0, 100.0):
            ref_g = integrate.quad(lambda t: np.log1p(t) * np.exp(-t / m) / m, 0, np.inf)[0]
            assert float(special.expected_log1p_exp(m)) == pytest.approx(ref_g, rel=1e-8)
        assert float(special.gammainc(3.0, 2.0)) == pytest.approx(ss.gammainc(3.0, 2.0), rel=1e-12)
        assert float(special.gammaincc(3.0, 2.0)) == pytest.approx(ss.gammaincc(3.0, 2.0), rel=1e-12)


def test_quadratures():
    with jax.enable_x64(True):
        val = special.integrate_panels(lambda x: jnp.exp(-x) * jnp.sin(x), jnp.array([0.0, 1.0, 5.0, 40.0]), order=32)
        assert float(val) == pytest.approx(0.5, rel=1e-10)
        val2 = special.integrate_semi_infinite(lambda x: 1.0 / (1 + x) ** 2, 1.0)
        assert float(val2) == pytest.approx(1.0, rel=1e-8)
        x, w = special.gauss_chebyshev(20)
        assert np.sum(w * x**2) == pytest.approx(np.pi / 2)  # int x^2 / sqrt(1-x^2) = pi/2


def test_exp_e1_float32_has_no_overflow():
    z = jnp.array([50.0, 85.0, 90.0, 200.0, 699.0, 701.0, 1e6], jnp.float32)
    got = np.asarray(special.exp_e1(z))
    assert np.all(np.isfinite(got))
    ref = np.array([1 / (t + 1 - 1 / (t + 3 - 4 / (t + 5))) for t in np.asarray(z, np.float64)])  # continued fraction
    assert np.allclose(got, ref, rtol=1e-5)

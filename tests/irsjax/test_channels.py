import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irsjax import channels, geometry, units

N = 200_000


def test_complex_normal_moments():
    z = np.asarray(channels.complex_normal(jax.random.key(0), (N,)))
    assert z.dtype == np.complex64
    assert np.mean(np.abs(z) ** 2) == pytest.approx(1.0, abs=0.01)
    assert np.var(z.real) == pytest.approx(0.5, abs=0.01)
    assert np.var(z.imag) == pytest.approx(0.5, abs=0.01)
    assert abs(np.mean(z.real * z.imag)) < 0.01
    # Rayleigh power |h|^2 ~ Exp(gain): P(|h|^2 > gain) = e^-1
    h = np.asarray(channels.rayleigh(jax.random.key(1), (N,), gain=3.0))
    assert np.mean(np.abs(h) ** 2) == pytest.approx(3.0, rel=0.01)
    assert np.mean(np.abs(h) ** 2 > 3.0) == pytest.approx(np.exp(-1), abs=0.005)


def test_rician_k_factor():
    kappa = 8.0
    los = jnp.exp(1j * np.linspace(0, 3, 4)).astype(jnp.complex64)
    keys = jax.random.split(jax.random.key(2), N)
    h = np.asarray(jax.vmap(lambda k: channels.rician(k, los, kappa=kappa, gain=2.0))(keys))
    mean = h.mean(axis=0)
    var = np.mean(np.abs(h - mean) ** 2, axis=0)
    k_hat = np.abs(mean) ** 2 / var
    assert np.allclose(k_hat, kappa, rtol=0.03)
    assert np.allclose(np.mean(np.abs(h) ** 2, axis=0), 2.0, rtol=0.01)
    # kappa = 0 is Rayleigh
    h0 = np.asarray(jax.vmap(lambda k: channels.rician(k, los, kappa=0.0))(keys[:50_000]))
    assert np.allclose(np.abs(h0.mean(axis=0)), 0.0, atol=0.02)


def test_steering_vectors():
    u = geometry.unit_vector(jnp.zeros(3), jnp.array([1.0, 2.0, 0.5]))
    a = channels.ula_steering(8, u, wavelength=0.1)
    assert a.shape == (8,)
    assert np.allclose(np.abs(a), 1.0)
    ratio = np.asarray(a[1:] / a[:-1])
    assert np.allclose(np.angle(ratio), np.pi * float(u[0]), atol=1e-5)  # d = lambda/2
    b = channels.upa_steering(4, 2, u, wavelength=0.1)
    assert b.shape == (8,)
    # index p*n_v + q: q step changes phase by pi u_z, p step by pi u_x
    assert np.isclose(np.angle(b[1] / b[0]), np.pi * float(u[2]), atol=1e-5)
    assert np.isclose(np.angle(b[2] / b[0]), np.pi * float(u[0]), atol=1e-5)
    g = channels.mimo_los(b, a)
    assert g.shape == (8, 8)
    assert np.allclose(np.abs(np.asarray(g)), 1.0)


def test_sinc_correlation_and_correlated_rayleigh():
    lam = 0.1
    pos = geometry.upa_element_positions(3, 3, lam / 4)
    r = channels.sinc_correlation(pos, wavelength=lam)
    r = np.asarray(r)
    assert np.allclose(np.diag(r), 1.0)
    assert np.allclose(r, r.T)
    rs = channels.sqrtm_psd(jnp.asarray(r, jnp.complex64))
    assert np.allclose(np.asarray(rs @ rs), r, atol=1e-4)
    keys = jax.random.split(jax.random.key(3), N)
    h = np.asarray(jax.vmap(lambda k: channels.correlated_rayleigh(k, rs, gain=1.0))(keys))
    cov = (h.T @ h.conj()) / N
    assert np.allclose(cov, r, atol=0.02)


def test_sqrtm_clips_negative_eigenvalues():
    r = jnp.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3, -1
    s = np.asarray(channels.sqrtm_psd(r))
    assert np.all(np.isfinite(s))
    w = np.linalg.eigvalsh(s @ s)
    assert w.min() >= -1e-6


def test_cascade_and_bounded_error():
    key = jax.random.key(4)
    g_hat = channels.complex_normal(key, (16,))
    x = channels.complex_normal(jax.random.key(5), (16,))
    xi = 0.3 * float(jnp.linalg.norm(g_hat))
    lo, hi = channels.bounded_gain_interval(g_hat, x, xi)
    deltas = jax.vmap(lambda k: channels.bounded_error(k, g_hat, relative_radius=0.3))(jax.random.split(key, 5000))
    norms = np.asarray(jnp.linalg.norm(deltas, axis=-1))
    assert norms.max() <= xi * (1 + 1e-5)
    vals = np.abs(np.asarray(jnp.einsum("nk,k->n", jnp.conj(g_hat[None, :] + deltas), x)))
    assert vals.min() >= float(lo) - 1e-4 and vals.max() <= float(hi) + 1e-4
    # the ends are attained by Delta = -/+ xi x/||x|| aligned with g_hat^H x
    c = jnp.vdot(g_hat, x)
    d_best = (xi * x / jnp.linalg.norm(x).astype(x.dtype)) * (c / jnp.abs(c).astype(c.dtype)).conj()
    assert float(jnp.abs(jnp.vdot(g_hat + d_best, x))) == pytest.approx(float(hi), rel=1e-5)
    assert float(jnp.abs(jnp.vdot(g_hat - d_best, x))) == pytest.approx(float(lo), rel=1e-4, abs=1e-5)
    assert complex(channels.cascade(jnp.ones(3), jnp.ones(3), jnp.arange(3.0))) == 3.0


def test_gaussian_error_variance():
    g = jnp.zeros((N,), jnp.complex64)
    e = np.asarray(channels.gaussian_error(jax.random.key(6), g, error_variance=0.04))
    assert np.mean(np.abs(e) ** 2) == pytest.approx(0.04, rel=0.02)


def test_dtypes_float32_and_x64():
    assert channels.rayleigh(jax.random.key(0), (3,)).dtype == jnp.complex64
    with jax.enable_x64(True):
        assert channels.rayleigh(jax.random.key(0), (3,)).dtype == jnp.complex128
    assert channels.rayleigh(jax.random.key(0), (3,)).dtype == jnp.complex64


def test_strict_dtype_promotion_core():
    # equinox-style: the core must not rely on implicit dtype promotion
    with jax.numpy_dtype_promotion("strict"):
        u = geometry.unit_vector(jnp.zeros(3), jnp.array([1.0, 2.0, 0.5]))
        assert channels.upa_steering(4, 4, u, wavelength=0.1).dtype == jnp.complex64
        assert channels.ula_steering(4, u, wavelength=0.1).dtype == jnp.complex64
        h = channels.rician(jax.random.key(0), jnp.ones(4, jnp.complex64), kappa=3.0, gain=2.0)
        assert h.dtype == jnp.complex64
        assert float(units.dbm_to_watt(jnp.float32(10.0))) == pytest.approx(0.01)

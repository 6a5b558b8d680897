"""JAX complex-gradient convention and the circle manifold (optim.manifold)."""
import numpy as np
import jax
import jax.numpy as jnp
import optax

from optim import manifold
from irsjax.phases import from_angles


def _f(v, c, d):
    # a generic non-holomorphic real objective of a complex vector
    return jnp.log1p(jnp.abs(jnp.vdot(c, v)) ** 2) - 0.3 * jnp.abs(jnp.vdot(d, v)) ** 2 + jnp.sum(jnp.real(v * c) ** 3)


def _data(k=6, seed=0):
    rng = np.random.default_rng(seed)
    c = jnp.asarray(rng.standard_normal(k) + 1j * rng.standard_normal(k), jnp.complex64)
    d = jnp.asarray(rng.standard_normal(k) + 1j * rng.standard_normal(k), jnp.complex64)
    theta = jnp.asarray(rng.uniform(0, 2 * np.pi, k), jnp.float32)
    return c, d, theta


def test_jax_grad_is_conjugate_of_ascent_direction():
    c, d, theta = _data()
    v = from_angles(theta).astype(jnp.complex64)
    g = jax.grad(_f)(v, c, d)
    asc = manifold.ascent_direction(_f, v, c, d)
    h = 1e-3
    for i in range(v.shape[0]):
        e = jnp.zeros_like(v).at[i].set(1.0)
        dre = (_f(v + h * e, c, d) - _f(v - h * e, c, d)) / (2 * h)
        dim = (_f(v + 1j * h * e, c, d) - _f(v - 1j * h * e, c, d)) / (2 * h)
        # jax.grad = df/dRe - j df/dIm ; ascent = df/dRe + j df/dIm
        np.testing.assert_allclose(np.asarray(g[i]), complex(dre, -dim), rtol=2e-2, atol=2e-2)
        np.testing.assert_allclose(np.asarray(asc[i]), complex(dre, dim), rtol=2e-2, atol=2e-2)


def test_angle_gradient_matches_finite_differences_on_angles():
    c, d, theta = _data(seed=1)
    fa = lambda th: _f(from_angles(th).astype(jnp.complex64), c, d)
    v = from_angles(theta).astype(jnp.complex64)
    ga = manifold.angle_gradient(v, manifold.ascent_direction(_f, v, c, d))
    h = 1e-3
    fd = np.array([(fa(theta.at[i].add(h)) - fa(theta.at[i].add(-h))) / (2 * h) for i in range(theta.shape[0])])
    np.testing.assert_allclose(np.asarray(ga), fd, rtol=2e-2, atol=2e-2)
    # and the same equals jax.grad on the angle parametrisation
    np.testing.assert_allclose(np.asarray(ga), np.asarray(jax.grad(fa)(theta)), rtol=1e-4, atol=1e-4)
    # Riemannian gradient = j v * angle gradient
    gr = manifold.riemannian_gradient(v, manifold.ascent_direction(_f, v, c, d))
    np.testing.assert_allclose(np.asarray(gr), np.asarray(1j * v * ga.astype(v.dtype)), rtol=1e-4, atol=1e-4)


def test_small_riemannian_step_increases_and_stays_on_manifold():
    c, d, theta = _data(seed=2)
    v = from_angles(theta).astype(jnp.complex64)
    gr = manifold.riemannian_gradient(v, manifold.ascent_direction(_f, v, c, d))
    assert np.allclose(np.real(gr * np.conj(v)), 0.0, atol=1e-5)  # tangent
    t = 1e-3 / float(jnp.max(jnp.abs(gr)))
    v2 = manifold.retract(v + t * gr)
    assert float(_f(v2, c, d)) > float(_f(v, c, d))
    v3 = manifold.retract(v - t * gr)  # the conjugate convention would go this way
    assert float(_f(v3, c, d)) < float(_f(v, c, d))
    np.testing.assert_allclose(np.abs(np.asarray(v2)), 1.0, atol=1e-6)


def test_riemannian_optax_wrapper_and_oblique():
    c, d, theta = _data(seed=3)
    v = from_angles(theta).astype(jnp.complex64)
    tx = manifold.riemannian(optax.sgd(1e-2))
    st = tx.init(v)
    f0 = float(_f(v, c, d))
    for _ in range(5):
        upd, st = tx.update(manifold.ascent_direction(_f, v, c, d), st, v)
        assert np.allclose(np.real(np.asarray(upd) * np.conj(np.asarray(v))), 0, atol=1e-5)
        v = manifold.apply_update(v, upd)
    assert float(_f(v, c, d)) > f0
    np.testing.assert_allclose(np.abs(np.asarray(v)), 1.0, atol=1e-6)
    U = manifold.oblique_retract(jnp.array([[3.0, 4.0j], [0.0, 0.0]], jnp.complex64))
    np.testing.assert_allclose(np.linalg.norm(np.asarray(U), axis=-1), 1.0, atol=1e-6)
    assert np.all(np.isfinite(np.asarray(U)))
    assert bool(jnp.all(manifold.retract(jnp.zeros(3, jnp.complex64)) == 1))

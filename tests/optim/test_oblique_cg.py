"""optim.oblique_cg: Riemannian CG on rows-on-spheres (phases and Burer-Monteiro factors)."""
import numpy as np
import jax
import jax.numpy as jnp

from optim import oblique_cg


def test_phases_reach_the_coherent_optimum_and_never_lose():
    """max |a^H v|^2 over unit-modulus v is (sum |a_n|)^2 (v_n = a_n / |a_n|): the ascent reaches it from a
    random start, its history never decreases, and the rows stay on the unit circle."""
    k1, k2 = jax.random.split(jax.random.key(3))
    a = jax.random.normal(k1, (12,), jnp.complex64)
    U0 = jnp.exp(jax.lax.complex(0.0, jax.random.uniform(k2, (12, 1), maxval=6.28)))
    f = lambda U, a: jnp.abs(jnp.vdot(a, U[:, 0])) ** 2
    res = jax.jit(lambda U, a: oblique_cg.maximize(f, U, (a,), max_iters=200, tol=1e-9))(U0, a)
    best = float(jnp.sum(jnp.abs(a))) ** 2
    assert abs(float(res.value) - best) < 1e-4 * best
    h = np.asarray(res.history)
    assert np.all(np.diff(h) >= -1e-6 * best) and h[0] == float(f(U0, a))
    assert np.allclose(np.abs(np.asarray(res.point)), 1.0, atol=1e-6)


def test_burer_monteiro_factor_reaches_the_psd_maximum():
    """max tr(A X) over the elliptope through X = U U^H (rank 4): for A = a a^H the optimum is (sum |a_n|)^2;
    rows stay unit-norm."""
    with jax.enable_x64(True):
        a = jax.random.normal(jax.random.key(5), (6,), jnp.complex128)
        A = jnp.outer(a, jnp.conj(a))
        f = lambda U, A: jnp.real(jnp.trace(jnp.conj(U.T) @ A @ U))
        U0 = jax.random.normal(jax.random.key(6), (6, 4), jnp.complex128)
        res = oblique_cg.maximize(f, U0, (A,), max_iters=300, tol=1e-12)
        best = float(jnp.sum(jnp.abs(a))) ** 2
        assert abs(float(res.value) - best) < 1e-6 * best
        assert np.allclose(np.linalg.norm(np.asarray(res.point), axis=1), 1.0)

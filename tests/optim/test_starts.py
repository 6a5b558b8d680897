"""optim.starts: the spectral and gradient starts from the objective's Taylor model at v = 0."""
import numpy as np
import jax
import jax.numpy as jnp

import optim
from optim.phases import PhaseOptions
from optim.starts import taylor_starts


def _align(a, b):
    """|<a, b>| / (|a| |b|): 1 when the unit-modulus vectors are equal up to a global phase."""
    a, b = np.asarray(a), np.asarray(b)
    return abs(np.vdot(a, b)) / (np.linalg.norm(a) * np.linalg.norm(b))


def _wiretap(v, a0, a, b0, b):
    s, t = a0 + jnp.vdot(a, v), b0 + jnp.vdot(b, v)
    return jnp.log1p(10.0 * jnp.abs(s) ** 2) - jnp.log1p(2.0 * jnp.abs(t) ** 2)


def _channels(seed, K, dtype=jnp.complex128):
    g = np.random.default_rng(seed)
    cn = lambda *s: (g.standard_normal(s) + 1j * g.standard_normal(s)) / np.sqrt(2)
    return tuple(jnp.asarray(x, dtype) for x in (cn(), cn(K), cn(), cn(K)))


def test_spectral_start_is_the_phase_of_the_top_eigenvector_and_the_gradient_start_co_phases():
    K = 12
    with jax.enable_x64(True):
        g = np.random.default_rng(3)
        Q, _ = np.linalg.qr(g.standard_normal((K, K)) + 1j * g.standard_normal((K, K)))
        # indefinite, its bottom eigenvalue the largest in magnitude
        C = jnp.asarray(Q @ np.diag(np.r_[np.linspace(-10.0, 0.0, K - 1), 5.0]) @ Q.conj().T)
        w, V = np.linalg.eigh(np.asarray(C))
        assert abs(w[0]) > abs(w[-1])  # the shift matters: plain power iteration would find the bottom one
        quad = lambda v, C: jnp.real(jnp.vdot(v, C @ v))
        (spec, grad), ok = taylor_starts(quad, (K,), (C,), jax.random.key(0))
        assert bool(ok[0]) and not bool(ok[1])  # a quadratic form has no gradient at 0
        top = V[:, -1]
        assert _align(spec, top / np.abs(top)) > 1 - 1e-6
        np.testing.assert_allclose(np.abs(np.asarray(spec)), 1.0, rtol=1e-12)

        a0, a, b0, b = _channels(4, K)
        (spec, grad), ok = taylor_starts(_wiretap, (K,), (a0, a, b0, b), jax.random.key(1))
        assert bool(ok[0]) and bool(ok[1])
        # 2 df/dv* at 0 = 2 [10 a a0 / (1 + 10 |a0|^2) - 2 b b0 / (1 + 2 |b0|^2)]
        d = 10.0 * np.asarray(a) * complex(a0) / (1 + 10 * abs(complex(a0)) ** 2) \
            - 2.0 * np.asarray(b) * complex(b0) / (1 + 2 * abs(complex(b0)) ** 2)
        np.testing.assert_allclose(np.asarray(grad), d / np.abs(d), rtol=1e-10, atol=1e-12)
        # the start increases the objective over v = 1 (no phase design) on this draw
        assert float(_wiretap(grad, a0, a, b0, b)) > float(_wiretap(jnp.ones(K, jnp.complex128), a0, a, b0, b))


def test_objectives_undefined_at_the_origin_get_random_extra_starts_and_solve():
    K = 8
    a0, a, b0, b = _channels(5, K, jnp.complex64)
    # defined on the circle only: normalises v (0/0 at the origin)
    circle_only = lambda v, a: jnp.abs(jnp.vdot(a, v / jnp.abs(v).astype(v.dtype))) ** 2
    (spec, grad), ok = taylor_starts(circle_only, (K,), (a,), jax.random.key(0))
    assert not bool(ok[0]) and not bool(ok[1])
    res = optim.maximize_phases(circle_only, jax.random.key(2), K, args=(a,))
    assert np.all(np.isfinite(np.asarray(res.restart_values))) and np.isfinite(float(res.value))
    best = float(jnp.sum(jnp.abs(a))) ** 2
    assert float(res.value) > best * (1 - 1e-5)


def test_default_adds_the_gradient_start_to_the_random_ones_deterministically_never_worse():
    K = 16
    with jax.enable_x64(True):
        args = _channels(6, K)
        r1 = optim.maximize_phases(_wiretap, jax.random.key(9), K, args=args)
        r2 = optim.maximize_phases(_wiretap, jax.random.key(9), K, args=args)
        assert float(r1.value) == float(r2.value)
        n = 8  # PhaseOptions().num_restarts=None: 8 random starts for a scalar objective
        assert r1.restart_values.shape == (n + 1,)
        assert float(r1.value) == float(jnp.max(r1.restart_values))
        (spec, grad), _ = taylor_starts(_wiretap, (K,), args, jax.random.fold_in(jax.random.key(9), 0x7A1))
        # the last restart started at the gradient start: after the (monotone) pipeline it is at least that value
        assert float(r1.restart_values[n]) >= float(_wiretap(grad, *args)) - 1e-9
        off = optim.maximize_phases(_wiretap, jax.random.key(9), K, args=args,
                                    options=PhaseOptions(taylor_starts=False))
        assert off.restart_values.shape == (n,)
        assert float(r1.value) >= float(off.value)  # the Taylor start is refined besides the random ones' best
        # the random starts, their screening and the choice of the ones refined are the same with and without it
        np.testing.assert_allclose(np.asarray(r1.restart_values[:n]), np.asarray(off.restart_values), rtol=1e-10)


def test_spectral_start_of_a_rate_written_with_abs_squared_and_no_direct_links():
    # JAX differentiates |z| ** 2 as 2 |z| sign(z) with sign(0) = 0: the Hessian at the origin comes out zero.
    # The start still is the top eigenvector of 100 a a^H - 10 b b^H (Hessian-vector products taken next to 0).
    K = 12
    g = np.random.default_rng(11)
    a, b = ((g.standard_normal(K) + 1j * g.standard_normal(K)) / np.sqrt(2) for _ in range(2))
    w, V = np.linalg.eigh(100.0 * np.outer(a, a.conj()) - 10.0 * np.outer(b, b.conj()))
    top = V[:, -1] / np.abs(V[:, -1])
    rate = lambda v, a, b: (jnp.log1p(100.0 * jnp.abs(jnp.vdot(a, v)) ** 2)  # noqa: E731
                            - jnp.log1p(10.0 * jnp.abs(jnp.vdot(b, v)) ** 2))
    for dtype, tol in ((jnp.complex64, 1e-5), (jnp.complex128, 1e-10)):
        with jax.enable_x64(dtype == jnp.complex128):
            args = (jnp.asarray(a, dtype), jnp.asarray(b, dtype))
            (spec, _), ok = taylor_starts(rate, (K,), args, jax.random.key(2), dtype=dtype)
            assert bool(ok[0]) and not bool(ok[1])
            assert _align(spec, top) > 1 - tol

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


# ----------------------------------------------------------------------------- distinct refined starts
def test_refined_random_starts_skip_near_copies_of_better_chosen_ones():
    from optim.phases import _distinct_top
    th = np.linspace(0.0, 2.0, 16)
    far = np.exp(1j * (th + np.pi * (np.arange(16) % 2)))     # |v^H w| / 16 = 0 against the base point
    near = np.exp(1j * (th + 0.2 * (np.arange(16) % 2)))      # 0.995 against it
    base = np.exp(1j * th)
    # random lanes 0-3 by value 4 > 3 > 2 > 1; lane 4 stands for the always-refined Taylor start
    pts = jnp.asarray(np.stack([base, near, far, base, near * np.exp(0.3j)]))
    vals = jnp.asarray([4.0, 3.0, 2.0, 1.0, 0.5])
    assert np.asarray(_distinct_top(vals[:4], pts[:4], 2, 4, 0.95)).tolist() == [0, 2]  # lane 1 is a copy of lane 0
    assert np.asarray(_distinct_top(vals[:4], pts[:4], 2, 4, 1.0)).tolist() == [0, 1]   # 1: plain best two
    # the Taylor lane (a global-phase copy of lane 1) counts as chosen; lanes 0 and 3 are near it (0.995) too,
    # so only lane 2 is distinct and the best of the others (lane 0) fills up
    assert np.asarray(_distinct_top(vals, pts, 2, 4, 0.95)).tolist() == [2, 0]
    assert np.asarray(_distinct_top(vals, pts, 3, 4, 0.95)).tolist() == [2, 0, 1]
    for bad in (0.0, -0.5, 1.5, True, float("nan"), "0.9"):
        try:
            PhaseOptions(distinct_similarity=bad)
        except ValueError as e:
            assert "distinct_similarity" in str(e)
        else:
            raise AssertionError(f"accepted distinct_similarity={bad!r}")


def test_default_refines_distinct_starts_and_beats_the_best_by_value_on_a_tuning_instance():
    # instance 182 of 256 of quadratic-indefinite, K = 32, fold 23 of the tuning seed: the best two screened random
    # starts both lie in the basin of the Taylor start (|v^H w| / K > 0.95), so refining them finds nothing new;
    # the default skips them for the next distinct ones and ends 1.25 % higher
    from optim import families
    with jax.enable_x64(True):
        fam, K = families.FAMILIES["quadratic-indefinite"], 32
        ki, ks, _ = jax.random.split(jax.random.fold_in(jax.random.key(families.TUNING_SEED), 23), 3)
        inst = jax.tree_util.tree_map(lambda x: x[182].astype(jnp.complex128), families.sample(fam, ki, K, 256))
        key = jax.random.split(ks, 256)[182]
        assert PhaseOptions().distinct_similarity == 0.95
        new = optim.maximize_phases(fam.objective, key, K, args=(inst,))
        old = optim.maximize_phases(fam.objective, key, K, args=(inst,), options=PhaseOptions(distinct_similarity=1.0))
    assert float(new.value) > 1.01 * float(old.value), (float(new.value), float(old.value))

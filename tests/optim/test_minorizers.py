"""(D1)-(D3) minorisers, the SCA steps (JAX barrier-Newton vs cvxpy/Clarabel), Algorithm 1's monotonicity, and the
gradient design (L-BFGS vs projected gradient). Each check is one jitted function."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp

from irsjax.systems import downlink_fbr as dl
from optim import cvx_fbr, fbr_design as fd, interior, minorizers as mz
from optim.sca import tangent

pytestmark = pytest.mark.skipif(not cvx_fbr.available(), reason="cvxpy/clarabel not installed")


def test_d1_d2_d3_are_bounds_tight_at_the_point_and_d1_is_concave():
    @jax.jit
    def check(key):
        k = jax.random.split(key, 6)
        xb = jax.random.normal(k[0], (200,), dtype=jnp.complex64) * 3
        yb = 0.5 + jax.random.uniform(k[1], (200,)) * 4
        x = jax.random.normal(k[2], (200,), dtype=jnp.complex64) * 3
        y = 0.5 + jax.random.uniform(k[3], (200,)) * 4
        true = jnp.log1p(jnp.abs(x) ** 2 / y)
        d1 = mz.log_ratio_minorizer(x, y, xb, yb)
        d1_at = mz.log_ratio_minorizer(xb, yb, xb, yb)
        # D2 with y_upper = y, y_lower = a positive number below y
        y_lo = y * (0.5 + 0.5 * jax.random.uniform(k[4], (200,)))
        d2 = mz.log_ratio_majorizer(x, y, y_lo, jnp.abs(xb) ** 2 + yb)
        # D3: sqrt(V) below its tangent at any gamma_bar, evaluated at gamma <= gamma_upper
        gb = jax.random.uniform(k[5], (200,)) * 10
        g = jax.random.uniform(k[4], (200,)) * 10
        d3 = mz.sqrt_dispersion_majorizer(g * 1.2, gb)
        # concavity of D1 along segments: f((a+b)/2) >= (f(a)+f(b))/2
        mid = mz.log_ratio_minorizer((x + xb) / 2, (y + yb) / 2, xb, yb)
        ends = 0.5 * (d1 + mz.log_ratio_minorizer(xb, yb, xb, yb))
        return true, d1, d1_at, jnp.log1p(jnp.abs(xb) ** 2 / yb), d2, d3, mz.sqrt_dispersion(g), mid, ends

    true, d1, d1_at, true_at, d2, d3, sq, mid, ends = (np.asarray(a) for a in check(jax.random.key(0)))
    assert np.all(d1 <= true + 1e-5) and np.allclose(d1_at, true_at, atol=1e-5)
    assert np.all(d2 >= true - 1e-5)
    assert np.all(d3 >= sq - 1e-6)
    assert np.all(mid >= ends - 1e-5)


@pytest.mark.parametrize("rho", [pytest.param(0.0, marks=pytest.mark.slow), 0.03])
def test_secrecy_minorizer_is_below_the_true_rate_and_tight(rho):
    cfg = dl.FBRDownlinkConfig(K=3, rho_U=rho, rho_E=rho)

    @jax.jit
    def check(key):
        k1, k2, k3 = jax.random.split(key, 3)
        prob = dl.problem(dl.sample(k1, cfg), cfg)
        W0, th0 = fd.initial_point(k2, prob)
        terms = lambda z: dl.stream_terms(prob.G, prob.g, z[0], z[1])  # noqa: E731
        cb, nb = terms((W0, th0))
        nl = tangent(lambda z: terms(z)[1], (W0, th0))

        def m(z):
            c, n = terms(z)
            return mz.secrecy_minorizer(c, n, nl(z), cb, nb, prob.xi, prob.disp_user, prob.disp_eve)

        def true(z):
            return dl.problem_rates(prob, z[0], z[1]) * dl.LN2

        ka, kb = jax.random.split(k3)
        scales = jnp.array([0.01, 0.1, 0.5])

        def cand(s, kk):
            ku, kv = jax.random.split(kk)
            W = W0 + s.astype(W0.dtype) * jax.random.normal(ku, W0.shape, dtype=W0.dtype)
            a = s * jax.random.normal(kv, th0.shape)
            th = th0 * jax.lax.complex(jnp.cos(a), jnp.sin(a)).astype(th0.dtype)
            return m((W, th)), true((W, th))

        mv, tv = jax.vmap(cand)(scales, jax.random.split(ka, 3))
        return m((W0, th0)), true((W0, th0)), mv, tv

    m0, t0, mv, tv = (np.asarray(a) for a in check(jax.random.key(4)))
    ok = np.isfinite(mv)
    assert ok[0].all()  # small moves stay in the domain
    assert np.all(mv[ok] <= tv[ok] + 1e-4)
    # tight where every worst-case useful amplitude is positive (always so here)
    np.testing.assert_allclose(m0, t0, atol=2e-4)


def _sca_instances(cfg, seeds):
    """Topologies, a random start, and the JAX SCA step values (W block, theta block) in one compile."""

    @jax.jit
    def steps(key):
        k1, k2 = jax.random.split(key)
        prob = dl.problem(dl.sample(k1, cfg), cfg)
        W0, th0 = fd.initial_point(k2, prob)
        (_, _), vw = fd.sca_step(prob, W0, th0, "W")
        (_, _), vt = fd.sca_step(prob, W0, th0, "theta")
        return prob, W0, th0, vw, vt

    return [steps(jax.random.key(s)) for s in seeds]


def _check_against_cvxpy(instances):
    for prob, W0, th0, vw, vt in instances:
        P = [np.asarray(a) for a in prob]
        for block, v in (("W", vw), ("theta", vt)):
            ref = cvx_fbr.sca_step(P[0], P[1], np.asarray(W0), np.asarray(th0), float(P[3]), float(P[4]),
                                   block=block)
            assert ref.status.startswith("optimal")
            assert float(v) == pytest.approx(ref.surrogate, abs=1e-3), (block, float(v), ref.surrogate)


def test_jax_sca_step_matches_the_cvxpy_step_tiny():
    """One SCA step of Algorithm 1 (W block and theta block, perfect CSI, FBR) on a tiny instance (K = M = 2,
    N = 4): the barrier-Newton solution of the convex program is within 1e-3 nat of Clarabel's optimum."""
    _check_against_cvxpy(_sca_instances(dl.FBRDownlinkConfig(M=2, K=2, N_h=2, N_v=2), [500]))


@pytest.mark.slow
def test_jax_sca_step_matches_the_cvxpy_step():
    """The same at the default size (M = K = 4, N = 16) on three topologies."""
    _check_against_cvxpy(_sca_instances(dl.FBRDownlinkConfig(), [500, 501, 502]))


@pytest.mark.slow
def test_sca_design_is_monotone_and_fbr_is_warm_started():
    """Theorems 1-2 (reduced): the objective never decreases over iterations, LBR then FBR."""
    cfg = dl.FBRDownlinkConfig(K=3, rho_U=0.01, rho_E=0.01)

    @jax.jit
    def run(key):
        k1, k2 = jax.random.split(key)
        prob = dl.problem(dl.sample(k1, cfg), cfg)
        W0, th0 = fd.initial_point(k2, prob)
        out = fd.lbr_then_fbr(fd.sca_design, prob, W0, th0, num_outer=4, barrier=dict(inner="lbfgs"))
        W_l, th_l = out.state[0][0], out.state[1][0]
        return out.history, out.num_iters, fd.objective(prob, W_l, th_l), fd.objective(prob.lbr(), W_l, th_l)

    hist, iters, fbr_at_lbr, lbr_at_lbr = (np.asarray(a) for a in jax.vmap(run)(jax.random.split(
        jax.random.key(7), 3)))
    assert np.all(np.diff(hist, axis=-1) >= -1e-6)
    assert np.all(hist[:, :, -1] > hist[:, :, 0] - 1e-6) and np.all(hist[:, 0, -1] > hist[:, 0, 0])
    assert np.all(iters <= 4) and np.all(iters >= 1)
    # the FBR run starts from the LBR solution: its first value is the FBR objective there
    np.testing.assert_allclose(hist[:, 1, 0], fbr_at_lbr, atol=1e-4)
    np.testing.assert_allclose(hist[:, 0, -1], lbr_at_lbr, atol=1e-4)
    assert np.all(fbr_at_lbr < lbr_at_lbr)  # the dispersion penalty is positive


@pytest.mark.slow
def test_gradient_design_lbfgs_beats_projected_gradient_and_start():
    cfg = dl.FBRDownlinkConfig(K=3)

    @jax.jit
    def run(key):
        k1, k2 = jax.random.split(key)
        prob = dl.problem(dl.sample(k1, cfg), cfg)
        W0, th0 = fd.initial_point(k2, prob)
        a = fd.gradient_design(prob, W0, th0, iters_per_stage=40)
        b = fd.gradient_design(prob, W0, th0, iters_per_stage=40, optimizer="projected")
        nrm = jnp.sqrt(jnp.sum(jnp.abs(a.state[0]) ** 2))
        return fd.objective(prob, W0, th0), a.value, b.value, nrm, jnp.abs(a.state[1])

    f0, va, vb, nrm, mod = (np.asarray(x) for x in jax.vmap(run)(jax.random.split(jax.random.key(8), 6)))
    assert np.all(va >= f0) and np.all(vb >= f0)
    assert va.mean() > vb.mean()
    assert np.all(nrm <= 1 + 1e-5) and np.allclose(mod, 1.0, atol=1e-5)


def test_barrier_solves_a_small_maxmin_exactly():
    # max_x min(x0, x1, 1 - x0 - x1) on the unit disc: 1/3 at x = (1/3, 1/3)
    f = lambda x: jnp.stack([x[0], x[1], 1.0 - x[0] - x[1]])  # noqa: E731
    h = lambda x: jnp.sum(x**2, keepdims=True) - 1.0  # noqa: E731
    res = jax.jit(lambda x0: interior.maximin_barrier(f, x0, h, mu_end=1e-6, num_stages=7))(jnp.array([0.1, -0.2]))
    assert float(res.value) == pytest.approx(1 / 3, abs=1e-4) and bool(res.feasible)


def _eigh_newton(H, g):
    """The previous direction (eigenvalues of H clamped at -1e-10 of the largest): reference only."""
    w, V = np.linalg.eigh(0.5 * (H + H.T))
    w = np.minimum(w, -1e-10 * max(np.abs(w).max(), 1e-300))
    return V @ ((V.T @ g) / (-w))


def test_newton_direction_is_newton_for_concave_an_ascent_otherwise_and_calls_no_lapack():
    rng = np.random.default_rng(2026)
    f = jax.jit(jax.vmap(interior.newton_direction))
    n = 33  # one SCA block: 2 M K + 1 or 2 N + 1 real variables
    Q = rng.standard_normal((64, n, n))
    neg = -(Q @ np.transpose(Q, (0, 2, 1)) / n + 1e-2 * np.eye(n))  # negative definite, condition ~1e3
    g = rng.standard_normal((64, n))
    d = np.asarray(f(jnp.asarray(neg, jnp.float32), jnp.asarray(g, jnp.float32)), np.float64)
    ref = np.stack([_eigh_newton(h, v) for h, v in zip(neg, g)])
    np.testing.assert_allclose(d, ref, rtol=0, atol=2e-3 * np.abs(ref).max())
    # indefinite or zero Hessians: finite ascent directions (g . d > 0 unless g = 0)
    ind = Q + np.transpose(Q, (0, 2, 1))
    d = np.asarray(f(jnp.asarray(ind, jnp.float32), jnp.asarray(g, jnp.float32)), np.float64)
    assert np.isfinite(d).all() and (np.einsum("bi,bi->b", g, d) > 0).all()
    z = np.asarray(f(jnp.zeros((2, n, n)), jnp.asarray(g[:2], jnp.float32)))
    assert np.isfinite(z).all() and (np.einsum("bi,bi->b", g[:2], z) > 0).all()
    assert np.isfinite(np.asarray(f(jnp.zeros((1, n, n)), jnp.zeros((1, n))))).all()
    hlo = f.lower(jnp.asarray(neg, jnp.float32), jnp.asarray(g, jnp.float32)).as_text()
    assert "custom_call" not in hlo and "lapack" not in hlo.lower()

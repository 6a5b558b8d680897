"""Soft-min/softplus/annealing, FP power control, Dinkelbach, Rayleigh quotient, SCA, AO."""

import numpy as np
import pytest
import scipy.linalg
import jax
import jax.numpy as jnp

import optim
from optim import fp, problems, sca, surrogates
from optim.phases import PhaseOptions


def test_soft_min_softplus_bounds_and_exact_limit():
    x = jnp.array([0.3, 1.2, -0.4, 2.0])
    for tau in (1.0, 0.1, 0.01):
        s = float(surrogates.soft_min(x, tau))
        assert s <= -0.4 + 1e-6 and s >= -0.4 - tau * np.log(4) - 1e-6
        sp = np.asarray(surrogates.softplus(x, tau))
        assert np.all(sp >= np.maximum(np.asarray(x), 0) - 1e-6)
        assert np.all(sp <= np.maximum(np.asarray(x), 0) + tau * np.log(2) + 1e-6)
    assert float(surrogates.soft_min(x, 0.0)) == pytest.approx(-0.4)
    assert np.allclose(np.asarray(surrogates.softplus(x, 0.0)), np.maximum(np.asarray(x), 0))
    assert surrogates.geometric_schedule(1.0, 0.01, 3) == (1.0, 0.1, 0.01, 0.0)


def test_annealed_maxmin_reaches_exact_objective():
    # max_v min_k |c_k^T v|^2 over unit modulus, two users; compare with a fine angle grid for K=2
    rng = np.random.default_rng(0)
    c = jnp.asarray(rng.standard_normal((2, 2)) + 1j * rng.standard_normal((2, 2)), jnp.complex64)
    obj = lambda v, tau: optim.soft_min(jnp.abs(c @ v) ** 2, tau)
    res = optim.annealed_maximize_phases(obj, jax.random.key(0), 2, (1.0, 0.1, 0.01, 0.0))
    th = np.linspace(0, 2 * np.pi, 721)
    # only the relative phase matters for |c v|: fix theta_0 = 0
    best = max(np.min(np.abs(np.asarray(c) @ np.array([1.0, np.exp(1j * t)])) ** 2) for t in th)
    assert float(res.value) == pytest.approx(best, rel=2e-3)
    assert float(res.value) == pytest.approx(float(obj(res.phases, 0.0)), rel=1e-5)  # value is the exact min


def _two_way_ratios(seed, n_pairs):
    """Random gains for a two-way max-min instance in the form of systems.maxmin_two_way."""
    from irsjax.systems.maxmin_two_way import MaxminTwoWayConfig, USERS

    users = USERS[: 2 * n_pairs]
    cfg = MaxminTwoWayConfig(L=4, users=users)
    ch = cfg.sample(jax.random.key(seed))
    G = cfg.gains(ch, jnp.ones(4, ch.direct.dtype))
    return cfg, G


def test_fp_power_control_monotone_in_box_and_near_exhaustive(n_pairs=2):
    cfg, G = _two_way_ratios(7, n_pairs)
    ratios = cfg.fp_ratios(G)
    off = jnp.asarray(cfg.FP_OFFSETS)
    U = 2 * n_pairs
    res = fp.power_control(ratios, jnp.full(U, cfg.p_max), cfg.p_min, cfg.p_max, offsets=off, num_iters=30)
    h = np.asarray(res.history)
    assert np.all(np.diff(h) >= -1e-6 * np.abs(h[:-1]).max())
    p = np.asarray(res.p)
    assert np.all(p >= cfg.p_min * (1 - 1e-6)) and np.all(p <= cfg.p_max * (1 + 1e-6))
    true = lambda q: fp.log_ratio_objective(ratios, off, q)
    assert float(res.value) == pytest.approx(float(true(res.p)), rel=1e-5)
    _, ref = fp.grid_search(true, cfg.p_min, cfg.p_max, U, points=12, chunk=4096)
    _, corner = fp.corner_search(true, cfg.p_min, cfg.p_max, U)
    assert float(ref) >= float(corner) - 1e-6  # the grid contains the corners
    # FP is a local (MM) method: within 5 % of the exhaustive optimum here (paper Fig. 3: "approaches")
    assert float(res.value) >= float(ref) - 5e-2 * abs(float(ref))
    # FP value (nats) equals ln2 * min secrecy rate (bits)
    assert float(res.value) / np.log(2) == pytest.approx(float(cfg.min_secrecy_rate(G, res.p, clip=False)), rel=1e-4)


def test_rayleigh_quotient_matches_scipy():
    from optim import rayleigh

    rng = np.random.default_rng(3)
    X = rng.standard_normal((5, 5)) + 1j * rng.standard_normal((5, 5))
    Y = rng.standard_normal((5, 5)) + 1j * rng.standard_normal((5, 5))
    A = X @ X.conj().T
    B = Y @ Y.conj().T + np.eye(5)
    val, w = rayleigh.max_generalized_eig(jnp.asarray(A, jnp.complex64), jnp.asarray(B, jnp.complex64))
    ref = scipy.linalg.eigh(A, B, eigvals_only=True)[-1]
    assert float(val) == pytest.approx(ref, rel=1e-3)
    assert float(rayleigh.rayleigh_quotient(w, jnp.asarray(A), jnp.asarray(B))) == pytest.approx(ref, rel=1e-3)
    a = rng.standard_normal(5) + 1j * rng.standard_normal(5)
    v1, _ = rayleigh.rank_one_beam(jnp.asarray(a), jnp.asarray(B))
    assert float(v1) == pytest.approx(scipy.linalg.eigh(np.outer(a, a.conj()), B, eigvals_only=True)[-1], rel=1e-3)


def test_dinkelbach_on_wiretap_ratio_matches_direct_ascent():
    inst = problems.wiretap_instance(jax.random.key(11), 8)
    n_ = lambda v: 1.0 + jnp.abs(jnp.vdot(inst.b, problems.homogenise(v))) ** 2
    d_ = lambda v: 1.0 + jnp.abs(jnp.vdot(inst.e, problems.homogenise(v))) ** 2
    sub = lambda v, lam: (n_(v) - lam * d_(v)) / (1.0 + jnp.sum(jnp.abs(inst.b)) ** 2)
    opts = PhaseOptions(num_restarts=4)
    inner = lambda lam, v: optim.solve(sub, jax.random.key(0), (8,), (lam,), init=v, options=opts).phases
    v0 = jnp.ones(8, inst.b.dtype)
    res = optim.maximize_ratio(n_, d_, inner, v0)
    direct = optim.maximize_phases(problems.wiretap_ratio, jax.random.key(1), 8, args=(inst,), num_restarts=4)
    assert float(res.value) == pytest.approx(float(direct.value), rel=1e-3)
    assert np.all(np.diff(np.asarray(res.history)) >= -1e-5 * float(res.value))


def test_sca_tangent_upper_bounds_concave_and_ao_monotone():
    S = lambda G: jnp.log(1.0 + G @ jnp.array([1.0, 2.0]))  # concave in G
    G0 = jnp.array([0.5, 0.2])
    t = sca.tangent(S, G0)
    for G in (jnp.array([0.0, 0.0]), jnp.array([3.0, 1.0]), jnp.array([0.5, 0.2])):
        assert float(t(G)) >= float(S(G)) - 1e-6
    q = lambda x: jnp.log(1 + 2 * x)
    s = lambda x: jnp.log(1 + x * x) * 0 + 0.5 * jnp.log(1 + x)
    inner = lambda m, x: jnp.clip(x + 0.5, 0.0, 3.0)
    x, hist = sca.sca_maximize(q, s, jnp.array(0.0), inner, num_iters=6)
    assert np.all(np.diff(np.asarray(hist)) >= 0)
    obj = lambda st: 1.0 - (st[0] - 1.0) ** 2 - (st[1] - st[0]) ** 2
    steps = (lambda st: st.at[0].set((1.0 + st[1]) / 2), lambda st: st.at[1].set(st[0]))
    res = optim.alternate(steps, jnp.array([0.0, 3.0]), obj, num_outer=40, tol=1e-6)
    h = np.asarray(res.history)
    assert np.all(np.diff(h) >= -1e-7) and bool(res.converged)

"""Theorem 1 of Lv et al. (MODELS.md section 1(g)) in JAX against independent scipy evaluations.

Every scipy reference below is written from the formulas in MODELS.md (adaptive
``scipy.integrate.quad``, ``scipy.special``), sharing no code with the library.
float64 checks run inside ``jax.enable_x64(True)`` (scoped; the global flag is untouched).
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate
from scipy import special as ss

from irsjax.analysis import two_way as A

MU = math.pi ** 2 / (16 - math.pi ** 2)
NU = (16 - math.pi ** 2) / (4 * math.pi)


# ----------------------------------------------------------------------------- scipy references
def _G(m):  # E ln(1 + Exp(m)) = e^{1/m} E1(1/m), by its integral form (no overflow)
    return integrate.quad(lambda t: np.exp(-t) / (1.0 / m + t), 0, np.inf, epsabs=0, epsrel=1e-13, limit=400)[0]


def _F_best(x, K, N):
    return ss.gammainc(K * MU, np.sqrt(x) / NU) ** N


def _quad_pieces(f, pts, hi_tail):
    pts = sorted(set(float(p) for p in pts if p > 0))
    r = integrate.quad(f, 0, pts[-1], points=pts[:-1], epsabs=0, epsrel=1e-11, limit=2000)[0]
    return r + integrate.quad(f, pts[-1], np.inf, epsabs=0, epsrel=1e-11, limit=2000)[0] if hi_tail else r


def _zeta_quantiles(K, N):
    # quantiles of zeta* = (nu * max Gamma)^2, from scipy's inverse incomplete gamma
    qs = [1e-9, 1e-3, 0.1, 0.5, 0.9, 1 - 1e-3, 1 - 1e-9]
    return [(NU * ss.gammaincinv(K * MU, q ** (1.0 / N))) ** 2 for q in qs]


def q_m_scipy(rho, K, N):
    """(1.9): int_0^inf rho (1 - F*(x)) / (1 + rho x) dx (survival form, as printed)."""
    f = lambda x: rho * (1 - _F_best(x, K, N)) / (1 + rho * x)
    return _quad_pieces(f, _zeta_quantiles(K, N), hi_tail=True)


def q_m_paper_numpy(rho, K, N, M):
    m = np.arange(1, M + 1)
    th = np.cos((2 * m - 1) * np.pi / (2 * M))
    xm = np.pi / 4 * (th + 1)
    x = np.tan(xm)
    w = np.sqrt(1 - th ** 2) / np.cos(xm) ** 2
    return np.pi ** 2 / (4 * M) * np.sum(w * rho * (1 - _F_best(x, K, N)) / (1 + rho * x))


def _j2_integrand(s, a, b, rho, K, N):
    tau = s / a + 1 / b
    z = tau * (1 + s) / s
    e = _G(1.0 / z)  # e^z E1(z)
    bracket = e * (1 / tau + 1 / tau ** 2 - (1 + s) / (s * tau)) + 1 / tau ** 2
    return _F_best(s / rho, K, N) * np.exp(-s / a) * bracket / (a * b)


def j2_scipy(a, b, rho, K, N):
    """(1.13) by adaptive quadrature, breakpoints at zeta* quantiles and at a, a/b."""
    pts = [rho * q for q in _zeta_quantiles(K, N)] + [a, a / b, 10 * a]
    return _quad_pieces(lambda s: _j2_integrand(s, a, b, rho, K, N), pts, hi_tail=True)


def j2_paper_numpy(a, b, rho, K, N, M):
    m = np.arange(1, M + 1)
    th = np.cos((2 * m - 1) * np.pi / (2 * M))
    xm = np.pi / 4 * (th + 1)
    w = np.pi ** 2 / (4 * M) * np.sqrt(1 - th ** 2) / np.cos(xm) ** 2
    return float(np.sum(w * np.array([_j2_integrand(s, a, b, rho, K, N) for s in np.tan(xm)])))


# ----------------------------------------------------------------------------- tests
def test_exp_e1_pair_against_scipy_float64_and_float32():
    z = np.array([1e-10, 1e-3, 0.3, 1.0, 1.4999, 1.5, 1.5001, 2.9999, 3.0, 3.0001, 30.0, 88.0, 700.0, 1e4, 1e8])
    ref = np.array([np.exp(v) * ss.exp1(v) if v < 100 else _G(1.0 / v) for v in z])
    ref_om = np.array([1 - v * r if v < 10 else  # 1 - z e^z E1(z); integral form where it cancels
                       integrate.quad(lambda t: t * np.exp(-t) / (v + t), 0, np.inf,
                                      epsabs=0, epsrel=1e-13, limit=400)[0]
                       for v, r in zip(z, ref)])
    with jax.enable_x64(True):
        e = np.asarray(A.exp_e1(jnp.asarray(z)))
        om = np.asarray(A.one_minus_z_exp_e1(jnp.asarray(z)))
    np.testing.assert_allclose(e, ref, rtol=1e-11)
    np.testing.assert_allclose(om, ref_om, rtol=1e-11)
    e32 = np.asarray(A.exp_e1(jnp.asarray(z, jnp.float32)))
    om32 = np.asarray(A.one_minus_z_exp_e1(jnp.asarray(z, jnp.float32)))
    assert e32.dtype == np.float32 and np.all(np.isfinite(e32)) and np.all(np.isfinite(om32))
    np.testing.assert_allclose(e32, ref, rtol=2e-5)
    np.testing.assert_allclose(om32, ref_om, rtol=1e-4)


@pytest.mark.parametrize("a,b", [(2.0, 5.0), (3.0, 3.0), (3.0, 3.0 + 3e-6), (100.0, 1.0), (2.6e6, 2.5e6), (0.01, 0.02)])
def test_eve_closed_forms_q_e1_and_j1(a, b):
    # (1.10): 1 - F_gamma_e1(x) = a e^{-x/a} / (a + x b);  J1 likewise with a, b swapped
    quad = lambda g: integrate.quad(g, 0, np.inf, epsabs=0, epsrel=1e-12, limit=500)[0]
    r_qe1 = quad(lambda x: a * np.exp(-x / a) / (a + x * b) / (1 + x))
    r_j1 = quad(lambda x: b * np.exp(-x / b) / (b + x * a) / (1 + x))
    with jax.enable_x64(True):
        assert float(A.q_e1(a, b)) == pytest.approx(r_qe1, rel=1e-9)
        assert float(A.j1(a, b)) == pytest.approx(r_j1, rel=1e-9)
        # the a = b limit of (1.11)
        assert float(A.q_e1(a, a)) == pytest.approx(1 - _G(a) / a, rel=1e-9)
    assert float(A.q_e1(np.float32(a), np.float32(b))) == pytest.approx(r_qe1, rel=1e-4)


@pytest.mark.parametrize("rho,K,N", [(1e-3, 32, 10), (0.4, 32, 10), (50.0, 32, 10), (1e-2, 8, 1), (1e-2, 256, 6),
                                     (0.3, 32, 50), (2.0, 1, 2)])
def test_q_m_reference_and_paper_match_scipy(rho, K, N):
    ref = q_m_scipy(rho, K, N)
    gc = q_m_paper_numpy(rho, K, N, 20)
    with jax.enable_x64(True):
        assert float(A.q_m_reference(rho, K, N)) == pytest.approx(ref, rel=1e-6)
        assert float(A.q_m_paper(rho, K, N, 20)) == pytest.approx(gc, rel=1e-6)
    # float32 stays close
    assert float(A.q_m_reference(np.float32(rho), K, N)) == pytest.approx(ref, rel=2e-4)


@pytest.mark.parametrize("a,b,rho,K,N", [(3.0, 2.0, 0.01, 8, 2), (50.0, 20.0, 0.001, 32, 10), (5.0, 5.0, 0.05, 16, 3),
                                         (2.6e6, 2.6e6, 0.3, 32, 10), (26.0, 30.0, 4e-6, 32, 10)])
def test_j2_reference_and_paper_match_scipy(a, b, rho, K, N):
    ref = j2_scipy(a, b, rho, K, N)
    gc = j2_paper_numpy(a, b, rho, K, N, 20)
    with jax.enable_x64(True):
        assert float(A.j2_reference(a, b, rho, K, N)) == pytest.approx(ref, rel=1e-6, abs=1e-14)
        assert float(A.j2_paper(a, b, rho, K, N, 20)) == pytest.approx(gc, rel=1e-6, abs=1e-14)


@pytest.mark.parametrize("K,N", [(1, 1), (8, 2), (32, 10), (256, 6), (4096, 100)])
def test_j2_reference_rule_matches_a_four_times_finer_rule(K, N):
    """The 208-node rule of ``j2_reference`` (at K >= 16) against 96 bulk panels and 96 tail panels of 8 nodes,
    on random (a, b, rho) over 15, 6 and 14 decades: the error is < 1e-12 of Q_E2 = J1 + J2 (what enters the bound)."""
    rng = np.random.default_rng(1000 + K)
    n = 600
    a = 10 ** rng.uniform(-6, 9, n)
    b = a * 10 ** rng.uniform(-3, 3, n)
    rho = 10 ** rng.uniform(-8, 6, n)
    with jax.enable_x64(True):
        fast = np.asarray(A.j2_reference(a, b, rho, K, N))
        fine = np.asarray(A._j2_rule(a, b, rho, K, N, 96, 96, 8))
        qe2 = np.asarray(A.j1(a, b)) + fine
    assert np.all(np.isfinite(fast))
    assert np.max(np.abs(fast - fine) / qe2) < 1e-12


@pytest.mark.parametrize("K,N", [(1, 1), (8, 2), (32, 10), (256, 6), (4096, 1000)])
def test_best_zeta_cdf_fast_matches_the_incomplete_gamma(K, N):
    """The Chebyshev series of ln F* against scipy's incomplete gamma inside the bulk (1e-11 of ln F*),
    and F* <= e^-40 below / 1 - F* <= e^-40 above it, where the fast form returns exactly 0 / 1."""
    _, _, lo, hi = A.bulk_nodes(K, N)
    t = np.linspace(lo, hi, 1001)[1:-1]
    x = (NU * np.exp(t)) ** 2
    ref = _F_best(x, K, N)
    with jax.enable_x64(True):
        fast = np.asarray(A.best_zeta_cdf_fast(x, K, N))
        out = np.asarray(A.best_zeta_cdf_fast(np.array([(NU * np.exp(lo - 0.01)) ** 2, (NU * np.exp(hi + 0.01)) ** 2,
                                                         0.0]), K, N))
    big = ref > 1e-290  # the series is accurate in ln F*: relative error in F* ~ 2e-12 max(1, |ln F*|)
    assert np.max(np.abs(fast[big] - ref[big]) / (ref[big] * np.maximum(1.0, -np.log(ref[big])))) < 1e-11
    assert np.all(fast[~big] < 1e-280)
    assert out.tolist() == [0.0, 1.0, 0.0]
    assert _F_best((NU * np.exp(lo)) ** 2, K, N) < math.exp(-40) and 1 - _F_best((NU * np.exp(hi)) ** 2, K, N) < 1e-16
    # float32: no worse than the incomplete gamma in float32 (at K = 4096, N = 1000 both are limited by the
    # rounding of x: F* moves from 0 to 1 within 0.12 of ln y)
    f32 = np.asarray(A.best_zeta_cdf_fast(np.asarray(x, np.float32), K, N))
    exact32 = np.asarray(A.best_zeta_cdf(np.asarray(x, np.float32), K, N))
    assert f32.dtype == np.float32 and np.all(np.isfinite(f32))
    assert np.max(np.abs(f32 - ref)) <= max(2e-5, np.max(np.abs(exact32 - ref)))


def test_j2_equals_its_definition():
    """(1.13) = E[ln((1+U)(1+V)/(1+U+V)) F(U/(1+V))], U ~ Exp(a), V ~ Exp(b) (2-D scipy quadrature)."""
    a, b, rho, K, N = 3.0, 2.0, 0.01, 8, 2

    def inner(v):
        f = lambda u: np.log((1 + u) * (1 + v) / (1 + u + v)) * _F_best(u / (1 + v) / rho, K, N) * np.exp(-u / a) / a
        return integrate.quad(f, 0, np.inf, epsabs=1e-14, epsrel=1e-10, limit=400)[0] * np.exp(-v / b) / b

    ref = integrate.quad(inner, 0, np.inf, epsabs=1e-13, epsrel=1e-9, limit=400)[0]
    with jax.enable_x64(True):
        assert float(A.j2_reference(a, b, rho, K, N)) == pytest.approx(ref, rel=1e-7)


def test_bulk_nodes_hold_all_probability_mass():
    with jax.enable_x64(True):
        for K, N in ((1, 1), (8, 1), (32, 10), (256, 6), (4096, 1000)):
            _, _, _, dens, _ = A._bulk(K, N, jnp.float64)
            assert float(jnp.sum(dens)) == pytest.approx(1.0, abs=1e-10), (K, N)
        # Q_M(rho) -> E ln(rho zeta*) + o(1): monotone in rho, K and N
        q = [float(A.q_m_reference(r, 32, 10)) for r in (1e-3, 1e-1, 10.0)]
        assert q[0] < q[1] < q[2]
        qr = [float(A.q_m_reference(1.0, k, m)) for k, m in ((16, 10), (32, 10), (32, 20))]
        assert qr[0] < qr[1] < qr[2]


def test_theorem1_composition_vmap_jit_and_dtypes():
    rho = np.array([1e-3, 0.2, 3.0])
    a = np.array([2.5e5, 3e5, 2e5])
    b = np.array([2.4e5, 3.5e5, 2e5])
    with jax.enable_x64(True):
        # one jitted, vmapped call over two "topologies" (rho and 10 rho)
        both = jax.jit(jax.vmap(lambda r: A.asr_lower_bound(r, a, b, 32, 3)))(jnp.stack([rho, 10 * rho]))
        out = {k: v[0] for k, v in both.items()}
        qm = float(np.mean(np.asarray(A.q_m_reference(rho, 32, 3))))
        qe1 = float(np.mean(np.asarray(A.q_e1(a, b))))
        qe2 = float(np.mean(np.asarray(A.j1(a, b)) + np.asarray(A.j2_reference(a, b, rho, 32, 3))))
        assert float(out["q_m"]) == pytest.approx(qm, rel=1e-12)
        assert float(out["s1"]) == pytest.approx(max(qm - qe1, 0) / math.log(2), rel=1e-12, abs=1e-15)
        assert float(out["s2"]) == pytest.approx(max(qm - qe2, 0) / math.log(2), rel=1e-12, abs=1e-15)
        assert both["sum"].shape == (2,) and float(both["sum"][1]) > float(both["sum"][0])
        # M = 20 overestimates Q_M (MODELS 1(g))
        assert float(jnp.mean(A.q_m_paper(rho, 32, 3, 20))) > float(out["q_m"])
    f32 = lambda z: jnp.asarray(z, jnp.float32)
    out32 = A.asr_lower_bound(f32(rho), f32(a), f32(b), 32, 3)
    assert out32["sum"].dtype == jnp.float32
    assert float(out32["q_m"]) == pytest.approx(qm, rel=1e-4)
    with pytest.raises(ValueError, match="method"):
        A.asr_lower_bound(rho, a, b, 32, 3, method="simpson")


def test_both_methods_evaluate_the_exponential_integrals_once_with_the_numbers_of_each_method_alone(monkeypatch):
    """asr_lower_bounds puts every term's e^z E1(z) nodes (Q_E1, J1 and each method's J2) into one exp_e1_pair call:
    the unrolled series and continued fraction are traced, and compiled, once (the Theorem 1 bound over topologies
    compiled 0.5 s faster for it). The numbers equal each method's alone and the terms' own functions."""
    rho = np.array([1e-3, 0.2, 3.0])
    a = np.array([2.5e5, 3e5, 2e5])
    b = np.array([2.4e5, 3.5e5, 2e5])  # the last pair takes the a ~ b branch
    calls = []
    real = A.exp_e1_pair
    monkeypatch.setattr(A, "exp_e1_pair", lambda z: calls.append(z.shape) or real(z))
    with jax.enable_x64(True):
        jax.make_jaxpr(lambda r, x, y: A.asr_lower_bounds(r, x, y, 32, 3))(rho, a, b)
        assert len(calls) == 1 and calls[0][0] == 3  # one evaluation, all terms' nodes along the last axis
        both = jax.jit(lambda r, x, y: A.asr_lower_bounds(r, x, y, 32, 3))(rho, a, b)
        for m in ("reference", "paper"):
            alone = jax.jit(lambda r, x, y: A.asr_lower_bound(r, x, y, 32, 3, method=m))(rho, a, b)
            for k, v in alone.items():
                assert float(both[m][k]) == pytest.approx(float(v), rel=1e-14, abs=1e-300), (m, k)
        terms = jax.jit(lambda r, x, y: (A.q_e1(x, y), A.j1(x, y), A.j2_reference(x, y, r, 32, 3),
                                         A.j2_paper(x, y, r, 32, 3, 20)))(rho, a, b)
        q_e1, j1, j2_ref, j2_pap = (np.asarray(t) for t in terms)
        for m, j2 in (("reference", j2_ref), ("paper", j2_pap)):
            assert float(both[m]["q_e1"]) == pytest.approx(float(np.mean(q_e1)), rel=1e-14)
            assert float(both[m]["q_e2"]) == pytest.approx(float(np.mean(j1 + j2)), rel=1e-14)
    with pytest.raises(ValueError, match="method"):
        A.asr_lower_bounds(rho, a, b, 32, 3, methods=("reference", "simpson"))
    with pytest.raises(ValueError, match="methods"):
        A.asr_lower_bounds(rho, a, b, 32, 3, methods=())


@pytest.mark.parametrize("K", [8, 16, 32, 64])
def test_lemma1_gamma_approximation_ks_below_0_005(K):
    """Lemma 1: sqrt(zeta) = sum_k |h_k||g_k| ~ Gamma(K mu, nu); KS distance < 0.005 for K >= 8."""
    rng = np.random.default_rng(K)
    n = 400_000
    x = np.zeros(n)
    for _ in range(K):  # |h|, |g| Rayleigh with E|.|^2 = 1
        x += np.sqrt(rng.exponential(size=n) * rng.exponential(size=n))
    x.sort()
    cdf = np.asarray(A.zeta_cdf(jnp.asarray(x ** 2, jnp.float32), K), np.float64)
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert ks < 0.005, ks
    # and the best-of-N CDF is the N-th power
    mid = x[n // 2] ** 2
    assert float(A.best_zeta_cdf(mid, K, 3)) == pytest.approx(float(A.zeta_cdf(mid, K)) ** 3, rel=1e-5)


@pytest.mark.parametrize("K,N", [(32, 10), (4, 3)])
def test_theorem1_agrees_with_the_numpy_scipy_reference_of_bench(numpy_reference, K, N):
    """bench/numpy_reference.theorem1 (NumPy + scipy's E1 and incomplete gamma, written from MODELS.md 1(g) with
    the same quadrature rules; what bench/bench_sweeps.py times) against asr_lower_bound, both methods, on
    random per-pair (rho, a, b) over 8 decades: equal to 1e-11 bit/s/Hz."""
    rng = np.random.default_rng(77 + K)
    T = 40
    rho = 10 ** rng.uniform(-4, 4, (T, N))
    a = 10 ** rng.uniform(-2, 7, (T, N))
    b = a * 10 ** rng.uniform(-1, 1, (T, N))
    ref = numpy_reference.theorem1(rho, a, b, K, N)
    with jax.enable_x64(True):
        for method in ("reference", "paper"):
            out = jax.jit(jax.vmap(lambda r, x, y: A.asr_lower_bound(r, x, y, K, N, method=method)))(rho, a, b)
            assert float(np.max(ref[method][0] + ref[method][1])) > 1.0  # not all clipped to zero
            np.testing.assert_allclose(np.asarray(out["s1"]), ref[method][0], rtol=0, atol=1e-11)
            np.testing.assert_allclose(np.asarray(out["s2"]), ref[method][1], rtol=0, atol=1e-11)

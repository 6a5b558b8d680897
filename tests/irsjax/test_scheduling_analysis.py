"""Analytical SOP of RIS opportunistic scheduling (irsjax.analysis.scheduling, MODELS.md 5(g)).

Every closed form is checked against an independent scipy evaluation of the same formula:
the SOP integral (5.7) in the eavesdropper-SNR variable ``y`` (no ``t`` substitution, no
(5.9) primitive), with the same Q approximation (Theorem 1) or the exact Q (NI); the
DF-relay closed forms against quadrature of their defining probabilities.
All in float64 inside scoped ``jax.enable_x64`` contexts.
"""
import math

import numpy as np
import pytest
import jax
import jax.numpy as jnp
from scipy import integrate, special as sps, stats

from irsjax.analysis import scheduling as an

PL_SU = 10**13.2877  # default geometry at 2.4 GHz (MODELS.md 5(e)): ~132.9 dB
PL_SE = 10**13.1693  # ~131.7 dB
RTOL = 1e-6


def snrs(rho_db):
    rho = 10 ** (rho_db / 10)
    return rho / PL_SU, rho / PL_SE


# ----------------------------------------------------------------------------- scipy references
def _q_ref(u, approx):
    if not approx:
        return 0.5 * sps.erfc(u / math.sqrt(2))
    a, b = an.q_approx_coeffs(4)
    s = float(np.sum(a * np.exp(-b * u * u)))
    return s if u >= 0 else 1.0 - s


def sop_ref(N, K, L, snr_u, snr_e, R, approx):
    """(5.7) integrated in y with scipy: int_0^inf F_U(v(1+y)-1) f_E(y) dy, F_U from (5.4)^K, f_E (5.6)."""
    vt = 2.0**R
    lam = N * snr_e
    mu = N * math.pi / 4
    sx = math.sqrt(N * (1 - math.pi**2 / 16))
    nu = 1 / (1 - 0.5 * sps.erfc(mu / sx / math.sqrt(2)))

    def f_u(x):
        t = math.sqrt(max(x, 0.0) / snr_u)
        return (1 - nu * _q_ref((t - mu) / sx, approx)) ** K if t > 0 else 0.0

    def f_e(y):
        return sum(math.comb(L, l) * (-1) ** (l + 1) * l / lam * math.exp(-l * y / lam) for l in range(1, L + 1))

    pts = set()
    for k in (-8, -4, -2, -1, -0.5, 0, 0.5, 1, 2, 4, 8):
        t = mu + k * sx
        if t > 0:
            y = (snr_u * t * t + 1) / vt - 1
            if y > 0:
                pts.add(y)
    pts |= {lam * x for x in (0.5, 2, 8, 30)}
    edges = [0.0] + sorted(pts)
    g = lambda y: f_u(vt * (1 + y) - 1) * f_e(y)
    tot = sum(integrate.quad(g, lo, hi, epsabs=0, epsrel=1e-11, limit=200)[0] for lo, hi in zip(edges[:-1], edges[1:]))
    return tot + integrate.quad(g, edges[-1], np.inf, epsabs=0, epsrel=1e-11, limit=200)[0]


def high_snr_ref(N, K, L, c, approx):
    """(5.11): sum_l C(L,l)(-1)^(l+1) E[exp(-kappa_l X_max^2)], E by scipy quad of int 2 k t F^K e^{-k t^2}."""
    mu = N * math.pi / 4
    sx = math.sqrt(N * (1 - math.pi**2 / 16))
    nu = 1 / (1 - 0.5 * sps.erfc(mu / sx / math.sqrt(2)))
    tot = 0.0
    for l in range(1, L + 1):
        k = l * c / N
        g = lambda t: 2 * k * t * (1 - nu * _q_ref((t - mu) / sx, approx)) ** K * math.exp(-k * t * t)
        edges = [0.0, max(mu - 8 * sx, 0.0), mu, mu + 8 * sx]
        v = sum(integrate.quad(g, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
                for lo, hi in zip(edges[:-1], edges[1:]))
        v += integrate.quad(g, edges[-1], np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]
        tot += math.comb(L, l) * (-1) ** (l + 1) * v
    return tot


def relay_ref(a, b, c, lam, K, L, R, direct):
    """SOP of DF relaying by quadrature of the defining probabilities (no closed form used)."""
    vt = 4.0**R

    def cdf_u(x):
        if x <= 0:
            return 0.0
        fy = lambda y: (1 - math.exp(-y / b)) ** K  # best of K relay-user links
        if direct:  # P(Y + Z < x), Z ~ Exp(c)
            p = integrate.quad(lambda z: fy(x - z) * math.exp(-z / c) / c, 0, x, epsabs=0, epsrel=1e-12)[0]
        else:
            p = fy(x)
        return 1 - math.exp(-x / a) * (1 - p)

    f_e = lambda y: L / lam * math.exp(-y / lam) * (1 - math.exp(-y / lam)) ** (L - 1)
    g = lambda y: cdf_u(vt * (1 + y) - 1) * f_e(y)
    return integrate.quad(g, 0, 40 * lam, epsabs=0, epsrel=1e-10, limit=200)[0] + \
        integrate.quad(g, 40 * lam, np.inf, epsabs=0, epsrel=1e-10)[0]


# ----------------------------------------------------------------------------- CLT building blocks
def test_clt_cdf_is_the_truncated_normal_and_q_approx_error_is_bounded():
    with jax.enable_x64(True):
        N = 16
        mu, sx = N * math.pi / 4, math.sqrt(N * (1 - math.pi**2 / 16))
        t = np.linspace(0.0, 30.0, 61)
        ref = stats.truncnorm.cdf(t, -mu / sx, np.inf, loc=mu, scale=sx)
        np.testing.assert_allclose(np.asarray(an.cdf_x(t, N)), ref, rtol=1e-9, atol=1e-15)
        x = 0.05 * t**2
        np.testing.assert_allclose(np.asarray(an.cdf_user_snr(x, 0.05, N, K=3)), ref**3, rtol=1e-9, atol=1e-15)
        # eavesdropper max law (5.5)/(5.6): pdf integrates the cdf
        y = np.linspace(0.0, 5.0, 11)
        pdf_sum = sum(math.comb(3, l) * (-1) ** (l + 1) * l / 0.7 * np.exp(-l * y / 0.7) for l in (1, 2, 3))
        np.testing.assert_allclose(np.asarray(an.pdf_eve(y, 0.7, 3)), pdf_sum, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(np.asarray(an.cdf_eve(y, 0.7, 3)), (1 - np.exp(-y / 0.7)) ** 3, rtol=1e-12)
        u = np.linspace(-6, 6, 2401)
        err = np.abs(np.asarray(an.q_approx(u)) - 0.5 * sps.erfc(u / math.sqrt(2)))
        assert 0.06 < err.max() <= 0.0625 + 1e-12  # the documented worst case, near u = 0
        assert err[np.abs(u) > 1.0].max() < 0.01
    assert an._compositions(10, 5).shape == (math.comb(14, 4), 5)
    assert (an._compositions(4, 5).sum(axis=1) == 4).all()


# ----------------------------------------------------------------------------- Theorem 1 and NI
@pytest.mark.parametrize("N,K,L,rho_db", [
    (16, 4, 2, 120.0),   # Case 2 (t0 < mu), bulk
    (16, 4, 2, 105.0),   # Case 1 (t0 >= mu)
    (16, 1, 1, 140.0),   # SE
    (64, 4, 3, 130.0),   # tail (~4e-7)
    (32, 10, 2, 125.0),  # K = 10 (alternating multinomial sums)
])
def test_theorem1_closed_form_matches_scipy(N, K, L, rho_db):
    su, se = snrs(rho_db)
    with jax.enable_x64(True):
        p = float(an.sop_ss(N, K, L, su, se, 1.0))
    ref = sop_ref(N, K, L, su, se, 1.0, approx=True)
    assert 0 < ref <= 1.0 + 1e-9
    assert p == pytest.approx(ref, rel=RTOL)


@pytest.mark.parametrize("N,K,L,rho_db", [(16, 4, 2, 120.0), (64, 4, 3, 130.0), (32, 10, 2, 125.0), (16, 1, 3, 100.0)])
def test_ni_matches_scipy_exact_q(N, K, L, rho_db):
    su, se = snrs(rho_db)
    with jax.enable_x64(True):
        p = float(an.sop_ss(N, K, L, su, se, 1.0, method="ni"))
        p_cf = float(an.sop_ss(N, K, L, su, se, 1.0))
    ref = sop_ref(N, K, L, su, se, 1.0, approx=False)
    assert p == pytest.approx(ref, rel=RTOL)
    # the trapezoidal-Q closed form is within ~1-2 % of exact-Q NI (documented in MODELS.md 5(g))
    assert abs(p_cf / p - 1) < 0.03


def test_log_domain_at_low_snr_and_os_relation():
    su, se = snrs(80.0)  # prefactor of (5.8) alone is ~e^4600 here
    with jax.enable_x64(True):
        p = float(an.sop_ss(16, 4, 3, su, se, 1.0))
        p_os = float(an.sop_os(32, 4, 2, *snrs(125.0), 1.0))
        p_os_ni = float(an.sop_os(32, 4, 2, *snrs(125.0), 1.0, method="ni"))
    assert math.isfinite(p) and p == pytest.approx(sop_ref(16, 4, 3, su, se, 1.0, approx=True), rel=RTOL)
    assert p_os == pytest.approx(sop_ref(32, 1, 2, *snrs(125.0), 1.0, approx=True) ** 4, rel=RTOL)
    assert p_os_ni == pytest.approx(sop_ref(32, 1, 2, *snrs(125.0), 1.0, approx=False) ** 4, rel=RTOL)


def test_float32_is_finite_on_the_whole_snr_range():
    for rho in (60.0, 80.0, 120.0, 160.0, 200.0):
        su, se = snrs(rho)
        for m in ("closed", "ni"):
            v = an.sop_ss(jnp.float32(16), 4, 2, jnp.float32(su), jnp.float32(se), 1.0, m)
            assert v.dtype == jnp.float32 and bool(jnp.isfinite(v)) and -1e-3 <= float(v) <= 1.001


# ----------------------------------------------------------------------------- high SNR
def test_high_snr_limits():
    c = PL_SE / (2.0 * PL_SU)
    with jax.enable_x64(True):
        for N, K, L in ((16, 4, 3), (64, 4, 3)):
            cf = float(an.sop_ss_high_snr(N, K, L, c))
            ni = float(an.sop_ss_high_snr(N, K, L, c, "ni"))
            assert cf == pytest.approx(high_snr_ref(N, K, L, c, approx=True), rel=RTOL)
            assert ni == pytest.approx(high_snr_ref(N, K, L, c, approx=False), rel=RTOL)
            # (5.11) is the rho -> infinity limit of (5.8): check at rho = 10^20
            su, se = 1e20 / PL_SU, 1e20 / PL_SE
            assert float(an.sop_ss(N, K, L, su, se, 1.0)) == pytest.approx(cf, rel=1e-6)
            assert float(an.sop_ss(N, K, L, su, se, 1.0, "ni")) == pytest.approx(ni, rel=1e-6)
            # OS saturation = (single-user saturation)^K
            assert float(an.sop_os_high_snr(N, K, L, c)) == pytest.approx(high_snr_ref(N, 1, L, c, True) ** K, rel=RTOL)
        # (5.12): untruncated Gaussian closed form == exact-Q (5.11) for K = 1 (truncation ~1e-7 here)
        for N, L in ((16, 3), (64, 3)):
            g = float(an.sop_single_high_snr(N, L, c))
            assert g == pytest.approx(float(an.sop_ss_high_snr(N, 1, L, c, "ni")), rel=1e-5)
            mu, s2 = N * math.pi / 4, N * (1 - math.pi**2 / 16)
            ref = sum(math.comb(L, l) * (-1) ** (l + 1) * integrate.quad(
                lambda x: math.exp(-l * c / N * x * x) * stats.norm.pdf(x, mu, math.sqrt(s2)), -np.inf, np.inf,
                epsabs=0, epsrel=1e-12)[0] for l in range(1, L + 1))
            assert g == pytest.approx(ref, rel=RTOL)
        # dominant-term form ~ L (1+2cq)^(-1/2) zeta^N, decays geometrically in N
        d16, d64 = (float(an.sop_single_high_snr_dominant(n, 1, c)) for n in (16, 64))
        assert d64 / d16 == pytest.approx(float(an.zeta(c)) ** 48, rel=1e-9)
        assert float(an.sop_single_high_snr(64, 1, c)) == pytest.approx(d64, rel=1e-9)
        # saturation decreases with N and K, grows ~linearly with L (Remarks 2, 3, 5)
        sat = lambda n, k: float(an.sop_ss_high_snr(n, k, 3, c, "ni"))
        assert sat(32, 4) < sat(16, 4) and sat(16, 8) < sat(16, 4)
        one = lambda l: float(an.sop_single_high_snr(64, l, c))
        assert one(2) / one(1) == pytest.approx(2.0, rel=0.01) and one(3) / one(1) == pytest.approx(3.0, rel=0.02)


# ----------------------------------------------------------------------------- DF relay
@pytest.mark.parametrize("a,b,c,lam,K,L", [
    (4900.0, 290.0, 247.0, 219.0, 4, 2),   # default geometry, 2.4 GHz, rho = 100 dB
    (40.0, 2.1, 1.8, 1.6, 3, 1),
    (500.0, 60.0, 20.0, 30.0, 3, 3),       # degenerate k c = b for k = 3
])
def test_relay_closed_forms_match_scipy(a, b, c, lam, K, L):
    with jax.enable_x64(True):
        dl = float(an.sop_relay_dl(a, b, c, lam, K, L, 1.0))
        ndl = float(an.sop_relay_ndl(a, b, lam, K, L, 1.0))
        x = np.linspace(0.0, 5 * a, 7)
        cdf = np.asarray(an.relay_cdf_dl(x, a, b, c, K))
    assert dl == pytest.approx(relay_ref(a, b, c, lam, K, L, 1.0, True), rel=RTOL)
    assert ndl == pytest.approx(relay_ref(a, b, c, lam, K, L, 1.0, False), rel=RTOL)
    assert dl < ndl  # the direct link helps
    assert np.all(np.diff(cdf) >= -1e-12) and cdf[0] == pytest.approx(0.0, abs=1e-12)


# ----------------------------------------------------------------------------- differentiability
def test_gradients_are_finite_and_match_finite_differences():
    """Theorem 1 (closed form) is differentiable in the continuous N and, through the geometry (in JAX), in
    the RIS and eavesdropper positions; the saturation level (5.11) (NI) and (5.12) in x_R and x_E through c
    (MODELS.md 6 "004"); all against central differences in float64. c, hence the saturation level, does not
    depend on the frequency (Remark 1); the relay closed form is differentiable in its mean SNRs."""
    from irsjax.systems.scheduling import SchedulingGeometry

    def check(fn, x0, steps, rel):
        vg = jax.jit(jax.value_and_grad(fn, argnums=tuple(range(len(x0)))))
        grads = [float(g) for g in vg(*x0)[1]]
        for i, (g, h) in enumerate(zip(grads, steps)):
            up, dn = list(x0), list(x0)
            up[i] += h
            dn[i] -= h
            fd = (float(vg(*up)[0]) - float(vg(*dn)[0])) / (2 * h)
            assert math.isfinite(g) and g == pytest.approx(fd, rel=rel), (i, g, fd)
        return grads

    with jax.enable_x64(True):
        def theorem1(n, x_r, x_e):
            su, se = SchedulingGeometry(x_R=x_r, x_E=x_e).cascade_snr(125.0)
            return an.sop_ss(n, 4, 2, su, se, 1.0)

        gn, _, ge = check(theorem1, (32.0, 10.0, 40.0), (1e-4, 1e-4, 1e-4), 1e-5)
        assert gn < 0 and ge < 0  # more elements, eavesdroppers further away: lower SOP
        c_of = lambda x_r, x_e, f=2.4: SchedulingGeometry(x_R=x_r, x_E=x_e, f_GHz=f).high_snr_c(1.0)
        for form in (lambda c: an.sop_ss_high_snr(16, 4, 2, c, "ni"), lambda c: an.sop_single_high_snr(16, 2, c)):
            _, ge = check(lambda x_r, x_e, form=form: form(c_of(x_r, x_e)), (10.0, 40.0), (1e-4, 1e-4), 1e-6)
            assert ge < 0
        assert abs(float(jax.grad(c_of, argnums=2)(10.0, 40.0, 2.4))) < 1e-12 * float(c_of(10.0, 40.0))
        gr = jax.grad(lambda a: an.sop_relay_dl(a, 290.0, 247.0, 219.0, 4, 2, 1.0))(4900.0)
        assert math.isfinite(float(gr)) and float(gr) < 0


def test_critical_elements_bisection():
    with jax.enable_x64(True):
        su, se = snrs(100.0)
        target = float(an.sop_ss(40.0, 4, 2, su, se, 1.0))
        n_c, n_i = an.critical_elements_vs(target, 4, 2, su, se, 1.0)
        assert n_c == pytest.approx(40.0, rel=1e-6) and n_i == 40
        n_c2, _ = an.critical_elements_vs(target, 4, 2, su, se, 1.0, scheme="OS")
        assert n_c2 < n_c  # OS reaches any SOP with fewer elements


def test_log_conditional_outage_gradient_is_finite_deep_in_the_tail():
    """Regression: for L >= 2 and ln p in about (-20, -16) (float32), ``(1 - p)^L`` rounds to 1 and the
    unselected branch of ln(1 - e^x) had an infinite derivative, so the gradient was NaN (102 of 20001 grid
    points at L = 2); a NaN in one realisation poisons a Monte Carlo gradient."""
    from irsjax.systems.scheduling import log_conditional_outage
    snr = jnp.asarray(np.logspace(-3, 4, 20001), jnp.float32)
    for L in (2, 3, 8):
        for lam in (0.1, 1.0, 30.0):
            val = jax.vmap(lambda s: log_conditional_outage(s, lam, 2.0, L))(snr)
            grad = jax.vmap(jax.grad(lambda s: log_conditional_outage(s, lam, 2.0, L)))(snr)
            assert bool(jnp.all(jnp.isfinite(val))) and bool(jnp.all(jnp.isfinite(grad))), (L, lam)
            assert bool(jnp.all(grad <= 0.0))  # a stronger user never raises the outage

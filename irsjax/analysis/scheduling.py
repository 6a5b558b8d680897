"""Closed forms of opportunistic RIS user scheduling (MODELS.md section 5).

Secrecy outage probability (SOP) of the suboptimal (SS) and optimal (OS)
scheduling schemes, their single-user cases (SE, ME), the high-SNR saturation
levels and the DF-relay baselines. Everything is plain JAX (jit/grad/vmap,
float64 when x64 is on); the integer sizes ``K`` (users), ``L`` (eavesdroppers)
and the number of Q-approximation terms are static Python ints, the number of
RIS elements ``N`` may be a traced (continuous) value.

Parametrisation. ``snr_u = rho / PL_SU`` and ``snr_e = rho / PL_SE`` are the
*per-element* mean cascade SNRs (transmit SNR over the RIS path loss (0.1)), so
that ``gamma_k = snr_u X_k^2`` (5.3) and ``lambda_E = N snr_e`` (5.5). The SOP
only depends on ``t0 = sqrt((v-1)/snr_u)`` and ``kappa_1 = snr_u/(v N snr_e)``
(``v = 2^R_th``), which is how the functions below are organised.

>>> import jax
>>> from irsjax.analysis import scheduling as sch
>>> with jax.enable_x64(True):
...     p_cf = float(sch.sop_ss(16, 4, 2, 0.05, 0.07, 1.0))
...     p_ni = float(sch.sop_ss(16, 4, 2, 0.05, 0.07, 1.0, method="ni"))
>>> 0 < p_cf < 1, abs(p_cf - p_ni) / p_ni < 0.02
(True, True)
"""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import jax
import jax.numpy as jnp
from jax.scipy.special import erfcx, log_ndtr, ndtr

PI2_16 = math.pi**2 / 16.0
Q_CLT = 1.0 - PI2_16  # variance of |h||g| for CN(0,1) h, g


# --------------------------------------------------------------------------- CLT model (5.3)-(5.6)
def clt_params(N):
    """``(mu, sigma_X, nu)`` of the truncated-normal law of ``X = sum_n |h_n||g_n|``:
    ``mu = N pi/4``, ``sigma_X^2 = N (1 - pi^2/16)``, ``nu = 1/(1 - Q(mu/sigma_X))``."""
    N = jnp.asarray(N, dtype=jnp.result_type(float))
    mu = N * jnp.pi / 4.0
    sigma = jnp.sqrt(N * Q_CLT)
    nu = 1.0 / ndtr(mu / sigma)
    return mu, sigma, nu


def cdf_x(t, N):
    """Truncated-normal CDF ``F_X(t) = 1 - nu Q((t-mu)/sigma_X)`` for ``t >= 0`` (0 below),
    evaluated as ``nu (Phi((t-mu)/sigma) - Phi(-mu/sigma))`` (no cancellation in the lower tail)."""
    mu, sigma, nu = clt_params(N)
    t = jnp.asarray(t)
    val = nu * (ndtr((t - mu) / sigma) - ndtr(-mu / sigma))
    return jnp.where(t > 0, jnp.clip(val, 0.0, 1.0), 0.0)


def cdf_user_snr(x, snr_u, N, K=1):
    """CDF (5.4) of one user's SNR ``snr_u X^2`` raised to ``K`` (best of ``K`` users, SS)."""
    x = jnp.asarray(x)
    t = jnp.sqrt(jnp.maximum(x, 0.0) / snr_u)
    return cdf_x(t, N) ** K


def cdf_eve(y, lam_e, L):
    """CDF (5.5) of the strongest of ``L`` i.i.d. ``Exp(lam_e)`` eavesdropper SNRs."""
    y = jnp.maximum(jnp.asarray(y), 0.0)
    return (-jnp.expm1(-y / lam_e)) ** L


def pdf_eve(y, lam_e, L):
    """PDF (5.6): ``sum_l C(L,l) (-1)^(l+1) (l/lam_e) e^(-l y/lam_e)`` (evaluated as
    ``(L/lam) e^(-y/lam) (1-e^(-y/lam))^(L-1)``, the same function without cancellation)."""
    y = jnp.maximum(jnp.asarray(y), 0.0)
    return L / lam_e * jnp.exp(-y / lam_e) * (-jnp.expm1(-y / lam_e)) ** (L - 1)


# --------------------------------------------------------------------------- Q approximation (Theorem 1)
def q_approx_coeffs(n=4):
    """Coefficients ``(a_i, b_i)`` of ``Q(u) ~ sum_i a_i exp(-b_i u^2)`` (``u >= 0``): trapezoidal
    rule with ``n`` panels on Craig's formula, ``a_1 = 1/(4n), b_1 = 1/2``,
    ``a_i = 1/(2n), b_i = 1/(2 sin^2((i-1) pi/(2n)))`` (numpy float64, static)."""
    n = int(n)
    if n < 1:
        raise ValueError(f"number of Q-approximation terms must be >= 1, got {n}")
    a = np.full(n, 1.0 / (2 * n))
    b = np.empty(n)
    a[0] = 1.0 / (4 * n)
    b[0] = 0.5
    i = np.arange(2, n + 1)
    b[1:] = 1.0 / (2.0 * np.sin((i - 1) * np.pi / (2 * n)) ** 2)
    return a, b


def q_approx(u, n=4):
    """Q-function approximation used by Theorem 1: ``sum a_i e^{-b_i u^2}`` for ``u >= 0`` and
    ``1 - sum a_i e^{-b_i u^2}`` for ``u < 0``.

    >>> round(float(q_approx(0.0)), 4), round(float(q_approx(3.0)), 5)
    (0.4375, 0.00135)
    """
    a, b = q_approx_coeffs(n)
    u = jnp.asarray(u)
    lead = (1,) * u.ndim
    a = jnp.asarray(a, u.dtype).reshape(lead + (-1,))
    b = jnp.asarray(b, u.dtype).reshape(lead + (-1,))
    s = jnp.sum(a * jnp.exp(-b * u[..., None] ** 2), axis=-1)
    return jnp.where(u >= 0, s, 1.0 - s)


def _compositions(K, parts):
    """All integer vectors ``(k_0, ..., k_{parts-1}) >= 0`` summing to ``K`` (numpy, static)."""
    rows = []
    for bars in itertools.combinations(range(K + parts - 1), parts - 1):
        prev, row = -1, []
        for b in bars:
            row.append(b - prev - 1)
            prev = b
        row.append(K + parts - 1 - prev - 1)
        rows.append(row)
    return np.asarray(rows, dtype=np.int64)


def _log_tail(A, m, ta, x_ta, x_far):
    """``log[e^S int_ta^inf t exp(-A (t-m)^2) dt]`` for ``m >= 0``, where the caller's offset
    ``S`` enters through ``x_ta = S - A (ta-m)^2`` and ``x_far = S`` (both given in a
    cancellation-free form), so that huge ``S`` and ``A (ta-m)^2`` never meet in float32.
    Uses ``Q(z) = erfcx(z/sqrt2) e^{-z^2/2}/2`` for ``z >= 0``."""
    r = ta - m
    first = x_ta - jnp.log(2.0 * A)
    z = jnp.sqrt(2.0 * A) * r
    pos = m > 0
    m_safe = jnp.where(pos, m, 1.0)
    zp = jnp.maximum(z, 0.0)
    log_q = jnp.where(z >= 0, jnp.log(0.5 * erfcx(zp / jnp.sqrt(2.0))) + x_ta,
                      log_ndtr(-jnp.minimum(z, 0.0)) + x_far)
    second = jnp.log(m_safe) + 0.5 * jnp.log(jnp.pi / A) + log_q
    second = jnp.where(pos, second, -jnp.inf)
    return jnp.logaddexp(first, second)


def _log_diff(x, y):
    """``log(e^x - e^y)`` for ``x >= y`` (``-inf`` when equal)."""
    d = jnp.minimum(y - x, 0.0)
    safe = jnp.where(d < 0, d, -1.0)
    return jnp.where(d < 0, x + jnp.log(-jnp.expm1(safe)), -jnp.inf)


def _signed_sum(logs, signs):
    """``sum signs * exp(logs)`` evaluated around the largest term (signed log-sum-exp)."""
    logs = jnp.ravel(logs)
    signs = jnp.ravel(signs)
    finite = jnp.isfinite(logs)
    mx = jnp.max(jnp.where(finite, logs, -jnp.inf))
    mx = jnp.where(jnp.isfinite(mx), mx, 0.0)
    mx = jax.lax.stop_gradient(mx)
    terms = jnp.where(finite, signs * jnp.exp(jnp.where(finite, logs, mx) - mx), 0.0)
    return jnp.sum(terms) * jnp.exp(mx)


def _log_binom(n, k):
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def sop_t_closed_form(t0, kappa1, N, K, L, n_q=4):
    """Theorem 1 ((5.8) with the Q approximation, integrated in closed form by (5.9)).

    ``P = sum_l C(L,l)(-1)^(l+1) 2 kappa_l e^(kappa_l t0^2) int_t0^inf t F_X(t)^K e^(-kappa_l t^2) dt``,
    ``kappa_l = l kappa1``; ``F_X^K`` expanded by the multinomial theorem on ``[t0, mu)`` (Case 2)
    and ``[max(t0, mu), inf)`` (Case 1). All terms are combined in the log domain.
    """
    K, L = int(K), int(L)
    dt = jnp.result_type(float)
    t0 = jnp.asarray(t0, dt)
    kappa1 = jnp.asarray(kappa1, dt)
    mu, sigma, nu = clt_params(N)
    s2 = sigma * sigma
    a, b = q_approx_coeffs(n_q)
    comp = _compositions(K, n_q + 1)  # (M, I+1)
    k0 = comp[:, 0]
    ki = comp[:, 1:]
    log_multi = jnp.asarray([math.lgamma(K + 1) - sum(math.lgamma(x + 1) for x in row) for row in comp], dt)
    beta = jnp.asarray(ki @ b, dt)  # (M,)
    sum_ki = ki.sum(axis=1)
    n_ki = jnp.asarray(sum_ki, dt)
    log_ai = jnp.asarray(ki @ np.log(a), dt)  # sum k_i log a_i
    log_nu = jnp.log(nu)
    # |1 - nu| = Q(mu/s) / (1 - Q(mu/s)), in logs
    log_one_minus_nu = log_ndtr(-mu / sigma) - log_ndtr(mu / sigma)
    # Case-1 (upper, u >= 0) coefficients: M prod(-nu a_i)^k_i
    log_c_up = log_multi + log_ai + n_ki * log_nu
    sign_up = jnp.asarray(np.where(sum_ki % 2 == 0, 1.0, -1.0), dt)
    # Case-2 (lower, u < 0) coefficients: M (1-nu)^k0 prod(nu a_i)^k_i ; (1 - nu) < 0
    log_c_lo = log_multi + log_ai + n_ki * log_nu + jnp.asarray(k0, dt) * log_one_minus_nu
    sign_lo = jnp.asarray(np.where(k0 % 2 == 0, 1.0, -1.0), dt)
    t_up = jnp.maximum(t0, mu)
    ls = np.arange(1, L + 1)
    kap = jnp.asarray(ls, dt)[:, None] * kappa1  # (L, 1)
    A = beta[None, :] / s2 + kap  # (L, M)
    m = beta[None, :] * mu / (s2 * A)
    e0 = -kap * beta[None, :] * mu * mu / (s2 * A)  # C + B^2/(4A)
    log_binom = jnp.asarray([_log_binom(L, l) for l in ls], dt)[:, None]
    sgn_l = jnp.asarray(np.where(ls % 2 == 1, 1.0, -1.0), dt)[:, None]
    pre = log_binom + jnp.log(2.0 * kap)  # (L, M)
    ta = jnp.stack([t_up, t0])[:, None, None]  # (2, 1, 1)
    # offset S = kappa t0^2 + C + B^2/(4A); S - A (ta-m)^2 = -kappa (ta^2 - t0^2) - beta (ta-mu)^2/s2
    x_ta = -kap[None] * (ta - t0) * (ta + t0) - beta[None, None, :] * (ta - mu) ** 2 / s2
    x_far = kap * t0 * t0 + e0
    lt = _log_tail(A[None], m[None], ta, x_ta, x_far[None])  # (2, L, M)
    lt_up = lt[0]
    lt_lo = jnp.where(t0 < mu, _log_diff(lt[1], lt_up), -jnp.inf)  # int over [t0, mu) (Case 2 only)
    logs = jnp.stack([pre + log_c_up[None, :] + lt_up, pre + log_c_lo[None, :] + lt_lo])
    signs = jnp.stack([sgn_l * sign_up[None, :], sgn_l * sign_lo[None, :]])
    return _signed_sum(logs, signs)


def _panel_nodes(order):
    x, w = np.polynomial.legendre.leggauss(int(order))
    return x, w


def sop_t_ni(t0, kappa1, N, K, L, panels=24, order=32):
    """Numerical integration (NI) of (5.8) with the exact Q function.

    Per ``l`` the substitution ``s = kappa_l (t^2 - t0^2)`` gives
    ``int_0^inf F_X(sqrt(t0^2 + s/kappa_l))^K e^(-s) ds`` (prefactor absorbed exactly);
    composite Gauss-Legendre on ``t``-panels between ``t0`` and ``mu +- 8 sigma_X`` and a mapped
    semi-infinite tail.
    """
    K, L = int(K), int(L)
    dt = jnp.result_type(float)
    t0 = jnp.asarray(t0, dt)
    kappa1 = jnp.asarray(kappa1, dt)
    mu, sigma, _ = clt_params(N)
    xn, wn = _panel_nodes(order)
    x = jnp.asarray(xn, dt)
    w = jnp.asarray(wn, dt)
    # t breakpoints: t0 .. mu-8s (coarse), mu-8s .. mu+8s (fine), then the tail
    lo = jnp.maximum(mu - 8 * sigma, t0)
    hi = jnp.maximum(mu + 8 * sigma, t0)
    fr = jnp.linspace(0.0, 1.0, panels + 1, dtype=dt)
    # geometric-ish grid towards lo for the left region (integrand rises steeply near lo)
    left = t0 + (lo - t0) * fr**0.5
    mid = lo + (hi - lo) * fr
    tb = jnp.concatenate([left, mid[1:]])  # increasing t breakpoints
    ls = np.arange(1, L + 1)
    kap = jnp.asarray(ls, dt)[:, None] * kappa1  # (L, 1)
    sb = kap * ((tb - t0) * (tb + t0))[None, :]  # (L, P+1) s breakpoints
    a_ = sb[:, :-1, None]
    b_ = sb[:, 1:, None]
    s_body = 0.5 * (b_ - a_) * x[None, None, :] + 0.5 * (b_ + a_)  # (L, P, n)
    w_body = 0.5 * (b_ - a_) * w[None, None, :]
    # tail [s_hi, inf): s = s_hi + u/(1-u), 8 panels in u
    edges = 0.5 * (1 - np.cos(np.linspace(0.0, np.pi, 9)))
    ua, ub = edges[:-1, None], edges[1:, None]
    u = 0.5 * (ub - ua) * xn + 0.5 * (ub + ua)
    wu = 0.5 * (ub - ua) * wn / (1 - u) ** 2
    s_tail = sb[:, -1:, None] + jnp.asarray(u / (1 - u), dt)[None]  # (L, 8, n)
    s_all = jnp.concatenate([s_body, s_tail], axis=1)
    w_all = jnp.concatenate([w_body, jnp.broadcast_to(jnp.asarray(wu, dt)[None], s_tail.shape)], axis=1)
    t2 = t0 * t0 + s_all / kap[..., None]
    # the left panels are empty (t = 0, weight 0) when t0 >= mu - 8 sigma_X, e.g. t0 = 0 at saturation: keep the
    # derivative of the square root finite there
    t = jnp.where(t2 > 0, jnp.sqrt(jnp.where(t2 > 0, t2, 1.0)), 0.0)
    per_l = jnp.sum(w_all * cdf_x(t, N) ** K * jnp.exp(-s_all), axis=(1, 2))  # (L,)
    coef = jnp.asarray([(1.0 if l % 2 == 1 else -1.0) * math.comb(L, l) for l in ls], dt)
    return jnp.sum(coef * per_l)


# --------------------------------------------------------------------------- public SOP functions
def _t0_kappa(N, snr_u, snr_e, R_th):
    vt = 2.0 ** jnp.asarray(R_th, jnp.result_type(float))
    snr_u = jnp.asarray(snr_u, jnp.result_type(float))
    t0 = jnp.sqrt((vt - 1.0) / snr_u)
    kappa1 = snr_u / (vt * jnp.asarray(N, snr_u.dtype) * jnp.asarray(snr_e, snr_u.dtype))
    return t0, kappa1


@functools.partial(jax.jit, static_argnames=("K", "L", "method", "n_q"))
def sop_ss(N, K, L, snr_u, snr_e, R_th, method="closed", n_q=4):
    """SOP of suboptimal scheduling (best legitimate SNR), Theorem 1.

    ``method="closed"``: closed form (5.8)-(5.9) with the ``n_q``-term Q approximation;
    ``method="ni"``: numerical integration of (5.8) with the exact Q function.
    ``K = 1`` gives the single-user cases (SE: ``L = 1``; ME: ``L > 1``).
    """
    t0, k1 = _t0_kappa(N, snr_u, snr_e, R_th)
    return _sop_t(t0, k1, N, K, L, method, n_q)


def _sop_t(t0, k1, N, K, L, method, n_q):
    """(5.8) by ``method``: ``"closed"`` (5.9) or ``"ni"`` (exact-Q quadrature)."""
    if method == "closed":
        return sop_t_closed_form(t0, k1, N, K, L, n_q)
    if method == "ni":
        return sop_t_ni(t0, k1, N, K, L)
    raise ValueError(f"method must be 'closed' or 'ni', got {method!r}")


@functools.partial(jax.jit, static_argnames=("K", "L", "method", "n_q"))
def sop_os(N, K, L, snr_u, snr_e, R_th, method="closed", n_q=4):
    """SOP of optimal scheduling (5.10): ``[P_SS(K=1)]^K`` (independent users)."""
    return sop_ss(N, 1, L, snr_u, snr_e, R_th, method, n_q) ** int(K)


def high_snr_c(pl_su, pl_se, R_th):
    """``c = PL_SE / (v PL_SU)`` (so ``kappa_l = l c / N``), the only geometry in the saturation level
    (differentiable in the path losses, hence in the positions: see
    :meth:`irsjax.systems.scheduling.SchedulingGeometry.high_snr_c`)."""
    dt = jnp.result_type(float)
    return jnp.asarray(pl_se, dt) / (jnp.exp2(jnp.asarray(R_th, dt)) * jnp.asarray(pl_su, dt))


@functools.partial(jax.jit, static_argnames=("K", "L", "method", "n_q"))
def sop_ss_high_snr(N, K, L, c, method="closed", n_q=4):
    """High-SNR saturation (5.11): ``sum_l C(L,l)(-1)^(l+1) E[exp(-kappa_l X_max^2)]``,
    ``kappa_l = l c/N``, i.e. (5.8) at ``t0 = 0`` with prefactor 1 (independent of rho)."""
    dt = jnp.result_type(float)
    t0 = jnp.zeros((), dt)
    k1 = jnp.asarray(c, dt) / jnp.asarray(N, dt)
    return _sop_t(t0, k1, N, K, L, method, n_q)


@functools.partial(jax.jit, static_argnames=("K", "L", "method", "n_q"))
def sop_os_high_snr(N, K, L, c, method="closed", n_q=4):
    """OS saturation level ``[P^inf_SS(K=1)]^K``."""
    return sop_ss_high_snr(N, 1, L, c, method, n_q) ** int(K)


@functools.partial(jax.jit, static_argnames=("L",))
def sop_single_high_snr(N, L, c):
    """Single-user saturation (5.12) with the untruncated Gaussian (``nu ~ 1``), all ``l`` terms:
    ``sum_l C(L,l) (-1)^(l+1) (1+2lcq)^(-1/2) exp(-N (pi^2/16) l c/(1+2lcq))``."""
    dt = jnp.result_type(float)
    c = jnp.asarray(c, dt)
    N = jnp.asarray(N, dt)
    tot = 0.0
    for l in range(1, int(L) + 1):
        d = 1.0 + 2.0 * l * c * Q_CLT
        sgn = 1.0 if l % 2 == 1 else -1.0
        tot = tot + sgn * math.comb(int(L), l) * jnp.exp(-N * PI2_16 * l * c / d) / jnp.sqrt(d)
    return tot


def zeta(c):
    """Per-element decay factor ``zeta = exp(-(pi^2/16) c/(1+2cq))`` of (5.12)."""
    c = jnp.asarray(c)
    return jnp.exp(-PI2_16 * c / (1.0 + 2.0 * c * Q_CLT))


def sop_single_high_snr_dominant(N, L, c):
    """Dominant-term form of (5.12): ``L (1+2cq)^(-1/2) zeta^N`` (OS: raise to ``K``)."""
    dt = jnp.result_type(float)
    c = jnp.asarray(c, dt)
    return L / jnp.sqrt(1.0 + 2.0 * c * Q_CLT) * zeta(c) ** jnp.asarray(N, dt)


# --------------------------------------------------------------------------- DF relay (5.13)-(5.14)
def _relay_terms_dl(a, b, c, K, tol=1e-9):
    """Exponential terms of (5.13) (weights, rates) and the degenerate (k c = b) polynomial terms."""
    K = int(K)
    s_c = 1.0 / a + 1.0 / c
    ws, ss, deg_w = [], [], []
    w_c = 1.0
    for k in range(1, K + 1):
        den = 1.0 - k * c / b
        deg = jnp.abs(den) < tol
        den_safe = jnp.where(deg, 1.0, den)
        om = math.comb(K, k) * (-1.0) ** k / den_safe
        om = jnp.where(deg, 0.0, om)
        # F = 1 - [ (1 + sum om) e^{-s_c x} - sum om e^{-s_k x} ] + sum_deg C(K,k)(-1)^k (x/c) e^{-s_c x}
        w_c = w_c + om
        ws.append(-om)
        ss.append(1.0 / a + k / b)
        deg_w.append(jnp.where(deg, math.comb(K, k) * (-1.0) ** k / c, 0.0))
    return [w_c] + ws, [s_c] + ss, sum(deg_w) if deg_w else 0.0


def relay_cdf_dl(x, a, b, c, K):
    """CDF (5.13) of ``min(g_SR, max_k g_RUk + g_SU)`` (DF relay with direct link, MRC)."""
    x = jnp.asarray(x)
    ws, ss, dw = _relay_terms_dl(a, b, c, K)
    val = 1.0
    for w, s in zip(ws, ss):
        val = val - w * jnp.exp(-s * x)
    return val + dw * x * jnp.exp(-(1.0 / a + 1.0 / c) * x)


def relay_cdf_ndl(x, a, b, K):
    """CDF (5.13') of ``min(g_SR, max_k g_RUk)`` (DF relay, no direct link)."""
    x = jnp.asarray(x)
    return 1.0 - jnp.exp(-x / a) * (1.0 - (-jnp.expm1(-x / b)) ** int(K))


def _relay_sop(ws, ss, dw, s_c, lam_r, L, R_th):
    vt = jnp.exp2(2.0 * jnp.asarray(R_th, jnp.result_type(float)))  # two slots: C_s = {.}^+/2
    L = int(L)
    acc = 0.0
    for l in range(1, L + 1):
        g = l / lam_r
        inner = 0.0
        for w, s in zip(ws, ss):
            inner = inner + w * jnp.exp(-s * (vt - 1.0)) / (s * vt + g)
        # degenerate polynomial term: int (x/c) e^{-s_c x} f_E, x = v(1+y)-1 (enters F with + sign)
        D = s_c * vt + g
        inner = inner - dw * jnp.exp(-s_c * (vt - 1.0)) * ((vt - 1.0) / D + vt / D**2)
        sgn = 1.0 if l % 2 == 1 else -1.0
        acc = acc + sgn * math.comb(L, l) * g * inner
    return 1.0 - acc


@functools.partial(jax.jit, static_argnames=("K", "L"))
def sop_relay_dl(a, b, c, lam_r, K, L, R_th):
    """SOP (5.14) of DF relaying with direct link (MRC), best relay-user link scheduling.

    ``a, b, c, lam_r`` = mean SNRs of S-R, R-U, S-U (direct) and R-E links; threshold ``2^(2 R_th)``.
    """
    ws, ss, dw = _relay_terms_dl(a, b, c, K)
    return _relay_sop(ws, ss, dw, 1.0 / a + 1.0 / c, lam_r, L, R_th)


@functools.partial(jax.jit, static_argnames=("K", "L"))
def sop_relay_ndl(a, b, lam_r, K, L, R_th):
    """SOP (5.14) of DF relaying without direct link (CDF (5.13'))."""
    K = int(K)
    ws = [math.comb(K, k) * (-1.0) ** (k + 1) for k in range(1, K + 1)]
    ss = [1.0 / a + k / b for k in range(1, K + 1)]
    return _relay_sop(ws, ss, 0.0, 1.0 / a, lam_r, L, R_th)


# --------------------------------------------------------------------------- critical N
def critical_elements(sop_of_n, target, n_lo=1.0, n_hi=1e6, iters=56):
    """Smallest continuous ``N`` with ``sop_of_n(N) <= target`` by bisection in ``log N``
    (``sop_of_n`` decreasing); returns ``(N_cont, N_int)`` where ``N_int`` is the smallest integer
    confirmed by direct evaluation (``inf`` if not reached below ``n_hi``).

    >>> n, ni = critical_elements(lambda n: 1.0 / n, 0.01)
    >>> round(n, 6), ni
    (100.0, 100)
    """
    f = lambda n: float(sop_of_n(n)) - float(target)
    if f(n_hi) > 0:
        return math.inf, math.inf
    if f(n_lo) <= 0:
        return n_lo, int(math.ceil(n_lo))
    lo, hi = math.log(n_lo), math.log(n_hi)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if f(math.exp(mid)) > 0:
            lo = mid
        else:
            hi = mid
    n_c = math.exp(hi)
    n_int = max(int(math.ceil(n_c - 1e-9)), 1)
    while n_int > 1 and f(n_int - 1) <= 0:
        n_int -= 1
    while f(n_int) > 0:
        n_int += 1
    return n_c, n_int


def critical_elements_vs(target, K, L, snr_u, snr_e, R_th, scheme="SS", method="closed", n_q=4, n_hi=1e7):
    """Critical number of RIS elements ``N*`` at which the analytical SOP of ``scheme`` ("SS" or
    "OS") drops to ``target`` (e.g. a DF-relay SOP): ``(N_cont, N_int)`` as in
    :func:`critical_elements` ."""
    f = sop_ss if scheme == "SS" else sop_os
    K, L, n_q = int(K), int(L), int(n_q)
    return critical_elements(lambda n: f(n, K, L, snr_u, snr_e, R_th, method, n_q), target, n_hi=n_hi)

"""Theorem 1 of Lv et al. (MODELS.md section 1(g)): closed-form ASR lower bound, in JAX.

All functions are pure ``jax.numpy`` (jit, vmap, float32 or float64 following
the inputs / ``jax_enable_x64``); quadrature nodes depend only on the static
``K, N, M`` and are built with numpy at trace time. Quantities in nats unless a
name says bits.

* Lemma 1: ``sqrt(zeta_n) ~ Gamma(K mu, nu)``; best of ``N``: ``F*(x) = P(K mu, sqrt(x)/nu)^N``.
* ``Q_M(rho) = E ln(1 + rho zeta*)``, eq. (1.9): :func:`q_m_reference` (Gauss-Legendre
  panels in ``ln sqrt(zeta)`` over the bulk of ``zeta*``, Stieltjes form
  ``int ln(1+rho x) dF*(x)``, identical to (1.9) by parts) and :func:`q_m_paper`
  (the paper's Gauss-Chebyshev rule with ``x = tan y`` and ``M`` nodes).
* Eve (CLT): ``U = rho0 |phi|^2 ~ Exp(a)``, ``V = rho0 |psi|^2 ~ Exp(b)``;
  ``G(m) = E ln(1 + Exp(m)) = e^{1/m} E1(1/m)``; ``Q_E1`` (1.11), ``J1`` (1.12),
  ``J2`` (1.13), all with stable branches for ``a ~ b`` and large arguments.

>>> import jax.numpy as jnp
>>> from irsjax.analysis import two_way as A
>>> round(float(A.q_e1(2.0, 2.0)), 6) == round(float(1 - A.expected_log1p_exp(2.0) / 2.0), 6)
True
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import jax
import jax.numpy as jnp
from jax.scipy import special as jsp
from scipy import special as _scipy_special

from irsjax.units import LN2  # noqa: F401 (the one definition; re-exported for existing imports)
from irsjax.special import exp_e1, exp_e1_pair, expected_log1p_exp, one_minus_z_exp_e1  # noqa: F401 (re-exported)

MU = math.pi ** 2 / (16 - math.pi ** 2)
"""Lemma 1 shape per element: ``|h||g| ~ Gamma(mu, nu)`` (moment match)."""
NU = (16 - math.pi ** 2) / (4 * math.pi)
"""Lemma 1 scale."""

TAIL = 40.0  # neglected probability mass exp(-TAIL) at each end of zeta*'s bulk


def _float(x):
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jax.dtypes.canonicalize_dtype(jnp.float64))


_GL6 = np.polynomial.legendre.leggauss(6)


def _lead(v, ndim):
    """A 1-D array of quadrature nodes/weights shaped ``(1,) * ndim + (n,)`` to broadcast against
    parameters of any shape (explicitly: the suite runs with rank promotion disabled)."""
    return v.reshape((1,) * ndim + v.shape)


def _evaluate(*terms):
    """Finish each ``(z, finish)`` term from ``e = e^z E1(z)`` and ``om = 1 - z e^z E1(z)`` at its nodes ``z``
    (trailing axis), all evaluated by one :func:`exp_e1_pair` call on the concatenated nodes: its unrolled series
    and continued fraction then appear once in a compiled program instead of once per term (the Theorem 1 bound
    over topologies compiles about 0.7 s faster), with the same operations on every node, so the same numbers."""
    lead = jnp.broadcast_shapes(*(z.shape[:-1] for z, _ in terms))
    z = jnp.concatenate([jnp.broadcast_to(z, lead + z.shape[-1:]) for z, _ in terms], axis=-1)
    e, om = exp_e1_pair(z)
    out, i = [], 0
    for zt, finish in terms:
        n = zt.shape[-1]
        out.append(finish(e[..., i:i + n], om[..., i:i + n]))
        i += n
    return out


def _divided_difference_nodes(a, b, rel=0.05):
    """Nodes ``m`` (trailing axis: ``a``, ``b``, then 6 Gauss-Legendre points of [b, a]) of the divided
    differences ``(f(a) - f(b)) / (a - b)`` of :func:`_divided_difference`, and ``(close, den)``: where
    ``|a - b| <= rel max(a, b)`` the difference is the exact mean of ``f'`` on [b, a] (no cancellation; exact
    limit ``f'(a)`` at ``a = b``)."""
    a, b = jnp.broadcast_arrays(_float(a), _float(b))
    close = jnp.abs(a - b) <= rel * jnp.maximum(a, b)
    den = jnp.where(close, 1.0, a - b)
    t = _lead(jnp.asarray(0.5 * (_GL6[0] + 1.0), a.dtype), a.ndim)
    m = jnp.concatenate([a[..., None], b[..., None], b[..., None] + t * (a - b)[..., None]], axis=-1)
    return m, close, den


def _divided_difference(fv, dfv, close, den):
    """``(f(a) - f(b)) / (a - b)`` from ``f`` at the first two nodes of :func:`_divided_difference_nodes`
    (``fv``) and ``f'`` at the other six (``dfv``)."""
    direct = (fv[..., 0] - fv[..., 1]) / den
    w = _lead(jnp.asarray(0.5 * _GL6[1], dfv.dtype), dfv.ndim - 1)
    return jnp.where(close, jnp.sum(w * dfv, axis=-1), direct)


def _eve_terms(a, b):
    """:func:`q_e1` and :func:`j1` as one :func:`_evaluate` term on the nodes ``z = 1/m`` of
    :func:`_divided_difference_nodes`: ``finish`` returns ``(Q_E1, J1)``, ``Q_E1 = a [G(a) - G(b)]/(a - b)``
    (``G = e``, ``G' = om z``) and ``J1 = [a G(a) - b G(b)]/(a - b) - G(a)`` (``(m G)' = e + om``)."""
    m, close, den = _divided_difference_nodes(a, b)
    z = 1.0 / m

    def finish(e, om):
        q = _divided_difference(e[..., :2], om[..., 2:] * z[..., 2:], close, den)
        j = _divided_difference(m[..., :2] * e[..., :2], e[..., 2:] + om[..., 2:], close, den)
        return _float(a) * q, j - e[..., 0]
    return z, finish


def q_e1(a, b):
    """``Q_E1 = E ln(1 + U/(1+V)) = a [G(a) - G(b)]/(a - b)``, eq. (1.11) (nats)."""
    return _evaluate(_eve_terms(a, b))[0][0]


def j1(a, b):
    """``J1 = E ln(1 + V/(1+U)) = [a G(a) - b G(b)]/(a - b) - G(a)``, eq. (1.12) (nats)."""
    return _evaluate(_eve_terms(a, b))[0][1]


def _j2_kernel_term(s, a, b):
    """The integrand of (1.13) without ``F`` at nodes ``s`` as an :func:`_evaluate` term: ``e^{-s/a} B(s)/(ab)``,
    ``B = e^z E1(z) (1/tau + 1/tau^2) + (1 - z e^z E1(z))/tau^2`` (all terms positive), ``z = tau (1 + s)/s``."""
    tau = s / a + 1.0 / b
    z = tau * (1.0 + s) / s

    def finish(e, om):
        bb = e * (1.0 / tau + 1.0 / tau ** 2) + om / tau ** 2
        return jnp.exp(-s / a) * bb / (a * b)
    return z, finish


# --------------------------------------------------------------------------- Lemma 1
def log_gammainc(a, y):
    """``ln P(a, y)`` (regularised lower incomplete gamma), accurate in both tails."""
    y = _float(y)
    lo = jnp.log(jnp.maximum(jsp.gammainc(a, y), jnp.finfo(y.dtype).tiny))
    hi = jnp.log1p(-jsp.gammaincc(a, y))
    return jnp.where(y < a, lo, hi)


def zeta_cdf(x, K):
    """Lemma 1: ``F_zeta(x) = P(K mu, sqrt(x)/nu)``."""
    return jsp.gammainc(K * MU, jnp.sqrt(_float(x)) / NU)


def best_zeta_cdf(x, K, N):
    """CDF of the scheduled ``zeta* = max_n zeta_n``: ``P(K mu, sqrt(x)/nu)^N`` (1.8)."""
    return jnp.exp(N * log_gammainc(K * MU, jnp.sqrt(_float(x)) / NU))


def _chernoff_root(c, upper):
    """Root ``t`` of ``t - 1 - ln t = c`` below (``upper=False``) or above 1 (numpy bisection)."""
    h = lambda t: t - 1.0 - np.log(t)
    if upper:
        lo, hi = 1.0, 2.0 * c + 4.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if h(mid) < c else (lo, mid)
        return hi
    lo, hi = -(c + 2.0), 0.0  # in ln t
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if h(np.exp(mid)) < c else (mid, hi)
    return float(np.exp(lo))


@lru_cache(maxsize=256)
def bulk_nodes(K, N, panels=24, order=16):
    """Gauss-Legendre nodes/weights in ``s = ln y`` covering the bulk of ``y* = max_n Y_n``,
    ``Y_n ~ Gamma(K mu, 1)``: Chernoff bounds leave out ``<= e^-40`` of probability at each end.
    Returns numpy float64 ``(s, w, s_min, s_max)`` (nodes, weights, ends of the range)."""
    a = K * MU
    t_lo = _chernoff_root(TAIL / (a * N), upper=False)
    t_hi = _chernoff_root((TAIL + math.log(N)) / a, upper=True)
    edges = np.linspace(math.log(a * t_lo), math.log(a * t_hi), panels + 1)
    x, w = np.polynomial.legendre.leggauss(order)
    lo, hi = edges[:-1, None], edges[1:, None]
    s = (0.5 * (hi - lo) * x + 0.5 * (hi + lo)).ravel()
    ws = (0.5 * (hi - lo) * w).ravel()
    return s, ws, float(edges[0]), float(edges[-1])


@lru_cache(maxsize=256)
def _bulk_np(K, N, panels):
    """:func:`_bulk` in numpy float64 (scipy's incomplete gamma): the nodes depend on the static ``K, N`` only,
    so the compiled bound holds constants, not incomplete-gamma evaluations (2.5 s less compilation)."""
    s, w, _, _ = bulk_nodes(int(K), int(N), int(panels))
    a = K * MU
    y = np.exp(s)
    lp = _log_best_cdf_scipy(s, K, 1)
    log_dens = math.log(N) + a * s - y - _scipy_special.gammaln(a) + ((N - 1) * lp if N > 1 else 0.0)
    return s, w, y, w * np.exp(log_dens), np.exp(N * lp)


def _bulk(K, N, dtype, panels=24):
    """``(s, w, y, dens, cdf)`` on the bulk nodes: ``dens`` = density of ``ln y*`` (includes ``w``)."""
    return tuple(jnp.asarray(v, dtype) for v in _bulk_np(int(K), int(N), int(panels)))


_CHEB_DEGREES = (32, 64, 128, 256)
_CHEB_TOL = 2e-12  # |error| / max(1, |ln F*|) on a 4,097-point check grid (scipy's own accuracy is ~1e-13)


def _log_best_cdf_scipy(t, K, N):
    """``ln F*`` at ``y = e^t`` (``F* = P(K mu, y)^N``), float64 by scipy, accurate in both tails."""
    a, y = K * MU, np.exp(t)
    with np.errstate(divide="ignore"):
        lo = np.log(np.maximum(_scipy_special.gammainc(a, y), np.finfo(np.float64).tiny))
        hi = np.log1p(-_scipy_special.gammaincc(a, y))
    return N * np.where(y < a, lo, hi)


@lru_cache(maxsize=256)
def best_cdf_chebyshev(K, N):
    """Chebyshev series of ``ln F*`` in ``t = ln(sqrt(x)/nu)`` over the bulk of ``zeta*`` (:func:`bulk_nodes`):
    ``(t_lo, t_hi, coefficients)`` (numpy float64). The degree is the lowest of 32, 64, 128, 256 whose error,
    checked on 4,097 points against scipy, is at most ``2e-12 max(1, |ln F*|)`` (else the most accurate one).
    Below the bulk ``F* <= e^-40`` and above it ``1 - F* <= e^-40`` (the mass :func:`bulk_nodes` leaves out).

    >>> lo, hi, c = best_cdf_chebyshev(32, 10)
    >>> lo < hi and len(c) - 1 in (32, 64, 128, 256)
    True
    """
    _, _, lo, hi = bulk_nodes(int(K), int(N))
    f = lambda t: _log_best_cdf_scipy(t, int(K), int(N))
    tt = np.linspace(lo, hi, 4097)
    ref = f(tt)
    best = None
    for deg in _CHEB_DEGREES:
        series = np.polynomial.chebyshev.Chebyshev.interpolate(f, deg, domain=[lo, hi])
        err = float(np.max(np.abs(series(tt) - ref) / np.maximum(1.0, np.abs(ref))))
        if best is None or err < best[0]:
            best = (err, series.coef)
        if err <= _CHEB_TOL:
            break
    return lo, hi, np.asarray(best[1], np.float64)


def best_zeta_cdf_fast(x, K, N):
    """``F*(x)`` of (1.8) from the Chebyshev series of :func:`best_cdf_chebyshev` (Clenshaw, multiply-adds only):
    ~1e-12 relative to :func:`best_zeta_cdf` inside the bulk of ``zeta*``, exactly 0 below it and 1 above
    (both within ``e^-40``), about 100x faster in float64 than the incomplete gamma function.

    >>> with jax.enable_x64(True):
    ...     x = jnp.asarray([300.0, 500.0, 700.0, 1000.0])
    ...     bool(jnp.allclose(best_zeta_cdf_fast(x, 32, 10), best_zeta_cdf(x, 32, 10), rtol=1e-10, atol=0))
    True
    """
    x = _float(x)
    dt = x.dtype
    lo, hi, c = best_cdf_chebyshev(int(K), int(N))
    t = 0.5 * jnp.log(jnp.maximum(x, jnp.finfo(dt).tiny)) - math.log(NU)
    u = jnp.clip((2.0 * t - (lo + hi)) / (hi - lo), -1.0, 1.0)
    b1, b2 = jnp.zeros_like(u), jnp.zeros_like(u)  # Clenshaw
    for ck in c[:0:-1]:
        b1, b2 = 2.0 * u * b1 - b2 + float(ck), b1
    g = u * b1 - b2 + float(c[0])
    return jnp.where(t < lo, 0.0, jnp.where(t > hi, 1.0, jnp.exp(jnp.minimum(g, 0.0)))).astype(dt)


@lru_cache(maxsize=64)
def _gc_nodes_np(M):
    """Paper's Gauss-Chebyshev rule on ``(0, inf)`` by ``x = tan y``: nodes and weights
    ``pi^2/(4M) sqrt(1 - theta_m^2) sec^2 x_m`` (the factor ``pi^2/(4M)`` restored, MODELS [T]); numpy float64."""
    m = np.arange(1, int(M) + 1)
    th = np.cos((2 * m - 1) * np.pi / (2 * int(M)))
    xm = np.pi / 4 * (th + 1)
    w = np.pi ** 2 / (4 * int(M)) * np.sqrt(1 - th ** 2) / np.cos(xm) ** 2
    return np.tan(xm), w


def _gc_nodes(M, dtype):
    """:func:`_gc_nodes_np` as ``dtype`` arrays."""
    x, w = _gc_nodes_np(int(M))
    return jnp.asarray(x, dtype), jnp.asarray(w, dtype)


# --------------------------------------------------------------------------- Q_M
def q_m_reference(rho, K, N):
    """``Q_M(rho) = E ln(1 + rho zeta*)`` (nats), eq. (1.9), accurate quadrature (~1e-12 in float64).

    ``rho`` may be an array (evaluated elementwise on shared nodes).
    """
    rho = _float(rho)
    _, _, y, dens, _ = _bulk(K, N, rho.dtype)
    x = _lead((NU * y) ** 2, rho.ndim)
    return jnp.sum(_lead(dens, rho.ndim) * jnp.log1p(rho[..., None] * x), axis=-1)


@lru_cache(maxsize=256)
def _paper_sf_np(K, N, M):
    """``1 - F*`` on the paper's ``M`` Gauss-Chebyshev nodes (static; numpy float64 by scipy)."""
    x = _gc_nodes_np(int(M))[0]
    return -np.expm1(_log_best_cdf_scipy(np.log(np.sqrt(x) / NU), K, N))


def q_m_paper(rho, K, N, M=20):
    """Paper's Gauss-Chebyshev form of (1.9) with ``M`` nodes (nats)."""
    rho = _float(rho)
    x, w = _gc_nodes(M, rho.dtype)
    sf = _lead(jnp.asarray(_paper_sf_np(int(K), int(N), int(M)), rho.dtype), rho.ndim)
    x, w = _lead(x, rho.ndim), _lead(w, rho.ndim)
    r = rho[..., None]
    return jnp.sum(w * r * sf / (1.0 + r * x), axis=-1)


# --------------------------------------------------------------------------- J2
_TAIL_PANELS, _TAIL_ORDER = 12, 12
_J2_PANEL_WIDTH = 1.25  # at most this width in ln y per 16-node bulk panel of J2


def j2_bulk_panels(K, N):
    """Bulk panels of :func:`j2_reference`: 16-node panels at most 1.25 wide in ``ln y`` (at least 4): 4 at
    ``K >= 16``, 24 at ``K = 1`` whose bulk spans 29 units. Measured against 96 panels on 4,000 random
    ``(a, b, rho)`` per ``(K, N)`` (``tests/irsjax/test_two_way_analysis.py``): error < 1e-13 of ``Q_E2``."""
    _, _, lo, hi = bulk_nodes(int(K), int(N))
    return max(4, math.ceil((hi - lo) / _J2_PANEL_WIDTH))


def j2_reference(a, b, rho, K, N):
    """``J2`` of (1.13) (nats): ``int F(s) e^{-s/a} B(s) ds / (ab)``, ``F(s) = F*(s/rho)``.

    Bulk of ``F*`` on the Lemma-1 nodes (``s = rho nu^2 y^2``, :func:`j2_bulk_panels` panels), then ``F = 1`` on
    ``[s_hi, s_hi + 60 a]`` by 12 Gauss-Legendre panels of 12 nodes in ``ln s``: 208 kernel evaluations at
    ``K >= 16`` (the rule of 768 it replaced agrees to < 1e-13 of ``Q_E2``).
    """
    return _evaluate(_j2_term(a, b, rho, K, N, "reference"))[0]


def _j2_rule(a, b, rho, K, N, bulk_panels, tail_panels, tail_order):
    return _evaluate(_j2_rule_term(a, b, rho, K, N, bulk_panels, tail_panels, tail_order))[0]


def _j2_rule_term(a, b, rho, K, N, bulk_panels, tail_panels, tail_order):
    """:func:`j2_reference`'s rule (bulk and tail nodes) as one :func:`_evaluate` term."""
    a, b, rho = jnp.broadcast_arrays(_float(a), _float(b), _float(rho))
    dt = a.dtype
    _, w, y, _, cdf = _bulk(K, N, dt, int(bulk_panels))
    nd = a.ndim
    s = rho[..., None] * _lead((NU * y) ** 2, nd)
    s_hi = rho * (NU * math.exp(bulk_nodes(int(K), int(N))[3])) ** 2
    r0 = jnp.log(s_hi)
    r1 = jnp.log(s_hi + 60.0 * a)
    x, wx = np.polynomial.legendre.leggauss(int(tail_order))
    e = np.linspace(0.0, 1.0, int(tail_panels) + 1)
    t = _lead(jnp.asarray((0.5 * (e[1:, None] - e[:-1, None]) * x + 0.5 * (e[1:, None] + e[:-1, None])).ravel(), dt),
              nd)
    wt = _lead(jnp.asarray((0.5 * (e[1:, None] - e[:-1, None]) * wx).ravel(), dt), nd)
    r = r0[..., None] + (r1 - r0)[..., None] * t
    st = jnp.exp(r)
    nb = s.shape[-1]
    z, kernel = _j2_kernel_term(jnp.concatenate([s, st], axis=-1), a[..., None], b[..., None])

    def finish(e, om):
        k = kernel(e, om)
        bulk = jnp.sum(_lead(w * cdf, nd) * 2.0 * s * k[..., :nb], axis=-1)
        tail = (r1 - r0) * jnp.sum(wt * st * k[..., nb:], axis=-1)
        return bulk + tail
    return z, finish


def _j2_paper_term(a, b, rho, K, N, M):
    """:func:`j2_paper` as an :func:`_evaluate` term."""
    a, b, rho = jnp.broadcast_arrays(_float(a), _float(b), _float(rho))
    x, w = _gc_nodes(M, a.dtype)
    x, w = _lead(x, a.ndim), _lead(w, a.ndim)
    F = best_zeta_cdf_fast(x / rho[..., None], K, N)
    z, kernel = _j2_kernel_term(x, a[..., None], b[..., None])
    return z, lambda e, om: jnp.sum(w * F * kernel(e, om), axis=-1)


def _j2_term(a, b, rho, K, N, method, M=20):
    if method == "reference":
        return _j2_rule_term(a, b, rho, K, N, j2_bulk_panels(K, N), _TAIL_PANELS, _TAIL_ORDER)
    return _j2_paper_term(a, b, rho, K, N, M)


def j2_paper(a, b, rho, K, N, M=20):
    """``J2`` of (1.13) by the paper's Gauss-Chebyshev rule (``x = tan y``, ``M`` nodes)."""
    return _evaluate(_j2_paper_term(a, b, rho, K, N, M))[0]


def q_e2(a, b, rho, K, N, *, method="reference", M=20):
    """``Q_E2 = J1 + J2`` (nats)."""
    (_, j1_), j2 = _evaluate(_eve_terms(a, b), _j2_term(a, b, rho, K, N, method, M))
    return j1_ + j2


# --------------------------------------------------------------------------- Theorem 1
METHODS = ("reference", "paper")
"""Evaluations of Theorem 1: accurate quadrature, and the paper's Gauss-Chebyshev rule."""


def check_methods(methods):
    """``methods`` as a tuple, or a ``ValueError`` naming the first that is not in :data:`METHODS` (or none)."""
    methods = tuple(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"method must be 'reference' or 'paper', got {bad[0]!r}")
    if not methods:
        raise ValueError("methods must name at least one of 'reference', 'paper'")
    return methods


def asr_lower_bound(rho, a, b, K, N, *, method="reference", M=20):
    """Theorem 1 for one topology: per-pair ``rho_n, a_n, b_n`` (shape ``(N,)``), each pair
    scheduled with probability ``1/N``. Returns ``dict(sum, s1, s2)`` in bit/s/Hz and the
    components ``q_m, q_e1, q_e2`` in nats. ``method``: ``"reference"`` or ``"paper"``
    (:func:`asr_lower_bounds` gives several on the same inputs).

    >>> out = asr_lower_bound(jnp.array([1.0]), jnp.array([1e3]), jnp.array([1e3]), 32, 1)
    >>> float(out["s1"]) >= 0 and float(out["sum"]) == float(out["s1"] + out["s2"])
    True
    """
    return asr_lower_bounds(rho, a, b, K, N, methods=(method,), M=M)[method]


def asr_lower_bounds(rho, a, b, K, N, *, methods=("reference", "paper"), M=20):
    """:func:`asr_lower_bound` for each of ``methods`` on the same inputs, ``{method: dict}``: the exponential
    integrals of every method's terms in one evaluation (:func:`_evaluate`).

    >>> out = asr_lower_bounds(jnp.array([1.0]), jnp.array([1e3]), jnp.array([1e3]), 32, 1)
    >>> sorted(out), float(out["paper"]["q_e1"]) == float(out["reference"]["q_e1"])
    (['paper', 'reference'], True)
    """
    methods = check_methods(methods)
    (qe1, j1_), *j2s = _evaluate(_eve_terms(a, b), *(_j2_term(a, b, rho, K, N, m, M) for m in methods))
    qe1 = jnp.mean(qe1, axis=-1)
    out = {}
    for m, j2 in zip(methods, j2s):
        qm = jnp.mean(q_m_reference(rho, K, N) if m == "reference" else q_m_paper(rho, K, N, M), axis=-1)
        qe2 = jnp.mean(j1_ + j2, axis=-1)
        s1 = jnp.maximum(qm - qe1, 0.0) / LN2
        s2 = jnp.maximum(qm - qe2, 0.0) / LN2
        out[m] = {"sum": s1 + s2, "s1": s1, "s2": s2, "q_m": qm, "q_e1": qe1, "q_e2": qe2}
    return out

"""Minorisers (D1)-(D3) of finite-blocklength secrecy rates and their SCA steps (MODELS.md 4(c), 6).

All in nats. ``x`` complex, ``y > 0``; bars mark the current point.

* (D1) :func:`log_ratio_minorizer`: ``ln(1 + |x|^2/y) >= ln(1 + |xb|^2/yb) - |xb|^2/yb + 2 Re(xb^* x)/yb
  - |xb|^2 (|x|^2 + y) / (yb (|xb|^2 + yb))``, tight at ``(xb, yb)``; concave in ``(x, y)``.
* (D2) :func:`log_ratio_majorizer`: ``ln(1 + |x|^2/y) = ln(|x|^2 + y) - ln y <= ln sb + (|x|^2 + y_up - sb)/sb
  - ln y_lo`` with ``sb = |xb|^2 + yb``, ``y_up >= y`` convex and ``0 < y_lo <= y`` concave (first-order
  lower bound of a convex quadratic ``y``).
* (D3) :func:`sqrt_dispersion_majorizer`: ``g(gamma) = sqrt(V(gamma))`` is concave increasing, so
  ``g(gamma) <= g(gb) + g'(gb) (gamma - gb)``, and ``gamma <= |x|^2 / y_lo``.

:func:`secrecy_minorizer` assembles them into a minoriser of the per-user (robust) secrecy rate of a MISO
downlink with one eavesdropper, written in the *stream terms* ``c_ij = g_i^H x_j`` (rows: users, last row
Eve) and ``n_j = ||x_j||``: with ``xi = 0`` it is exactly the paper's ``D1 - D2 - a_eps D3 - a_delta D3``; with
error radii ``xi > 0`` it minorises the closed-form worst-case rate of MODELS.md 6 (``|c| -/+ xi n``), using
``Re(e^{-j arg cb} c) - xi n <= |c| - xi n`` (concave) and the tangent ``n_lin <= n``. It is tight at the
current point whenever every user's worst-case signal amplitude is positive there. For ``xi > 0`` it is not
concave in general (the ``-xi n`` terms inside squares), which does not matter for the MM argument: a step is
kept only if the true objective does not decrease.

:func:`sca_step` maximises ``soft_min_tau`` (or the sum) of the minorisers over a convex set by
:func:`optim.projected.projected_ascent` -- the JAX counterpart of one CVX solve of the paper's Algorithm 1.

>>> import jax.numpy as jnp
>>> from optim import minorizers as mz
>>> x, y = jnp.array(1.0 + 1.0j), jnp.array(2.0)
>>> float(mz.log_ratio_minorizer(x, y, x, y)) == float(jnp.log1p(jnp.abs(x) ** 2 / y))
True
>>> bool(mz.log_ratio_minorizer(2.0 * x, y, x, y) <= jnp.log1p(4.0 * jnp.abs(x) ** 2 / y))
True
"""
from __future__ import annotations

import math
from typing import Callable

import jax.numpy as jnp

from optim.projected import projected_ascent
from optim.sca import tangent
from optim.surrogates import soft_min

SQRT_EPS = 1e-12  # smoothing of sqrt(V) (MODELS.md 6), same as irsjax.metrics
ABS_EPS = 1e-12  # smoothing of |c| in the convex upper bounds


def _abs2(x):
    return jnp.real(x * jnp.conj(x))


def log_ratio_minorizer(x, y, x_bar, y_bar):
    """(D1): concave minoriser of ``ln(1 + |x|^2 / y)`` tight at ``(x_bar, y_bar)``."""
    a2 = _abs2(x_bar)
    return (jnp.log1p(a2 / y_bar) - a2 / y_bar + 2.0 * jnp.real(jnp.conj(x_bar) * x) / y_bar
            - a2 * (_abs2(x) + y) / (y_bar * (a2 + y_bar)))


def log_ratio_majorizer(x, y_upper, y_lower, s_bar):
    """(D2): convex majoriser ``ln s_bar + (|x|^2 + y_upper - s_bar)/s_bar - ln y_lower`` (+inf if ``y_lower <= 0``)."""
    ok = y_lower > 0
    safe = jnp.where(ok, y_lower, 1.0)
    val = jnp.log(s_bar) + (_abs2(x) + y_upper - s_bar) / s_bar - jnp.log(safe)
    return jnp.where(ok, val, jnp.inf)


def sqrt_dispersion(gamma):
    """Smoothed ``sqrt(V(gamma)) = sqrt(1 - (1+gamma)^-2 + 1e-12) - 1e-6`` (concave increasing)."""
    v = 1.0 - 1.0 / (1.0 + gamma) ** 2
    return jnp.sqrt(v + SQRT_EPS) - math.sqrt(SQRT_EPS)


def sqrt_dispersion_slope(gamma):
    """Derivative of :func:`sqrt_dispersion`: ``(1+gamma)^-3 / sqrt(V + 1e-12)``."""
    v = 1.0 - 1.0 / (1.0 + gamma) ** 2
    return (1.0 + gamma) ** -3 / jnp.sqrt(v + SQRT_EPS)


def sqrt_dispersion_majorizer(gamma_upper, gamma_bar):
    """(D3): ``g(gamma_bar) + g'(gamma_bar) (gamma_upper - gamma_bar) >= sqrt(V(gamma))`` for
    ``gamma <= gamma_upper``."""
    return sqrt_dispersion(gamma_bar) + sqrt_dispersion_slope(gamma_bar) * (gamma_upper - gamma_bar)


def _offdiag_sum(a, K):
    """``sum_{j != k} a[k, j]`` for a (K, K) block, or ``sum_{j != k} a[j]`` for a (K,) row (no cancellation)."""
    eye = jnp.eye(K, dtype=bool)
    if a.ndim == 1:
        a = jnp.broadcast_to(a[None, :], (K, K))
    return jnp.sum(jnp.where(eye, jnp.zeros((), a.dtype), a), axis=1)


def secrecy_minorizer(c, nrm, nrm_lin, c_bar, nrm_bar, xi, disp_user, disp_eve):
    """Per-user minoriser (K,) in nats of the (worst-case) FBR secrecy rate, tight at ``(c_bar, nrm_bar)``.

    ``c`` (K+1, K) stream terms at the candidate point, ``nrm`` (K,) stream norms there, ``nrm_lin`` (K,)
    their first-order model at the current point (``<= nrm`` by convexity), ``c_bar``/``nrm_bar`` the current
    values, ``xi`` (K+1,) error radii (noise power 1). ``disp_user``, ``disp_eve`` =
    ``Q^-1(epsilon)/sqrt(n)``, ``Q^-1(delta)/sqrt(n)`` (0 for LBR). ``-inf`` outside the surrogate's domain.
    """
    K = c.shape[1]
    rd = nrm.dtype
    mag_bar = jnp.abs(c_bar)
    rot = jnp.where(mag_bar > 0, jnp.conj(c_bar) / jnp.where(mag_bar > 0, mag_bar, 1.0).astype(c.dtype),
                    jnp.ones((), c.dtype))
    spread = xi[:, None] * nrm[None, :]
    spread_bar = xi[:, None] * nrm_bar[None, :]
    spread_lin = xi[:, None] * nrm_lin[None, :]
    mag = jnp.sqrt(_abs2(c) + ABS_EPS)
    b = jnp.real(rot * c) - spread  # concave, <= |c| - xi n
    b_bar = jnp.maximum(mag_bar - spread_bar, 0.0)
    hi2 = (mag + spread) ** 2  # convex
    hi2_bar = (mag_bar + spread_bar) ** 2
    up_lo = jnp.maximum(mag - spread_lin, 0.0) ** 2  # convex, >= max(|c| - xi n, 0)^2
    lo_lin = 2.0 * b_bar * b - b_bar**2  # concave, <= max(|c| - xi n, 0)^2
    lo2_bar = b_bar**2
    one = jnp.ones((), rd)
    cu = c[:K]
    # --- user k: (D1) on the worst-case useful amplitude against the worst-case interference
    x = jnp.diagonal(rot[:K] * cu) - jnp.diagonal(spread[:K]).astype(c.dtype)
    y = one + _offdiag_sum(hi2[:K], K)
    y_bar = one + _offdiag_sum(hi2_bar[:K], K)
    x_bar = jnp.maximum(jnp.diagonal(b_bar[:K]), 1e-2 * jnp.sqrt(y_bar))  # any x_bar > 0 gives a valid bound
    d1 = log_ratio_minorizer(x, y, x_bar.astype(c.dtype), y_bar)
    # --- user dispersion (D3) at the user's worst-case largest SINR
    den_lin = one + _offdiag_sum(lo_lin[:K], K)
    den_bar = one + _offdiag_sum(lo2_bar[:K], K)
    ok_u = den_lin > 0
    g_up = jnp.diagonal(hi2[:K]) / jnp.where(ok_u, den_lin, 1.0)
    g_bar = jnp.diagonal(hi2_bar[:K]) / den_bar
    d3u = sqrt_dispersion_majorizer(g_up, g_bar)
    # --- Eve decoding stream k: (D2) and (D3) at Eve's worst-case largest SINR
    se = hi2[K]
    se_bar = hi2_bar[K]
    e_up = one + _offdiag_sum(up_lo[K], K)
    e_lin = one + _offdiag_sum(lo_lin[K], K)
    e_bar = one + _offdiag_sum(lo2_bar[K], K)
    d2 = log_ratio_majorizer(jnp.sqrt(se), e_up, e_lin, se_bar + e_bar)
    ok_e = e_lin > 0
    ge_up = se / jnp.where(ok_e, e_lin, 1.0)
    d3e = sqrt_dispersion_majorizer(ge_up, se_bar / e_bar)
    m = d1 - d2 - disp_user * d3u - disp_eve * d3e
    return jnp.where(ok_u & ok_e & jnp.isfinite(m), m, -jnp.inf)


def aggregate(values, how: str, temperature=0.0):
    """``soft_min_tau`` (``how="min"``; exact min at ``tau = 0``) or ``sum`` of per-user values."""
    if how == "min":
        return soft_min(values, temperature)
    if how == "sum":
        return jnp.sum(values)
    raise ValueError(f"aggregate must be 'min' or 'sum', got {how!r}")


def sca_step(terms: Callable, z_bar, project: Callable, *, xi, disp_user, disp_eve, how: str = "min",
             temperature: float = 0.01, num_iters: int = 40):
    """One SCA step: maximise the aggregated :func:`secrecy_minorizer` built at ``z_bar`` over ``project``'s set.

    ``terms(z) -> (c, nrm)`` maps the block variable (beamformers or reflection coefficients) to the stream
    terms; ``c`` must be linear in ``z`` (then the minoriser is tight and, for ``xi = 0``, concave).
    Returns ``(z_new, surrogate value at z_new, surrogate value at z_bar)``.
    """
    c_bar, n_bar = terms(z_bar)
    n_lin = tangent(lambda z: terms(z)[1], z_bar)

    def surrogate(z):
        c, n = terms(z)
        m = secrecy_minorizer(c, n, n_lin(z), c_bar, n_bar, xi, disp_user, disp_eve)
        return aggregate(m, how, temperature)

    res = projected_ascent(surrogate, z_bar, project, num_iters=num_iters)
    return res.x, res.value, res.history[0]


__all__ = [
    "log_ratio_minorizer", "log_ratio_majorizer", "sqrt_dispersion", "sqrt_dispersion_slope",
    "sqrt_dispersion_majorizer", "secrecy_minorizer", "aggregate", "sca_step",
]

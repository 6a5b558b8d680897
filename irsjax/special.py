"""Special functions and quadratures in JAX (jit/vmap/grad; float32 or float64).

>>> from irsjax import special
>>> round(float(special.q_function(0.0)), 6)
0.5
"""
from __future__ import annotations

import numpy as np
import jax.numpy as jnp
from jax.scipy import special as jsp


def q_function(x):
    """Gaussian tail ``Q(x) = erfc(x / sqrt 2) / 2``."""
    return 0.5 * jsp.erfc(jnp.asarray(x) / jnp.sqrt(2.0))


def q_inverse(p):
    """``Q^{-1}(p) = -Phi^{-1}(p)``."""
    return -jsp.ndtri(jnp.asarray(p))


def expi(x):
    """Exponential integral ``Ei(x)`` (``Ei(-z) = -E1(z)`` for z > 0)."""
    return jsp.expi(x)


def exp1(z):
    """``E1(z)`` for z > 0."""
    return jsp.exp1(z)


def exp_e1(z):
    """``e^z E1(z)`` for z > 0, stable for large z: asymptotic series beyond 700 (float64) or 80
    (float32, where ``e^z`` would overflow past 88)."""
    z = jnp.asarray(z)
    cut = 700.0 if z.dtype == jnp.float64 else 80.0
    big = z > cut
    zs = jnp.where(big, 1.0, z)
    zb = jnp.where(big, z, 2 * cut)
    small_val = jnp.exp(zs) * jsp.exp1(zs)
    big_val = (1.0 - 1.0 / zb + 2.0 / zb**2 - 6.0 / zb**3 + 24.0 / zb**4) / zb
    return jnp.where(big, big_val, small_val)


def expected_log1p_exp(mean):
    """``G(m) = E ln(1 + X)``, ``X ~ Exp(mean m)``: ``e^{1/m} E1(1/m)`` (nats)."""
    return exp_e1(1.0 / jnp.asarray(mean))


def gammainc(a, x):
    """Regularised lower incomplete gamma ``P(a, x)``."""
    return jsp.gammainc(a, x)


def gammaincc(a, x):
    """Regularised upper incomplete gamma ``Q(a, x)``."""
    return jsp.gammaincc(a, x)


def gauss_legendre(n, a=-1.0, b=1.0):
    """Gauss-Legendre nodes and weights on ``[a, b]`` (numpy float64, static)."""
    x, w = np.polynomial.legendre.leggauss(int(n))
    return 0.5 * (b - a) * x + 0.5 * (b + a), 0.5 * (b - a) * w


def gauss_chebyshev(m):
    """Gauss-Chebyshev (first kind) nodes ``cos((2k-1)pi/(2m))`` and equal weights ``pi/m``."""
    k = np.arange(1, int(m) + 1)
    return np.cos((2 * k - 1) * np.pi / (2 * int(m))), np.full(int(m), np.pi / int(m))


def integrate_panels(f, breakpoints, order=64):
    """Composite Gauss-Legendre quadrature of ``f`` over consecutive breakpoints.

    ``breakpoints`` is a 1-D array (may be traced); ``f`` must be vectorised.
    """
    bp = jnp.asarray(breakpoints)
    x, w = np.polynomial.legendre.leggauss(int(order))
    a = bp[:-1, None]
    b = bp[1:, None]
    nodes = 0.5 * (b - a) * x + 0.5 * (b + a)
    return jnp.sum(0.5 * (b - a) * w * f(nodes))


def integrate_semi_infinite(f, scale, order=64, panels=48, lo=0.0):
    """``int_lo^inf f(x) dx`` by the map ``x = lo + scale * t/(1-t)`` and geometric panels in ``t``.

    Robust for integrands with a bulk near ``lo + scale`` and algebraic/exponential tails.
    """
    # panels in t in (0, 1), denser near both ends
    edges = 0.5 * (1 - np.cos(np.linspace(0.0, np.pi, panels + 1)))
    x, w = np.polynomial.legendre.leggauss(int(order))
    a = edges[:-1, None]
    b = edges[1:, None]
    t = 0.5 * (b - a) * x + 0.5 * (b + a)
    wt = 0.5 * (b - a) * w
    t = jnp.asarray(t)
    jac = scale / (1 - t) ** 2
    xs = lo + scale * t / (1 - t)
    return jnp.sum(wt * jac * f(xs))

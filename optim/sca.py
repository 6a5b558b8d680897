"""Successive convex approximation of difference-of-concave objectives ``Q(x) - S(x)``.

``S`` concave is upper-bounded by its tangent at ``x0``,
``S(x) <= S(x0) + Re<grad S(x0), x - x0>``, so ``Q(x) - tangent(x)`` is a
concave minoriser of ``Q - S`` that touches it at ``x0`` (MM). Works for real
or complex (e.g. Hermitian-matrix or Burer-Monteiro-factor) arguments and
pytrees: for complex ``x``, ``jax.grad`` returns ``dS/dRe - j dS/dIm`` so the
first-order term is ``Re(sum(grad * dx))``.

>>> import jax.numpy as jnp
>>> from optim import sca
>>> S = lambda x: jnp.log(1.0 + x)
>>> t = sca.tangent(S, jnp.array(1.0))
>>> bool(t(jnp.array(3.0)) >= S(jnp.array(3.0)))
True
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp


def tangent(f: Callable, x0, *args):
    """First-order Taylor model ``x -> f(x0) + Df(x0)[x - x0]`` of a real (scalar or array-valued) ``f``.

    ``x0`` may be a pytree with real or complex leaves (the derivative is the
    real-linear JVP, which for a scalar ``f`` equals ``Re(sum(jax.grad(f)(x0) * dx))``).
    """
    f0, f_jvp = jax.linearize(lambda x: f(x, *args), x0)

    def model(x):
        dx = jax.tree_util.tree_map(lambda a, b: a - b, x, x0)
        return f0 + f_jvp(dx)

    return model


def dc_minorizer(q: Callable, s: Callable, x0, *args):
    """``x -> q(x, *args) - [s(x0) + Re<grad s(x0), x - x0>]`` (``<= q - s``, equal at ``x0``)."""
    t = tangent(lambda x: s(x, *args), x0)
    return lambda x: q(x, *args) - t(x)


def sca_maximize(q: Callable, s: Callable, x0, inner: Callable, *, num_iters: int = 8):
    """``num_iters`` SCA steps: ``x <- inner(minorizer, x)``; a step is kept only if ``q - s`` does not decrease.

    Returns ``(x, history)`` with ``history[i] = q - s`` after step ``i`` (non-decreasing).
    """
    f = lambda x: q(x) - s(x)  # noqa: E731

    def body(c, _):
        x, fx = c
        m = dc_minorizer(q, s, x)
        xn = inner(m, x)
        fn = f(xn)
        ok = jnp.isfinite(fn) & (fn >= fx)
        x = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), xn, x)
        fx = jnp.where(ok, fn, fx)
        return (x, fx), fx

    f0 = f(x0)
    (x, fx), hist = jax.lax.scan(body, (x0, f0), None, length=num_iters)
    return x, jnp.concatenate([f0[None], hist])


__all__ = ["tangent", "dc_minorizer", "sca_maximize"]

"""Projected gradient ascent over pytrees of real/complex arrays (Barzilai-Borwein steps, Armijo backtracking).

``projected_ascent(f, x0, project, args=..., num_iters=...)`` maximises a real ``f(x, *args)`` over a convex set
given by its Euclidean projection ``project(x)``. ``x`` may be any pytree of real or complex arrays; the ascent
direction of a complex leaf is ``conj(jax.grad)`` (JAX's convention, see :mod:`optim.manifold`). Each iteration
tries the Barzilai-Borwein step along the projection arc ``P(x + t g)`` and halves ``t`` until the Armijo
condition ``f(P(x + t g)) >= f(x) + c Re<g, P(x + t g) - x>`` holds, so the iterates never decrease ``f``; a
non-finite trial value (outside the surrogate's domain) is rejected like a decrease. Fixed iteration count, pure
``lax`` loops: usable inside ``jit``/``vmap`` (e.g. a Monte Carlo per-realisation function).

Projections: :func:`ball` (``||x||_F <= r`` over the whole pytree), :func:`unit_discs` (``|x_i| <= 1``
elementwise), :func:`identity`.

>>> import jax.numpy as jnp
>>> from optim import projected
>>> f = lambda x, c: -jnp.sum(jnp.abs(x - c) ** 2)          # nearest point of the unit ball to c
>>> res = projected.projected_ascent(f, jnp.zeros(2, jnp.complex64), projected.ball(1.0),
...                                  args=(jnp.array([3.0, 4.0j], jnp.complex64),), num_iters=20)
>>> [round(float(v), 3) for v in jnp.abs(res.x)]
[0.6, 0.8]
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp


class AscentResult(NamedTuple):
    """``x``: final iterate (the best: iterates never decrease ``f``); ``value``: ``f(x)``; ``history``: value
    after each evaluation (length ``num_iters``; entry 0 is the start); ``step``: next trial step size."""

    x: object
    value: jax.Array
    history: jax.Array
    step: jax.Array


def tree_inner(a, b):
    """``Re <a, b> = sum Re(conj(a) b)`` over all leaves (real scalar)."""
    leaves = jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda u, v: jnp.sum(jnp.real(jnp.conj(u) * v)), a, b))
    return sum(leaves[1:], leaves[0])


def _axpy(t, g, x):
    return jax.tree_util.tree_map(lambda gi, xi: xi + t.astype(jnp.real(xi).dtype).astype(xi.dtype) * gi, g, x)


def _sub(a, b):
    return jax.tree_util.tree_map(lambda u, v: u - v, a, b)


def _where(c, a, b):
    return jax.tree_util.tree_map(lambda u, v: jnp.where(c, u, v), a, b)


def ascent_direction(f, x, *args):
    """``(f(x), ascent direction)``: ``conj(grad)`` on complex leaves, ``grad`` on real ones."""
    val, g = jax.value_and_grad(f)(x, *args)
    return val, jax.tree_util.tree_map(jnp.conj, g)


def identity(x):
    """No constraint."""
    return x


def ball(radius):
    """Projection onto ``{x : ||x||_F <= radius}`` (Frobenius norm over every leaf of the pytree)."""

    def project(x):
        n2 = tree_inner(x, x)
        r = jnp.asarray(radius, n2.dtype)
        nrm = jnp.sqrt(n2)
        scale = jnp.where(nrm > r, r / jnp.where(nrm > 0, nrm, 1.0), 1.0)
        return jax.tree_util.tree_map(lambda u: u * scale.astype(u.dtype), x)

    return project


def unit_discs(x):
    """Elementwise projection onto ``|x_i| <= 1`` (the convex hull of the unit-modulus set)."""
    def p(u):
        m = jnp.abs(u)
        return u / jnp.maximum(m, 1.0).astype(u.dtype)

    return jax.tree_util.tree_map(p, x)


def projected_ascent(f: Callable, x0, project: Callable = identity, *, args=(), num_iters: int = 50,
                     initial_step: float | None = None, armijo_c: float = 1e-4, min_step: float = 1e-12,
                     max_step: float = 1e12) -> AscentResult:
    """Maximise ``f(x, *args)`` over ``{project(x) = x}`` from ``project(x0)``; see the module docstring.

    ``num_iters`` counts evaluations of ``f`` and its gradient (one per iteration; the first one at the start
    point): a trial ``P(x + t g)`` that passes the Armijo test is accepted and the next step is the
    Barzilai-Borwein ratio ``<s, s> / -<s, y>`` (``s`` = move, ``y`` = change of the ascent direction; twice
    the step where that ratio is not positive); a failed trial halves ``t``. ``initial_step`` (default: moves
    ``x`` by ``0.1 max(||x||, 1)``) is the first trial step. One traced copy of ``f`` and its gradient keeps
    the compiled program small.
    """
    x0 = project(x0)
    leaves = jax.tree_util.tree_leaves(x0)
    rd = jnp.real(leaves[0]).dtype
    zero_g = jax.tree_util.tree_map(jnp.zeros_like, x0)
    big = jnp.asarray(jnp.finfo(rd).max, rd)

    def body(c, _):
        x, fx, g, t, first = c
        xt = jax.lax.cond(first, lambda: x, lambda: project(_axpy(t, g, x)))
        ft, gt = ascent_direction(f, xt, *args)
        gain = tree_inner(g, _sub(xt, x))
        ok = first | (jnp.isfinite(ft) & (ft >= fx + armijo_c * gain) & (gain > 0))
        # next step: Barzilai-Borwein after an accepted move, the initial rule after the first point
        s = _sub(xt, x)
        sy = -tree_inner(s, _sub(gt, g))
        ss = tree_inner(s, s)
        bb = jnp.where(sy > 0, ss / jnp.where(sy > 0, sy, 1.0), 2.0 * t)
        if initial_step is None:
            gn = jnp.sqrt(tree_inner(gt, gt))
            t_first = 0.1 * jnp.maximum(jnp.sqrt(tree_inner(xt, xt)), 1.0) / jnp.maximum(gn, jnp.finfo(rd).tiny)
        else:
            t_first = jnp.asarray(initial_step, rd)
        t_next = jnp.clip(jnp.where(first, t_first, jnp.where(ok, bb, 0.5 * t)), min_step, max_step)
        x = _where(ok, xt, x)
        fx = jnp.where(ok, ft, fx)
        g = _where(ok, gt, g)
        return (x, fx, g, t_next, jnp.asarray(False)), fx

    init = (x0, -big, zero_g, jnp.asarray(1.0, rd), jnp.asarray(True))
    (x, fx, _, t, _), hist = jax.lax.scan(body, init, None, length=max(int(num_iters), 1))
    return AscentResult(x, fx, hist, t)


__all__ = ["AscentResult", "projected_ascent", "ascent_direction", "tree_inner", "ball", "unit_discs", "identity"]

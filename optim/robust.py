"""Adversarial worst case over norm balls: projected gradient descent from many starts (MODELS.md 6 "003").

``minimize_over_ball(f, starts, radius)`` minimises a real ``f(x, *args)`` over ``{||x|| <= radius}`` from every
start in ``starts`` (leading axis; vmapped) by :func:`optim.projected.projected_ascent` on ``-f`` (Barzilai-
Borwein steps, Armijo backtracking along the projection arc) and returns the smallest value found. That value is
*attained* (an upper bound of the true minimum): a robustness claim ``min f >= c`` is refuted when it is below
``c``, and trustworthy when many well-chosen starts cannot push it below ``c``.

:func:`sphere_starts` builds the starts: the centre, given directions scaled to the radius (e.g. the closed-form
worst-case directions of each term) and uniformly random points of the sphere.

>>> import jax, jax.numpy as jnp
>>> from optim import robust
>>> f = lambda d, x: -jnp.abs(jnp.vdot(x, d)) ** 2        # min over ||d|| <= 2: -(2 ||x||)^2
>>> x = jnp.array([3.0, 4.0j], jnp.complex64)
>>> starts = robust.sphere_starts(jax.random.key(0), jnp.zeros((0, 2), jnp.complex64), 2.0, (2,), 7)
>>> res = robust.minimize_over_ball(f, starts, 2.0, args=(x,), num_iters=30)
>>> round(float(res.value), 2)
-100.0
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from optim.projected import ball, projected_ascent


class BallMinimum(NamedTuple):
    """``value``: smallest ``f`` found; ``x``: where; ``values``: final value of every start."""

    value: jax.Array
    x: jax.Array
    values: jax.Array


def sphere_starts(key, directions, radius, shape, num_random, *, dtype=None):
    """Starts for :func:`minimize_over_ball`: ``0``, ``radius * d / ||d||`` for each row of ``directions``
    (zero rows stay 0) and ``num_random`` uniform points of the sphere ``||x|| = radius``; shape
    ``(1 + len(directions) + num_random,) + shape``."""
    dtype = directions.dtype if dtype is None else dtype
    r = jnp.asarray(radius, jnp.real(jnp.zeros((), dtype)).dtype)
    flat = directions.reshape((directions.shape[0], math.prod(tuple(shape))))
    n = jnp.sqrt(jnp.sum(jnp.real(flat * jnp.conj(flat)), axis=-1, keepdims=True))
    unit = jnp.where(n > 0, flat / jnp.where(n > 0, n, 1.0).astype(dtype), jnp.zeros((), dtype))
    z = jax.random.normal(key, (num_random, flat.shape[1]), dtype=dtype)
    zn = jnp.sqrt(jnp.sum(jnp.real(z * jnp.conj(z)), axis=-1, keepdims=True))
    rand = z / jnp.where(zn > 0, zn, 1.0).astype(dtype)
    pts = jnp.concatenate([jnp.zeros((1, flat.shape[1]), dtype), unit, rand], axis=0) * r.astype(dtype)
    return pts.reshape((-1,) + tuple(shape))


def minimize_over_ball(f: Callable, starts, radius, *, args=(), num_iters: int = 50) -> BallMinimum:
    """Minimise ``f(x, *args)`` over ``||x|| <= radius`` from every start (leading axis of ``starts``)."""
    project = ball(radius)

    def one(x0):
        res = projected_ascent(lambda x, *a: -f(x, *a), x0, project, args=args, num_iters=num_iters)
        return -res.value, res.x

    values, xs = jax.vmap(one)(starts)
    values = jnp.where(jnp.isfinite(values), values, jnp.inf)
    i = jnp.argmin(values)
    return BallMinimum(values[i], xs[i], values)


__all__ = ["BallMinimum", "sphere_starts", "minimize_over_ball"]

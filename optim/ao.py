"""Alternating optimisation driver: compose block updates (power step, phase step, beams, ...).

``alternate(steps, state, objective)`` runs ``state = step(state)`` for every
step, per outer iteration, inside a ``lax.while_loop``; records the objective
after every outer iteration and stops when the fractional increase
``(R_i - R_{i-1}) / |R_{i-1}|`` is below ``tol`` (MODELS.md 2(b)). With
``monotone=True`` a step that lowers the objective is rejected.

>>> import jax.numpy as jnp
>>> from optim import ao
>>> obj = lambda s: -(s[0] - 1.0) ** 2 - (s[1] - s[0]) ** 2
>>> steps = (lambda s: s.at[0].set((1.0 + s[1]) / 2), lambda s: s.at[1].set(s[0]))
>>> res = ao.alternate(steps, jnp.array([0.0, 0.0]), obj, num_outer=50, tol=1e-9)
>>> bool(res.value > -1e-6)
True
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp


class AOResult(NamedTuple):
    """``state``; ``value``; ``history`` (length ``num_outer + 1``, entries after the stop repeat
    the last value); ``frac_increase`` (length ``num_outer``, 0 after the stop); ``num_outer``; ``converged``."""

    state: object
    value: jax.Array
    history: jax.Array
    frac_increase: jax.Array
    num_outer: jax.Array
    converged: jax.Array


def fractional_increase(new, old):
    """``(new - old) / |old|`` (0 when ``old == 0`` and ``new == old``; finite always)."""
    den = jnp.maximum(jnp.abs(old), jnp.finfo(jnp.result_type(old)).tiny ** 0.5)
    return (new - old) / den


def alternate(steps: Sequence[Callable], state, objective: Callable, *, num_outer: int = 4, tol: float = 1e-3,
              monotone: bool = True) -> AOResult:
    """Alternating optimisation; pure JAX (``lax.while_loop``)."""
    f0 = jnp.asarray(objective(state))
    hist0 = jnp.zeros((num_outer + 1,), f0.dtype).at[0].set(f0)
    frac0 = jnp.zeros((num_outer,), f0.dtype)

    def sel(ok, a, b):
        return jax.tree_util.tree_map(lambda x, y: jnp.where(ok, x, y), a, b)

    def cond(c):
        return (c[0] < num_outer) & ~c[-1]

    def body(c):
        i, st, fv, hist, frac, _ = c
        for step in steps:
            new = step(st)
            if monotone:
                fn = objective(new)
                ok = jnp.isfinite(fn) & (fn >= objective(st))
                st = sel(ok, new, st)
            else:
                st = new
        fn = jnp.asarray(objective(st))
        d = fractional_increase(fn, fv)
        return i + 1, st, fn, hist.at[i + 1].set(fn), frac.at[i].set(d), jnp.abs(d) < tol

    i, st, fv, hist, frac, done = jax.lax.while_loop(cond, body, (0, state, f0, hist0, frac0, jnp.asarray(False)))
    hist = jnp.where(jnp.arange(num_outer + 1) <= i, hist, fv)
    return AOResult(st, fv, hist, frac, i, done)


__all__ = ["AOResult", "alternate", "fractional_increase"]

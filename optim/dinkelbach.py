"""Dinkelbach's method for ratio maximisation ``max_x N(x) / D(x)`` (``D > 0``).

``lambda_{t+1} = N(x_t)/D(x_t)`` with ``x_t = argmax_x N(x) - lambda_t D(x)``
(supplied by ``inner(lam, x_init)``). The ratio is non-decreasing; stops when
``N - lambda D`` at the inner optimum is below ``tol`` (relative).

>>> import jax.numpy as jnp
>>> from optim import dinkelbach
>>> # max (1 + x) / (1 + x^2) over x in [0, 3]: inner max of (1+x) - lam (1+x^2) is x = 1/(2 lam), clipped
>>> inner = lambda lam, x: jnp.clip(0.5 / lam, 0.0, 3.0)
>>> res = dinkelbach.maximize_ratio(lambda x: 1 + x, lambda x: 1 + x * x, inner, jnp.array(0.0))
>>> round(float(res.value), 4)   # (1 + sqrt2 - 1) / (1 + (sqrt2-1)^2) = 1.2071
1.2071
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp


class DinkelbachResult(NamedTuple):
    x: jax.Array
    value: jax.Array
    history: jax.Array
    converged: jax.Array


def maximize_ratio(num: Callable, den: Callable, inner: Callable, x0, *, num_iters: int = 30, tol: float = 1e-7):
    """Dinkelbach iterations (``lax.while_loop``; pure JAX). Returns :class:`DinkelbachResult`."""
    lam0 = num(x0) / den(x0)
    hist0 = jnp.zeros((num_iters + 1,), jnp.result_type(lam0)).at[0].set(lam0)

    def cond(c):
        i, _, _, _, done = c
        return (i < num_iters) & ~done

    def body(c):
        i, x, lam, hist, _ = c
        x_new = inner(lam, x)
        gap = num(x_new) - lam * den(x_new)
        lam_new = num(x_new) / den(x_new)
        ok = jnp.isfinite(lam_new) & (lam_new >= lam)
        x = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), x_new, x)
        lam_n = jnp.where(ok, lam_new, lam)
        done = (gap <= tol * jnp.maximum(jnp.abs(lam * den(x_new)), 1e-30)) | ~ok
        return i + 1, x, lam_n, hist.at[i + 1].set(lam_n), done

    i, x, lam, hist, done = jax.lax.while_loop(cond, body, (0, x0, lam0, hist0, jnp.asarray(False)))
    hist = jnp.where(jnp.arange(num_iters + 1) <= i, hist, lam)
    return DinkelbachResult(x, lam, hist, done)


__all__ = ["DinkelbachResult", "maximize_ratio"]

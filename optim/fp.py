"""Fractional programming: quadratic transform (Shen & Yu, direct form) for box-constrained power control.

Objective (per group ``n``, in nats), maximised over ``P_min <= p <= P_max``:

    F_n(p) = sum_j ln(o_j + a_nj(p) / b_nj(p)),    F(p) = min_n F_n(p)   (or sum_n)

with ``a, b >= 0`` affine in ``p`` and offsets ``o_j`` in {1, 0} (``o = 1``:
``ln(1 + SINR)``; ``o = 0``: a plain log-ratio such as ``ln(I'/T)``). The
quadratic transform ``a/b >= 2 y sqrt(a) - y^2 b`` (equality at
``y = sqrt(a)/b``) gives a concave minoriser; each FP iteration fixes ``y``
in closed form and maximises the minoriser by projected gradient ascent
(Adam on the box, a stand-in for the papers' CVX step). A candidate is
accepted only if the true objective does not decrease, so the history is
non-decreasing (MM property).

>>> import jax.numpy as jnp
>>> from optim import fp
>>> ratios = lambda p: (p[None, :1] * 2.0, 1.0 + p[None, 1:])   # ln(1 + 2 p0 / (1 + p1))
>>> res = fp.power_control(ratios, jnp.array([0.5, 0.5]), 0.1, 1.0, offsets=jnp.array([1.0]))
>>> [round(float(x), 2) for x in res.p]
[1.0, 0.1]
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from optim.surrogates import soft_min


class FPResult(NamedTuple):
    """``p``: powers; ``value``: objective (nats); ``history``: objective per FP iteration
    (length ``num_iters + 1``, non-decreasing); ``converged``: last fractional increase below ``tol``."""

    p: jax.Array
    value: jax.Array
    history: jax.Array
    converged: jax.Array


def optimal_aux(a, b):
    """Closed-form auxiliary variable ``y = sqrt(a) / b`` of the quadratic transform."""
    return jnp.sqrt(jnp.maximum(a, jnp.zeros_like(a))) / b


def quadratic_transform(a, b, y):
    """``2 y sqrt(a) - y^2 b`` (``<= a/b``, equality at ``y = optimal_aux(a, b)``)."""
    return 2.0 * y * jnp.sqrt(jnp.maximum(a, jnp.zeros_like(a))) - y * y * b


def _safe_log(x):
    tiny = jnp.finfo(jnp.result_type(x)).tiny
    return jnp.log(jnp.maximum(x, tiny))


def _offsets_like(offsets, a):
    """``offsets`` (``(J,)``) broadcast explicitly to the ``(N, J)`` shape of ``a``."""
    return jnp.broadcast_to(jnp.asarray(offsets, a.dtype), a.shape)


def log_ratio_objective(ratios, offsets, p, aggregate="min"):
    """True objective ``min_n (or sum_n) sum_j ln(o_j + a_nj/b_nj)`` in nats."""
    a, b = ratios(p)
    per = jnp.sum(_safe_log(_offsets_like(offsets, a) + a / b), axis=-1)
    return jnp.min(per) if aggregate == "min" else jnp.sum(per)


def surrogate_objective(ratios, offsets, y, p, temperature=0.0, aggregate="min"):
    """FP minoriser at fixed ``y``: ``smin_n sum_j ln(o_j + 2 y sqrt(a) - y^2 b)``."""
    a, b = ratios(p)
    per = jnp.sum(_safe_log(_offsets_like(offsets, a) + quadratic_transform(a, b, y)), axis=-1)
    return soft_min(per, temperature) if aggregate == "min" else jnp.sum(per)


def power_control(ratios: Callable, p0, p_min, p_max, *, offsets, num_iters: int = 25, inner_steps: int = 60,
                  step_size: float = 0.05, temperature: float = 1e-3, aggregate: str = "min",
                  tol: float = 1e-3) -> FPResult:
    """FP power control (quadratic transform + projected ascent), ``num_iters`` FP iterations.

    ``ratios(p) -> (a, b)`` with shapes ``(N, J)``; ``offsets`` shape ``(J,)``.
    The box is handled by ascending in ``s = (p - P_min)/(P_max - P_min)`` with
    projection onto ``[0, 1]``; ``temperature`` (nats) smooths the inner min.
    Pure JAX (``lax.scan``): usable inside ``jit``/``vmap``.
    """
    if aggregate not in ("min", "sum"):
        raise ValueError(f"aggregate must be 'min' or 'sum', got {aggregate!r}")
    p0 = jnp.asarray(p0)
    dt = p0.dtype
    p_min = jnp.broadcast_to(jnp.asarray(p_min, dt), p0.shape)
    p_max = jnp.broadcast_to(jnp.asarray(p_max, dt), p0.shape)
    width = jnp.maximum(p_max - p_min, jnp.finfo(dt).tiny)
    offsets = jnp.asarray(offsets, dt)
    to_p = lambda s: p_min + width * s  # noqa: E731
    true = lambda p: log_ratio_objective(ratios, offsets, p, aggregate)  # noqa: E731
    opt = optax.adam(step_size)

    def fp_iter(carry, _):
        p, val = carry
        a, b = ratios(p)
        y = optimal_aux(a, b)
        sur = lambda s: surrogate_objective(ratios, offsets, y, to_p(s), temperature, aggregate)  # noqa: E731
        exact = lambda s: surrogate_objective(ratios, offsets, y, to_p(s), 0.0, aggregate)  # noqa: E731
        s0 = jnp.clip((p - p_min) / width, 0.0, 1.0)

        def inner(c, _):
            s, st, s_best, f_best = c
            g = jax.grad(sur)(s)
            with jax.numpy_dtype_promotion("standard"):  # optax's Adam: decay ** int32 count
                upd, st = opt.update(-g, st, s)
            s = jnp.clip(s + upd, 0.0, 1.0)
            f = exact(s)
            better = jnp.isfinite(f) & (f > f_best)
            return (s, st, jnp.where(better, s, s_best), jnp.where(better, f, f_best)), None

        with jax.numpy_dtype_promotion("standard"):
            st0 = opt.init(s0)
        (_, _, s_best, _), _ = jax.lax.scan(inner, (s0, st0, s0, exact(s0)), None, length=inner_steps)
        p_new = to_p(s_best)
        v_new = true(p_new)
        ok = jnp.isfinite(v_new) & (v_new >= val)
        p = jnp.where(ok, p_new, p)
        val = jnp.where(ok, v_new, val)
        return (p, val), val

    v0 = true(p0)
    (p, val), hist = jax.lax.scan(fp_iter, (p0, v0), None, length=num_iters)
    history = jnp.concatenate([v0[None], hist])
    if num_iters:
        last_gain = jnp.abs(history[-1] - history[-2]) / jnp.maximum(jnp.abs(history[-2]), jnp.asarray(1e-30, dt))
    else:
        last_gain = jnp.asarray(0.0, dt)
    return FPResult(p, val, history, last_gain < tol)


def corner_search(objective: Callable, p_min, p_max, num_users: int):
    """Best of the ``2^U`` corner points ``{P_min, P_max}^U`` (optimal for one two-way pair).

    Returns ``(p, value)``.
    """
    import itertools

    corners = jnp.array(list(itertools.product((0.0, 1.0), repeat=num_users)))
    ps = p_min + (p_max - p_min) * corners
    vals = jax.vmap(objective)(ps)
    i = jnp.argmax(vals)
    return ps[i], vals[i]


def grid_search(objective: Callable, p_min, p_max, num_users: int, points: int = 50, chunk: int = 65536):
    """Exhaustive search over ``points`` linearly spaced powers per user (``points^U`` evaluations).

    Evaluated in chunks (``lax.map``) to bound memory. Returns ``(p, value)``.
    """
    grid = jnp.linspace(p_min, p_max, points)
    total = points**num_users
    nchunks = -(-total // chunk)
    idx = jnp.arange(nchunks * chunk).reshape(nchunks, chunk)

    def eval_chunk(ix):
        digits = jnp.stack([(ix // points**u) % points for u in range(num_users)], axis=-1)
        ps = grid[digits]
        vals = jax.vmap(objective)(ps)
        vals = jnp.where(ix < total, vals, -jnp.inf)
        j = jnp.argmax(vals)
        return ps[j], vals[j]

    ps, vals = jax.lax.map(eval_chunk, idx)
    i = jnp.argmax(vals)
    return ps[i], vals[i]


__all__ = ["FPResult", "optimal_aux", "quadratic_transform", "log_ratio_objective", "surrogate_objective",
           "power_control", "corner_search", "grid_search"]

"""Limited-memory BFGS ascent for smooth objectives of pytrees of real/complex arrays (fixed iteration count).

``lbfgs_ascent(f, x0, args=..., num_iters=..., memory=10)`` maximises a real ``f(x, *args)`` with no
constraints (use a smooth parametrisation for constraints: angles for unit modulus, ``sqrt(sigmoid(a)) V/||V||``
for a power ball). Complex leaves are handled in real coordinates (:func:`optim.interior.real_coordinates`).
Direction: the two-loop recursion over the last ``memory`` pairs (curvature pairs with ``<s, y> <= 0`` are
skipped); step: Armijo test of the trial ``x + t d`` with ``t = 1`` (the very first trial moves ``x`` by
``initial_move``); a failed trial halves ``t`` for the next iteration along the same direction. So every iteration
is exactly one evaluation of ``f`` and its gradient (no inner loop that a ``vmap`` batch would wait on), one traced
copy of them; pure ``lax`` loops (``jit``/``vmap``-able). ``num_iters`` counts those evaluations.

On the ill-conditioned FBR design problems (:mod:`optim.fbr_design`) it reaches in 100 iterations what projected
gradient with Barzilai-Borwein steps does not reach in 300.

>>> import jax.numpy as jnp
>>> from optim import lbfgs
>>> f = lambda x: -(x[0] - 1.0) ** 2 - 100.0 * (x[1] - x[0] ** 2) ** 2     # Rosenbrock, maximum at (1, 1)
>>> res = lbfgs.lbfgs_ascent(f, jnp.array([-1.2, 1.0]), num_iters=100)
>>> [round(float(v), 3) for v in res.x]
[1.0, 1.0]
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from optim.interior import real_coordinates


class LBFGSResult(NamedTuple):
    """``x`` (structure of ``x0``); ``value`` = ``f(x)``; ``history`` = value after each iteration (length
    ``num_iters + 1``, non-decreasing)."""

    x: object
    value: jax.Array
    history: jax.Array


def lbfgs_ascent(f: Callable, x0, *, args=(), num_iters: int = 100, memory: int = 10, initial_move: float = 0.1,
                 armijo_c: float = 1e-4) -> LBFGSResult:
    """Maximise ``f(x, *args)`` by L-BFGS with Armijo backtracking; see the module docstring."""
    v0, unravel = real_coordinates(x0)
    rd = v0.dtype
    n = v0.shape[0]
    tiny = jnp.finfo(rd).tiny

    def negf(v):
        val = -f(unravel(v), *args)
        return jnp.where(jnp.isfinite(val), val, jnp.inf)

    vg = jax.value_and_grad(negf)

    def direction(g, S, Y, rho, count, gamma):
        # two-loop recursion; slot i valid when i < count (circular buffer, newest at (count - 1) % m)
        m = S.shape[0]
        idx = (count - 1 - jnp.arange(m)) % m  # newest first
        valid = jnp.arange(m) < jnp.minimum(count, m)

        def first(q, i):
            j = idx[i]
            a = jnp.where(valid[i], rho[j] * jnp.dot(S[j], q), 0.0)
            return q - a * Y[j], a

        q, alphas = jax.lax.scan(first, g, jnp.arange(m))
        r = gamma * q

        def second(r, i):
            j = idx[i]
            b = jnp.where(valid[i], rho[j] * jnp.dot(Y[j], r), 0.0)
            return r + S[j] * jnp.where(valid[i], alphas[i] - b, 0.0), None

        r, _ = jax.lax.scan(second, r, jnp.arange(m)[::-1])
        return -r  # descent direction of -f

    def body(c, _):
        v, fv, g, S, Y, rho, count, gamma, t, d, fresh = c
        # a new direction after an accepted step; a failed trial keeps d and halves t
        dn = direction(g, S, Y, rho, count, gamma)
        bad = ~(jnp.dot(g, dn) < 0) | ~jnp.all(jnp.isfinite(dn))
        dn = jnp.where(bad, -g, dn)
        d = jnp.where(fresh, dn, d)
        slope = jnp.dot(g, d)
        t_first = jnp.where(count == 0, initial_move * jnp.maximum(jnp.linalg.norm(v), 1.0)
                            / jnp.maximum(jnp.linalg.norm(d), tiny), 1.0)
        t_try = jnp.where(fresh, t_first, t)
        vt = v + t_try * d
        ft, gt = vg(vt)
        ok = jnp.isfinite(ft) & (ft <= fv + armijo_c * t_try * slope) & jnp.all(jnp.isfinite(gt))
        s = jnp.where(ok, vt - v, 0.0)
        y = jnp.where(ok, gt - g, 0.0)
        sy = jnp.dot(s, y)
        good = ok & (sy > 1e-10 * jnp.maximum(jnp.dot(y, y), tiny))
        slot = count % S.shape[0]
        S = jnp.where(good, S.at[slot].set(s), S)
        Y = jnp.where(good, Y.at[slot].set(y), Y)
        rho = jnp.where(good, rho.at[slot].set(1.0 / jnp.where(good, sy, 1.0)), rho)
        gamma = jnp.where(good, sy / jnp.maximum(jnp.dot(y, y), tiny), gamma)
        count = count + good.astype(count.dtype)
        v = jnp.where(ok, vt, v)
        fv = jnp.where(ok, ft, fv)
        g = jnp.where(ok, gt, g)
        return (v, fv, g, S, Y, rho, count, gamma, 0.5 * t_try, d, ok), -fv

    f0, g0 = vg(v0)
    m = max(int(memory), 1)
    init = (v0, f0, g0, jnp.zeros((m, n), rd), jnp.zeros((m, n), rd), jnp.zeros((m,), rd), jnp.asarray(0, jnp.int32),
            jnp.asarray(1.0, rd), jnp.asarray(1.0, rd), jnp.zeros_like(v0), jnp.asarray(True))
    (v, fv, *_), hist = jax.lax.scan(body, init, None, length=max(int(num_iters), 1))
    return LBFGSResult(unravel(v), -fv, jnp.concatenate([-f0[None], hist]))


__all__ = ["LBFGSResult", "lbfgs_ascent"]

"""Log-barrier Newton method for small smooth max-min (or sum) problems: the JAX stand-in for a conic solver.

``maximin_barrier(f, x0, h)`` maximises ``min_k f(x)[k]`` (or ``sum_k f(x)[k]`` with ``use_sum``) subject to
``h(x) <= 0`` (every entry), for a pytree ``x`` of real/complex arrays (flattened to real coordinates), starting
from a strictly feasible ``x0``. Epigraph + barrier: maximise
``phi_mu(x, t) = t + mu [sum_k ln(f_k(x) - t) + sum_c ln(-h_c(x))]`` for a geometric sequence of ``mu``
(``mu0 -> mu_end``), a fixed number of damped Newton steps each (exact Hessian by ``jax.hessian``, solved by a
modified Cholesky factorisation in plain XLA, :func:`newton_direction`: an ascent direction also where ``f`` is
not concave), with a backtracking
line search that keeps the iterate strictly feasible. For concave ``f_k`` and convex ``h_c`` the final
``mu_end (K + C)`` bounds the sub-optimality of the barrier path (standard interior-point theory).

Fixed iteration counts, pure ``lax`` loops: runs inside ``jit``/``vmap``. Meant for problems with tens of real
variables (one Hessian per Newton step), e.g. one SCA step of the FBR max-min design
(:mod:`optim.fbr_design`), where first-order methods crawl (condition numbers ~1e4 and more).

>>> import jax.numpy as jnp
>>> from optim import interior
>>> f = lambda x: jnp.stack([1.0 - (x[0] - 1.0) ** 2, 1.0 - (x[1] + 1.0) ** 2])
>>> h = lambda x: jnp.sum(x ** 2, keepdims=True) - 1.0          # unit disc
>>> res = interior.maximin_barrier(f, jnp.zeros(2), h)
>>> [round(float(v), 3) for v in res.x], round(float(res.value), 3)
([0.707, -0.707], 0.914)
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree


class BarrierResult(NamedTuple):
    """``x`` (same structure as ``x0``); ``value`` = ``min_k f_k(x)`` (or the sum); ``mu`` = final barrier
    weight; ``feasible`` = ``h(x) < 0`` everywhere."""

    x: object
    value: jax.Array
    mu: jax.Array
    feasible: jax.Array


def real_coordinates(x):
    """``(vector, unravel)``: every complex leaf split into real and imaginary parts, all flattened."""
    parts = jax.tree_util.tree_map(lambda a: (jnp.real(a), jnp.imag(a)) if jnp.iscomplexobj(a) else a, x)
    vec, unravel_parts = ravel_pytree(parts)
    is_c = jax.tree_util.tree_map(jnp.iscomplexobj, x)
    dtypes = jax.tree_util.tree_map(lambda a: a.dtype, x)

    def unravel(v):
        p = unravel_parts(v)
        return jax.tree_util.tree_map(
            lambda c, dt, q: jax.lax.complex(q[0], q[1]).astype(dt) if c else q.astype(dt), is_c, dtypes, p,
            is_leaf=lambda a: isinstance(a, bool))

    return vec, unravel


def newton_direction(H, g, rel_floor=1e-10):
    """Ascent direction ``d = -(H~)^{-1} g`` for a symmetric Hessian ``H``, where ``-H~ = L L^T`` is the
    Gill-Murray-Wright modified Cholesky factorisation of ``-H``: a pivot is replaced by its absolute value, raised
    where needed to keep every entry of ``L`` bounded, and to at least ``rel_floor * s`` (``s`` = largest absolute
    row sum of ``H``, an upper bound of its spectral radius; never below the square root of the smallest normal
    number). For a negative definite ``H`` whose pivots clear these bounds this is the exact Newton step;
    otherwise ``-H~`` is still positive definite, so ``g . d > 0`` (an ascent direction), as when the eigenvalues
    of ``H`` are clamped below 0.

    Plain XLA operations (``fori_loop`` over the columns), no LAPACK call: a batched LAPACK ``eigh`` /
    ``cholesky`` splits its batch over the XLA CPU thread pool and waits for the parts, and two such calls
    running at once on a 2-thread pool can wait for each other for ever (jax 0.10.2; see ``optim.receivers``).
    Meant for the tens of variables of one SCA step.

    >>> import jax.numpy as jnp
    >>> H = -jnp.array([[2.0, 0.5], [0.5, 1.0]])
    >>> [round(float(v), 4) for v in newton_direction(H, jnp.array([1.0, 1.0]))]
    [0.2857, 0.8571]
    """
    n = H.shape[-1]
    A = -0.5 * (H + H.T)
    idx = jnp.arange(n)
    tiny = jnp.finfo(A.dtype).tiny
    scale = jnp.maximum(jnp.max(jnp.sum(jnp.abs(A), axis=-1)), tiny)
    floor = jnp.maximum(rel_floor * scale, jnp.sqrt(tiny))  # a zero Hessian gives a finite (huge) step
    # Gill-Murray-Wright bound on the factor's entries (|L_ik| <= beta): keeps the factorisation of an
    # indefinite matrix from blowing up (pivots raised to (max_i |c_ik| / beta)^2 where needed)
    off = jnp.where(idx[:, None] != idx[None, :], jnp.abs(A), 0.0)
    beta2 = jnp.maximum(jnp.maximum(jnp.max(jnp.abs(jnp.diagonal(A))), jnp.max(off) / max((n * n - 1) ** 0.5, 1.0)),
                        jnp.finfo(A.dtype).eps)

    def column(k, L):
        lk = jnp.where(idx < k, L[k], 0.0)  # row k of L, columns < k
        c = A[:, k] - L @ lk  # column k of the Schur complement (entries i >= k used)
        theta = jnp.max(jnp.where(idx > k, jnp.abs(c), 0.0))
        d = jnp.maximum(jnp.maximum(jnp.abs(c[k]), theta * theta / beta2), floor)
        r = jnp.sqrt(d)
        return L.at[:, k].set(jnp.where(idx > k, c / r, jnp.where(idx == k, r, 0.0)))

    L = jax.lax.fori_loop(0, n, column, jnp.zeros_like(A))

    def forward(i, y):  # L y = g
        return y.at[i].set((g[i] - jnp.dot(jnp.where(idx < i, L[i], 0.0), y)) / L[i, i])

    def backward(j, x):  # L^T x = y, rows n-1 .. 0
        i = n - 1 - j
        return x.at[i].set((y[i] - jnp.dot(jnp.where(idx > i, L[:, i], 0.0), x)) / L[i, i])

    y = jax.lax.fori_loop(0, n, forward, jnp.zeros_like(g))
    return jax.lax.fori_loop(0, n, backward, jnp.zeros_like(g))


def maximin_barrier(f: Callable, x0, h: Callable, *, args=(), use_sum=False, mu0: float = 1.0,
                    mu_end: float = 1e-4, num_stages: int = 5, newton_steps: int = 4, max_backtracks: int = 30,
                    armijo_c: float = 1e-4, t_margin: float = 1.0, inner: str = "newton",
                    lbfgs_iters: int = 30) -> BarrierResult:
    """Maximise ``min_k f(x, *args)[k]`` (``use_sum``: the sum; may be traced) s.t. ``h(x, *args) <= 0``.

    ``x0`` must be strictly feasible. ``num_stages`` barrier weights from ``mu0`` to ``mu_end`` (geometric),
    ``newton_steps`` Newton steps per weight (``inner="newton"``), or ``lbfgs_iters`` L-BFGS iterations per
    weight (``inner="lbfgs"``: no Hessian, cheaper per step, less accurate). The epigraph variable starts
    ``t_margin`` below ``min f(x0)``.
    """
    if inner not in ("newton", "lbfgs"):
        raise ValueError(f"inner must be 'newton' or 'lbfgs', got {inner!r}")
    v0, unravel = real_coordinates(x0)
    rd = v0.dtype
    tiny = jnp.finfo(rd).tiny
    use_sum = jnp.asarray(use_sum)

    def fk(y):
        return jnp.asarray(f(unravel(y[:-1]), *args))

    def hc(y):
        return jnp.asarray(h(unravel(y[:-1]), *args)).reshape(-1)

    def phi(y, mu):
        fy, hy = fk(y), hc(y)
        t = y[-1]
        s = fy - t
        ok_c = jnp.all(hy < 0)
        ok_t = jnp.all(s > 0)
        lb = jnp.sum(jnp.log(jnp.maximum(-hy, tiny)))
        maxmin = t + mu * (jnp.sum(jnp.log(jnp.maximum(s, tiny))) + lb)
        # sum mode: t is a dummy kept at its value by a concave penalty (non-singular Hessian)
        summ = jnp.sum(fy) + mu * lb - 0.5 * (t - jax.lax.stop_gradient(t)) ** 2
        val = jnp.where(use_sum, summ, maxmin)
        ok = ok_c & (use_sum | ok_t) & jnp.isfinite(val)
        return jnp.where(ok, val, -jnp.inf)

    def newton(y, mu):
        val, g = jax.value_and_grad(phi)(y, mu)
        H = jax.hessian(phi)(y, mu)
        d = newton_direction(H, g)  # an ascent direction even where phi is not concave; no LAPACK call
        slope = jnp.dot(g, d)

        def cond(c):
            k, s, _, _, ok = c
            return (~ok) & (k < max_backtracks)

        def body(c):
            k, s, _, _, _ = c
            yt = y + s * d
            vt = phi(yt, mu)
            ok = jnp.isfinite(vt) & (vt >= val + armijo_c * s * slope)
            return k + 1, jnp.where(ok, s, 0.5 * s), yt, vt, ok

        _, _, yt, vt, ok = jax.lax.while_loop(cond, body, (0, jnp.asarray(1.0, rd), y, val, jnp.asarray(False)))
        good = ok & jnp.all(jnp.isfinite(d))
        return jnp.where(good, yt, y)

    f0 = fk(jnp.concatenate([v0, jnp.zeros((1,), rd)]))
    y0 = jnp.concatenate([v0, (jnp.min(f0) - t_margin)[None].astype(rd)])
    ratio = (mu_end / mu0) ** (1.0 / max(num_stages - 1, 1))
    mus = jnp.asarray([mu0 * ratio**i for i in range(num_stages)], rd)

    def stage(y, mu):
        if inner == "lbfgs":
            from optim.lbfgs import lbfgs_ascent

            return lbfgs_ascent(phi, y, args=(mu,), num_iters=lbfgs_iters, initial_move=1e-3).x, None
        y, _ = jax.lax.scan(lambda yy, _: (newton(yy, mu), None), y, None, length=newton_steps)
        return y, None

    y, _ = jax.lax.scan(stage, y0, mus)
    x = unravel(y[:-1])
    fy = fk(y)
    value = jnp.where(use_sum, jnp.sum(fy), jnp.min(fy))
    return BarrierResult(x, value, mus[-1], jnp.all(hc(y) < 0))


__all__ = ["BarrierResult", "real_coordinates", "newton_direction", "maximin_barrier"]

"""Riemannian conjugate-gradient ascent on the complex oblique manifold (rows of ``U`` on unit spheres).

One small solver for the two uses of the uplink designs (MODELS.md 3(c), section 6): unit-modulus phases
(``U`` of shape ``(n, 1)``: a unit-norm complex row of length one is a phase) and Burer-Monteiro factors of
the lifted SDR (``U`` of shape ``(n, r)``, ``X = U U^H`` on the elliptope). Polak-Ribiere+ directions with the
tangent projection as vector transport, Armijo backtracking along the retraction ``Z_i / ||Z_i||``, the
first trial step twice the last accepted one (the very first moves the rows by about ``step``). It stops
when the relative improvement of one iteration is below ``tol`` or after ``max_iters`` iterations. Pure JAX
(``lax.while_loop``), ``vmap``/``jit``-able, strict dtype promotion clean; dtypes follow ``U0``.

``jax.grad`` of a real function of a complex array returns the conjugate of the ascent direction
(``d f = Re <conj(grad), dU>``), so the direction used is ``conj(grad)`` projected on the tangent space.

>>> import jax, jax.numpy as jnp
>>> from optim import oblique_cg
>>> a = jnp.exp(jax.lax.complex(0.0, jnp.arange(5.0)))               # maximise |sum_n conj(a_n) v_n|^2 over |v_n| = 1
>>> f = lambda U, a: jnp.abs(jnp.vdot(a, U[:, 0])) ** 2
>>> res = oblique_cg.maximize(f, jnp.ones((5, 1), jnp.complex64), args=(a,))
>>> round(float(res.value), 3)                                        # optimum n^2 = 25 (v = a)
25.0
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["ObliqueResult", "maximize", "retract", "tangent"]


class ObliqueResult(NamedTuple):
    """``point`` (the final ``U``), ``value`` (objective there), ``history`` (objective per iteration, length
    ``max_iters + 1``, the last value repeated after the stop), ``num_iters``."""

    point: jax.Array
    value: jax.Array
    history: jax.Array
    num_iters: jax.Array


def tangent(U, Z):
    """Projection of ``Z`` on the tangent space at ``U``: ``Z_i - Re<Z_i, U_i> U_i`` per row."""
    c = jnp.real(jnp.sum(Z * jnp.conj(U), axis=-1, keepdims=True))
    return Z - c.astype(U.dtype) * U


def retract(Z):
    """Row normalisation ``Z_i / ||Z_i||`` (a row of norm 0 becomes ``e_1``)."""
    nrm = jnp.linalg.norm(Z, axis=-1, keepdims=True)
    ok = nrm > 0
    e1 = jnp.zeros_like(Z).at[..., 0].set(1.0)
    return jnp.where(ok, Z / jnp.where(ok, nrm, jnp.ones_like(nrm)).astype(Z.dtype), e1)


def _inner(a, b):
    return jnp.sum(jnp.real(a) * jnp.real(b) + jnp.imag(a) * jnp.imag(b))


def maximize(objective: Callable, U0, args=(), *, max_iters: int = 100, tol: float = 1e-7,
             max_backtracks: int = 12, step: float = 1.0, armijo: float = 1e-4) -> ObliqueResult:
    """Maximise ``objective(U, *args)`` (real) over ``U`` with unit-norm rows, from ``U0`` (rows normalised).

    Never returns a point worse than ``U0``: each accepted step satisfies the Armijo condition; when no step
    of the backtracking is accepted the loop stops where it is.
    """
    U0 = retract(jnp.asarray(U0))
    rd = jnp.real(U0).dtype
    args = tuple(args)
    vg = jax.value_and_grad(lambda U: objective(U, *args))

    def rgrad(U):
        f, g = vg(U)
        return f, tangent(U, jnp.conj(g))

    f0, g0 = rgrad(U0)
    hist0 = jnp.full((max_iters + 1,), f0, rd)

    def cond(c):
        i, _, _, _, _, _, done, _ = c
        return (i < max_iters) & ~done

    def body(c):
        i, U, f, g, d, t, _, hist = c
        slope = _inner(g, d)
        d = jnp.where(slope > 0, d, g)  # restart on a non-ascent direction
        slope = jnp.where(slope > 0, slope, _inner(g, g))

        def bt_cond(s):
            k, tt, _, ok = s
            return (k < max_backtracks) & ~ok

        def bt_body(s):
            k, tt, _, _ = s
            tt = tt * 0.5
            fn = objective(retract(U + tt.astype(U.dtype) * d), *args)
            return k + 1, tt, fn, jnp.isfinite(fn) & (fn >= f + armijo * tt * slope)

        f_try = objective(retract(U + t.astype(U.dtype) * d), *args)
        ok0 = jnp.isfinite(f_try) & (f_try >= f + armijo * t * slope)
        _, t_acc, f_new, ok = jax.lax.while_loop(bt_cond, bt_body, (0, t, f_try, ok0))
        U_new = jnp.where(ok, retract(U + t_acc.astype(U.dtype) * d), U)
        f_new = jnp.where(ok, f_new, f)
        f_n, g_n = rgrad(U_new)
        g_old = tangent(U_new, g)
        beta = jnp.maximum(_inner(g_n, g_n - g_old) / jnp.maximum(_inner(g, g), jnp.finfo(rd).tiny),
                           jnp.zeros((), rd))
        d_n = g_n + beta.astype(U.dtype) * tangent(U_new, d)
        small = (f_n - f) <= tol * jnp.maximum(jnp.abs(f), jnp.ones((), rd))
        done = ~ok | small
        return (i + 1, U_new, f_n, g_n, d_n, jnp.where(ok, 2.0 * t_acc, t), done, hist.at[i + 1].set(f_n))

    gmax = jnp.max(jnp.linalg.norm(g0, axis=-1))
    t0 = jnp.asarray(step, rd) / jnp.where(gmax > 0, gmax, jnp.ones((), rd))  # first trial: rows move by ~step
    init = (0, U0, f0, g0, g0, t0, jnp.asarray(False), hist0)
    i, U, f, _, _, _, _, hist = jax.lax.while_loop(cond, body, init)
    hist = jnp.where(jnp.arange(max_iters + 1) <= i, hist, f)
    return ObliqueResult(U, f, hist, i)

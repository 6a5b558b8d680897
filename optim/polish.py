"""Coordinate polish: maximise a phase objective over one phase at a time (Gauss-Seidel sweeps).

For each element ``i`` in turn, ``theta_i`` is moved to the best point of the
1-D restriction ``r(phi) = f(v with v_i = exp(j phi))``: ``num_samples``
equispaced angles, then safeguarded 1-D Newton steps (first and second
derivatives of ``r`` by forward-mode AD) inside the bracket between the best
sample's neighbours (a golden-section point whenever the Newton step leaves
it; the bracket shrinks around the best point). The move is accepted only if it increases ``f``
(monotone).

For quadratic and ratio-of-quadratic objectives ``r`` is a ratio of
first-order trigonometric polynomials, which has one maximum and one minimum
per period: the maximum lies between the best sample's neighbours and the
bracketed Newton iteration converges to it (also for sharp peaks, where
plain Newton from the best sample fails) -- each update is the exact
coordinate maximiser (to float precision; tested against a dense grid). For a
minimum of such ratios (max-min objectives) the restriction may have several
local maxima and kinks; the sampled start then picks the best basin and a kink
is approached by the bracketed steps. Generic: only evaluations of ``f`` (and
its forward-mode derivatives; ``num_samples + newton_steps + 1`` evaluations with derivatives per element)
are used, so objectives must support ``jax.jvp`` (no ``custom_vjp``).

>>> import jax, jax.numpy as jnp
>>> from irsjax.phases import from_angles
>>> from optim import polish
>>> c = from_angles(jnp.arange(4.0))
>>> f = lambda v, c: jnp.abs(jnp.vdot(c, v)) ** 2          # max 16 at v = c
>>> v = polish.coordinate_sweeps(f, jnp.ones(4, jnp.complex64), (c,), num_sweeps=4)
>>> round(float(f(v, c)), 4)
16.0
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from irsjax.phases import from_angles

_GOLD = 0.3819660112501051  # golden-section fraction


def coordinate_sweeps(objective, v, args=(), *, num_sweeps: int = 1, num_samples: int = 8, newton_steps: int = 10):
    """``num_sweeps`` Gauss-Seidel sweeps of 1-D maximisation over each phase of ``v`` (any shape); returns ``v``.

    Pure JAX (``lax`` loops); monotone in ``objective(v, *args)``. Per element: ``num_samples`` equispaced
    angles, then at most ``newton_steps`` safeguarded Newton steps (a Newton step from the best point when it
    stays inside the bracket of the best sample's neighbours, else a golden-section point; the bracket shrinks;
    a Newton step shorter than ``sqrt(eps)`` rad ends the search: the next would move the value below float
    precision; no step is evaluated when the first one from the best sample is that short). Only element ``i`` is
    recomputed when phase ``i`` moves; the 1-D derivatives are forward over forward.
    """
    v = jnp.asarray(v)
    shape, cdt = v.shape, v.dtype
    rd = jnp.real(v).dtype
    n = v.size
    M = int(num_samples)
    offsets = (2 * jnp.pi / M) * jnp.arange(M).astype(rd)
    spacing = jnp.asarray(2 * jnp.pi / M, rd)
    small = jnp.asarray(jnp.finfo(rd).eps ** 0.5, rd)

    def one(i, carry):
        theta, w, fval = carry

        def r(phi):
            return jnp.asarray(objective(w.at[i].set(from_angles(phi).astype(cdt)).reshape(shape), *args), rd)

        def fd(p):  # value, first and second derivative
            one_ = jnp.ones_like(p)
            (f, d1), (_, d2) = jax.jvp(lambda q: jax.jvp(r, (q,), (one_,)), (p,), (one_,))
            return f, d1, d2

        phis = theta[i] + offsets
        vals = jax.vmap(r)(phis)
        vals = jnp.where(jnp.isfinite(vals), vals, -jnp.inf)
        m = jnp.argmax(vals)
        centre = phis[m]
        _, d1, d2 = fd(centre)
        # a unimodal restriction (ratio of first-order trigonometric polynomials) has its maximum between the
        # best sample's neighbours: the bracket lo < b < hi with f(b) >= f(lo), f(hi) is kept while Newton steps
        # from b (when they stay inside) or golden-section points shrink it
        lo, hi = centre - spacing, centre + spacing

        def step(st):
            k, b, fb, d1, d2, lo, hi, _ = st
            newton = b - d1 / jnp.where(d2 < 0, d2, -1.0)
            right = (hi - b) > (b - lo)
            golden = jnp.where(right, b + _GOLD * (hi - b), b - _GOLD * (b - lo))
            ok = (d2 < 0) & (newton > lo) & (newton < hi) & (newton != b)
            x = jnp.where(ok, newton, golden)
            f, d1x, d2x = fd(x)
            better = jnp.isfinite(f) & (f > fb)
            lo = jnp.where(better, jnp.where(x > b, b, lo), jnp.where(x > b, lo, x))
            hi = jnp.where(better, jnp.where(x > b, hi, b), jnp.where(x > b, x, hi))
            # a Newton step below sqrt(eps) rad leaves an error O(step^2): the value is exact to float precision
            done = ok & (jnp.abs(x - b) <= small)
            return (k + 1, jnp.where(better, x, b), jnp.where(better, f, fb), jnp.where(better, d1x, d1),
                    jnp.where(better, d2x, d2), lo, hi, done)

        # a Newton step from the best sample already below sqrt(eps) rad: that sample is the 1-D maximiser to
        # float precision (the same stop as in the loop, taken before evaluating the step)
        converged = (d2 < 0) & (jnp.abs(d1) <= small * -d2)
        st0 = (jnp.zeros((), jnp.int32), centre, vals[m], d1, d2, lo, hi, converged)
        phi, fphi = jax.lax.while_loop(lambda st: (st[0] < int(newton_steps)) & ~st[-1], step, st0)[1:3]
        take = fphi > fval
        phi = jnp.where(take, phi, theta[i])
        return theta.at[i].set(phi), w.at[i].set(from_angles(phi).astype(cdt)), jnp.where(take, fphi, fval)

    theta0 = jnp.angle(v).reshape(-1)
    w0 = from_angles(theta0).astype(cdt)
    f0 = jnp.asarray(objective(w0.reshape(shape), *args), rd)
    theta, _, _ = jax.lax.fori_loop(0, n * int(num_sweeps), lambda k, c: one(k % n, c), (theta0, w0, f0))
    return from_angles(theta).reshape(shape).astype(cdt)


__all__ = ["coordinate_sweeps"]

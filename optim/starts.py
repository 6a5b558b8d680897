"""Deterministic starts for phase design from the objective's second-order model at ``v = 0``.

An IRS objective is usually a smooth function of the complex vector ``v`` everywhere, not only on the circle
``|v_i| = 1``: ``log(1 + snr |a0 + a^H v|^2) - ...``, ``v^H C v``. Its Taylor model at the origin,
``f(0) + Re(g^H v) + v^H H v / 2`` (``g`` the ascent direction, ``H v`` its derivative along ``v``), names the
two classical starts of the literature without knowing the objective's form:

* the **gradient start** ``exp(j arg g)``: with direct links, co-phasing of the cascaded with the direct
  channels (for a wiretap rate, weighted against the eavesdropper's);
* the **spectral start** ``exp(j arg u)``, ``u`` the leading eigenvector of ``H`` (shifted power iteration on
  Hessian-vector products): for ``v^H C v`` the leading eigenvector of ``C`` (the rank-one SDR solution's
  phases); for a wiretap rate without direct links that of ``snr_b a a^H - snr_e b b^H``.

:func:`optim.maximize_phases` adds one such start to its random ones by default (the gradient start where the
gradient at the origin is non-zero, else the spectral one) and always refines it, so its result is never worse than
the random starts' alone. A start is only used where the objective and its derivatives are finite at the origin
(else a further random start takes its place): an objective defined on the circle only costs the evaluations.

>>> import jax, jax.numpy as jnp
>>> C = jnp.array([[3.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.5]]).astype(jnp.complex64)
>>> f = lambda v, C: jnp.real(jnp.vdot(v, C @ v))
>>> (spectral, gradient), ok = taylor_starts(f, (3,), (C,), jax.random.key(0))
>>> bool(ok[0]), bool(ok[1])   # the gradient of a quadratic form vanishes at 0: no gradient start
(True, False)
>>> bool(jnp.allclose(jnp.abs(spectral), 1.0))
True
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from irsjax.channels import complex_dtype, real_dtype

from optim.manifold import ascent_direction, retract


def _norm(u):  # (jnp.linalg.norm gives the same to 1 ulp, not bit for bit, in this program)
    return jnp.sqrt(jnp.sum(jnp.real(u * jnp.conj(u))))


def taylor_starts(f, shape, args, key, *, dtype=None, power_iters=60):
    """``((spectral, gradient), ok)``: the two unit-modulus starts of the module docstring for a real
    ``f(v, *args)`` at complex ``v`` of ``shape``, and whether each is usable (finite, and for the gradient
    start a non-zero gradient). Costs one gradient and ``9 + power_iters`` Hessian-vector products (shifted power
    iteration from a random vector drawn with ``key``: an approximate eigenvector is enough for a start).
    """
    cd = complex_dtype(dtype)
    rd = real_dtype(cd)
    zero = jnp.zeros(shape, cd)
    asc = lambda v: ascent_direction(f, v, *args)
    g = asc(zero)

    u0 = jax.lax.complex(*jax.random.normal(key, (2,) + tuple(shape), rd)).astype(cd)
    u0 = u0 / _norm(u0).astype(cd)
    # ``jnp.abs(z) ** 2`` differentiates as 2 |z| sign(z), and JAX's sign(0) = 0 loses the curvature of |z|^2 at
    # z = 0: without direct links a rate written so has a zero Hessian at the origin. Then the products are taken
    # at v = delta u0 (u0 of unit norm, delta = sqrt(eps)), where the Hessian differs from the origin's by O(delta)
    # (O(delta^2) for an even objective, as such a rate is)
    probe = jax.jvp(asc, (zero,), (u0,))[1]
    lost = ~jnp.any(probe != 0)
    delta = jnp.sqrt(jnp.finfo(rd).eps).astype(cd)
    at = jnp.where(lost, delta * u0, zero)
    hvp = lambda u: jax.jvp(asc, (at,), (u,))[1]  # noqa: E731

    def step(u, shift):
        w = hvp(u) + jnp.asarray(shift, rd).astype(cd) * u
        nrm = _norm(w)
        return jnp.where(nrm > 0, w / jnp.where(nrm > 0, nrm, 1.0).astype(cd), u), nrm

    # rho: the largest growth of 8 plain power steps (a lower estimate of the spectral radius, usually close);
    # then power iteration on H + 2 rho I, whose dominant eigenvector is H's algebraically largest one whenever
    # 2 rho exceeds minus the mean of H's extreme eigenvalues (always once rho reaches half the spectral radius)
    def plain(i, c):
        u, growth = step(c[0], 0.0)
        return u, jnp.maximum(c[1], growth)

    u, rho = jax.lax.fori_loop(0, 8, plain, (u0, jnp.zeros((), rd)))
    u = jax.lax.fori_loop(0, int(power_iters), lambda i, u: step(u, 2.0 * rho)[0], u)
    gmax = jnp.max(jnp.abs(g))
    ok_spec = jnp.all(jnp.isfinite(u)) & jnp.isfinite(rho) & (rho > 0)
    ok_grad = jnp.all(jnp.isfinite(g)) & (gmax > 0)
    return (retract(u), retract(g)), jnp.stack([ok_spec, ok_grad])

"""Global-optimality certificates for unit-modulus quadratic and quadratic-ratio problems (SDR duality).

For ``max x^H C x`` over ``|x_i| = 1`` the semidefinite relaxation
``max tr(C X), diag X = 1, X >= 0`` has the dual ``min sum(y), Diag(y) >= C``.
Any ``y`` gives a rigorous upper bound ``sum(y) + n max(lambda_max(C - Diag y), 0)``
on the relaxation, hence on the problem. Evaluated at a found point with
``y_i = Re(conj(x_i) (C x)_i)`` (the KKT multipliers of ``|x_i| = 1``) the bound
equals ``x^H C x`` exactly when ``x`` is optimal *and* the relaxation is tight,
so one eigenvalue decomposition tells whether a solution is globally optimal
(:func:`certify_quadratic`).

Ratios ``max (x^H A x)/(x^H B x)`` (``B`` positive definite) go through
Dinkelbach's parameter: if ``max_x x^H (A - t B) x <= eps`` then every ratio is
``<= t + eps / min_x x^H B x`` (:func:`certify_ratio`); the minimum of several
ratios through a convex combination of the parametric quadratics, with weights
from the stationarity conditions at ``x`` (:func:`certify_max_min_ratio`).
:func:`certify` takes an :mod:`optim.families` instance and returns the
certificate in the units of its objective (bits for log-ratios).

Vectors may be given de-homogenised: when ``v`` has ``n - 1`` entries the
certificate uses ``x = [v; 1]`` (global phase does not change quadratic forms).
Bounds include a floating-point margin (``n^2 eps ||M||_F``); use float64 for
gaps below ~1e-6 relative.

>>> import jax.numpy as jnp
>>> from optim import certificates
>>> c = jnp.array([1.0, 1j, -1.0])
>>> C = jnp.outer(c, jnp.conj(c))             # max |c^H x|^2 = 9 at x = c
>>> cert = certificates.certify_quadratic(C, c)
>>> round(float(cert.bound), 4), bool(cert.optimal)
(9.0, True)
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from irsjax import units
from optim.families import QuadraticInstance, RatioInstance, homogenise, ratio_matrices


class Certificate(NamedTuple):
    """``value`` at the point, rigorous ``bound`` on the global maximum (and on its SDR), ``gap = bound - value``,
    ``optimal``: ``gap <= tol`` (the point is globally optimal to ``tol`` and the relaxation is tight)."""

    value: jax.Array
    bound: jax.Array
    gap: jax.Array
    optimal: jax.Array


def _default_tol(dtype, tol):
    if tol is not None:
        return tol
    return 1e-9 if jnp.finfo(dtype).eps < 1e-10 else 1e-4


def _herm(M):
    return (M + jnp.conj(jnp.swapaxes(M, -1, -2))) / 2


def _finish(value, bound, tol, scale):
    rd = jnp.real(value).dtype
    gap = bound - value
    tol = jnp.asarray(tol, rd) * jnp.maximum(jnp.asarray(1.0, rd), jnp.abs(scale))
    return Certificate(value, bound, gap, gap <= tol)


def quadratic_dual_bound(C, x, data_scale=None):
    """Upper bound on ``max_{|z_i|=1} z^H C z`` (and on its SDR) from the dual point ``y_i = Re(conj(x_i)(Cx)_i)``.

    ``lambda_max`` is raised by a rounding margin ``eps (2 data_scale + sqrt(n) ||M||_F)`` (``M = C - Diag y``;
    ``data_scale``: Frobenius norm of the data ``C`` was formed from, default ``||C||_F``) covering the errors
    of forming ``C`` and of the eigenvalue solver.
    """
    C = _herm(jnp.asarray(C))
    x = jnp.asarray(x).astype(C.dtype)
    n = C.shape[-1]
    rd = jnp.real(C).dtype
    y = jnp.real(jnp.conj(x) * (C @ x))
    M = C - jnp.diag(y.astype(C.dtype))
    lam = jnp.linalg.eigvalsh(M)[-1]
    scale = jnp.linalg.norm(C) if data_scale is None else jnp.asarray(data_scale, rd)
    margin = jnp.finfo(rd).eps * (2 * scale + jnp.sqrt(jnp.asarray(n, rd)) * jnp.linalg.norm(M))
    return jnp.sum(y) + n * jnp.maximum(lam + margin, 0.0)


def certify_quadratic(C, v, *, tol=None) -> Certificate:
    """Certificate for ``max x^H C x`` over unit-modulus ``x`` at the point ``v`` (``x = v`` or ``[v; 1]``).

    ``tol`` (default ``1e-9`` in float64, ``1e-4`` in float32) is relative to ``max(1, |bound|)``.
    """
    C = _herm(jnp.asarray(C))
    x = homogenise(jnp.asarray(v).astype(C.dtype), C.shape[-1])
    value = jnp.real(jnp.vdot(x, C @ x))
    bound = quadratic_dual_bound(C, x)
    return _finish(value, jnp.maximum(bound, value), _default_tol(jnp.real(C).dtype, tol), bound)


def _min_quadratic_lower(B):
    """Lower bound ``n lambda_min(B)`` on ``min_{|x_i|=1} x^H B x`` (``|x|^2 = n``)."""
    n = B.shape[-1]
    return n * jnp.linalg.eigvalsh(_herm(B))[..., 0]


def _ratio_bound_from(phi, t0, d_x, d_min, num_trials):
    """Smallest certified ``t >= t0`` from ``phi(t)``, an upper bound on ``max_z z^H M(t) z`` (``M(t) = A - t B``).

    ``t0 + phi(t0)^+ / d_min`` is always certified (``d_min <= min_z z^H B z``). Near an optimal point
    ``phi(t) ~ phi(t0) - d_x (t - t0)``, so the trials ``t0 + c phi(t0) / d_x`` (``c = 1.001, 2.002, ...``)
    are tried too, each kept when ``phi <= 0`` certifies it.
    """
    eps0 = phi(t0)
    pos = jnp.maximum(eps0, 0.0)
    best = jnp.where(eps0 <= 0, t0, t0 + pos / d_min)
    for i in range(num_trials):
        t = t0 + (1.001 * 2.0**i) * pos / d_x
        best = jnp.where((phi(t) <= 0) & (t < best), t, best)
    return best


def certify_ratio(A, B, v, *, tol=None, num_trials: int = 3) -> Certificate:
    """Certificate for ``max (x^H A x) / (x^H B x)`` (``B`` positive definite) at ``v``; values in ratio units.

    Dinkelbach: ``t`` bounds every ratio when ``max_x x^H (A - t B) x <= 0``, checked with
    :func:`quadratic_dual_bound` at ``x``; starting from ``t = ratio(x)``.
    """
    A, B = _herm(jnp.asarray(A)), _herm(jnp.asarray(B))
    x = homogenise(jnp.asarray(v).astype(A.dtype), A.shape[-1])
    num = jnp.real(jnp.vdot(x, A @ x))
    den = jnp.real(jnp.vdot(x, B @ x))
    r = num / den
    nA, nB = jnp.linalg.norm(A), jnp.linalg.norm(B)
    phi = lambda t: quadratic_dual_bound(A - t.astype(A.dtype) * B, x, nA + jnp.abs(t) * nB)  # noqa: E731
    bound = _ratio_bound_from(phi, r, den, _min_quadratic_lower(B), num_trials)
    return _finish(r, jnp.maximum(bound, r), _default_tol(jnp.real(A).dtype, tol), bound)


def _simplex_weights(G, iters=200):
    """``argmin_{mu in simplex} ||G^T mu||^2`` by projected gradient (``G``: ``(m, d)``, ``m`` small)."""
    m = G.shape[0]
    Q = G @ G.T
    step = 1.0 / jnp.maximum(jnp.linalg.norm(Q), jnp.finfo(Q.dtype).tiny)

    def proj(u):  # Euclidean projection onto the simplex (sort-based)
        s = jnp.sort(u)[::-1]
        css = jnp.cumsum(s) - 1.0
        k = jnp.arange(1, m + 1).astype(u.dtype)
        cond = s - css / k > 0
        rho = jnp.max(jnp.where(cond, jnp.arange(m), 0))
        theta = css[rho] / (rho + 1).astype(u.dtype)
        return jnp.maximum(u - theta, 0.0)

    mu0 = jnp.full((m,), 1.0 / m, G.dtype)
    return jax.lax.fori_loop(0, iters, lambda i, mu: proj(mu - step * (Q @ mu)), mu0)


def certify_max_min_ratio(A, B, v, *, tol=None, num_trials: int = 3) -> Certificate:
    """Certificate for ``max min_k (x^H A_k x) / (x^H B_k x)`` (``A, B``: ``(m, n, n)``) at ``v``; ratio units.

    With weights ``mu`` on the simplex (stationarity of ``sum_k mu_k (N_k - t D_k)`` at ``x`` among the ratios
    within ``1e-6`` of the minimum), ``max_x sum_k mu_k x^H (A_k - t B_k) x <= eps`` bounds the max-min ratio by
    ``t + eps / min_k min_x x^H B_k x``.
    """
    A, B = _herm(jnp.asarray(A)), _herm(jnp.asarray(B))
    x = homogenise(jnp.asarray(v).astype(A.dtype), A.shape[-1])
    rd = jnp.real(A).dtype
    num = jnp.real(jnp.einsum("i,kij,j->k", jnp.conj(x), A, x))
    den = jnp.real(jnp.einsum("i,kij,j->k", jnp.conj(x), B, x))
    ratios = num / den
    t = jnp.min(ratios)
    # angle gradients of N_k - t D_k (each ratio's Dinkelbach function), normalised by D_k
    M = A - t.astype(A.dtype) * B
    grads = 2 * jnp.imag(jnp.conj(x)[None, :] * jnp.einsum("kij,j->ki", M, x)) / den[:, None]
    active = ratios <= t * (1 + jnp.asarray(1e-6, rd)) + jnp.finfo(rd).tiny
    big = jnp.asarray(1e6, rd) * (1.0 + jnp.max(jnp.abs(grads)))
    grads = jnp.where(active[:, None], grads, big)  # inactive ratios get a huge gradient: weight -> 0
    mu = _simplex_weights(grads)
    mu = jnp.where(active, mu, 0.0)
    mu = mu / jnp.sum(mu)
    w = (mu / den).astype(A.dtype)  # weight each ratio by 1/D_k(x): sum_k w_k (N_k - t D_k) has the KKT form
    Aw = jnp.einsum("k,kij->ij", w, A)
    Bw = jnp.einsum("k,kij->ij", w, B)
    nA, nB = jnp.linalg.norm(Aw), jnp.linalg.norm(Bw)
    phi = lambda s: quadratic_dual_bound(Aw - s.astype(A.dtype) * Bw, x, nA + jnp.abs(s) * nB)  # noqa: E731
    # for any z: min_k (N_k - s D_k)(z) <= sum_k w_k/sum(w) ... bounded through the weighted D: use the weakest
    d_min = jnp.min(_min_quadratic_lower(B)) * jnp.sum(w.real)
    bound = _ratio_bound_from(phi, t, jnp.real(jnp.vdot(x, Bw @ x)), d_min, num_trials)
    return _finish(t, jnp.maximum(bound, t), _default_tol(rd, tol), bound)


def certify(inst, v, *, tol=None) -> Certificate:
    """Certificate for an :mod:`optim.families` instance at ``v``, in the units of its objective.

    :class:`~optim.families.QuadraticInstance`: ``Re(x^H C x)``; :class:`~optim.families.RatioInstance`:
    bits (``min_k log2`` ratio). ``tol`` is relative to ``max(1, |bound|)`` (default ``1e-9`` in float64).
    """
    if isinstance(inst, QuadraticInstance):
        return certify_quadratic(inst.C, v, tol=tol)
    if isinstance(inst, RatioInstance):
        A, B = ratio_matrices(inst)
        c = certify_ratio(A[0], B[0], v, tol=tol) if inst.num.shape[0] == 1 else certify_max_min_ratio(A, B, v, tol=tol)
        rd = jnp.real(A).dtype
        value = jnp.log(c.value) / units.LN2
        bound = jnp.log(c.bound) / units.LN2
        return _finish(value, bound, _default_tol(rd, tol), bound)
    raise TypeError(f"certify: unsupported instance type {type(inst).__name__}")


__all__ = ["Certificate", "quadratic_dual_bound", "certify_quadratic", "certify_ratio", "certify_max_min_ratio",
           "certify"]

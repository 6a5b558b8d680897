"""Semidefinite relaxation in JAX: Burer-Monteiro over the elliptope + Gaussian randomisation.

The SDR of a unit-modulus problem maximises a concave (or linear-fractional)
``F(X)`` over ``{X >= 0, diag X = 1}``. Writing ``X = U U^H`` with
``U in C^{n x r}`` and unit-norm rows (low-rank Burer-Monteiro factor) turns
the PSD and diagonal constraints into the complex oblique manifold
(:class:`optim.manifold.Oblique`), on which :func:`optim.maximize_phases`'
loop runs with a first-order direction (Riemannian conjugate gradient).
With ``r >= sqrt(2 n)`` a second-order critical point
of a linear objective is generically globally optimal. Objectives receive
``U`` (``tr(C X) = ||c^H U||^2`` for rank-one ``C = c c^H``, no ``n x n``
products) -- use :func:`gram` if ``X`` itself is needed.

Rank-one extraction (:func:`gaussian_randomization`, the one implementation
used by :mod:`optim.cvx_reference` too): ``r = U xi``, ``xi ~ CN(0, I_r)``
(so ``r ~ CN(0, X)``), ``v_l = exp(j arg(r_l / r_n))`` for homogenised problems
(last entry = the constant 1), best of ``num_draws`` plus the principal
direction; a relaxed matrix ``X`` is turned into a factor by :func:`factor`.

>>> import jax, jax.numpy as jnp
>>> from irsjax.phases import from_angles
>>> from optim import sdr
>>> def coherent(U, c):                      # tr(c c^H X) = ||c^H U||^2
...     return jnp.sum(jnp.abs(jnp.conj(c) @ U) ** 2)
>>> c = from_angles(jnp.arange(5.0))
>>> res = sdr.maximize_elliptope(coherent, jax.random.key(0), 5, rank=3, args=(c,))
>>> round(float(res.value), 3)    # tight: (sum |c|)^2
25.0
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from optim import manifold
from optim.phases import PhaseOptions, PhaseResult, solve

#: Options of :func:`maximize_elliptope` when none are given: one Riemannian-CG run on the oblique manifold.
ELLIPTOPE_OPTIONS = PhaseOptions(manifold=manifold.Oblique(), direction="cg", num_restarts=1, screen_iters=None,
                                 max_iters=500, tol=1e-7, patience=3, refine_direction=None, finish_direction=None,
                                 polish_rounds=0)


def default_rank(n: int) -> int:
    """``ceil(sqrt(2 n)) + 1`` (Barvinok-Pataki bound plus one)."""
    return int(math.ceil(math.sqrt(2 * n))) + 1


def gram(U):
    """``X = U U^H``."""
    return U @ jnp.conj(U.T)


def maximize_elliptope(objective: Callable, key, n: int, *, rank: int | None = None, args=(), init=None,
                       options: PhaseOptions | None = None) -> PhaseResult:
    """Maximise ``objective(U, *args)`` over ``U in C^{n x r}`` with unit-norm rows (``X = U U^H``).

    Returns a :class:`optim.PhaseResult` whose ``phases`` field holds ``U``. Pure JAX.
    """
    r = default_rank(n) if rank is None else int(rank)
    opts = ELLIPTOPE_OPTIONS if options is None else options
    if not isinstance(opts.manifold, manifold.Oblique):
        opts = dataclasses.replace(opts, manifold=manifold.Oblique())
    return solve(objective, key, (n, r), tuple(args), init=init, options=opts)


def factor(X, rank=None):
    """A factor ``U`` with ``U U^H = X`` (PSD part; ``rank`` leading eigenpairs, default all) for
    :func:`gaussian_randomization`."""
    X = jnp.asarray(X)
    w, V = jnp.linalg.eigh((X + jnp.conj(X.T)) / 2)
    w = jnp.maximum(w, jnp.zeros_like(w))
    U = V * jnp.sqrt(w).astype(V.dtype)[None, :]
    U = U[:, ::-1]
    return U if rank is None else U[:, :rank]


def gaussian_randomization(key, U, objective: Callable, *, num_draws: int = 100, homogeneous: bool = True, args=()):
    """Best unit-modulus vector from ``num_draws`` draws ``r ~ CN(0, U U^H)`` plus the principal direction.

    ``objective(v, *args)`` is evaluated on each candidate (``v`` has length
    ``n - 1`` when ``homogeneous`` else ``n``). Returns ``(v_best, value_best)``.
    """
    n, r = U.shape
    xi = jax.random.normal(key, (num_draws, r), dtype=U.dtype)
    R = xi @ U.T  # (draws, n): each row U xi
    # principal direction of X = U U^H: U times the top right-singular vector
    _, _, vh = jnp.linalg.svd(U, full_matrices=False)
    R = jnp.concatenate([R, (U @ jnp.conj(vh[0]))[None, :]], axis=0)
    if homogeneous:
        ref = R[:, -1:]
        R = R[:, :-1] * jnp.conj(jnp.where(jnp.abs(ref) > 0, ref, jnp.ones_like(ref)))
    V = manifold.retract(R)
    vals = jax.vmap(lambda v: objective(v, *args))(V)
    vals = jnp.where(jnp.isfinite(vals), vals, -jnp.inf)
    i = jnp.argmax(vals)
    return V[i], vals[i]


class SDRPipelineResult(NamedTuple):
    phases: jax.Array
    value: jax.Array
    relaxed_value: jax.Array
    factor: jax.Array


def wiretap_ratio_sdr(key, b, e, *, rank=None, num_draws=100, options=None) -> SDRPipelineResult:
    """JAX SDR of the homogenised wiretap ratio (same relaxation as :mod:`optim.cvx_reference`).

    Maximises ``tr(A X)/tr(C X) = (1 + ||b^H U||^2)/(1 + ||e^H U||^2)`` over
    the elliptope (quasi-linear objective: its local maxima on the convex
    elliptope are global, so the BM value estimates the SDP bound), then
    Gaussian randomisation on the true ratio.
    """
    from optim.problems import WiretapRatioInstance, wiretap_ratio

    n = b.shape[-1]
    k1, k2 = jax.random.split(key)
    res = maximize_elliptope(_lifted_wiretap_ratio, k1, n, rank=rank, args=(b, e), options=options)
    inst = WiretapRatioInstance(b, e)
    v, val = gaussian_randomization(k2, res.phases, wiretap_ratio, num_draws=num_draws, args=(inst,))
    return SDRPipelineResult(v, val, res.value, res.phases)


def _lifted_wiretap_ratio(U, b, e):
    """``tr(A X) / tr(C X) = (1 + ||b^H U||^2) / (1 + ||e^H U||^2)``."""
    return (1.0 + jnp.sum(jnp.abs(jnp.conj(b) @ U) ** 2)) / (1.0 + jnp.sum(jnp.abs(jnp.conj(e) @ U) ** 2))


__all__ = ["ELLIPTOPE_OPTIONS", "default_rank", "gram", "maximize_elliptope", "factor", "gaussian_randomization",
           "SDRPipelineResult", "wiretap_ratio_sdr"]

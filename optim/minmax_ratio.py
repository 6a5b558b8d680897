"""Max-min of ratios over the lifted SDR: generalised Dinkelbach + Burer-Monteiro + Gaussian randomisation.

Problem (the phase step of MODELS.md 3(c), P7-P10, in generic form): with ``vbar = [v; 1]`` and the
lifted ``V = vbar vbar^H`` relaxed to the elliptope ``{V >= 0, diag V = 1}``,

    maximise_V  min_k N_k(V) / D_k(V),      N_k, D_k linear in V, D_k > 0,

where ``terms(U, *args) -> (N, D)`` (each shape ``(K,)``) evaluates them at ``V = U U^H`` for a factor
``U`` of shape ``(n, r)`` (e.g. ``tr(q q^H V) = ||q^H U||^2``; with ``U = vbar[:, None]`` they are the
values at the rank-one point).

Generalised Dinkelbach (Algorithm 1, Crouzeix-Ferland-Schaible): ``lambda_0 = min_k N_k/D_k`` at the
start; repeat {solve P10 ``F(lambda) = max_V min_k [N_k(V) - lambda D_k(V)]``; ``lambda <- min_k
N_k/D_k`` at its maximiser} until ``F <= tol``. Each P10 is solved as a JAX surrogate: Burer-Monteiro
ascent over the factor (:func:`optim.oblique_cg.maximize`, rows of ``U`` on unit spheres, default rank
``ceil(sqrt(2 n)) + 1``) of a soft-min of the ``K`` affine terms, annealed over ``temperatures`` (the
last one ``0`` = the exact min; warm starts). The terms are normalised by ``D_k`` at the previous
iterate and by ``max(|lambda|, 1)`` -- a positive rescaling of each constraint of P10, which keeps the
root ``lambda*`` of ``F`` -- so ``tol`` and the temperatures are relative to the ratio's scale.
Every iterate is accepted only if ``lambda`` does not decrease (MODELS.md section 6).

:func:`minmax_ratio_sdr` adds the rank-one extraction: Gaussian randomisation (``num_draws``, default
``I_G = 100``, plus the principal direction, which is the rank-one solution when ``V`` has rank one)
on the true ``min_k N_k/D_k``, and never returns worse than the starting phases.

>>> import jax, jax.numpy as jnp
>>> from optim import minmax_ratio
>>> q = jnp.exp(jax.lax.complex(0.0, jnp.arange(4.0)))                # n = 4 (3 phases + homogenising 1)
>>> def terms(U, q):                                                   # two users: |q^H vbar|^2 / 1 and 1 / 1
...     g = jnp.sum(jnp.abs(jnp.conj(q) @ U) ** 2)
...     return jnp.stack([g, jnp.ones_like(g)]), jnp.ones((2,), g.dtype)
>>> v = q[:3] / q[3]                                                   # the coherent phases: |q^H [v; 1]|^2 = 16
>>> num, den = terms(jnp.concatenate([v, jnp.ones(1, v.dtype)])[:, None], q)
>>> [round(float(x), 3) for x in num / den]
[16.0, 1.0]
>>> float(minmax_ratio.min_ratio_phases(terms, v, q))                 # min(16, 1)
1.0
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from optim import oblique_cg
from optim.surrogates import soft_min

__all__ = [
    "DEFAULT_BM_ITERS",
    "DEFAULT_TEMPERATURES",
    "DinkelbachSDRResult",
    "default_rank",
    "dinkelbach_sdr",
    "gaussian_randomization",
    "min_ratio",
    "min_ratio_phases",
    "minmax_ratio_sdr",
    "rank_one_factor",
]

DEFAULT_BM_ITERS = 40
"""Riemannian CG iterations of the Burer-Monteiro ascent of each P10 surrogate, per temperature."""


def default_rank(n: int) -> int:
    """Burer-Monteiro rank ``ceil(sqrt(2 n)) + 1`` (Barvinok-Pataki bound plus one)."""
    return int(math.ceil(math.sqrt(2 * n))) + 1

DEFAULT_TEMPERATURES = (0.1, 0.01, 0.0)
"""Soft-min temperatures of each P10 surrogate (relative units; the last ``0`` is the exact min)."""


class DinkelbachSDRResult(NamedTuple):
    """``factor``: ``U`` (n, r), ``X = U U^H`` on the elliptope; ``value``: relaxed ``lambda = min_k N_k/D_k``
    at ``factor``; ``gap``: the last normalised ``F``; ``history``: ``lambda`` per Dinkelbach iteration
    (length ``max_iters + 1``, entries after the stop repeat the last); ``num_iters``; ``converged``
    (``F <= tol``)."""

    factor: jax.Array
    value: jax.Array
    gap: jax.Array
    history: jax.Array
    num_iters: jax.Array
    converged: jax.Array


def _homogenise(v):
    return jnp.concatenate([v, jnp.ones(v.shape[:-1] + (1,), v.dtype)], axis=-1)


def min_ratio(terms: Callable, U, *args):
    """``min_k N_k / D_k`` at ``V = U U^H``."""
    num, den = terms(U, *args)
    return jnp.min(num / den)


def min_ratio_phases(terms: Callable, v, *args):
    """``min_k N_k / D_k`` at the rank-one point ``vbar = [v; 1]``."""
    return min_ratio(terms, _homogenise(v)[:, None], *args)


def rank_one_factor(key, v, rank, *, perturbation=0.1):
    """A factor ``(n, rank)`` near ``vbar = [v; 1]``: first column ``vbar``, the others ``perturbation``
    times ``CN(0, 1)``, rows normalised (an exactly rank-one start has zero gradient in the other columns,
    so the relaxation would never be explored)."""
    vb = _homogenise(v)
    n = vb.shape[-1]
    scale = jnp.asarray(perturbation, jnp.real(vb).dtype).astype(vb.dtype)
    z = jax.random.normal(key, (n, rank - 1), dtype=vb.dtype) * scale
    U = jnp.concatenate([vb[:, None], z], axis=1)
    return U / jnp.linalg.norm(U, axis=1, keepdims=True).astype(U.dtype)


def _surrogate(U, tau, lam, scale, terms, args):
    num, den = terms(U, *args)
    return soft_min((num - lam * den) / scale, tau)


def dinkelbach_sdr(terms: Callable, key, n: int, *, args=(), init=None, bm_init=None, rank: int | None = None,
                   max_iters: int = 10, tol: float = 1e-4, temperatures=DEFAULT_TEMPERATURES,
                   bm_iters: int = DEFAULT_BM_ITERS) -> DinkelbachSDRResult:
    """Generalised Dinkelbach over the elliptope (see the module docstring). Pure JAX (``lax`` loops).

    ``init``: the starting factor ``(n, r)`` (rows are normalised; default random): ``lambda_0`` is the
    min ratio there and it is returned if nothing improves on it. ``bm_init``: where the first P10
    ascent starts (default ``init``; e.g. a perturbed copy of a rank-one ``init``).
    ``bm_iters``: Riemannian CG iterations (:func:`optim.oblique_cg.maximize`, Armijo steps) of the
    Burer-Monteiro ascent per temperature.
    """
    r = default_rank(n) if rank is None else int(rank)
    if init is None:
        U0 = jax.random.normal(key, (n, r), dtype=jax.dtypes.canonicalize_dtype(jnp.complex128))
    else:
        U0 = jnp.asarray(init)
        r = U0.shape[1]
    U0 = U0 / jnp.linalg.norm(U0, axis=1, keepdims=True).astype(U0.dtype)
    rd = jnp.real(U0).dtype
    temps = jnp.asarray(temperatures, rd)
    lam0 = min_ratio(terms, U0, *args)
    B0 = U0 if bm_init is None else jnp.asarray(bm_init, U0.dtype)
    B0 = B0 / jnp.linalg.norm(B0, axis=1, keepdims=True).astype(U0.dtype)
    hist0 = jnp.zeros((max_iters + 1,), rd).at[0].set(lam0)

    def objective(U, tau, lam, scale, *a):
        return _surrogate(U, tau, lam, scale, terms, a)

    def p10(U, start, lam):
        """Approximate maximiser of ``min_k (N_k - lam D_k) / scale_k`` (annealed BM from ``start``;
        ``scale_k = D_k(U) max(|lam|, 1)``)."""
        _, den = terms(U, *args)
        scale = den * jnp.maximum(jnp.abs(lam), jnp.ones((), rd))

        def stage(Uc, tau):
            a = (tau, lam, scale) + tuple(args)
            res = oblique_cg.maximize(objective, Uc, a, max_iters=bm_iters)
            return res.point, None

        U_new, _ = jax.lax.scan(stage, start, temps)
        num, den_new = terms(U_new, *args)
        gap = jnp.min((num - lam * den_new) / scale)
        return U_new, gap

    def cond(c):
        i, _, _, _, _, done = c
        return (i < max_iters) & ~done

    def body(c):
        i, U, lam, hist, _, _ = c
        U_new, gap = p10(U, jnp.where(i == 0, B0, U), lam)
        lam_new = min_ratio(terms, U_new, *args)
        ok = jnp.isfinite(lam_new) & (lam_new >= lam)
        U = jnp.where(ok, U_new, U)
        lam = jnp.where(ok, lam_new, lam)
        done = (gap <= tol) | ~ok
        return i + 1, U, lam, hist.at[i + 1].set(lam), gap, done

    i, U, lam, hist, gap, _ = jax.lax.while_loop(
        cond, body, (0, U0, lam0, hist0, jnp.asarray(jnp.inf, rd), jnp.asarray(False)))
    hist = jnp.where(jnp.arange(max_iters + 1) <= i, hist, lam)
    return DinkelbachSDRResult(U, lam, gap, hist, i, gap <= tol)


def gaussian_randomization(key, U, objective: Callable, *, num_draws: int = 100, args=()):
    """Rank-one extraction from ``X = U U^H`` (``n = N + 1``, homogenised): ``num_draws`` draws ``r ~ CN(0, X)``
    plus the principal direction of ``X`` (the exact solution when ``X`` has rank one), each mapped to phases
    ``v_n = e^{j arg(r_n / r_{N+1})}``; returns the candidate with the best ``objective(v, *args)`` and its value."""
    n, r = U.shape
    xi = jax.random.normal(key, (num_draws, r), dtype=U.dtype)
    R = xi @ U.T  # (draws, n): each row U xi
    _, _, vh = jnp.linalg.svd(U, full_matrices=False)
    R = jnp.concatenate([R, (U @ jnp.conj(vh[0]))[None, :]], axis=0)
    ref = R[:, -1:]
    R = R[:, :-1] * jnp.conj(jnp.where(jnp.abs(ref) > 0, ref, jnp.ones_like(ref)))
    V = oblique_cg.retract(R[..., None])[..., 0]
    vals = jax.vmap(lambda v: objective(v, *args))(V)
    vals = jnp.where(jnp.isfinite(vals), vals, -jnp.inf)
    i = jnp.argmax(vals)
    return V[i], vals[i]


def minmax_ratio_sdr(terms: Callable, key, v0, *, args=(), num_draws: int = 100, rank: int | None = None,
                     perturbation: float = 0.1, **kw):
    """Phase step by SDR: Dinkelbach over the elliptope from ``[v0; 1]`` (perturbed, see
    :func:`rank_one_factor`), then Gaussian randomisation (``num_draws`` + the principal direction) on the
    true ``min_k N_k/D_k``; ``v0`` is kept when no candidate beats it. Returns ``(v, value, result)``
    with the :class:`DinkelbachSDRResult` of the relaxation."""
    n = v0.shape[-1] + 1
    r = default_rank(n) if rank is None else int(rank)
    k_init, k_dk, k_gr = jax.random.split(key, 3)
    exact = rank_one_factor(k_init, v0, r, perturbation=0.0)
    start = rank_one_factor(k_init, v0, r, perturbation=perturbation)
    res = dinkelbach_sdr(terms, k_dk, n, args=args, init=exact, bm_init=start, rank=r, **kw)

    def true_objective(v, *a):
        return min_ratio_phases(terms, v, *a)

    v, val = gaussian_randomization(k_gr, res.factor, true_objective, num_draws=num_draws, args=tuple(args))
    val0 = true_objective(v0, *args)
    better = jnp.isfinite(val) & (val > val0)
    return jnp.where(better, v, v0), jnp.where(better, val, val0), res

"""Reference generalised Dinkelbach over the SDR with cvxpy + Clarabel (P10 of MODELS.md 3(c); tests/bench only).

Problem: ``max_V min_k tr(A_k V) / tr(B_k V)`` over ``{V >= 0 Hermitian, diag V = 1}`` (``A_k``, ``B_k``
Hermitian ``n x n``, ``tr(B_k V) > 0``). Algorithm 1 of the paper: ``lambda`` = the min ratio at the
start ``V0``; repeat {solve P10 ``max_{V, tau} tau`` s.t. ``tr((A_k - lambda B_k) V) >= tau``;
``lambda`` <- the min ratio at its solution} until ``tau <= tol``. P10 is solved by Clarabel
(interior point). Rank-one extraction: the principal eigenvector when ``V`` is rank one, else Gaussian
randomisation (``r ~ CN(0, V)``, ``v_n = exp(j arg(r_n / r_{n+1}))``), best of ``num_draws`` plus the
principal eigenvector, kept only if it beats the starting point. Not JAX, one instance at a time.

Scaling: each constraint of P10 is divided by ``tr(B_k V_prev) max(|lambda|, 1)`` (a positive
rescaling: same root ``lambda*``), exactly as in :mod:`optim.minmax_ratio`, so ``tol`` means the same.

>>> import numpy as np                                             # doctest: +SKIP
>>> from optim import cvx_minmax_ratio as ref                      # doctest: +SKIP
>>> A = np.stack([np.ones((3, 3)), np.eye(3)]); B = np.stack([np.eye(3), np.eye(3)])  # doctest: +SKIP
>>> out = ref.dinkelbach(A, B, np.ones(3, complex) / 1)           # doctest: +SKIP
>>> round(out.value, 4)                                            # doctest: +SKIP
1.0
"""
from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

__all__ = ["CvxDinkelbachResult", "dinkelbach", "minmax_ratio_sdr", "randomize", "ratios", "solve_p10"]


class CvxDinkelbachResult(NamedTuple):
    V: np.ndarray  # relaxed solution (diag = 1)
    value: float  # relaxed min ratio at V
    history: list  # lambda per Dinkelbach iteration (index 0 = start)
    gaps: list  # normalised F per iteration
    statuses: list
    solve_time_s: float  # total Clarabel time


def ratios(A, B, V):
    """``tr(A_k V) / tr(B_k V)`` for every ``k``."""
    num = np.real(np.einsum("kij,ji->k", A, V))
    den = np.real(np.einsum("kij,ji->k", B, V))
    return num / den


def solve_p10(A, B, lam, scale, *, solver_opts=None):
    """``max tau`` s.t. ``tr((A_k - lam B_k) V) / scale_k >= tau``, ``V >= 0``, ``diag V = 1``. Returns
    ``(V, tau, status, seconds)``."""
    import cvxpy as cp

    K, n, _ = A.shape
    V = cp.Variable((n, n), hermitian=True)
    tau = cp.Variable()
    cons = [V >> 0, cp.real(cp.diag(V)) == 1]
    for k in range(K):
        C = (A[k] - lam * B[k]) / scale[k]
        cons.append(cp.real(cp.sum(cp.multiply(C.T, V))) >= tau)
    prob = cp.Problem(cp.Maximize(tau), cons)
    t0 = time.perf_counter()
    prob.solve(solver=cp.CLARABEL, **(solver_opts or {}))
    dt = time.perf_counter() - t0
    Vv = V.value
    Vv = (Vv + Vv.conj().T) / 2
    return Vv, float(tau.value), str(prob.status), dt


def dinkelbach(A, B, vbar0, *, tol=1e-4, max_iters=20, solver_opts=None) -> CvxDinkelbachResult:
    """Generalised Dinkelbach from the rank-one point ``vbar0`` (length n, unit modulus)."""
    A = np.asarray(A, np.complex128)
    B = np.asarray(B, np.complex128)
    V = np.outer(vbar0, np.conj(vbar0))
    lam = float(np.min(ratios(A, B, V)))
    hist, gaps, stats, total = [lam], [], [], 0.0
    for _ in range(max_iters):
        den = np.real(np.einsum("kij,ji->k", B, V))
        scale = den * max(abs(lam), 1.0)
        Vn, tau, status, dt = solve_p10(A, B, lam, scale, solver_opts=solver_opts)
        total += dt
        stats.append(status)
        gaps.append(tau)
        lam_new = float(np.min(ratios(A, B, Vn)))
        if not np.isfinite(lam_new) or lam_new < lam:
            break
        V, lam = Vn, lam_new
        hist.append(lam)
        if tau <= tol:
            break
    return CvxDinkelbachResult(V, lam, hist, gaps, stats, total)


def randomize(A, B, V, vbar0, *, num_draws=100, seed=0):
    """Best unit-modulus ``v`` (length n - 1) from Gaussian randomisation + principal eigenvector, or
    ``vbar0[:-1]`` if none is better. Returns ``(v, min ratio)``."""
    n = V.shape[0]
    w, U = np.linalg.eigh(V)
    w = np.clip(w, 0, None)
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal((n, num_draws)) + 1j * rng.standard_normal((n, num_draws))) / np.sqrt(2)
    R = np.concatenate([U[:, -1:], (U * np.sqrt(w)) @ z], axis=1)

    def value(vb):
        return float(np.min(ratios(A, B, np.outer(vb, np.conj(vb)))))

    best_v, best = vbar0[:-1], value(vbar0)
    for j in range(R.shape[1]):
        r = R[:, j]
        ph = r * np.conj(r[-1]) if abs(r[-1]) > 0 else r
        vb = np.where(np.abs(ph) > 0, ph / np.where(np.abs(ph) > 0, np.abs(ph), 1.0), 1.0)
        vb[-1] = 1.0
        val = value(vb)
        if val > best:
            best, best_v = val, vb[:-1]
    return best_v, best


def minmax_ratio_sdr(A, B, v0, *, tol=1e-4, max_iters=20, num_draws=100, seed=0, solver_opts=None):
    """Dinkelbach + randomisation from phases ``v0`` (length n - 1). Returns ``(v, value, result)``."""
    vbar0 = np.concatenate([np.asarray(v0, np.complex128), [1.0]])
    res = dinkelbach(A, B, vbar0, tol=tol, max_iters=max_iters, solver_opts=solver_opts)
    v, val = randomize(np.asarray(A, np.complex128), np.asarray(B, np.complex128), res.V, vbar0,
                       num_draws=num_draws, seed=seed)
    return v, val, res

"""Reference semidefinite relaxation with cvxpy + Clarabel (optional extra ``cvx``).

Used only by tests and benchmarks, to check the JAX gradient method against
the papers' CVX pipeline. Not JAX, not differentiable, one instance at a time.

Formulation (documented choice): the wiretap ratio problem of
:mod:`optim.problems` is homogenised (``vbar = [v; 1]``, ``X = vbar vbar^H``,
``diag X = 1``; the constant 1 becomes ``tr(X)/(K+1)``) so that the objective
is ``tr(A X) / tr(C X)``; dropping ``rank X = 1`` and applying the
**Charnes-Cooper** transform ``Y = s X``, ``s = 1/tr(C X)`` gives the SDP

    max_{Y, s}  Re tr(A Y)   s.t.  Re tr(C Y) = 1,  diag(Y) = s 1,  Y >= 0 (Hermitian),  s >= 0,

whose optimum is an upper bound on the ratio over unit-modulus ``v`` (exact
for the relaxation). With ``diag Y = s``, ``tr(A Y) = s + b^H Y b`` and ``tr(C Y) = s + e^H Y e``
are written with vectors (no ``n x n`` products), and the objective is
divided by ``1 + (sum_l |b_l|)^2`` (an upper bound of the numerator): without
that scaling Clarabel fails or stops early at high SNR.
Rank-one extraction: :func:`optim.sdr.gaussian_randomization` (``r ~ CN(0, X)``,
``v_l = exp(j arg(r_l / r_{K+1}))``, plus the principal eigenvector, best kept).

>>> import jax, numpy as np                                 # doctest: +SKIP
>>> from optim import problems, cvx_reference                # doctest: +SKIP
>>> inst = problems.wiretap_instance(jax.random.key(0), 8)   # doctest: +SKIP
>>> out = cvx_reference.sdr_wiretap_ratio(np.asarray(inst.b), np.asarray(inst.e))  # doctest: +SKIP
>>> out.bound >= out.randomized_value                         # doctest: +SKIP
True
"""
from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np


class SDRResult(NamedTuple):
    bound: float  # SDP optimum = upper bound on the ratio
    X: np.ndarray  # relaxed lifted matrix (diag = 1)
    randomized_value: float  # best ratio after Gaussian randomisation (+ principal eigenvector)
    randomized_phases: np.ndarray
    status: str
    solve_time_s: float


def available() -> bool:
    """Whether cvxpy and clarabel are importable."""
    try:
        import cvxpy  # noqa: F401
        import clarabel  # noqa: F401
    except ImportError:
        return False
    return True


def gaussian_randomization(X, b, e, *, num_draws=100, seed=0):
    """Deprecated: use :func:`optim.sdr.gaussian_randomization` with :func:`optim.sdr.factor` (one implementation).

    Returns ``(best ratio, phases)`` of the wiretap ratio over ``num_draws`` draws ``r ~ CN(0, X)`` and the
    principal direction.
    """
    import warnings

    warnings.warn("optim.cvx_reference.gaussian_randomization is deprecated: use "
                  "optim.sdr.gaussian_randomization(key, optim.sdr.factor(X), objective, ...)", DeprecationWarning,
                  stacklevel=2)
    v, val = _randomize(X, b, e, num_draws, seed)
    return val, v


def _randomize(X, b, e, num_draws, seed):
    import jax
    import jax.numpy as jnp

    from optim import sdr
    from optim.problems import WiretapRatioInstance, wiretap_ratio

    cd = jnp.complex128 if jax.config.jax_enable_x64 else jnp.complex64
    inst = WiretapRatioInstance(jnp.asarray(b, cd), jnp.asarray(e, cd))
    v, val = sdr.gaussian_randomization(jax.random.key(seed), sdr.factor(jnp.asarray(X, cd)), wiretap_ratio,
                                        num_draws=num_draws, args=(inst,))
    return np.asarray(v), float(val)


def sdr_wiretap_ratio(b, e, *, num_draws=100, seed=0, solver_opts=None) -> SDRResult:
    """Charnes-Cooper SDR of the homogenised wiretap ratio problem, solved with Clarabel."""
    import cvxpy as cp

    b = np.asarray(b, np.complex128)
    e = np.asarray(e, np.complex128)
    n = b.shape[0]
    Y = cp.Variable((n, n), hermitian=True)
    s = cp.Variable(nonneg=True)
    # tr(A Y) = tr(Y)/n + b^H Y b = s + b^H Y b (diag Y = s); same for C. Written with vectors, not n x n products.
    beta = 1.0 + float(np.sum(np.abs(b))) ** 2  # objective scale (an upper bound of the numerator)
    cons = [Y >> 0, s + cp.real(e.conj() @ Y @ e) == 1, cp.real(cp.diag(Y)) == s]
    prob = cp.Problem(cp.Maximize((s + cp.real(b.conj() @ Y @ b)) / beta), cons)
    t0 = time.perf_counter()
    opts = dict(solver_opts or {})
    prob.solve(solver=cp.CLARABEL, **opts)
    dt = time.perf_counter() - t0
    Yv = Y.value
    sv = float(s.value)
    X = Yv / sv
    X = (X + X.conj().T) / 2
    bound = float(prob.value) * beta
    v, val = _randomize(X, b, e, num_draws, seed)
    return SDRResult(bound, X, val, v, str(prob.status), dt)


class BoundResult(NamedTuple):
    bound: float  # SDP optimum (upper bound on the unit-modulus maximum)
    X: np.ndarray  # relaxed matrix (diag = 1)
    status: str
    solve_time_s: float
    num_sdps: int


def sdr_quadratic(C, *, solver_opts=None) -> BoundResult:
    """``max tr(C X)`` over ``{X >= 0, diag X = 1}`` (Clarabel): the SDR of ``max x^H C x``, ``|x_i| = 1``."""
    import cvxpy as cp

    C = np.asarray(C, np.complex128)
    C = (C + C.conj().T) / 2
    n = C.shape[0]
    scale = max(float(np.abs(C).max()), 1e-300)
    X = cp.Variable((n, n), hermitian=True)
    prob = cp.Problem(cp.Maximize(cp.real(cp.trace(C @ X)) / scale), [X >> 0, cp.real(cp.diag(X)) == 1])
    t0 = time.perf_counter()
    prob.solve(solver=cp.CLARABEL, **dict(solver_opts or {}))
    Xv = (X.value + X.value.conj().T) / 2
    return BoundResult(float(prob.value) * scale, Xv, str(prob.status), time.perf_counter() - t0, 1)


def sdr_max_min_ratio(A, B, *, lo=None, hi=None, rtol=1e-8, max_sdps=40, solver_opts=None) -> BoundResult:
    """SDR of ``max min_k (x^H A_k x)/(x^H B_k x)`` (``A, B``: ``(m, n, n)``, ``B_k`` positive definite).

    Bisection on ``t`` with the feasibility SDP ``max s: tr((A_k - t B_k) X) / tr(B_k) >= s`` over the
    elliptope (``t`` is below the SDR optimum iff ``s >= 0``), between ``lo`` (default: the ratio at ``X = I``)
    and ``hi`` (default: ``max_k lambda_max(B_k^-1 A_k)``; any certified bound, e.g. :func:`optim.certify`'s,
    narrows the bracket), to ``rtol``. Returns the upper end of the final bracket.
    """
    import cvxpy as cp

    A = np.asarray(A, np.complex128)
    B = np.asarray(B, np.complex128)
    A = (A + np.conj(np.swapaxes(A, -1, -2))) / 2
    B = (B + np.conj(np.swapaxes(B, -1, -2))) / 2
    m, n, _ = A.shape
    trB = np.real(np.trace(B, axis1=1, axis2=2))
    if lo is None:
        lo = float(np.min(np.real(np.trace(A, axis1=1, axis2=2)) / trB))
    if hi is None:
        import scipy.linalg

        hi = float(min(scipy.linalg.eigh(A[k], B[k], eigvals_only=True)[-1] for k in range(m)))
    X = cp.Variable((n, n), hermitian=True)
    s = cp.Variable()
    t_par = cp.Parameter()
    cons = [X >> 0, cp.real(cp.diag(X)) == 1]
    cons += [cp.real(cp.trace((A[k] / trB[k]) @ X) - t_par * cp.trace((B[k] / trB[k]) @ X)) >= s for k in range(m)]
    prob = cp.Problem(cp.Maximize(s), cons)
    Xv = np.eye(n, dtype=np.complex128)
    t0 = time.perf_counter()
    status, k = "optimal", 0
    lo, hi = float(lo), float(hi)
    while hi - lo > rtol * abs(hi) and k < max_sdps:
        k += 1
        t_par.value = 0.5 * (lo + hi)
        try:
            prob.solve(solver=cp.CLARABEL, **dict(solver_opts or {}))
        except cp.error.SolverError:
            status = "solver_error"
            break
        status = str(prob.status)
        if prob.value is None:
            break
        if prob.value >= 0:
            lo = float(t_par.value)
            Xv = (X.value + X.value.conj().T) / 2
        else:
            hi = float(t_par.value)
    return BoundResult(hi, Xv, status, time.perf_counter() - t0, k)


__all__ = ["SDRResult", "BoundResult", "available", "sdr_wiretap_ratio", "sdr_quadratic", "sdr_max_min_ratio",
           "gaussian_randomization"]

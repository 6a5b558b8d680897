"""cvxpy + Clarabel references for the FBR max-min design (tests and benchmarks only; extra ``cvx``).

Not JAX, not differentiable, one instance at a time, float64. Inputs are numpy arrays in optimiser units
(:class:`irsjax.systems.downlink_fbr.FBRProblem`: noise power 1, ``||W||_F <= 1``).

* :func:`sca_step` -- one SCA step of the paper's Algorithm 1 with perfect CSI: ``max t`` s.t. the (D1)-(D3)
  minoriser of every user's FBR secrecy rate ``>= t`` (or ``max sum``), over ``||W||_F <= 1`` (``block="W"``) or
  ``|theta_n| <= 1`` (``block="theta"``, followed by the projection onto ``|theta_n| = 1``). The same minoriser
  as :func:`optim.minorizers.secrecy_minorizer` with ``xi = 0`` (an SOCP with exponential cones).
* :func:`sca_design` -- Algorithm 1 with every step solved by :func:`sca_step` (LBR, then FBR warm-started).
* :func:`worst_case_sinr` -- the exact worst-case SINR over one CSI error ball by the S-procedure (one SDP,
  lossless for a single ball constraint; :func:`worst_case_sinr_trs` is the same by bisection with exact
  trust-region subproblems); :func:`exact_worst_case_rates` combines them into the exact worst-case secrecy
  rates of a design (reference for the closed-form bound and the adversarial check).
* :func:`robust_w_step` -- the paper's robust beamformer step (Algorithm 3): slack variables for the worst-case
  user amplitude, interference, Eve amplitude and Eve interference; the users' interference handled exactly by
  Nemirovski's lemma (an LMI per user), the affine-in-``Delta`` terms by their S-procedure equivalent
  (second-order cones), SCA linearisations elsewhere; returns a design and the value it guarantees.

>>> from optim import cvx_fbr
>>> cvx_fbr.available()
True
"""
from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np

LN2 = math.log(2.0)
SQRT_EPS = 1e-12


def available() -> bool:
    """Whether cvxpy and clarabel are importable."""
    try:
        import cvxpy  # noqa: F401
        import clarabel  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- numpy rates
def stream_terms(G, g, W, theta):
    """``c_ij = g_i^H diag(theta) G w_j`` and ``||diag(theta) G w_j||`` (numpy, complex128)."""
    X = np.asarray(theta)[:, None] * (np.asarray(G) @ np.asarray(W))
    return np.conj(np.asarray(g)) @ X, np.linalg.norm(X, axis=0)


def _sqrt_disp(gamma):
    v = 1.0 - 1.0 / (1.0 + gamma) ** 2
    return np.sqrt(v + SQRT_EPS) - math.sqrt(SQRT_EPS)


def _slope(gamma):
    v = 1.0 - 1.0 / (1.0 + gamma) ** 2
    return (1.0 + gamma) ** -3 / np.sqrt(v + SQRT_EPS)


def rates(G, g, W, theta, disp_user, disp_eve, xi=None):
    """Per-user secrecy rates in bits (un-clipped), closed-form worst case when ``xi`` is given (MODELS.md 6)."""
    c, nrm = stream_terms(G, g, W, theta)
    K = c.shape[1]
    xi = np.zeros(K + 1) if xi is None else np.asarray(xi, float)
    mag = np.abs(c)
    sp = xi[:, None] * nrm[None, :]
    lo = np.maximum(mag - sp, 0.0) ** 2
    hi = (mag + sp) ** 2
    off = ~np.eye(K, dtype=bool)
    g_min = np.diag(lo[:K]) / (1 + np.sum(np.where(off, hi[:K], 0), axis=1))
    g_max = np.diag(hi[:K]) / (1 + np.sum(np.where(off, lo[:K], 0), axis=1))
    ge = hi[K] / (1 + np.array([np.sum(np.delete(lo[K], k)) for k in range(K)]))
    r = np.log1p(g_min) - np.log1p(ge) - disp_user * _sqrt_disp(g_max) - disp_eve * _sqrt_disp(ge)
    return r / LN2


def _solve(prob, solver_opts=None):
    """Solve with Clarabel; on failure retry with looser tolerances, then SCS. Returns the solver used."""
    import cvxpy as cp

    attempts = [("CLARABEL", dict(solver_opts or {})),
                ("CLARABEL", dict(tol_gap_abs=1e-6, tol_gap_rel=1e-6, tol_feas=1e-6, max_iter=400)),
                ("SCS", dict(eps=1e-7, max_iters=50000))]
    last = None
    for name, opts in attempts:
        try:
            prob.solve(solver=getattr(cp, name), **opts)
        except cp.error.SolverError as e:  # numerical failure: next attempt
            last = e
            continue
        if prob.status in ("optimal", "optimal_inaccurate"):
            return name
    if last is not None and prob.status not in ("optimal", "optimal_inaccurate"):
        return "failed"
    return "failed"


# --------------------------------------------------------------------------- perfect-CSI SCA step
class StepResult(NamedTuple):
    z: np.ndarray  # new W (M, K) or theta (N,) (theta projected onto |theta_n| = 1)
    z_relaxed: np.ndarray  # solver output before the projection (theta on |theta_n| <= 1)
    surrogate: float  # optimal value of the convex program (nats): max t, or max sum
    status: str
    solve_time_s: float


def _affine_maps(G, g, W, theta, block):
    """``c_ij(z) = sum_l A[i, j, l] z_l`` for the block variable ``z`` (flattened W, or theta)."""
    G, g, W, theta = (np.asarray(a, np.complex128) for a in (G, g, W, theta))
    K1, N = g.shape
    M, K = W.shape
    if block == "W":
        H = (np.conj(g) * theta[None, :]) @ G  # (K+1, M)
        A = np.zeros((K1, K, M * K), np.complex128)
        for j in range(K):
            A[:, j, j * M:(j + 1) * M] = H  # W flattened column-major: w_j = z[j M:(j+1) M]
        return A
    B = G @ W  # (N, K)
    return np.conj(g)[:, None, :] * B.T[None, :, :]  # (K+1, K, N)


def sca_step(G, g, W, theta, disp_user, disp_eve, *, block="W", how="min", solver_opts=None) -> StepResult:
    """One perfect-CSI SCA step (the convex program of Algorithm 1) solved with Clarabel."""
    import cvxpy as cp

    W = np.asarray(W, np.complex128)
    theta = np.asarray(theta, np.complex128)
    K = W.shape[1]
    A = _affine_maps(G, g, W, theta, block)
    z_bar = W.reshape(-1, order="F") if block == "W" else theta
    c_bar = A @ z_bar
    z = cp.Variable(z_bar.shape[0], complex=True)
    c = [[A[i, j] @ z for j in range(K)] for i in range(K + 1)]
    t = cp.Variable()
    terms = []
    for k in range(K):
        others = [j for j in range(K) if j != k]
        mag_kk = abs(c_bar[k, k])
        y_bar = 1.0 + sum(abs(c_bar[k, j]) ** 2 for j in others)
        x_bar = max(mag_kk, 1e-2 * math.sqrt(y_bar))
        rot = np.conj(c_bar[k, k]) / mag_kk if mag_kk > 0 else 1.0
        x = rot * c[k][k]
        y = 1.0 + sum(cp.square(cp.abs(c[k][j])) for j in others) if others else 1.0
        a2 = x_bar**2
        d1 = (math.log1p(a2 / y_bar) - a2 / y_bar + 2 * x_bar * cp.real(x) / y_bar
              - a2 * (cp.square(cp.abs(x)) + y) / (y_bar * (a2 + y_bar)))
        # user dispersion (D3): gamma <= |c_kk|^2 / l_k, l_k = tangent of the interference
        l_k = 1.0 + sum(2 * cp.real(np.conj(c_bar[k, j]) * c[k][j]) - abs(c_bar[k, j]) ** 2 for j in others)
        gb = abs(c_bar[k, k]) ** 2 / y_bar
        ck = cp.hstack([cp.real(c[k][k]), cp.imag(c[k][k])])
        d3u = _sqrt_disp(gb) + _slope(gb) * (cp.quad_over_lin(ck, l_k) - gb)
        # Eve decoding stream k (D2, D3)
        e_bar = 1.0 + sum(abs(c_bar[K, j]) ** 2 for j in others)
        s_bar = abs(c_bar[K, k]) ** 2 + e_bar
        e_up = 1.0 + sum(cp.square(cp.abs(c[K][j])) for j in others) if others else 1.0
        l_e = 1.0 + sum(2 * cp.real(np.conj(c_bar[K, j]) * c[K][j]) - abs(c_bar[K, j]) ** 2 for j in others)
        d2 = math.log(s_bar) + (cp.square(cp.abs(c[K][k])) + e_up - s_bar) / s_bar - cp.log(l_e)
        ge_bar = abs(c_bar[K, k]) ** 2 / e_bar
        cek = cp.hstack([cp.real(c[K][k]), cp.imag(c[K][k])])
        d3e = _sqrt_disp(ge_bar) + _slope(ge_bar) * (cp.quad_over_lin(cek, l_e) - ge_bar)
        terms.append(d1 - d2 - disp_user * d3u - disp_eve * d3e)
    cons = [cp.norm(z, 2) <= 1] if block == "W" else [cp.abs(z) <= 1]
    if how == "min":
        cons += [m >= t for m in terms]
        prob = cp.Problem(cp.Maximize(t), cons)
    else:
        prob = cp.Problem(cp.Maximize(sum(terms)), cons)
    t0 = time.perf_counter()
    _solve(prob, solver_opts)
    dt = time.perf_counter() - t0
    if z.value is None:
        return StepResult(z_bar.reshape(W.shape, order="F") if block == "W" else theta, z_bar, float("nan"),
                          str(prob.status), dt)
    zr = np.asarray(z.value)
    if block == "W":
        zn = zr.reshape(W.shape, order="F")
        return StepResult(zn, zn, float(prob.value), str(prob.status), dt)
    m = np.abs(zr)
    zn = np.where(m > 0, zr / np.where(m > 0, m, 1.0), theta)
    return StepResult(zn, zr, float(prob.value), str(prob.status), dt)


class CVXDesign(NamedTuple):
    W: np.ndarray
    theta: np.ndarray
    value: float  # bits
    history: np.ndarray  # objective after each outer iteration (bits), LBR then FBR concatenated
    num_iters: tuple  # (LBR, FBR) iterations
    solve_time_s: float


def sca_design(G, g, W0, theta0, disp_user, disp_eve, *, how="min", optimize_theta=True, num_outer=10,
               tol=1e-3, stages=("lbr", "fbr")) -> CVXDesign:
    """Algorithm 1 with cvxpy steps (monotone: a step is kept only if the objective does not decrease)."""
    W, th = np.asarray(W0, np.complex128), np.asarray(theta0, np.complex128)
    agg = (lambda r: float(np.min(r))) if how == "min" else (lambda r: float(np.sum(r)))
    hist, iters, total = [], [], 0.0
    for stage in stages:
        du, de = (0.0, 0.0) if stage == "lbr" else (disp_user, disp_eve)
        f = agg(rates(G, g, W, th, du, de))
        hist.append(f)
        n = 0
        for _ in range(num_outer):
            f_old = f
            for block in (("W", "theta") if optimize_theta else ("W",)):
                r = sca_step(G, g, W, th, du, de, block=block, how=how)
                total += r.solve_time_s
                Wn, thn = (r.z, th) if block == "W" else (W, r.z)
                fn = agg(rates(G, g, Wn, thn, du, de))
                if np.isfinite(fn) and fn >= f:
                    W, th, f = Wn, thn, fn
            n += 1
            hist.append(f)
            if abs(f - f_old) / max(abs(f_old), 1e-19) < tol:
                break
        iters.append(n)
    return CVXDesign(W, th, f, np.asarray(hist), tuple(iters), total)


# --------------------------------------------------------------------------- exact worst case (S-procedure)
def _real_psd(Mc):
    """Real symmetric embedding ``[[Re, -Im], [Im, Re]]`` of a complex Hermitian matrix expression."""
    import cvxpy as cp

    return cp.bmat([[cp.real(Mc), -cp.imag(Mc)], [cp.imag(Mc), cp.real(Mc)]])


def worst_case_sinr(g_hat, X, k, xi, *, sense="min", solver_opts=None):
    """Exact ``min`` (or ``max``) over ``||Delta|| <= xi`` of ``|(g+D)^H x_k|^2 / (sum_{j!=k} |(g+D)^H x_j|^2 + 1)``.

    S-procedure (lossless for one ball): ``gamma >= t`` for all ``Delta`` iff there is ``lam >= 0`` with
    ``[[A + lam I, A g], [g^H A, g^H A g - t - lam xi^2]] >= 0``, ``A = x_k x_k^H - t sum_{j!=k} x_j x_j^H``
    (``max``: the reverse inequality). Linear in ``(t, lam)``: one SDP. Returns ``(t*, status)``.
    """
    import cvxpy as cp

    g_hat = np.asarray(g_hat, np.complex128)
    X = np.asarray(X, np.complex128)
    N, K = X.shape
    if np.linalg.norm(X[:, k]) <= 1e-9 * max(np.linalg.norm(X), 1e-300):
        return 0.0, "zero stream"  # no useful signal at all: the SINR is 0 for every error
    # Delta = xi u, ||u|| <= 1: with c_j = g^H x_j and y_j = xi x_j, (g + Delta)^H x_j = c_j + u^H y_j, so
    # |.|^2 = u^H y y^H u + 2 Re(u^H y conj(c)) + |c|^2 (well scaled)
    c = g_hat.conj() @ X
    Y = xi * X
    others = [j for j in range(K) if j != k]

    def block(A, b, d):
        return np.block([[A, b[:, None]], [b.conj()[None, :], np.array([[d]])]])

    B0 = block(np.outer(Y[:, k], Y[:, k].conj()), Y[:, k] * np.conj(c[k]), abs(c[k]) ** 2)
    A1 = sum((np.outer(Y[:, j], Y[:, j].conj()) for j in others), np.zeros((N, N), complex))
    b1 = sum((Y[:, j] * np.conj(c[j]) for j in others), np.zeros(N, complex))
    B1 = -block(A1, b1, sum(abs(c[j]) ** 2 for j in others) + 1.0)  # coefficient of t
    B2 = block(np.eye(N), np.zeros(N), -1.0)

    def real_embedding(Mc):  # [[Re, -Im], [Im, Re]] of a Hermitian matrix, exactly symmetric
        Mc = 0.5 * (Mc + Mc.conj().T)
        return np.block([[Mc.real, -Mc.imag], [Mc.imag, Mc.real]])

    # t = t_ref tau with t_ref the nominal SINR: tau = O(1); the LMI divided by its largest entry
    t_ref = max(abs(c[k]) ** 2 / (1.0 + sum(abs(c[j]) ** 2 for j in others)), 1e-9)
    sgn = 1.0 if sense == "min" else -1.0
    B1 = t_ref * B1
    scale = max(float(np.abs(B0).max()), float(np.abs(B1).max()), 1e-300)
    M0, M1 = (real_embedding(m) / scale for m in (sgn * B0, sgn * B1))
    M2 = real_embedding(B2)
    tau = cp.Variable()
    lam = cp.Variable(nonneg=True)
    prob = cp.Problem(cp.Maximize(tau) if sense == "min" else cp.Minimize(tau), [(M0 + tau * M1 + lam * M2) >> 0])
    _solve(prob, solver_opts)
    return float(tau.value) * t_ref if tau.value is not None else float("nan"), str(prob.status)


def _trs_min(A, b, d):
    """``min_{||u|| <= 1} u^H A u + 2 Re(b^H u) + d`` exactly (trust-region subproblem, Hermitian ``A``)."""
    w, V = np.linalg.eigh(0.5 * (A + A.conj().T))
    bt = V.conj().T @ b
    val = lambda u: float(np.real(u.conj() @ A @ u) + 2 * np.real(b.conj() @ u) + d)  # noqa: E731
    cands = []
    if w[0] > 0:  # interior stationary point
        u = -V @ (bt / w)
        if np.linalg.norm(u) <= 1:
            cands.append(val(u))
    # boundary: u(mu) = -(A + mu I)^-1 b with ||u|| = 1, mu > -w_min (bisection on the monotone norm)
    lo = max(0.0, -w[0]) + 1e-14 * max(1.0, abs(w).max())
    nrm = lambda mu: np.sqrt(np.sum(np.abs(bt) ** 2 / (w + mu) ** 2))  # noqa: E731
    if nrm(lo) >= 1:
        hi = lo + 1.0
        while nrm(hi) > 1:
            hi = 2 * hi + 1.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if nrm(mid) > 1 else (lo, mid)
        cands.append(val(-V @ (bt / (w + hi))))
    else:  # hard case: add the bottom eigenvector to reach the sphere
        u = -V @ np.where(np.abs(w + lo) > 0, bt / (w + lo), 0.0)
        r = np.sqrt(max(1.0 - np.linalg.norm(u) ** 2, 0.0))
        cands += [val(u + r * V[:, 0]), val(u - r * V[:, 0])]
    return min(cands)


def worst_case_sinr_trs(g_hat, X, k, xi, *, sense="min", iters=60):
    """Same as :func:`worst_case_sinr`, by bisection on ``t`` with an exact trust-region subproblem per test
    (``min_u [num(u) - t den(u)] >= 0``; numpy, no solver). Used to cross-check the SDP."""
    g_hat = np.asarray(g_hat, np.complex128)
    X = np.asarray(X, np.complex128)
    N, K = X.shape
    c = g_hat.conj() @ X
    Y = xi * X
    others = [j for j in range(K) if j != k]
    A0, b0, d0 = np.outer(Y[:, k], Y[:, k].conj()), Y[:, k] * np.conj(c[k]), abs(c[k]) ** 2
    A1 = sum((np.outer(Y[:, j], Y[:, j].conj()) for j in others), np.zeros((N, N), complex))
    b1 = sum((Y[:, j] * np.conj(c[j]) for j in others), np.zeros(N, complex))
    d1 = sum(abs(c[j]) ** 2 for j in others) + 1.0
    sgn = 1.0 if sense == "min" else -1.0

    def ok(t):  # sgn (num - t den) >= 0 on the whole ball
        return _trs_min(sgn * (A0 - t * A1), sgn * (b0 - t * b1), sgn * (d0 - t * d1)) >= 0

    nominal = d0 / d1
    if sense == "min":
        lo, hi = 0.0, nominal  # feasible at 0, infeasible above the nominal SINR (u = 0)
        if ok(hi):
            return hi
        for _ in range(iters):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        return lo
    lo, hi = nominal, max(2 * nominal, 1e-12)
    while not ok(hi):
        lo, hi = hi, 2 * hi
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def exact_worst_case_rates(G, g, W, theta, xi, disp_user, disp_eve, *, method="sdp"):
    """Exact worst-case per-user secrecy rates (bits, un-clipped) over the error balls, by S-procedure SDPs.

    The user part ``ln(1+gamma) - disp_user sqrt(V(gamma))`` is quasi-convex in ``gamma`` (minimum at the root of
    ``s sqrt(s^2-1) = disp_user``, ``s = 1 + gamma``) and the attainable SINRs form the interval
    ``[gamma_min, gamma_max]`` (a ball is connected), so its worst case is at the clip of that root to the interval;
    Eve's part is increasing in her SINR, worst at her exact largest SINR. ``method="sdp"``: S-procedure SDPs
    (:func:`worst_case_sinr`); ``"trs"``: bisection with exact trust-region subproblems
    (:func:`worst_case_sinr_trs`, numpy only, faster); both agree to ~1e-6 (tests).
    """
    X = np.asarray(theta)[:, None] * (np.asarray(G) @ np.asarray(W))
    K = X.shape[1]
    g = np.asarray(g, np.complex128)
    xi = np.asarray(xi, float)
    s_star = _dispersion_root(disp_user)
    if method == "sdp":
        wc = lambda *a, **kw: worst_case_sinr(*a, **kw)[0]  # noqa: E731
    elif method == "trs":
        wc = worst_case_sinr_trs
    else:
        raise ValueError(f"method must be 'sdp' or 'trs', got {method!r}")
    out = []
    for k in range(K):
        if xi[k] > 0:
            lo = wc(g[k], X, k, xi[k], sense="min")
            hi = wc(g[k], X, k, xi[k], sense="max")
        else:
            c = np.conj(g[k]) @ X
            lo = hi = abs(c[k]) ** 2 / (1 + np.sum(np.abs(np.delete(c, k)) ** 2))
        lo = max(lo, 0.0)
        gam = min(max(s_star - 1.0, lo), hi)
        user = math.log1p(gam) - disp_user * _sqrt_disp(gam)
        if xi[K] > 0:
            ge = wc(g[K], X, k, xi[K], sense="max")
        else:
            c = np.conj(g[K]) @ X
            ge = abs(c[k]) ** 2 / (1 + np.sum(np.abs(np.delete(c, k)) ** 2))
        out.append((user - math.log1p(ge) - disp_eve * _sqrt_disp(ge)) / LN2)
    return np.asarray(out)


def _dispersion_root(a):
    """``s >= 1`` with ``s sqrt(s^2 - 1) = a`` (stationary point of the user part; ``s = 1`` for ``a = 0``)."""
    if a <= 0:
        return 1.0
    lo, hi = 1.0, 2.0 + a
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid * math.sqrt(mid * mid - 1.0) < a:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- robust W-step with LMIs
class RobustStepResult(NamedTuple):
    W: np.ndarray
    guaranteed: np.ndarray  # per-user value (bits) the step's constraints guarantee for the worst case
    status: str
    solve_time_s: float


def robust_w_step(G, g, W, theta, xi, disp_user, disp_eve, *, solver_opts=None) -> RobustStepResult:
    """Robust SCA beamformer step (paper's Algorithm 3 structure), ``max t`` s.t. for every user

    * ``a_k <= Re(e^{-j phi_k} g_k^H x_k) - xi_k ||x_k||`` (worst-case useful amplitude; S-procedure of an
      affine-in-Delta constraint = this cone),
    * ``I_k >= sum_{j!=k} |(g_k + D)^H x_j|^2`` for all ``||D|| <= xi_k`` (Nemirovski's lemma, LMI),
    * ``e_k >= |g_E^H x_k| + xi_E ||x_k||`` (Eve's worst amplitude), ``d_k <= 1 + sum_{j!=k} (2 b_j lin_j - b_j^2)``
      (SCA lower bound of Eve's worst-case interference), ``dd_k <= 1 + sum_{j!=k} (...)`` likewise for the user,
    * ``t <= D1(a_k, 1 + I_k) - [ln s + (e_k^2 + d_k - s)/s - ln d_k] - a_eps D3(hi_k^2/dd_k) - a_delta D3(e_k^2/d_k)``.

    Every constraint is a conservative bound of the worst case, so the design's true worst-case rates are at
    least ``guaranteed`` (evaluated at the solution, bits).
    """
    import cvxpy as cp

    G, g, W, theta = (np.asarray(a, np.complex128) for a in (G, g, W, theta))
    xi = np.asarray(xi, float)
    # rescale g -> g/s, x -> s x, xi -> xi/s (c_ij unchanged): keeps the LMI entries O(1..1e3) for Clarabel
    s_g = float(np.mean(np.linalg.norm(g, axis=1)))
    g, G, xi = g / s_g, G * s_g, xi / s_g
    N, M = G.shape
    K = W.shape[1]
    D = theta[:, None] * G  # x_j = D w_j
    Wv = cp.Variable((M, K), complex=True)
    X = D @ Wv  # (N, K) affine
    c_bar, n_bar = stream_terms(G, g, W, theta)
    t = cp.Variable()
    cons = [cp.norm(cp.vec(Wv, order="F"), 2) <= 1]
    a = cp.Variable(K)
    I = cp.Variable(K, nonneg=True)
    e = cp.Variable(K, nonneg=True)
    d = cp.Variable(K)
    dd = cp.Variable(K)
    mag_bar = np.abs(c_bar)
    rot = np.where(mag_bar > 0, np.conj(c_bar) / np.where(mag_bar > 0, mag_bar, 1), 1)
    b_bar = np.maximum(mag_bar - xi[:, None] * n_bar[None, :], 0.0)
    hi_bar = mag_bar + xi[:, None] * n_bar[None, :]

    def lin_lo(i, j):  # concave lower bound of max(|c_ij| - xi_i ||x_j||, 0)^2, tight at the current point
        b = cp.real(rot[i, j] * (np.conj(g[i]) @ X[:, j])) - xi[i] * cp.norm(X[:, j], 2)
        return 2 * b_bar[i, j] * b - b_bar[i, j] ** 2

    for k in range(K):
        others = [j for j in range(K) if j != k]
        ck = np.conj(g[k]) @ X[:, k]
        cons.append(a[k] <= cp.real(rot[k, k] * ck) - xi[k] * cp.norm(X[:, k], 2))
        # Nemirovski: || X_o^H (g + D) ||^2 <= I_k  for all ||D|| <= xi_k
        J = len(others)
        if J:
            Xo = cp.hstack([X[:, j:j + 1] for j in others])  # (N, J)
            u = Xo.H @ g[k][:, None]  # (J, 1)
            F = cp.bmat([[cp.reshape(I[k], (1, 1), order="F"), u.H], [u, np.eye(J)]])
            P = cp.hstack([np.zeros((N, 1)), Xo])  # (N, 1 + J)
            Qm = np.zeros((1, 1 + J))
            Qm[0, 0] = 1.0
            lam = cp.Variable(nonneg=True)
            lmi = cp.bmat([[F - lam * (Qm.T @ Qm), xi[k] * P.H], [xi[k] * P, lam * np.eye(N)]])
            cons.append(_real_psd(lmi) >> 0)
        else:
            cons.append(I[k] == 0)
        ce = np.conj(g[K]) @ X[:, k]
        cons.append(cp.abs(ce) + xi[K] * cp.norm(X[:, k], 2) <= e[k])
        cons.append(d[k] <= 1 + sum(lin_lo(K, j) for j in others))
        cons.append(dd[k] <= 1 + sum(lin_lo(k, j) for j in others))
        cons.append(d[k] >= 1e-9)
        cons.append(dd[k] >= 1e-9)
        # current-point values of the slacks (expansion points)
        a_bar = max(b_bar[k, k], 1e-2)
        I_bar = sum(hi_bar[k, j] ** 2 for j in others)
        y_bar = 1 + I_bar
        d_bar = 1 + sum(b_bar[K, j] ** 2 for j in others)
        dd_bar = 1 + sum(b_bar[k, j] ** 2 for j in others)
        e_bar = hi_bar[K, k]
        s_bar = e_bar**2 + d_bar
        d1 = (math.log1p(a_bar**2 / y_bar) - a_bar**2 / y_bar + 2 * a_bar * a[k] / y_bar
              - a_bar**2 * (cp.square(a[k]) + 1 + I[k]) / (y_bar * (a_bar**2 + y_bar)))
        eve = math.log(s_bar) + (cp.square(e[k]) + d[k] - s_bar) / s_bar - cp.log(d[k])
        hi_k = cp.abs(ck) + xi[k] * cp.norm(X[:, k], 2)
        gu_bar = hi_bar[k, k] ** 2 / dd_bar
        ge_bar = e_bar**2 / d_bar
        d3u = _sqrt_disp(gu_bar) + _slope(gu_bar) * (cp.quad_over_lin(hi_k, dd[k]) - gu_bar)
        d3e = _sqrt_disp(ge_bar) + _slope(ge_bar) * (cp.quad_over_lin(e[k], d[k]) - ge_bar)
        cons.append(t <= d1 - eve - disp_user * d3u - disp_eve * d3e)
    prob = cp.Problem(cp.Maximize(t), cons)
    t0 = time.perf_counter()
    used = _solve(prob, solver_opts)
    dt = time.perf_counter() - t0
    if Wv.value is None:
        return RobustStepResult(W, np.full(K, np.nan), str(prob.status), dt)
    Wn = np.asarray(Wv.value)
    # the value each user's constraints guarantee, re-evaluated at the solution (conservative by construction)
    guaranteed = _robust_lmi_value(G / s_g, g * s_g, Wn, theta, xi * s_g, disp_user, disp_eve)
    return RobustStepResult(Wn, guaranteed, f"{prob.status} ({used})", dt)


def _robust_lmi_value(G, g, W, theta, xi, disp_user, disp_eve):
    """Worst-case rate bound (bits) of a design with the users' interference at its exact worst case (what
    the LMI certifies) and every other term at its closed-form worst case."""
    X = np.asarray(theta)[:, None] * (np.asarray(G) @ np.asarray(W))
    c, nrm = stream_terms(G, g, W, theta)
    K = c.shape[1]
    out = []
    for k in range(K):
        others = [j for j in range(K) if j != k]
        I = _max_interference(g[k], X[:, others], xi[k]) if others else 0.0
        a = max(abs(c[k, k]) - xi[k] * nrm[k], 0.0)
        g_min = a**2 / (1 + I)
        lo = [max(abs(c[k, j]) - xi[k] * nrm[j], 0.0) ** 2 for j in others]
        g_max = (abs(c[k, k]) + xi[k] * nrm[k]) ** 2 / (1 + sum(lo))
        loe = [max(abs(c[K, j]) - xi[K] * nrm[j], 0.0) ** 2 for j in others]
        ge = (abs(c[K, k]) + xi[K] * nrm[k]) ** 2 / (1 + sum(loe))
        r = math.log1p(g_min) - math.log1p(ge) - disp_user * _sqrt_disp(g_max) - disp_eve * _sqrt_disp(ge)
        out.append(r / LN2)
    return np.asarray(out)


def _max_interference(g_hat, Xo, xi):
    """``max_{||D|| <= xi} ||Xo^H (g + D)||^2`` exactly (trust-region subproblem: bisection on the multiplier)."""
    A = Xo @ Xo.conj().T
    b = A @ g_hat
    w, V = np.linalg.eigh((A + A.conj().T) / 2)
    if xi <= 0:
        return float(np.real(g_hat.conj() @ A @ g_hat))
    bt = V.conj().T @ b
    lmax = w[-1]
    # maximise (g+D)^H A (g+D): D = (mu I - A)^{-1} b with mu > lmax and ||D|| = xi (hard case -> mu = lmax)
    def norm_d(mu):
        return np.sqrt(np.sum(np.abs(bt) ** 2 / (mu - w) ** 2))
    lo, hi = lmax + 1e-15 * max(1.0, abs(lmax)), lmax + np.linalg.norm(b) / xi + abs(lmax) + 1.0
    if norm_d(lo) < xi:  # hard case: add a component along the top eigenvector
        Dv = V @ (bt / (lo - w))
        rest = math.sqrt(max(xi**2 - np.linalg.norm(Dv) ** 2, 0.0))
        D = Dv + rest * V[:, -1]
    else:
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if norm_d(mid) > xi:
                lo = mid
            else:
                hi = mid
        D = V @ (bt / (hi - w))
    v = g_hat + D
    return float(np.real(v.conj() @ A @ v))


__all__ = ["available", "stream_terms", "rates", "StepResult", "sca_step", "CVXDesign", "sca_design",
           "worst_case_sinr", "worst_case_sinr_trs", "exact_worst_case_rates", "RobustStepResult", "robust_w_step"]

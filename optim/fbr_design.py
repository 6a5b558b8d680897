"""Beamformer + IRS design for max-min (or sum) finite-blocklength secrecy (MODELS.md 4(c), 6 "003").

Works on :class:`irsjax.systems.downlink_fbr.FBRProblem` (noise power 1, ``||W||_F <= 1``). The objective is
the per-user secrecy rate in bits -- nominal for ``xi = 0``, the closed-form worst case over the CSI error balls
(MODELS.md 6) for ``xi > 0`` -- aggregated by ``min`` (max-min) or ``sum`` (SSR baseline), un-clipped.

Two methods, pure JAX (``jit``/``vmap`` inside a Monte Carlo per-realisation function):

* :func:`sca_design` -- the paper's Algorithm 1: alternating SCA steps on ``W`` (over the power ball) and
  ``theta`` (over ``|theta_n| <= 1``, then projected onto ``|theta_n| = 1``, eqs. 32-34), each solving the
  convex program ``max t`` s.t. the minorisers (D1)-(D3) of :mod:`optim.minorizers` ``>= t`` with the log-barrier
  Newton method of :mod:`optim.interior` (first-order methods do not reach the conic optimum: the programs are
  badly conditioned); a step is kept only if the true objective does not decrease (Theorems 1-2: monotone);
  stop when the relative increase of the objective over one iteration is below ``tol``.
* :func:`gradient_design` -- joint ascent over ``(W, phi)`` (``theta = e^{j phi}``) of the annealed soft-min of
  the smoothed secrecy rates (temperatures ``1 -> 0.1 -> 0.01 -> 0.001`` bit [D]) by L-BFGS in a smooth
  parametrisation of the power ball (or projected gradient).

:func:`lbr_then_fbr` runs a method on the LBR problem and warm-starts the FBR run from its solution (the
paper's FBR initialisation). The switches ``how`` (``"min"``/``"sum"`` or a traced boolean ``use_sum``) and
``optimize_theta`` may be traced values, so every scheme of a figure shares one compiled program (``vmap``
over schemes).

>>> import jax
>>> from irsjax.systems import downlink_fbr as dl
>>> from optim import fbr_design as fd
>>> cfg = dl.FBRDownlinkConfig(K=2)
>>> prob = dl.problem(dl.sample(jax.random.key(0), cfg), cfg)
>>> W0, th0 = fd.initial_point(jax.random.key(1), prob)
>>> res = fd.sca_design(prob, W0, th0, num_outer=3)
>>> bool(res.value >= fd.objective(prob, W0, th0)), bool((res.history[1:] >= res.history[:-1]).all())
(True, True)
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from irsjax.systems import downlink_fbr as dl
from optim import projected
from optim.ao import fractional_increase
from optim.manifold import random_point
from optim.interior import maximin_barrier
from optim.lbfgs import lbfgs_ascent
from optim.minorizers import secrecy_minorizer
from optim.robust import minimize_over_ball, sphere_starts
from optim.sca import tangent
from optim.surrogates import soft_min, softplus


#: Barrier options of every SCA step: within ~2e-4 nat of Clarabel's optimum of the same program (tests).
SCA_BARRIER = dict(mu0=0.1, mu_end=1e-5, num_stages=8, newton_steps=5)


def _use_sum(how):
    if isinstance(how, str):
        if how not in ("min", "sum"):
            raise ValueError(f"how must be 'min' or 'sum', got {how!r}")
        return how == "sum"
    return how  # a (traced) boolean


def aggregate(values, use_sum, temperature=0.0):
    """``sum`` (``use_sum``) or ``soft_min_tau`` (exact min at ``tau = 0``) of per-user values; ``use_sum`` may be
    traced."""
    if isinstance(use_sum, bool):
        return jnp.sum(values) if use_sum else soft_min(values, temperature)
    return jnp.where(use_sum, jnp.sum(values), soft_min(values, temperature))


def objective(prob: dl.FBRProblem, W, theta, how="min"):
    """True objective in bits: ``min_k R_k`` or ``sum_k R_k`` (un-clipped; worst case when ``xi > 0``)."""
    return aggregate(dl.problem_rates(prob, W, theta), _use_sum(how))


def initial_point(key, prob: dl.FBRProblem):
    """Algorithm 1's start [D]: i.i.d. uniform phases and regularised ZF on the cascade, ``||W||_F = 1``."""
    N = prob.G.shape[0]
    theta = random_point(key, (N,), dtype=prob.G.dtype)
    return dl.rzf_normalized(prob, theta), theta


def _project(z):
    return projected.ball(1.0)(z[0]), projected.unit_discs(z[1])


def _to_circle(theta, fallback):
    m = jnp.abs(theta)
    return jnp.where(m > 0, theta / jnp.where(m > 0, m, 1.0).astype(theta.dtype), fallback)


def _minorizer_problem(prob, W, theta, block):
    """``(f, x0, h)`` of one SCA step: per-user minorisers of the free block built at ``(W, theta)``."""
    if block == "W":
        terms = lambda w: dl.stream_terms(prob.G, prob.g, w, theta)  # noqa: E731
        z_bar = W
        h = lambda w: jnp.sum(jnp.real(w * jnp.conj(w)), keepdims=True) - 1.0  # noqa: E731
    else:
        terms = lambda th: dl.stream_terms(prob.G, prob.g, W, th)  # noqa: E731
        z_bar = theta
        h = lambda th: jnp.real(th * jnp.conj(th)) - 1.0  # noqa: E731
    c_bar, n_bar = terms(z_bar)
    n_lin = tangent(lambda z: terms(z)[1], z_bar)

    def f(z):
        c, n = terms(z)
        return secrecy_minorizer(c, n, n_lin(z), c_bar, n_bar, prob.xi, prob.disp_user, prob.disp_eve)

    return f, z_bar, h


def sca_step(prob: dl.FBRProblem, W, theta, block: str, *, how="min", **barrier):
    """One SCA step of Algorithm 1 on ``block`` (``"W"``: beamformers over ``||W||_F <= 1``; ``"theta"``: over
    ``|theta_n| <= 1``, then projected onto ``|theta_n| = 1``, eq. 34). The convex program ``max t`` s.t.
    minoriser ``>= t`` (or ``max sum``) is solved by :func:`optim.interior.maximin_barrier` from the current point
    shrunk by ``1e-3`` (strictly feasible). Returns ``(W, theta)`` and the program's optimal value (nats)."""
    f, z_bar, h = _minorizer_problem(prob, W, theta, block)
    z0 = z_bar * jnp.asarray(1.0 - 1e-3, jnp.real(z_bar).dtype).astype(z_bar.dtype)
    res = maximin_barrier(f, z0, h, use_sum=_use_sum(how), **dict(SCA_BARRIER, **barrier))
    if block == "W":
        return (res.x, theta), res.value
    return (W, _to_circle(res.x, theta)), res.value


class SCAResult(NamedTuple):
    """``state = (W, theta)``; ``value`` (bits); ``history`` (objective after each outer iteration, length
    ``num_outer + 1``, non-decreasing, repeated after the stop); ``num_iters`` (iterations run until the
    relative increase fell below ``tol``; ``num_outer`` if it never did); ``converged``."""

    state: tuple
    value: jax.Array
    history: jax.Array
    num_iters: jax.Array
    converged: jax.Array


def sca_design(prob: dl.FBRProblem, W0, theta0, *, how="min", optimize_theta=True, num_outer: int = 10,
               tol: float = 1e-3, barrier=None) -> SCAResult:
    """Algorithm 1 (SCA with the minorisers (D1)-(D3), monotone); ``optimize_theta=False`` keeps ``theta0``
    (random-PRE baseline). ``how`` and ``optimize_theta`` may be traced booleans (``how``: ``use_sum``);
    ``barrier`` = options of :func:`optim.interior.maximin_barrier` for every step."""
    use_sum = _use_sum(how)
    obj = lambda W, th: aggregate(dl.problem_rates(prob, W, th), use_sum)  # noqa: E731
    f0 = obj(W0, theta0)
    opts = dict(SCA_BARRIER, **(barrier or {}))

    def accept(W, th, f, Wn, thn, allowed=True):
        fn = obj(Wn, thn)
        ok = allowed & jnp.isfinite(fn) & (fn >= f)
        return jnp.where(ok, Wn, W), jnp.where(ok, thn, th), jnp.where(ok, fn, f)

    def iteration(W, th, f):
        (Wn, thn), _ = sca_step(prob, W, th, "W", how=use_sum, **opts)
        W, th, f = accept(W, th, f, Wn, thn)
        (Wn, thn), _ = sca_step(prob, W, th, "theta", how=use_sum, **opts)
        return accept(W, th, f, Wn, thn, optimize_theta)

    def outer(carry, _):
        W, th, f, n_it, done = carry
        Wn, thn, fn = iteration(W, th, f)
        keep = ~done
        W = jnp.where(keep, Wn, W)
        th = jnp.where(keep, thn, th)
        f_new = jnp.where(keep, fn, f)
        newly = keep & (jnp.abs(fractional_increase(f_new, f)) < tol)
        return (W, th, f_new, n_it + keep.astype(n_it.dtype), done | newly), f_new

    init = (W0, theta0, f0, jnp.asarray(0, jnp.int32), jnp.asarray(False))
    (W, th, f, n_it, done), hist = jax.lax.scan(outer, init, None, length=num_outer)
    return SCAResult((W, th), f, jnp.concatenate([f0[None], hist]), n_it, done)


class GradientResult(NamedTuple):
    """``state = (W, theta)``; ``value`` (exact objective, bits); ``history`` (exact objective of the best
    point after every annealing stage, first entry = start)."""

    state: tuple
    value: jax.Array
    history: jax.Array


def smooth_rates(prob: dl.FBRProblem, W, theta, smoothing: float = 1e-2):
    """Per-user rates (bits) with ``max(., 0)`` -> softplus and ``|z| -> sqrt(|z|^2 + 1e-12)`` (MODELS.md 6)."""
    return dl.problem_rates(prob, W, theta, positive_part=lambda x: softplus(x, smoothing), abs_eps=1e-12)


def gradient_design(prob: dl.FBRProblem, W0, theta0, *, how="min", optimize_theta=True,
                    temperatures=(1.0, 0.1, 0.01, 0.001), iters_per_stage: int = 100, smoothing: float = 1e-2,
                    optimizer: str = "lbfgs") -> GradientResult:
    """Joint ascent of the annealed soft-min (or sum) of the smoothed rates over ``(W, theta = e^{j phi})``.

    ``optimizer="lbfgs"`` (default): L-BFGS (:mod:`optim.lbfgs`) in the smooth unconstrained parametrisation
    ``W = sqrt(sigmoid(a)) V / ||V||_F``; ``"projected"``: projected gradient (Barzilai-Borwein, Armijo) with
    ``W`` on the power ball (slower on these ill-conditioned problems; kept for comparison). The best point
    of the stages by the exact objective is returned (annealing never loses the start). ``how`` and
    ``optimize_theta`` may be traced booleans.
    """
    if optimizer not in ("lbfgs", "projected"):
        raise ValueError(f"optimizer must be 'lbfgs' or 'projected', got {optimizer!r}")
    use_sum = _use_sum(how)
    phi0 = jnp.angle(theta0)
    cd = theta0.dtype
    rd = jnp.real(W0).dtype
    mt = jnp.asarray(optimize_theta).astype(rd)

    def theta_of(phi):
        phi = phi0 + mt * (phi - phi0)
        return jax.lax.complex(jnp.cos(phi), jnp.sin(phi)).astype(cd)

    if optimizer == "lbfgs":
        n0 = jnp.sqrt(jnp.sum(jnp.real(W0 * jnp.conj(W0))))
        p0 = jnp.clip(n0**2, 1e-4, 1.0 - 1e-3)
        x0 = (W0 / jnp.where(n0 > 0, n0, 1.0).astype(cd), jnp.log(p0 / (1.0 - p0)), phi0)

        def unpack(x):
            V, a, phi = x
            nv = jnp.sqrt(jnp.sum(jnp.real(V * jnp.conj(V))))
            scale = jnp.sqrt(jax.nn.sigmoid(a)) / jnp.where(nv > 0, nv, 1.0)
            return V * scale.astype(cd), theta_of(phi)
    else:
        x0 = (W0, phi0)

        def unpack(x):
            return x[0], theta_of(x[1])

    def f(x, tau):
        W, th = unpack(x)
        return aggregate(smooth_rates(prob, W, th, smoothing), use_sum, tau)

    def exact(x):
        W, th = unpack(x)
        return aggregate(dl.problem_rates(prob, W, th), use_sum)

    def run_stage(x, tau):
        if optimizer == "lbfgs":
            return lbfgs_ascent(f, x, args=(tau,), num_iters=iters_per_stage).x
        return projected.projected_ascent(f, x, lambda z: (projected.ball(1.0)(z[0]), z[1]), args=(tau,),
                                          num_iters=iters_per_stage).x

    def stage(carry, tau):
        x, best_x, best_f = carry
        x = run_stage(x, tau)
        fx = exact(x)
        better = jnp.isfinite(fx) & (fx > best_f)
        best_x = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), x, best_x)
        best_f = jnp.where(better, fx, best_f)
        return (x, best_x, best_f), best_f

    f0 = exact(x0)
    temps = jnp.asarray(temperatures, rd)
    (_, best_x, best_f), hist = jax.lax.scan(stage, (x0, x0, f0), temps)
    return GradientResult(unpack(best_x), best_f, jnp.concatenate([f0[None], hist]))


def lbr_then_fbr(method, prob: dl.FBRProblem, W0, theta0, **kwargs):
    """Run ``method`` (``sca_design`` or ``gradient_design``) on the LBR problem, then on the FBR problem from
    the LBR solution. One traced copy of ``method`` (``lax.scan`` over the two stages); returns the stacked
    results (leading axis: LBR, FBR)."""
    stages = jnp.stack([jnp.zeros_like(prob.disp_user), jnp.ones_like(prob.disp_user)])

    def run(carry, finite):
        W, th = carry
        p = prob._replace(disp_user=finite * prob.disp_user, disp_eve=finite * prob.disp_eve)
        res = method(p, W, th, **kwargs)
        return res.state, res

    _, out = jax.lax.scan(run, (W0, theta0), stages)
    return out


class Design(NamedTuple):
    """Best design per stage over restarts: ``W`` (2, M, K) and ``theta`` (2, N) for (LBR, FBR), ``value`` (2,)
    objective in bits; ``history``/``num_iters`` of restart 0 (SCA: per outer iteration; gradient: per
    annealing stage), shapes (2, T+1) and (2,)."""

    W: jax.Array
    theta: jax.Array
    value: jax.Array
    history: jax.Array
    num_iters: jax.Array


def design(key, prob: dl.FBRProblem, W0, theta0, *, method: str = "gradient", how="min", optimize_theta=True,
           num_restarts: int = 1, **kwargs) -> Design:
    """LBR -> FBR design by ``method`` (``"gradient"`` or ``"sca"``) from ``(W0, theta0)`` and ``num_restarts - 1``
    more starts (random phases + RZF; with ``optimize_theta`` false: ``theta0`` and random unit-norm
    beamformers), keeping per stage the best objective. ``how``/``optimize_theta`` may be traced."""
    fn = {"gradient": gradient_design, "sca": sca_design}.get(method)
    if fn is None:
        raise ValueError(f"method must be 'gradient' or 'sca', got {method!r}")
    M, K = W0.shape
    keys = jax.random.split(key, max(num_restarts - 1, 1))

    def start(k):
        k1, k2 = jax.random.split(k)
        Wr, thr = initial_point(k1, prob)
        z = jax.random.normal(k2, (M, K), dtype=W0.dtype)
        z = z / jnp.linalg.norm(z).astype(W0.dtype)
        return jnp.where(optimize_theta, Wr, z), jnp.where(optimize_theta, thr, theta0)

    Ws, ths = jax.vmap(start)(keys)
    Ws = jnp.concatenate([W0[None], Ws[: num_restarts - 1]])
    ths = jnp.concatenate([theta0[None], ths[: num_restarts - 1]])
    out = jax.vmap(lambda W, th: lbr_then_fbr(fn, prob, W, th, how=how, optimize_theta=optimize_theta,
                                               **kwargs))(Ws, ths)
    W_st, th_st = out.state  # (R, 2, M, K), (R, 2, N)
    vals = jnp.where(jnp.isfinite(out.value), out.value, -jnp.inf)  # (R, 2)
    best = jnp.argmax(vals, axis=0)  # (2,)
    st = jnp.arange(2)
    n_it = out.num_iters[0] if hasattr(out, "num_iters") else jnp.zeros((2,), jnp.int32)
    return Design(W_st[best, st], th_st[best, st], vals[best, st], out.history[0], n_it)


class WorstCase(NamedTuple):
    """Adversarial check of a design: ``rates`` (K,) the smallest per-user secrecy rates found (bits,
    un-clipped; attained by ``delta_users`` (K, N) and, per stream, Eve's ``delta_eve`` (K, N))."""

    rates: jax.Array
    delta_users: jax.Array
    delta_eve: jax.Array


def adversarial_worst_case(key, prob: dl.FBRProblem, W, theta, *, num_restarts: int = 16,
                           num_iters: int = 50) -> WorstCase:
    """True worst-case per-user secrecy rates of a design over the CSI error balls, by attack.

    The worst case of ``min_k R_k`` separates: user ``k``'s part ``ln(1 + gamma_k) - a_eps sqrt(V(gamma_k))``
    depends on ``Delta_k`` only, Eve's part for stream ``k`` on ``Delta_E`` only. Each part is minimised
    (Eve's maximised) over its ball by :func:`optim.robust.minimize_over_ball` from ``num_restarts`` starts:
    the centre, the closed-form worst direction of every term (``-/+ xi e^{-j arg c} x_j / ||x_j||``) and random
    points of the sphere (MODELS.md 6 asks for 5 starts x 20 steps [D]; defaults here are larger). The result
    is attained, hence an upper bound of the exact worst case; a design is robust when it is at least the value
    the design claims.
    """
    K = W.shape[1]
    X = theta[:, None] * (prob.G @ W)  # (N, K)
    c = jnp.conj(prob.g) @ X  # (K+1, K)
    eye = jnp.eye(K, dtype=bool)
    zero = jnp.zeros((), jnp.real(c).dtype)
    num_random = max(num_restarts - 1 - K, 0)

    def sinr(gi, k):
        ci = jnp.conj(gi) @ X
        p = jnp.real(ci * jnp.conj(ci))
        return p[k] / (1.0 + jnp.sum(jnp.where(jnp.arange(K) == k, zero, p)))

    def user_part(delta, k):
        gam = sinr(prob.g[k] + delta, k)
        return jnp.log1p(gam) - prob.disp_user * dl.sqrt_dispersion(gam)

    def eve_part_neg(delta, k):
        gam = sinr(prob.g[K] + delta, k)
        return -(jnp.log1p(gam) + prob.disp_eve * dl.sqrt_dispersion(gam))

    sign = jnp.where(eye, -1.0, 1.0).astype(c.dtype)  # user k: shrink own signal, grow interference
    dirs_user = sign[:, :, None] * (jnp.conj(c[:K])[:, :, None] * X.T[None, :, :])  # (K, K, N)
    dirs_eve = (-sign)[:, :, None] * (jnp.conj(c[K])[None, :, None] * X.T[None, :, :])  # Eve: grow stream k

    ku, ke = jax.random.split(key)
    N = X.shape[0]

    def worst_user(k, kk):
        st = sphere_starts(kk, dirs_user[k], prob.xi[k], (N,), num_random)
        res = minimize_over_ball(user_part, st, prob.xi[k], args=(k,), num_iters=num_iters)
        return res.value, res.x

    def worst_eve(k, kk):
        st = sphere_starts(kk, dirs_eve[k], prob.xi[K], (N,), num_random)
        res = minimize_over_ball(eve_part_neg, st, prob.xi[K], args=(k,), num_iters=num_iters)
        return -res.value, res.x

    ks = jnp.arange(K)
    u, du = jax.vmap(worst_user)(ks, jax.random.split(ku, K))
    e, de = jax.vmap(worst_eve)(ks, jax.random.split(ke, K))
    return WorstCase((u - e) / dl.LN2, du, de)


__all__ = ["SCA_BARRIER", "aggregate", "objective", "initial_point", "sca_step", "SCAResult", "sca_design",
           "GradientResult", "smooth_rates", "gradient_design", "lbr_then_fbr", "Design", "design",
           "WorstCase", "adversarial_worst_case"]

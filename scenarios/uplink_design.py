"""Phase/receiver design for the IRS-aided uplink (MODELS.md 3(c)-(d), section 6 "002"): MM-SOP and MM-SINR.

P2 (3.8): maximise ``min_k x_k`` over the phases ``v`` and unit-norm receivers ``W``; the per-user
SOP (3.7) is strictly decreasing in ``x_k``, so this is the min-max SOP problem.

* **Gradient (section 6):** the receivers are optimal in closed form for any ``v`` (MMSE, (3.10):
  ``x_k* = c_k (1 + SINR_k* - 2^R_s)``), so P2 is ``max_v min_k x_k*(v)``: Riemannian ascent
  (:func:`optim.oblique_cg.maximize` per stage) of ``soft_min_tau(x*(v))``, ``tau`` annealed
  ``0.3 -> 0.1 -> ... -> 3e-5 -> 0`` times ``|min_k x_k|`` (exact at the end; each stage warm-started, one
  compiled solver for all stages), the linear solves of the MMSE SINRs inside the graph (envelope
  theorem: no alternation). The problem has several local maxima: :func:`gradient_design` runs
  ``paths`` whole annealing paths (the first from the given start, the others from random phases) and
  keeps the best exact value. MM-SINR: the same on ``log2(1 + SINR_k*)`` (same maximiser as
  ``min_k SINR_k*``; ``tau`` in bits). One objective serves both (``sinr`` is a traced switch), so the two
  designs share one compilation and run side by side under ``vmap``.
* **Algorithm 2 (the paper's way):** alternate {MMSE receivers; phases by Algorithm 1 = generalised
  Dinkelbach over the lifted SDR (3.11) with ``W`` fixed (:func:`optim.minmax_ratio.minmax_ratio_sdr`:
  Burer-Monteiro surrogate of P10 + Gaussian randomisation, ``I_G = 100``)} until the max SOP changes by
  less than ``eps_AO = 1e-4`` or ``i_max`` iterations. MM-SINR: the same with ``N_k = p_k tr(R_kk V)``
  (:func:`ratio_terms` with ``c_k = 1``, no offset), stopping on ``min_k log2(1 + SINR_k)``.

Everything is pure JAX (``vmap``-able inside the Monte Carlo engine). Problem data reach the objectives
through ``args`` (:class:`UplinkData`).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

import optim
from irsjax.analysis import uplink as an
from irsjax.systems import uplink as sysm
from optim import minmax_ratio, oblique_cg, receivers

__all__ = [
    "GRADIENT_TEMPERATURES", "AOTrace", "GradientDesign", "GradientOptions", "UplinkData", "ao_sdr", "design_objective",
    "fixed_receiver_objective", "fixed_receiver_x", "gradient_design", "gradient_options", "lifted_gains",
    "lifted_matrices", "mmse", "mmse_rate", "mmse_x", "problem_data", "ratio_coefficients", "ratio_terms",
    "sinr_objective", "sop_objective",
]

GRADIENT_TEMPERATURES = (0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 3e-4, 1e-4, 3e-5, 0.0)
"""Soft-min schedule [D], relative: each stage's temperature is this times ``|objective|`` (exact) at its start;
it ends on the exact min."""


class UplinkData(NamedTuple):
    """Problem data of one realisation: channels, ``rho_k = p_k / sigma_B^2``, ``rho_E,k = p_k / sigma_E^2``,
    ``eps_k`` (Eve's variance per antenna), the target rate ``R_s`` and Eve's antenna count as a float."""

    ch: sysm.UplinkChannels
    rho: jax.Array
    rho_e: jax.Array
    eps: jax.Array
    R_s: jax.Array
    N_E: jax.Array


def problem_data(cfg: sysm.UplinkConfig, ch: sysm.UplinkChannels) -> UplinkData:
    rd = jnp.real(ch.G).dtype
    return UplinkData(ch, cfg.snr_bob(rd), cfg.snr_eve(rd), sysm.eve_variance(ch), jnp.asarray(cfg.R_s, rd),
                      jnp.asarray(cfg.N_E, rd))


# ----------------------------------------------------------------------------- closed-form receivers
def mmse(v, data: UplinkData):
    """Unit-norm MMSE receivers ``W`` (K, M) at phases ``v``."""
    return receivers.mmse_receivers(sysm.effective_channels(data.ch, v), data.rho)


def _mmse_sinr(v, data):
    return receivers.mmse_sinr(sysm.effective_channels(data.ch, v), data.rho)


def mmse_x(v, data: UplinkData):
    """``x_k*`` (3.10) with the MMSE receivers in closed form, shape ``(K,)``."""
    return an.x_from_sinr(_mmse_sinr(v, data), data.eps, data.rho_e, data.R_s)


def mmse_rate(v, data: UplinkData):
    """``log2(1 + SINR_k*)`` with MMSE receivers, shape ``(K,)``."""
    return jnp.log2(1.0 + _mmse_sinr(v, data))


def _values(s, data, sinr):
    return jnp.where(sinr, jnp.log2(1.0 + s), an.x_from_sinr(s, data.eps, data.rho_e, data.R_s))


def design_objective(v, tau, data, sinr):
    """``soft_min_tau`` of ``x*(v)`` (MM-SOP) or of ``log2(1 + SINR*(v))`` (MM-SINR, ``sinr`` true)."""
    return optim.soft_min(_values(_mmse_sinr(v, data), data, sinr), tau)


def sop_objective(v, tau, data):
    """``soft_min_tau(x*(v))`` (MM-SOP, gradient way)."""
    return optim.soft_min(mmse_x(v, data), tau)


def sinr_objective(v, tau, data):
    """``soft_min_tau(log2(1 + SINR*(v)))`` (MM-SINR, gradient way)."""
    return optim.soft_min(mmse_rate(v, data), tau)


def fixed_receiver_x(v, W, data: UplinkData):
    """``x_k(v; W)`` for fixed receivers (the objective of the phase step P7), shape ``(K,)``."""
    s = receivers.sinr(sysm.effective_channels(data.ch, v), W, data.rho)
    return an.x_from_sinr(s, data.eps, data.rho_e, data.R_s)


def fixed_receiver_objective(v, tau, W, data):
    """``soft_min_tau(x(v; W))``: the P7 phase step by gradient (for comparisons with Algorithm 1)."""
    return optim.soft_min(fixed_receiver_x(v, W, data), tau)


class GradientOptions(NamedTuple):
    """Options of each annealing stage of a gradient path (:func:`optim.oblique_cg.maximize`)."""

    max_iters: int = 100
    tol: float = 1e-9


def gradient_options(iters: int = 100) -> GradientOptions:
    """Options of each annealing stage of a gradient path (Riemannian CG, Armijo; one start per path)."""
    return GradientOptions(max_iters=int(iters))


class GradientDesign(NamedTuple):
    """``phases`` of the best path; ``value``: its exact objective; ``history``: its objective per iteration
    (the annealing stages concatenated); ``path_values``: the exact objective of every path."""

    phases: jax.Array
    value: jax.Array
    history: jax.Array
    path_values: jax.Array


def gradient_design(key, v0, objective, args=(), *, paths: int = 4, options: GradientOptions | None = None,
                    temperatures=GRADIENT_TEMPERATURES) -> GradientDesign:
    """Maximise ``objective(v, tau, *args)`` along the temperature schedule (relative to ``|objective|`` at each
    stage's start; ending at ``tau = 0``, the exact objective) from ``paths`` starts (``v0`` and random phases);
    the best exact value wins. Pure JAX."""
    opts = options if options is not None else gradient_options()
    n = v0.shape[-1]
    rd = jnp.real(v0).dtype
    starts = jnp.concatenate([v0[None], optim.manifold.random_point(key, (paths - 1, n), dtype=v0.dtype)])
    temps = jnp.asarray(temperatures, rd)

    def on_columns(U, tau, *a):  # phases as an (n, 1) point of the oblique manifold
        return objective(U[:, 0], tau, *a)

    def path(init):
        # one annealing path: every stage warm-starts from the previous one (a scan over the temperatures)
        def stage(U, rel):
            scale = jnp.abs(objective(U[:, 0], jnp.zeros((), rd), *args))
            tau = rel * jnp.where(jnp.isfinite(scale), scale, jnp.zeros((), rd))
            r = oblique_cg.maximize(on_columns, U, (tau,) + tuple(args), max_iters=opts.max_iters, tol=opts.tol)
            return r.point, r.history

        U, hists = jax.lax.scan(stage, init[:, None], temps)
        return U[:, 0], hists.reshape(-1)

    V, hist = jax.vmap(path)(starts)
    vals = jax.vmap(lambda v: objective(v, jnp.zeros((), rd), *args))(V)
    vals = jnp.where(jnp.isfinite(vals), vals, -jnp.inf)
    b = jnp.argmax(vals)
    return GradientDesign(V[b], vals[b], hist[b], vals)


# ----------------------------------------------------------------------------- lifted (SDR) terms
def lifted_gains(U, Q):
    """``T[k, j] = tr(R_kj U U^H) = ||Q[k, j] U||^2`` (K, K)."""
    P = jnp.einsum("kjn,nr->kjr", Q, U)
    return jnp.sum(jnp.real(P) ** 2 + jnp.imag(P) ** 2, axis=-1)


def ratio_coefficients(data: UplinkData, sinr):
    """``(c_k, offset)`` of :func:`ratio_terms`: MM-SOP ``c_k = 1 / (rho_E,k eps_k 2^R_s)``, ``offset = 1 - 2^R_s``
    (so ``N_k / D_k = x_k``, 3.11); MM-SINR ``c_k = 1``, ``offset = 0`` (``N_k / D_k = SINR_k``)."""
    t = jnp.exp2(data.R_s)
    c = jnp.where(sinr, jnp.ones_like(data.eps), 1.0 / (data.rho_e * data.eps * t))
    return c, jnp.where(sinr, jnp.zeros_like(t), 1.0 - t)


def ratio_terms(U, Q, wn, c, offset, data: UplinkData):
    """``(N_k, D_k)`` of (3.11), noise-normalised: ``D_k = sum_{j != k} rho_j T_kj + ||w_k||^2`` (the last
    term is ``||w_k||^2 tr(E_{N+1} V)``, constant on the elliptope) and ``N_k = c_k [rho_k T_kk + offset D_k]``."""
    T = lifted_gains(U, Q)
    K = T.shape[0]
    off = ~jnp.eye(K, dtype=bool)
    D = jnp.sum(jnp.where(off, T * data.rho[None, :], jnp.zeros((), T.dtype)), axis=1) + wn
    return c * (data.rho * jnp.diagonal(T) + offset * D), D


def lifted_matrices(Q, wn, data: UplinkData, *, sinr: bool = False):
    """Dense ``(A, B)`` (K, n, n) with ``N_k = tr(A_k V)``, ``D_k = tr(B_k V)`` (for the cvxpy reference):
    ``R_kj = Q[k, j]^H Q[k, j]``, ``B_k = sum_{j != k} rho_j R_kj + ||w_k||^2 E_n``."""
    K, _, n = Q.shape
    R = jnp.conj(Q)[..., :, None] * Q[..., None, :]  # (K, K, n, n)
    rho = data.rho.astype(Q.dtype)
    off = (~jnp.eye(K, dtype=bool)).astype(Q.dtype)
    E = jnp.zeros((n, n), Q.dtype).at[n - 1, n - 1].set(1.0)
    B = jnp.einsum("kj,kjab->kab", off * rho[None, :], R) + wn.astype(Q.dtype)[:, None, None] * E[None, :, :]
    Rkk = R[jnp.arange(K), jnp.arange(K)]
    c, offset = ratio_coefficients(data, sinr)
    c, offset = c.astype(Q.dtype), offset.astype(Q.dtype)
    return c[:, None, None] * (rho[:, None, None] * Rkk + offset * B), B


# ----------------------------------------------------------------------------- Algorithm 2
class AOTrace(NamedTuple):
    """Result of :func:`ao_sdr`: phases ``v``; ``x`` (I + 1, K): ``x_k*`` with MMSE receivers at the phases
    of every AO iteration (index 0 = start; after the stop the last row repeats); ``num_iters``;
    ``dinkelbach_iters`` (mean Dinkelbach iterations per phase step); ``relaxed_gap`` (relaxed value over the
    value after randomisation, minus 1, of the last phase step: 0 when the SDR solution is rank one)."""

    phases: jax.Array
    x: jax.Array
    num_iters: jax.Array
    dinkelbach_iters: jax.Array
    relaxed_gap: jax.Array


def ao_sdr(key, v0, data: UplinkData, *, sinr=False, iters: int = 30, tol=1e-4, num_draws: int = 100,
           dinkelbach_iters: int = 10, bm_iters: int = minmax_ratio.DEFAULT_BM_ITERS,
           temperatures=minmax_ratio.DEFAULT_TEMPERATURES) -> AOTrace:
    """Algorithm 2 (AO) from ``v0``: MMSE receivers, then the phases by :func:`optim.minmax_ratio.minmax_ratio_sdr`
    with ``W`` fixed. Stops when the AO objective (max SOP for MM-SOP, ``min_k log2(1 + SINR_k)`` for
    MM-SINR; ``sinr`` may be traced) changes by less than ``tol``, or after ``iters`` iterations."""
    rd = data.rho.dtype
    sinr = jnp.asarray(sinr)
    c, offset = ratio_coefficients(data, sinr)
    x0 = mmse_x(v0, data)

    def ao_objective(v, x):
        return jnp.where(sinr, jnp.min(mmse_rate(v, data)), -jnp.max(an.sop_from_x(x, data.N_E)))

    f0 = ao_objective(v0, x0)
    xs0 = jnp.zeros((iters + 1, x0.shape[0]), rd).at[0].set(x0)

    def cond(carry):
        i, _, _, _, done, _, _ = carry
        return (i < iters) & ~done

    def body(carry):
        i, v, f, xs, _, dk, _ = carry
        W = mmse(v, data)
        Q = sysm.cascade_coefficients(data.ch, W)
        wn = jnp.sum(jnp.abs(W) ** 2, axis=-1)
        v_new, val, res = minmax_ratio.minmax_ratio_sdr(
            ratio_terms, jax.random.fold_in(key, i), v, args=(Q, wn, c, offset, data), num_draws=num_draws,
            max_iters=dinkelbach_iters, bm_iters=bm_iters, temperatures=temperatures)
        x_new = mmse_x(v_new, data)
        f_new = ao_objective(v_new, x_new)
        gap = res.value / jnp.where(val != 0, val, jnp.ones((), rd)) - 1.0
        return (i + 1, v_new, f_new, xs.at[i + 1].set(x_new), jnp.abs(f_new - f) < tol,
                dk + res.num_iters.astype(rd), gap)

    init = (0, v0, f0, xs0, jnp.asarray(False), jnp.zeros((), rd), jnp.zeros((), rd))
    i, v, _, xs, _, dk, gap = jax.lax.while_loop(cond, body, init)
    rows = jnp.arange(iters + 1)[:, None]
    xs = jnp.where(rows <= i, xs, xs[i][None, :])
    return AOTrace(v, xs, i, dk / jnp.maximum(i, 1).astype(rd), gap)

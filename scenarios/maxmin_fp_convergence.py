"""``irsjax run maxmin-fp-convergence``: Fig. 3 of the max-min two-way paper (MODELS.md section 2).

IRS phases fixed at random values, FP power step (quadratic transform, eq.
2.8-2.9, ``optim.fp``) from ``p = P_max`` (``init``; the authors' code) for
``N = 1`` pair (A_1, B_1, E) and ``N = 2`` pairs, against a reference optimum:
the best of the 4 corners ``{P_min, P_max}^2`` for ``N = 1`` (optimal for one
pair) and an exhaustive grid of ``G`` linearly spaced powers (W) per user for
``N = 2`` (``G^4`` evaluations, chunked with ``lax.map``). Both ``N`` share each
realisation's channels and phases (``N = 1`` keeps A_1, B_1, E of the two-pair draw).

The x-axis is the FP sub-iteration ``i`` (the sweep parameter ``iteration``):
one run of ``fp_iters`` sub-iterations per realisation gives every point: the traces
are shaped statistics, every point makes the same ``ctx.estimate`` call and the runner
evaluates it once (``iteration`` is a shared-draw parameter). Series (means over
realisations, un-clipped ``R = min_n R_s,n`` in bit/s/Hz): gap
``D^(i) = |R^(i) - R_ref| / |R_ref|`` and fractional increase
``Delta^(i) = (R^(i) - R^(i-1)) / |R^(i-1)|`` (Fig. 3a), ``R^(i)`` and ``R_ref``;
Fig. 3b: FP power ratios ``p_u / P_max`` and objective of one realisation
(``realisation``) next to the grid search. ``derived.fig3a`` holds the curves at
i = 1, 5, 10, 20, 30, the same for the mean rates, and the first ``i`` with mean
``D^(i)`` below 1e-2 / 1e-3; ``derived.fig3b`` the final ratios (also scale-free,
``p / max_u p_u``); ``derived.per_point`` the share of realisations whose final
gap / power ratios are within tolerance.

    irsjax run maxmin-fp-convergence --set preset=fig3 --samples 110
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np
import jax
import jax.numpy as jnp

from optim import fp as fp_mod
from optim.ao import fractional_increase
from optim.manifold import random_point
from irsjax.config import check_choice, config, static
from irsjax.montecarlo import BLOCK, Estimate
from irsjax.units import LN2
from irsjax.scenario import Panel, Param, ParameterError, PointResult, Scenario, Series
from irsjax.systems.maxmin_two_way import MaxminTwoWayConfig, TwoWayChannels
from scenarios.maxmin_two_way import SYSTEM_PARAMS

PAIRS = (1, 2)
INITS = ("pmax", "pmin", "mid", "random")
USERS = ("A1", "B1", "A2", "B2")
CHECKPOINTS = (1, 5, 10, 20, 30)
THRESHOLDS = (1e-2, 1e-3)
RATIO_TOL = 0.05  # final FP power ratios "at" the reference ones (Fig. 3b over all realisations)


class FPTrace(NamedTuple):
    """FP trace and reference of one realisation: ``value`` (I+1,) bit/s/Hz, ``powers`` (I+1, 2N) W
    (index 0 = start ``P_max``), ``ref_value``, ``ref_powers`` (2N,)."""

    value: jax.Array
    powers: jax.Array
    ref_value: jax.Array
    ref_powers: jax.Array


def _shape(p):
    """Scale-free power profile ``p / max_u p_u``."""
    return p / jnp.max(p)


def pair_subset(ch: TwoWayChannels, pairs: int, total: int) -> TwoWayChannels:
    """Channels of the first ``pairs`` pairs and E from a ``total``-pair draw."""
    idx = np.array(list(range(2 * pairs)) + [2 * total])
    return TwoWayChannels(ch.cascade[idx][:, idx], ch.direct[idx][:, idx])


@config
class FPConvergence:
    """Per-realisation FP convergence experiment (a pytree: settings static, the system's floats leaves).

    ``system`` is the two-pair system; ``positions`` (users, E, IRS) are traced.
    """

    system: MaxminTwoWayConfig
    fp_iters: int = static(30)
    fp_inner: int = static(60)
    grid_points: int = static(50)
    init: str = static("pmax")

    def __post_init__(self):
        check_choice("init", self.init, INITS)

    def system_for(self, pairs: int) -> MaxminTwoWayConfig:
        if pairs not in PAIRS:
            raise ValueError(f"pairs must be 1 or 2 (positions exist for two pairs), got {pairs!r}")
        return dataclasses.replace(self.system, users=tuple(self.system.users[:2 * pairs]))

    def channels(self, key, positions):
        """Two-pair channels and random phases ``U[0, 2 pi)`` of one realisation."""
        k_ch, k_v = jax.random.split(key)
        ch = self.system.sample(k_ch, positions)
        return ch, random_point(k_v, (self.system.L,), dtype=ch.direct.dtype)

    def start(self, key, pmin, pmax, users: int):
        """FP starting powers (``init``): all ``P_max`` [C], all ``P_min``, mid-box, or uniform in the box."""
        if self.init == "random":
            return pmin + (pmax - pmin) * jax.random.uniform(jax.random.fold_in(key, 7), (users,), pmax.dtype)
        w = {"pmax": 1.0, "pmin": 0.0, "mid": 0.5}[self.init]
        return jnp.full((users,), pmin + w * (pmax - pmin), pmax.dtype)

    def trace_gains(self, G, pairs: int, key=None) -> FPTrace:
        """FP trace and reference optimum for the gain matrix ``G`` of ``pairs`` pairs
        (``key``: only for ``init = "random"``)."""
        s = self.system_for(pairs)
        U = 2 * pairs
        dt = G.dtype
        ratios = s.fp_ratios(G)
        off = jnp.asarray(s.FP_OFFSETS, dt)
        obj = lambda p: fp_mod.log_ratio_objective(ratios, off, p)  # (nats)
        pmin, pmax = jnp.asarray(s.p_min, dt), jnp.asarray(s.p_max, dt)

        def step(p, _):  # one FP sub-iteration (same as power_control's loop body)
            r = fp_mod.power_control(ratios, p, pmin, pmax, offsets=off, num_iters=1, inner_steps=self.fp_inner,
                                     multistart=False)
            return r.p, (r.p, r.value)

        p0 = self.start(key, pmin, pmax, U)
        _, (ps, vals) = jax.lax.scan(step, p0, None, length=self.fp_iters)
        powers = jnp.concatenate([p0[None], ps])
        value = jnp.concatenate([obj(p0)[None], vals]) / LN2
        if pairs == 1:
            p_ref, _ = fp_mod.corner_search(obj, pmin, pmax, U)
        else:
            def prod_obj(p):  # exp(ln2 * min_n R_s,n): same argmax, no logarithms
                a, b = ratios(p)
                return jnp.min(jnp.prod(jnp.broadcast_to(off, a.shape) + a / b, axis=-1))

            p_ref, _ = fp_mod.grid_search(prod_obj, pmin, pmax, U, points=self.grid_points,
                                          chunk=self.grid_points**2)
        return FPTrace(value, powers, obj(p_ref) / LN2, p_ref)

    def gains(self, key, positions, pairs: int):
        """Gain matrix of realisation ``key`` restricted to the first ``pairs`` pairs (random fixed phases)."""
        ch, v = self.channels(key, positions)
        return self.system_for(pairs).gains(pair_subset(ch, pairs, self.system.N), v)

    def trace(self, key, positions, pairs: int) -> FPTrace:
        """FP trace and reference of realisation ``key`` for ``pairs`` in {1, 2} (jit-able; ``pairs`` static)."""
        return self.trace_gains(self.gains(key, positions, pairs), pairs, key)

    def __call__(self, key, positions):
        """Statistics for the Monte Carlo engine, per number of pairs N: the traces ``R{N}``, ``D{N}``
        (shape (I+1,), i = 0..I) and ``frac{N}`` (shape (I,), i = 1..I); ``ref{N}``; ``hit{N}_{tol}`` (final
        ``D < tol``), ``ratio_dev{N}`` (final ``max_u |p_u - p_u^ref| / P_max``) and ``ratio_close{N}``
        (``ratio_dev < RATIO_TOL``); ``shape_dev{N}``, ``shape_close{N}`` likewise for the scale-free
        ``p / max_u p_u`` (the objective is nearly invariant to a common power scaling)."""
        ch, v = self.channels(key, positions)
        out = {}
        for n in PAIRS:
            s = self.system_for(n)
            t = self.trace_gains(s.gains(pair_subset(ch, n, self.system.N), v), n, key)
            tiny = jnp.finfo(t.value.dtype).tiny ** 0.5
            gap = jnp.abs(t.value - t.ref_value) / jnp.maximum(jnp.abs(t.ref_value), tiny)
            frac = fractional_increase(t.value[1:], t.value[:-1])
            out[f"ref{n}"] = t.ref_value
            out[f"R{n}"], out[f"D{n}"], out[f"frac{n}"] = t.value, gap, frac
            for tol in THRESHOLDS:
                out[f"hit{n}_{tol:g}"] = (gap[-1] < tol).astype(gap.dtype)
            dev = jnp.max(jnp.abs(t.powers[-1] - t.ref_powers)) / s.p_max
            shape = jnp.max(jnp.abs(_shape(t.powers[-1]) - _shape(t.ref_powers)))
            out[f"ratio_dev{n}"], out[f"shape_dev{n}"] = dev, shape
            out[f"ratio_close{n}"] = (dev < RATIO_TOL).astype(dev.dtype)
            out[f"shape_close{n}"] = (shape < RATIO_TOL).astype(dev.dtype)
        return out


PARAMS = (
    Param("iteration", 30, "", "FP sub-iteration i (the x-axis; must be <= fp_iters)", kind=int, minimum=1,
          maximum=500),
    Param("L", 40, "elements", "number of IRS elements (random fixed phases)", kind=int, minimum=0, maximum=1024),
    *SYSTEM_PARAMS,
    Param("fp_iters", 30, "", "FP power sub-iterations", kind=int, minimum=1, maximum=500, sweepable=False),
    Param("fp_inner", 60, "", "Adam steps per FP step; unused by the default exact step", kind=int,
          minimum=1, maximum=10000, sweepable=False),
    Param("grid_points", 50, "", "grid-search powers per user for N = 2 (G; G^4 evaluations)", kind=int,
          minimum=2, maximum=100, sweepable=False),
    Param("init", "pmax", "", "FP starting powers: all P_max (authors' code), all P_min, mid-box, uniform random",
          kind=str, choices=INITS, sweepable=False),
    Param("realisation", 0, "", "index of the realisation shown in Fig. 3b (N = 2)", kind=int, minimum=0,
          maximum=10**9, sweepable=False),
)


def experiment(params) -> tuple[FPConvergence, np.ndarray]:
    """Validated experiment and the (traced) positions from scenario parameters."""
    if params["Pmin_dBm"] > params["Pmax_dBm"]:
        raise ParameterError(f"parameter 'Pmin_dBm' ({params['Pmin_dBm']}) must be <= Pmax_dBm ({params['Pmax_dBm']})")
    if params["iteration"] > params["fp_iters"]:
        raise ParameterError(f"parameter 'iteration' ({params['iteration']}) must be <= fp_iters "
                             f"({params['fp_iters']}); e.g. --set iteration=1:{params['fp_iters']}:1")
    system = MaxminTwoWayConfig(L=int(params["L"]), kappa_assignment=str(params["kappa_assignment"]),
                                irs_links=str(params["irs_links"]),
                                kappa=float(params["kappa"]), noise_dBm=float(params["noise_dBm"]),
                                eve_noise_dBm=float(params["noise_dBm"]), loop_dBm=float(params["loop_dBm"]),
                                Pmax_dBm=float(params["Pmax_dBm"]), Pmin_dBm=float(params["Pmin_dBm"]))
    pos = np.asarray(dataclasses.replace(system, config=str(params["config"])).positions(), np.float32)
    return FPConvergence(system, fp_iters=int(params["fp_iters"]), fp_inner=int(params["fp_inner"]),
                         grid_points=int(params["grid_points"]), init=str(params["init"])), pos


def realisation_key(key, index: int):
    """The Monte Carlo engine's key of realisation ``index`` (block ``index // BLOCK``)."""
    return jax.random.split(jax.random.fold_in(key, index // BLOCK), BLOCK)[index % BLOCK]


PROBABILITIES = tuple([f"hit{n}_{t:g}" for n in PAIRS for t in THRESHOLDS]
                      + [f"{m}_close{n}" for n in PAIRS for m in ("ratio", "shape")])


@jax.jit
def _trace2(exp, key, pos):
    return exp.trace(key, pos, 2)


def _compute(ctx, exp, pos, index):
    """The Monte Carlo estimates (one engine run serves every iteration point) and the Fig. 3b trace of
    realisation ``index`` (computed once per run: ``ctx.once``)."""
    est = ctx.estimate(exp, args=(pos,), batch_size=BLOCK, probabilities=PROBABILITIES)
    tr = ctx.once(("fig3b", index), lambda: jax.tree_util.tree_map(
        np.asarray, _trace2(exp, realisation_key(ctx.key, index), jnp.asarray(pos))))
    return est, tr


def _exact(x) -> Estimate:
    """One realisation's value as a zero-width estimate (plotted with markers)."""
    x = float(x)
    return Estimate(x, 0.0, x, x, 1, 0.0)


def point(ctx, params) -> PointResult:
    exp, pos = experiment(params)
    i = int(params["iteration"])
    est, tr = _compute(ctx, exp, pos, int(params["realisation"]))
    pmax = exp.system.p_max
    values = {}
    for n in PAIRS:
        values[f"gap_N{n}"] = est[f"D{n}"].at(i)
        values[f"frac_N{n}"] = est[f"frac{n}"].at(i - 1)
        values[f"msr_fp_N{n}"] = est[f"R{n}"].at(i)
        values[f"msr_ref_N{n}"] = est[f"ref{n}"]
    values["fig3b_msr_fp"] = _exact(tr.value[i])
    values["fig3b_msr_grid"] = float(tr.ref_value)
    for u, name in enumerate(USERS):
        values[f"fig3b_fp_{name}"] = _exact(tr.powers[i, u] / pmax)
        values[f"fig3b_grid_{name}"] = float(tr.ref_powers[u] / pmax)
    extras = {}
    for n in PAIRS:
        extras[f"gap0_N{n}"] = est[f"D{n}"].at(0).mean
        extras[f"msr0_N{n}"] = est[f"R{n}"].at(0).mean
        for t in THRESHOLDS:
            extras[f"share_final_gap_below_{t:g}_N{n}"] = est[f"hit{n}_{t:g}"].mean
        for m in ("ratio", "shape"):
            extras[f"mean_final_{m}_dev_N{n}"] = est[f"{m}_dev{n}"].mean
            extras[f"share_final_{m}_dev_below_{RATIO_TOL:g}_N{n}"] = est[f"{m}_close{n}"].mean
    return PointResult(values=values, extras=extras)


def _first_below(xs, ys, tol):
    return next((x for x, y in zip(xs, ys) if y is not None and y < tol), None)


def derive(params, x_name, xs, series):
    if x_name != "iteration":
        return {}
    at = lambda lab: {x: m for x, m in zip(xs, series[lab]["mean"]) if x in CHECKPOINTS or x == xs[-1]}
    fig3a = {}
    for n in PAIRS:
        R, ref = series[f"msr_fp_N{n}"]["mean"], series[f"msr_ref_N{n}"]["mean"]
        fig3a[f"N{n}"] = {
            "reference": "4 corners {Pmin, Pmax}^2" if n == 1 else f"grid, {params['grid_points']} powers per user",
            "mean_gap_at": at(f"gap_N{n}"), "mean_frac_increase_at": at(f"frac_N{n}"),
            "first_iteration_mean_gap_below": {f"{t:g}": _first_below(xs, series[f"gap_N{n}"]["mean"], t)
                                               for t in THRESHOLDS},
            "gap_of_mean_rates_at": {x: abs(r - f) / f for x, r, f in zip(xs, R, ref)
                                     if (x in CHECKPOINTS or x == xs[-1]) and f and f > 0},
            "frac_increase_of_mean_rates_at": {x: (r - r0) / abs(r0) for x, x0, r, r0 in zip(xs[1:], xs, R[1:], R)
                                               if (x in CHECKPOINTS or x == xs[-1]) and x0 == x - 1 and r0},
            "mean_msr_ref": ref[-1], "mean_msr_fp_last": R[-1],
        }
    fp = [series[f"fig3b_fp_{u}"]["mean"][-1] for u in USERS]
    grid = [series[f"fig3b_grid_{u}"]["mean"][-1] for u in USERS]
    fig3b = {"realisation": params["realisation"], "iteration": xs[-1], "users": list(USERS),
             "fp_power_ratio": fp, "grid_power_ratio": grid,
             "max_abs_ratio_diff": max(abs(a - b) for a, b in zip(fp, grid)),
             "fp_shape": [x / max(fp) for x in fp], "grid_shape": [x / max(grid) for x in grid],
             "max_abs_shape_diff": max(abs(a / max(fp) - b / max(grid)) for a, b in zip(fp, grid)),
             "fp_msr": series["fig3b_msr_fp"]["mean"][-1], "grid_msr": series["fig3b_msr_grid"]["mean"][-1]}
    return {"fig3a": fig3a, "fig3b": fig3b}


SERIES = tuple(
    [Series(f"gap_N{n}", "gap", description=f"mean D^(i), N = {n}") for n in PAIRS]
    + [Series(f"frac_N{n}", "frac", description=f"mean fractional increase Delta^(i), N = {n}") for n in PAIRS]
    + [Series(f"msr_fp_N{n}", "msr", description=f"mean min secrecy rate R^(i) of FP, N = {n}") for n in PAIRS]
    + [Series(f"msr_ref_N{n}", "msr", description=f"mean reference optimum, N = {n}") for n in PAIRS]
    + [Series("fig3b_msr_fp", "fig3b_msr", description="Fig. 3b realisation: FP objective"),
       Series("fig3b_msr_grid", "fig3b_msr", analytical=True, description="Fig. 3b realisation: grid search")]
    + [Series(f"fig3b_fp_{u}", "fig3b_ratio", description=f"Fig. 3b: FP p_{u} / P_max") for u in USERS]
    + [Series(f"fig3b_grid_{u}", "fig3b_ratio", analytical=True, description=f"Fig. 3b: grid p_{u} / P_max")
       for u in USERS]
)

SCENARIO = Scenario(
    name="maxmin-fp-convergence",
    description="Fig. 3 of the max-min two-way paper: FP power-step convergence (N = 1, 2) vs corner / grid optima",
    params=PARAMS,
    sweep="iteration",
    sweep_values=tuple(range(1, 31)),
    series=SERIES,
    panels={"gap": Panel("mean gap D^(i) to the reference", "log"),
            "frac": Panel("mean fractional increase Delta^(i)", "log"),
            "msr": Panel("mean min secrecy rate [bit/s/Hz]"),
            "fig3b_msr": Panel("Fig. 3b: min secrecy rate [bit/s/Hz]"),
            "fig3b_ratio": Panel("Fig. 3b: power ratio p_u / P_max")},
    point=point,
    default_samples=110,
    derive=derive,
    presets={"fig3": {"config": "C1", "L": "40", "fp_iters": "30", "iteration": "1:30:1", "grid_points": "50"}},
    x_label="FP sub-iteration i",
    shared_draws=("iteration",),
)

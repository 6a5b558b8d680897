"""``irsjax run lv-two-way``: IRS secure two-way multiuser communications (MODELS.md section 1).

Lv, Wu, Li, Al-Dhahir, Chen (IEEE CL 2021). Monte Carlo sum and per-signal
average secrecy rates (ASR) of the proposed scheme (argmax scheduling, matched
phases, the other user's signal as jamming) and the two baselines (B1 one-way
with user-aided jamming, B2 two-way with random pair scheduling), all from the
same channel draws; the Theorem 1 lower bound (reference quadrature and the
paper's Gauss-Chebyshev form), per topology and averaged over
``topologies`` drops drawn from the run key. ``derived`` holds the Corollary 1
slopes (against log2 P, log2 K or log2 log2 N), the scheme orderings and the
bound's gap.

Presets: ``fig1`` (P sweep), ``fig2`` (K sweep), ``fig3`` (N sweep),
``fig2_40dBm``, ``fig3_40dBm``.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import jax

from irsjax import montecarlo
from irsjax.montecarlo import Estimate
from irsjax.scenario import Panel, Param, ParameterError, PointResult, Scenario, Series
from irsjax.systems.two_way import PROBABILITIES, TwoWayConfig, latin_hypercube, lower_bound

BOUND_KEY_TAG = 0x1B0D  # topologies of the analytical bound: fold_in(run key, tag)

PARAMS = (
    Param("P_dBm", 20.0, "dBm", "transmit power of each user", minimum=-100.0, maximum=150.0),
    Param("K", 32, "elements", "number of IRS elements", kind=int, minimum=1, maximum=4096),
    Param("N", 10, "pairs", "number of user pairs", kind=int, minimum=1, maximum=1000),
    Param("sigma0_dBm", -70.0, "dBm", "noise power at the users and at Eve", minimum=-250.0, maximum=100.0),
    Param("sigmal_dBm", -40.0, "dBm", "residual loop-interference power at the users", minimum=-250.0, maximum=100.0),
    Param("alpha", 4.0, "", "path-loss exponent (C0 = 1)", minimum=0.0, exclusive_minimum=True, maximum=10.0),
    Param("M", 20, "nodes", "Gauss-Chebyshev order of the paper's bound", kind=int, minimum=1, maximum=10000),
    Param("radius", 5.0, "m", "radius of the user discs (0: users at the centres)", minimum=0.0, maximum=1e4),
    Param("irs_x", 15.0, "m", "IRS x"), Param("irs_y", 0.0, "m", "IRS y"),
    Param("eve_x", 15.0, "m", "Eve x"), Param("eve_y", 20.0, "m", "Eve y"),
    Param("a_x", 0.0, "m", "centre of the A-users' disc, x"), Param("a_y", 0.0, "m", "centre of the A-users' disc, y"),
    Param("b_x", 30.0, "m", "centre of the B-users' disc, x"), Param("b_y", 0.0, "m", "centre of the B-users' disc, y"),
    Param("topologies", 300, "drops", "topologies averaged by the analytical bound", kind=int, minimum=1,
          maximum=100000, sweepable=False),
    Param("rng", "pcg", "", "per-realisation uniform stream (pcg: fast counter hash; threefry: jax.random)",
          kind=str, choices=("pcg", "threefry"), sweepable=False),
)

MAIN = ("proposed", "random_scheduling", "one_way_jamming")
NONZERO = 0.01  # bit/s/Hz: "where rates are non-zero" in the ordering checks (proposed = B1 below ~10 dBm)
BOUNDS = ("lower_bound", "lower_bound_paper")


def config(params) -> TwoWayConfig:
    """The system configuration of a parameter set (fixed positions when ``radius = 0``)."""
    N = int(params["N"])
    ca, cb = (float(params["a_x"]), float(params["a_y"])), (float(params["b_x"]), float(params["b_y"]))
    fixed = float(params["radius"]) == 0.0
    return TwoWayConfig(
        K=int(params["K"]), N=N, P_dBm=float(params["P_dBm"]), sigma0_dBm=float(params["sigma0_dBm"]),
        sigmal_dBm=float(params["sigmal_dBm"]),
        alpha=float(params["alpha"]), irs=(float(params["irs_x"]), float(params["irs_y"])),
        eve=(float(params["eve_x"]), float(params["eve_y"])), centre_a=ca, centre_b=cb,
        radius=float(params["radius"]), positions_a=(ca,) * N if fixed else None,
        positions_b=(cb,) * N if fixed else None, rng=str(params["rng"]))


def point(ctx, params) -> PointResult:
    try:
        cfg = config(params)
    except ValueError as e:
        raise ParameterError(str(e)) from None
    est = ctx.estimate(cfg, probabilities=PROBABILITIES)
    # closed forms in float64 (MODELS.md 0.1), on topologies drawn from the run key
    bkey = jax.random.fold_in(ctx.key, BOUND_KEY_TAG)
    with jax.enable_x64(True):
        lb = lower_bound(cfg, bkey, int(params["topologies"]), M=int(params["M"]))
    ref, pap = lb["reference"], lb["paper"]
    values = {name: est[name] for name in MAIN}
    for name in MAIN:
        values[name + "_s1"] = est[name + "_s1"]
        values[name + "_s2"] = est[name + "_s2"]
    T = 1 if cfg.fixed_positions else int(params["topologies"])

    def avg(d, k):  # a topology average of a closed form, with its sampling error
        m, se = d[k], d[k + "_se"]
        return Estimate(m, se, m - 1.96 * se, m + 1.96 * se, T, se * se * T, "mean")

    values.update({
        "lower_bound": avg(ref, "sum"), "lower_bound_s1": avg(ref, "s1"), "lower_bound_s2": avg(ref, "s2"),
        "lower_bound_paper": avg(pap, "sum"),
        "p_secure_s1": est["p_secure_s1"], "p_secure_s2": est["p_secure_s2"], "p_sic": est["p_sic"],
    })
    ln2 = math.log(2.0)
    extras = {
        "mc_rate_legit_bits": est["ln1p_gamma"].mean / ln2,  # E log2(1 + gamma_n*)
        "mc_rate_eve1_bits": est["ln1p_gamma_e1"].mean / ln2,
        "mc_rate_eve2_bits": est["ln1p_gamma_e2"].mean / ln2,
        "bound_rate_legit_bits": ref["q_m"] / ln2,  # topology-averaged Q_M / ln 2
        "bound_rate_eve1_bits": ref["q_e1"] / ln2,
        "bound_rate_eve2_bits": ref["q_e2"] / ln2,
        "paper_rate_legit_bits": pap["q_m"] / ln2,
        "gap_proposed_minus_bound": est["proposed"].mean - ref["sum"],
        "gap_std_err": math.hypot(est["proposed"].std_err, ref["sum_se"]),
        # smooth (pathwise) part of d(sum ASR)/d log2 K at this K, irsjax.systems.two_way.local_k_slope
        "slope_per_doubling_K_smooth": est["slope_per_doubling_K"].mean,
    }
    return PointResult(values=values, extras=extras)


def paired_bound_gap(params, key, topologies=64, blocks=4096):
    """MC sum ASR minus the Theorem 1 bound, both on the *same* topologies (MODELS.md 0.2 two-level sampling).

    ``topologies`` Latin-hypercube user drops; on each, ``blocks`` fading realisations (positions fixed, a
    float leaf: one compilation) and the reference bound (float64). Returns floats: the mean gap and its
    standard error over topologies (MC noise included), the topology means of MC and bound, and the
    standard error the MC mean alone would carry from topology sampling (what an unpaired comparison
    has to beat).

    >>> r = paired_bound_gap(dict(SCENARIO.defaults(), K=8, N=2, P_dBm=50.0), jax.random.key(0), 3, 256)
    >>> sorted(r)
    ['blocks', 'bound', 'gap', 'gap_std_err', 'mc', 'mc_topology_std_err', 'topologies']
    """
    cfg = config(dict(params, radius=float(params["radius"]) or 1e-9))
    T, N = int(topologies), cfg.N
    k_top, k_mc = jax.random.split(key)
    u = latin_hypercube(k_top, T, 4 * N).reshape(T, N, 4)
    pa, pb = (np.asarray(x, float) for x in jax.vmap(cfg.draw_positions)(u))
    mc_t, lb_t = [], []
    for t in range(T):
        ct = dataclasses.replace(cfg, positions_a=tuple(map(tuple, pa[t].tolist())),
                                 positions_b=tuple(map(tuple, pb[t].tolist())))
        mc_t.append(montecarlo.estimate(ct, jax.random.fold_in(k_mc, t), int(blocks))["proposed"].mean)
        with jax.enable_x64(True):
            lb_t.append(lower_bound(ct, k_top, 1, methods=("reference",), M=int(params["M"]))["reference"]["sum"])
    mc_t, lb_t = np.asarray(mc_t, float), np.asarray(lb_t, float)
    gap = mc_t - lb_t
    se = lambda x: float(np.std(x, ddof=1) / math.sqrt(T)) if T > 1 else float("nan")
    return {"gap": float(gap.mean()), "gap_std_err": se(gap), "mc": float(mc_t.mean()), "bound": float(lb_t.mean()),
            "mc_topology_std_err": se(mc_t), "topologies": T, "blocks": int(blocks)}


def _transform(x_name, xs):
    """Corollary 1 abscissa: log2 P (P in W), log2 K, log2 log2 N (N >= 2); None elsewhere."""
    xs = np.asarray(xs, float)
    if x_name == "P_dBm":
        return xs * math.log2(10.0) / 10.0, "log2 P"
    if x_name == "K":
        return np.log2(xs), "log2 K"
    if x_name == "N":
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.log2(np.log2(xs))
        return np.where(xs >= 2, t, np.nan), "log2 log2 N"
    return None, None


def _slopes(t, y):
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    if len(t) < 2:
        return None
    last = float((y[-1] - y[-2]) / (t[-1] - t[-2]))
    fit = float(np.polyfit(t, y, 1)[0])
    half = len(t) // 2
    upper = float(np.polyfit(t[half:], y[half:], 1)[0]) if len(t) - half >= 2 else last
    return {"last_segment": last, "least_squares_all": fit, "least_squares_upper_half": upper}


def derive(params, x_name, xs, series):
    out = {}
    t, tname = _transform(x_name, xs)
    mean = {k: np.asarray(v["mean"], float) for k, v in series.items()}
    if t is not None:
        sl = {k: _slopes(t, mean[k]) for k in MAIN + BOUNDS + ("proposed_s1", "proposed_s2")}
        ref = {"P_dBm": {"high_snr_sum_per_doubling_of_P": 2.0, "per_signal": 1.0},
               "K": {"paper_2logK": 2.0, "model_high_snr": 4.0},
               "N": {"corollary": "log log N growth (slope in log2 log2 N; no fixed value)"}}[x_name]
        out["scaling"] = {"abscissa": tname, "slopes": sl, "reference": ref}
        if x_name == "K" and len(xs) >= 2:
            out["scaling"]["slope_per_doubling_of_K_at_largest_K"] = float(
                (mean["proposed"][-1] - mean["proposed"][-2]) / math.log2(xs[-1] / xs[-2]))
            # per segment, with the standard error (independent draws per K); compare with the smooth
            # part per_point.slope_per_doubling_K_smooth (trapezoid over the segment) and with 2 and 4
            pse = np.asarray(series["proposed"].get("std_err", np.zeros(len(xs))), float)
            out["scaling"]["slope_per_doubling_of_K_by_segment"] = {
                "from_K": [int(k) for k in xs[:-1]], "to_K": [int(k) for k in xs[1:]],
                "measured": (np.diff(mean["proposed"]) / np.diff(t)).tolist(),
                "std_err": (np.hypot(pse[1:], pse[:-1]) / np.diff(t)).tolist()}
    se = {k: np.asarray(series[k].get("std_err", np.zeros(len(xs))), float) for k in ("proposed", "lower_bound")}
    gap_se = np.hypot(se["proposed"], se["lower_bound"])
    nz = mean["proposed"] > NONZERO
    prop, rnd, ow = mean["proposed"], mean["random_scheduling"], mean["one_way_jamming"]

    def ci(label, end):
        return np.asarray(series[label].get(end, series[label]["mean"]), float)

    orders = {
        "nonzero_threshold_bits": NONZERO,
        "proposed_ge_random_where_nonzero": bool(np.all(prop[nz] >= rnd[nz])),
        "proposed_ge_one_way_where_nonzero": bool(np.all(prop[nz] >= ow[nz])),
        # everywhere: no baseline's CI lies entirely above the proposed scheme's CI
        "no_baseline_significantly_above": bool(
            np.all(ci("proposed", "ci_high") >= ci("random_scheduling", "ci_low"))
            and np.all(ci("proposed", "ci_high") >= ci("one_way_jamming", "ci_low"))),
        "proposed_increasing": bool(np.all(np.diff(prop) > 0)),
        # the bound (Latin-hypercube topologies) and the MC (a topology per realisation) carry independent
        # sampling errors: "below" = not significantly above (3 standard errors of the gap)
        "bound_below_proposed": bool(np.all(mean["lower_bound"] - prop <= 3 * gap_se)),
        "bound_below_proposed_in_means": bool(np.all(mean["lower_bound"] <= prop)),
    }
    above = [x for x, a, b in zip(xs, rnd, ow) if a > b]
    orders["random_above_one_way_at"] = above
    out["orderings"] = orders
    gap = prop - mean["lower_bound"]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(prop > 0, gap / prop, np.nan)
    out["bound_gap"] = {"absolute": gap.tolist(), "std_err": gap_se.tolist(),
                        "relative": [None if not np.isfinite(r) else float(r) for r in rel]}
    return out


def _preset(sweep, **kw):
    d = {"sweep": sweep}
    d.update(kw)
    return d


PRESETS = {
    "fig1": _preset("P_dBm", P_dBm="0:50:5", K=32, N=10),
    "fig2": _preset("K", K="8,16,32,64,128,256", P_dBm=20, N=6),
    "fig3": _preset("N", N="1,2,4,8,16,32,50", P_dBm=20, K=32),
    "fig2_40dBm": _preset("K", K="8,16,32,64,128,256", P_dBm=40, N=6),
    "fig3_40dBm": _preset("N", N="1,2,4,8,16,32,50", P_dBm=40, K=32),
}

SCENARIO = Scenario(
    name="lv-two-way",
    description="IRS secure two-way multiuser communications (Lv et al. 2021): sum ASR, baselines, Theorem 1 bound",
    params=PARAMS,
    sweep="P_dBm",
    sweep_values=tuple(float(v) for v in range(0, 51, 5)),
    series=(
        Series("proposed", "asr", description="argmax scheduling, matched phases, two-way (MC)"),
        Series("random_scheduling", "asr", description="B2: two-way, random pair (MC)"),
        Series("one_way_jamming", "asr", description="B1: one-way, user-aided jamming, two half slots (MC)"),
        Series("lower_bound", "asr", analytical=True,
               description="Theorem 1, reference quadrature, averaged over topologies (CI: topology sampling)"),
        Series("lower_bound_paper", "asr", analytical=True,
               description="Theorem 1, paper's Gauss-Chebyshev form (M nodes), averaged over topologies"),
        Series("proposed_s1", "per_signal"), Series("proposed_s2", "per_signal"),
        Series("random_scheduling_s1", "per_signal"), Series("random_scheduling_s2", "per_signal"),
        Series("one_way_jamming_s1", "per_signal"), Series("one_way_jamming_s2", "per_signal"),
        Series("lower_bound_s1", "per_signal", analytical=True),
        Series("lower_bound_s2", "per_signal", analytical=True),
        Series("p_secure_s1", "probability", description="Pr(R_s1 > 0), proposed"),
        Series("p_secure_s2", "probability", description="Pr(R_s2 > 0), proposed"),
        Series("p_sic", "probability", description="Pr(Eve's SIC succeeds), proposed"),
    ),
    panels={"asr": Panel("sum average secrecy rate [bit/s/Hz]"),
            "per_signal": Panel("per-signal ASR [bit/s/Hz]"),
            "probability": Panel("probability")},
    point=point,
    default_samples=200_000,
    derive=derive,
    presets=PRESETS,
    x_label="P [dBm]",
    shared_draws=("P_dBm", "sigma0_dBm", "sigmal_dBm"),
)

"""``irsjax reproduce PAPER``: every figure of a paper from one command, with a claims report.

``PAPER`` is a seed number (``000`` ... ``004``), a scenario name or ``all``. Every preset of the paper's
scenarios runs through ``irsjax run`` (same results files, resume and atomic writes) into
``OUT/PAPER/<scenario>/<preset>/``; a preset whose ``results.json`` already holds the requested sample count
is reused. Then ``OUT/PAPER/REPORT.md`` and ``report.json`` list every MODELS.md (f) claim we check: the
paper's words, our number (with its uncertainty where the scenario gives one), a verdict (``holds``,
``partly``, ``does not hold``, ``not evaluated``) and why. Claims not written out for a scenario are
reported from the boolean checks of its ``derived`` results. ``--quick`` runs a few minutes a paper
(fewer samples and sweep points; verdicts are then indicative).

>>> sorted(PAPERS)
['000', '001', '002', '003', '004']
>>> paper_ids("ris-scheduling"), paper_ids("all")[:2]
(['004'], ['000', '001'])
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Claim:
    """A claim of a paper: ``check(runs) -> (our number, verdict, why)``; ``runs`` maps
    ``"scenario/preset"`` to that run's results dictionary."""

    id: str
    words: str
    check: Callable[[dict], tuple]


@dataclass(frozen=True)
class Paper:
    """A paper: its runs ``(scenario, preset, quick --set overrides, quick samples[, full samples])`` (full
    samples default to the scenario's ``default_samples``) and its claims."""

    id: str
    title: str
    scenarios: tuple
    runs: tuple = ()  # empty: every preset of every scenario, discovered at run time
    claims: tuple = field(default_factory=tuple)


HOLDS, PARTLY, FAILS, NOT_EVALUATED = "holds", "partly", "does not hold", "not evaluated"


def _get(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _floats(values):
    """A results.json list as floats, NaN where it holds ``null``."""
    return np.array([np.nan if v is None else v for v in values], float)


def _series(res, label, what="mean"):
    s = _get(res, "series", label, what)
    return None if s is None else _floats(s)


def _verdict(flags):
    """holds if every flag holds, partly if some do, does not hold if none does."""
    flags = list(flags)
    return HOLDS if all(flags) else PARTLY if any(flags) else FAILS



# --------------------------------------------------------------------------------------------- paper 000
def _c000_f1_order(runs):
    r = runs.get("lv-two-way/fig1")
    o = _get(r, "derived", "orderings")
    if o is None:
        return "-", NOT_EVALUATED, "fig1 not run"
    above = o.get("random_above_one_way_at", [])
    verdict = HOLDS if o["no_baseline_significantly_above"] and o["proposed_increasing"] else FAILS
    return (f"proposed increasing: {o['proposed_increasing']}; no baseline significantly above: "
            f"{o['no_baseline_significantly_above']}; B2 > B1 at P = {above}"), verdict, (
        "orderings of the sweep means; 'above' tested against the CIs")


def _c000_bound(runs):
    r = runs.get("lv-two-way/fig1")
    gap = _get(r, "derived", "bound_gap")
    if gap is None:
        return "-", NOT_EVALUATED, "fig1 not run"
    rel = [g for g in gap["relative"] if g is not None]
    x = r["x"]["values"]
    last = f"{gap['absolute'][-1]:+.3f} +/- {gap['std_err'][-1]:.3f} bit at {x[-1]} dBm"
    below = _get(r, "derived", "orderings", "bound_below_proposed")
    shrinking = len(rel) >= 2 and abs(rel[-1]) <= abs(rel[len(rel) // 2])
    verdict = _verdict([below, shrinking])
    return f"MC - bound {last}; relative gap {rel[len(rel) // 2]:.3f} (mid) -> {rel[-1]:.3f} (last)", verdict, (
        "bound not significantly above the MC (3 standard errors of the gap) and relative gap shrinking with P")


def _c000_remark3(runs):
    r = runs.get("lv-two-way/fig1")
    p = _series(r, "p_secure_s1") if r else None
    if p is None:
        return "-", NOT_EVALUATED, "fig1 not run"
    hi = _series(r, "p_secure_s1", "ci_high")
    verdict = HOLDS if p[-1] > p[0] and p[-1] > 0.9 else PARTLY if p[-1] > p[0] else FAILS
    return f"Pr(R_s1 > 0): {p[0]:.3f} -> {p[-1]:.4f} (CI high {hi[-1]:.4f})", verdict, (
        "increasing towards 1; Pr(R_s1 = 0) decays like 1/P (gamma_e1 unbounded, MODELS 1(f))")


def _c000_k_slope(runs):
    out = []
    for name in ("lv-two-way/fig2", "lv-two-way/fig2_40dBm"):
        s = _get(runs.get(name), "derived", "scaling", "slope_per_doubling_of_K_at_largest_K")
        if s is not None:
            out.append(f"{name.split('/')[1]}: {s:.2f} bit per doubling")
    if not out:
        return "-", NOT_EVALUATED, "fig2 not run"
    return "; ".join(out), PARTLY, (
        "sum ASR grows with K, but each signal's SNR scales as K^2 with matched phases, so the high-SNR slope of "
        "the sum of two rates is 4 bit per doubling, approached from below; the paper's '2 log K' reference "
        "curve is the per-signal slope (MODELS 1(f)); no hard assert")


def _c000_n(runs):
    r = runs.get("lv-two-way/fig3")
    p, b2 = (_series(r, "proposed"), _series(r, "random_scheduling")) if r else (None, None)
    if p is None:
        return "-", NOT_EVALUATED, "fig3 not run"
    inc = bool(np.all(np.diff(p) > -2 * _series(r, "proposed", "std_err")[1:]))
    flat = float(np.ptp(b2))
    verdict = HOLDS if inc and p[-1] > p[0] and np.all(p >= b2) else PARTLY
    return f"proposed {p[0]:.2f} -> {p[-1]:.2f} bit; B2 range {flat:.3f} bit", verdict, (
        "slow (log log N) growth of the scheduled pair, random pair flat in N")


# --------------------------------------------------------------------------------------------- paper 001
def _c001_gains(runs):
    """Gains at the largest L of the paper's Algorithm 1 (``sdr_sca``, the design the paper's numbers come from:
    the verdict) and of our default gradient AO (reported next to it)."""
    rows, inside = [], []
    for c in ("C1", "C2", "C3", "C4"):
        d = _get(runs.get(f"maxmin-two-way/fig5_{c}"), "derived", "gains_vs_random_fp")
        if d is None:
            continue
        last = d["at_last_x"]
        paper = d.get("paper_at_L40")
        alg1, ours = last.get("sdr_sca"), last.get("proposed_gradient")
        has_alg1 = alg1 is not None and np.isfinite(alg1)
        judged = alg1 if has_alg1 else ours
        if judged is None or not paper:
            inside.append(False)
            rows.append(f"{c}: n/a")
            continue
        inside.append(abs(judged - paper) <= 0.3 * abs(paper))
        rows.append(f"{c}: " + (f"Algorithm 1 {100 * alg1:+.0f} %, " if has_alg1 else "")
                    + f"gradient AO {100 * ours:+.0f} % (paper {100 * paper:+.0f} %"
                    + ("" if inside[-1] else ", outside +/-30 %") + ")")
    if not rows:
        return "-", NOT_EVALUATED, "fig5 presets not run"
    missing = [c for c in ("C1", "C2", "C3", "C4") if f"maxmin-two-way/fig5_{c}" not in runs]
    if missing:
        rows.append(f"{', '.join(missing)} not run (the verdict covers the configurations run)")
    verdict = _verdict(inside)
    return "; ".join(rows), verdict, (
        "gain over random phases + FP at the largest L of the paper's Algorithm 1 (the verdict; tolerance +/-30 % "
        "relative, channel draws differ) and of our default gradient AO (best of 8 starts), which finds better "
        "maxima; see README_maxmin_two_way.md")


def _c001_order(runs):
    """MODELS 2(f) F5 for the optimised design (our default, the headline curve): C1 highest and fastest-growing
    in L; C2 about C1 at small L but nearly flat; C3 worst; C4 well above C3."""
    first, last = {}, {}
    for c in ("C1", "C2", "C3", "C4"):
        m = _series(runs.get(f"maxmin-two-way/fig5_{c}"), "proposed_gradient")
        if m is not None:
            first[c], last[c] = m[0], m[-1]
    if len(last) < 4:
        return "-", NOT_EVALUATED, "fig5 presets not all run"
    grow = {c: last[c] - first[c] for c in last}
    flags = {"C1 highest": last["C1"] >= max(last.values()),
             "C1 fastest-growing": grow["C1"] >= max(grow.values()),
             "C2 ~ C1 at the smallest L (within 20 %)": abs(first["C2"] - first["C1"]) <= 0.2 * abs(first["C1"]),
             "C2 nearly flat (grows less than half as much as C1)": grow["C2"] <= 0.5 * grow["C1"],
             "C3 worst": last["C3"] <= min(last.values()),
             "C4 >> C3 (at least twice)": last["C4"] >= 2 * last["C3"]}
    failed = [k for k, ok in flags.items() if not ok]
    ours = (", ".join(f"{c} {first[c]:.3f} -> {last[c]:.3f}" for c in last)
            + ("; every part holds" if not failed else "; not: " + "; ".join(failed)))
    return ours, _verdict(flags.values()), (
        "min secrecy rate of the optimised design (gradient AO) at the smallest and the largest L; the tolerances "
        "in brackets are ours (the paper gives none)")


def _c001_baselines(runs):
    """F5: random-phase curves about the no-IRS curves; random P_max and P_min baselines coincide."""
    rows, ok = [], []
    for c in ("C1", "C2", "C3", "C4"):
        r = runs.get(f"maxmin-two-way/fig5_{c}")
        if r is None or _series(r, "random_fp") is None:
            continue
        for a, b in (("random_fp", "no_irs_fp"), ("random_pmax", "random_pmin")):
            d = np.abs(_series(r, a) - _series(r, b))
            tol = 3 * np.hypot(_series(r, a, "std_err"), _series(r, b, "std_err"))
            i = int(np.nanargmax(d - tol))
            ok.append(bool(np.all(d <= tol)))
            rows.append(f"{c} {a} vs {b}: largest |diff| {np.nanmax(d):.3f} (3 SE {tol[i]:.3f})")
    if not rows:
        return "-", NOT_EVALUATED, "fig5 presets not run"
    return "; ".join(rows), _verdict(ok), (
        "every L of each configuration run: the two curves within 3 combined standard errors (independent-sample "
        "errors; the curves share their channels, so this is conservative)")


def _convergence(runs, key):
    """``(L values, derived.per_point)`` of the Fig. 4 run when it recorded ``key``, else ``None``."""
    r = runs.get("maxmin-two-way/convergence")
    pp = _get(r, "derived", "per_point")
    return (r["x"]["values"], pp) if pp and key in pp else None


def _c001_f4a(runs):
    got = _convergence(runs, "sca_frac_1")
    if got is None:
        return "-", NOT_EVALUATED, "convergence not run"
    xs, pp = got
    ks = sorted(int(k.rsplit("_", 1)[1]) for k in pp if k.startswith("sca_frac_"))
    frac = np.array([_floats(pp[f"sca_frac_{k}"]) for k in ks])  # (sub-iteration, L); NaN never counts as below
    mid = ks[len(ks) // 2 - 1]
    at_mid = frac[ks.index(mid)]
    first_below = [next((k for k, f in zip(ks, col) if f < 1e-3), None) for col in frac.T]
    steps = np.diff(at_mid)
    verdict = HOLDS if np.all(steps > 0) else PARTLY if at_mid[-1] > at_mid[0] else FAILS
    below = ", ".join(f"L={x}: {'>' + str(ks[-1]) if k is None else k}" for x, k in zip(xs, first_below))
    return (f"mean fractional increase at SCA sub-iteration {mid}: "
            + ", ".join(f"L={x} {v:.1e}" for x, v in zip(xs, at_mid))
            + f"; first sub-iteration below 1e-3: {below}"), verdict, (
        "the paper's SCA phase step at p = P_max from random phases (Fig. 4a); holds if the increase left at a fixed "
        "sub-iteration grows at every step of L")


def _c001_f4b(runs):
    got = _convergence(runs, "sdr_ao_frac_4")
    if got is None:
        return "-", NOT_EVALUATED, "convergence not run"
    xs, pp = got
    alg1, ours = _floats(pp["sdr_ao_frac_4"]), _floats(pp.get("ao_frac_4", [None] * len(xs)))
    ok = [v < 1e-3 for v in alg1]
    return ("outer fractional increase after 4 AO iterations, Algorithm 1: "
            + ", ".join(f"L={x} {v:.1e}" for x, v in zip(xs, alg1))
            + "; gradient AO: " + ", ".join(f"L={x} {v:.1e}" for x, v in zip(xs, ours))), _verdict(ok), (
        "mean over realisations of (R_4 - R_3) / R_3 (Fig. 4b); judged on the paper's Algorithm 1 at every L; a few "
        "realisations that start near zero rate dominate the mean (README_maxmin_two_way.md)")


def _c001_fp(runs):
    """F3a: N = 1 reaches the 4-corner optimum (mean gap < 1e-3) within 10 iterations; N = 2's mean gap to the grid
    optimum falls below 1e-2 by the last iteration (~30)."""
    r = runs.get("maxmin-fp-convergence/fig3")
    d = _get(r, "derived", "fig3a")
    if d is None:
        return "-", NOT_EVALUATED, "fig3 not run"
    n1 = d["N1"]["first_iteration_mean_gap_below"].get("0.001")
    gaps = {int(k): v for k, v in d["N2"]["mean_gap_at"].items()}
    last = max(gaps)
    share = _get(r, "derived", "per_point", "share_final_gap_below_0.01_N2")
    flags = [n1 is not None and n1 <= 10, gaps[last] < 1e-2]
    return (f"N = 1: mean gap below 1e-3 from iteration {n1}; N = 2: mean gap "
            + ", ".join(f"{v:.3f} (i = {k})" for k, v in sorted(gaps.items()))
            + (f"; {100 * share[-1]:.0f} % of realisations end within 1e-2" if share else "")), _verdict(flags), (
        "mean relative gap to the reference optimum (N = 1: best of 4 corners; N = 2: grid search); N = 2 holds if "
        "its mean gap is below 1e-2 at the last iteration. Plain FP from one start ends at local maxima in a few "
        "realisations (README_maxmin_two_way.md)")


def _c001_f3b(runs):
    r = runs.get("maxmin-fp-convergence/fig3")
    pp, b = _get(r, "derived", "per_point"), _get(r, "derived", "fig3b")
    key = "share_final_ratio_dev_below_0.05_N2"
    if not pp or key not in pp:
        return "-", NOT_EVALUATED, "fig3 not run"
    share = pp[key][-1]
    shape = pp["share_final_shape_dev_below_0.05_N2"][-1]
    verdict = HOLDS if share >= 0.9 else PARTLY if max(share, shape) >= 0.5 else FAILS
    ex = ""
    if b:
        fmt = lambda v: "(" + ", ".join(f"{x:.2f}" for x in v) + ")"
        ex = (f"; realisation {b['realisation']}: FP {fmt(b['fp_power_ratio'])} rate {b['fp_msr']:.3f}, grid "
              f"{fmt(b['grid_power_ratio'])} rate {b['grid_msr']:.3f}")
    return (f"N = 2: {100 * share:.0f} % of realisations end with every p_u / P_max within 0.05 of the grid's "
            f"({100 * shape:.0f} % for the scale-free p / max p){ex}"), verdict, (
        "holds if >= 90 % end at the grid's ratios, partly if >= 50 % do (or do up to a common scaling); the "
        "objective is nearly flat along a common power scaling (interference-limited), so the ratios are weakly "
        "determined")


# --------------------------------------------------------------------------------------------- paper 002
def _f2_runs(runs):
    """fig2's F2 check and its per-N convergence entries (sorted), or ``None``."""
    c = _claims002(runs, "fig2", "F2")
    return None if c is None else (c, [v for _, v in sorted(c["convergence"].items())])


def _claims002(runs, preset, key):
    return _get(runs.get(f"uplink-sop/{preset}"), "derived", "claims", key)


def _c002_closed_form(runs):
    rows, ok = [], []
    for preset in ("fig2", "fig3a", "fig3b", "fig3c"):
        c = _claims002(runs, preset, "sop_closed_form_matches_mc")
        if c is not None:
            ok.append(bool(c["holds"]))
            rows.append(f"{preset}: {c['max_abs_mean_difference']:.4f} (CI bound {c['max_abs_ci_bound']:.4f})")
    if not rows:
        return "-", NOT_EVALUATED, "no uplink-sop preset run"
    return "largest |MC - (3.7)| of the mean SOP: " + "; ".join(rows), _verdict(ok), (
        "Monte Carlo over Eve's channel draws against the closed form on the designs' channels; tolerance 0.01")


def _c002_f2_drop(runs):
    f2 = _f2_runs(runs)
    if f2 is None:
        return "-", NOT_EVALUATED, "fig2 not run"
    c, conv = f2
    txt = "; ".join(f"N = {v['N']}: max SOP {v['max_sop_first']:.3f} -> {v['max_sop_after_1']:.4f} after one AO "
                    f"iteration -> {v['max_sop_last']:.4f}, within 1 % of the drop after "
                    f"{v['iterations_to_1pct_of_drop']} iteration(s), {v['mean_ao_iterations_to_stop']:.1f} to "
                    f"the stop rule" for v in conv)
    drops = all(v["drops"] for v in conv)
    few = [v["few_iterations"] for v in conv]
    verdict = HOLDS if drops and all(few) else PARTLY if drops else FAILS
    why = "drops quickly at every N" if drops else "does not drop"
    if not all(few):
        why += ("; 'a few iterations' ([D]: <= 5 to within 1 % of the total drop) fails at N = "
                + ", ".join(str(v["N"]) for v, f in zip(conv, few) if not f))
    return txt, verdict, why


def _c002_f2_gap(runs):
    c = _claims002(runs, "fig2", "F2")
    if c is None:
        return "-", NOT_EVALUATED, "fig2 not run"
    g = c["gap_mmsop_minus_gap_mmsinr"]
    ok = [bool(v["smaller_gap"] and v["significant"]) for v in g.values()]
    txt = "paired (MM-SOP - MM-SINR) max-min SOP gap: " + ", ".join(
        f"{k} {v['mean']:+.4f} (95 % upper {v['ci_high']:+.4f})" for k, v in g.items())
    return txt, _verdict(ok), (
        "every design method and N (suffix _b: N = 64), paired over the topologies; significant = upper CI < 0")


def _c002_f2_slower(runs):
    f2 = _f2_runs(runs)
    if f2 is None:
        return "-", NOT_EVALUATED, "fig2 not run"
    c, conv = f2
    txt = " vs ".join(f"N = {v['N']}: {v['iterations_to_1pct_of_drop']} iteration(s) to 1 %, "
                      f"{v['mean_ao_iterations_to_stop']:.1f} to stop" for v in conv)
    return txt, HOLDS if c["slower_for_first_configuration"] else FAILS, "AO iterations of the MM-SOP SDR design"


def _c002_f3a(runs):
    c = _claims002(runs, "fig3a", "F3a")
    if c is None:
        return "-", NOT_EVALUATED, "fig3a not run"
    inc = c["max_sop_increasing_in_R_s"]
    lower = c["second_configuration_lower"]
    d = c["mmsop_minus_mmsinr_max_sop"]
    parts = [all(inc.values()), all(lower.values()), all(v["holds"] for v in d.values())]
    txt = (f"max SOP increasing in R_s for {sum(inc.values())}/{len(inc)} series; larger (M, N) lower for "
           f"{sum(lower.values())}/{len(lower)} methods; largest mean (MM-SOP - MM-SINR) max SOP: "
           + ", ".join(f"{k} {v['max_mean_difference']:+.2g}" for k, v in d.items()))
    return txt, _verdict(parts), (
        "three parts: increasing in R_s; larger (M, N) lower; MM-SOP <= MM-SINR at every R_s")


def _c002_f3bc(runs):
    b, cc = _claims002(runs, "fig3b", "F3b"), _claims002(runs, "fig3c", "F3c")
    if b is None or cc is None:
        return "-", NOT_EVALUATED, "fig3b or fig3c not run"
    designs = ("mmsop_gradient", "mmsinr_gradient")
    dec = [b["max_sop_decreasing"][k] for k in designs] + [cc["max_sop_decreasing"][k] for k in designs]
    sb, sc = b["slope_per_doubling"], cc["slope_per_doubling"]
    more_m = all(sc[k] < sb[k] for k in designs)
    txt = ("max SOP slope per doubling, N vs M: " + ", ".join(f"{k} {sb[k]:+.3f} vs {sc[k]:+.3f}" for k in designs)
           + f"; decreasing at every step: {all(dec)}")
    parts = [all(dec), more_m]
    return txt, _verdict(parts), (
        "both designs; more sensitive to M = steeper slope per doubling of M than of N")


PAPERS_002_CLAIMS = (
    Claim("(3.7)", "the closed-form SOP (3.7) matches Monte Carlo", _c002_closed_form),
    Claim("F2 drop", "MM-SOP's max SOP drops quickly and converges in a few AO iterations", _c002_f2_drop),
    Claim("F2 gap", "MM-SOP's max-min SOP gap is smaller than MM-SINR's", _c002_f2_gap),
    Claim("F2 N", "convergence slower for N = 32 than for N = 64", _c002_f2_slower),
    Claim("F3a", "SOP increases with R_s; larger M or N lowers the max SOP; MM-SOP <= MM-SINR everywhere",
          _c002_f3a),
    Claim("F3b/F3c", "max SOP decreases with N and with M; more sensitive to M than to N", _c002_f3bc),
)


# --------------------------------------------------------------------------------------------- paper 003
def _ci_at(res, label, i):
    m, lo, hi = (_series(res, label, w) for w in ("mean", "ci_low", "ci_high"))
    if m is None or i >= len(m) or not np.isfinite(m[i]):
        return "-"
    if lo is None or hi is None or not (np.isfinite(lo[i]) and np.isfinite(hi[i])):
        return f"{m[i]:.3g}"
    return f"{m[i]:.3g} [{lo[i]:.3g}, {hi[i]:.3g}]"


def _along(res, label):
    """``x0: value [CI], x1: ...`` of a series along the run's sweep."""
    xs = _get(res, "x", "values") or []
    return ", ".join(f"{x:g}: {_ci_at(res, label, i)}" for i, x in enumerate(xs))


def _c003(run_key, keys, number):
    """A claim checked by the fbr-maxmin scenario's ``derive`` (entries ``keys`` of ``derived.claims``): holds if
    every entry holds, partly if some do; ``number(results, entries)`` writes our numbers."""

    def check(runs):
        r = runs.get(run_key)
        cl = _get(r, "derived", "claims")
        if cl is None:
            return "-", NOT_EVALUATED, f"{run_key} not run"
        entries = [cl.get(k) for k in keys]
        if any(e is None for e in entries):
            return "-", NOT_EVALUATED, f"{run_key}: no check {[k for k, e in zip(keys, entries) if e is None]}"
        holds = [bool(e.get("holds")) for e in entries]
        verdict = _verdict(holds)
        why = []
        for k, e, h in zip(keys, entries, holds):
            sig = e.get("significant")
            if h and sig is False:
                why.append(f"{k}: holds in the means, not significant at 95 %")
            elif h and sig:
                why.append(f"{k}: holds at 95 %")
            elif not h:
                why.append(f"{k}: does not hold" + (f" ({e['why']})" if e.get("why") else ""))
        return number(r, entries), verdict, "; ".join(why)

    return check


def _n003_f2(r, e):
    it = _get(e[0], "ours", "mean_iterations") or {}
    return "mean SCA iterations to the 1e-3 stop: " + ", ".join(f"{k} {v}" for k, v in it.items())


def _n003_theorems(r, e):
    return "SCA objective, first -> last iteration: " + "; ".join(
        f"{st.upper()} {csi}: {_ci_at(r, f'trace_{st}_{csi}', 0)} -> "
        f"{_ci_at(r, f'trace_{st}_{csi}', len(_get(r, 'x', 'values') or [1]) - 1)}"
        for csi in ("perfect", "imperfect") for st in ("lbr", "fbr"))


def _n003_f3(r, e):
    return "; ".join(f"{k.split('_')[1].upper()}: spread (1 - weakest/strongest) optimised "
                     f"{x['ours']['relative_spread_optimised']:.2%}, "
                     f"random PREs {x['ours']['relative_spread_random']:.2%}"
                     for k, x in zip(("F3_lbr", "F3_fbr"), e))


def _n003_f4(r, e):
    ours = e[1]["ours"]
    return f"FBR spreads for the pairs {ours.get('pairs')}: " + ", ".join(
        f"{ours[p]['relative_spread']:.2%}" for p in ("pair1", "pair2", "pair3") if p in ours)


PAPERS_003_CLAIMS = (
    Claim("Theorems 1-2", "objective non-decreasing across AO iterations",
          _c003("fbr-maxmin/fig2", ("theorem_lbr_perfect", "theorem_fbr_perfect", "theorem_lbr_imperfect",
                                    "theorem_fbr_imperfect"), _n003_theorems)),
    Claim("F2", "all Max-Min variants converge within a few (<10) iterations; warm-started FBR needs fewer "
          "iterations than LBR", _c003("fbr-maxmin/fig2", ("F2",), _n003_f2)),
    Claim("F3", "optimised PREs give near-equal per-user SRs; random PREs give unequal SRs",
          _c003("fbr-maxmin/fig3", ("F3_lbr", "F3_fbr"), _n003_f3)),
    Claim("F4", "fairness is kept for several (rho_U, rho_E) pairs, including rho_E > rho_U",
          _c003("fbr-maxmin/fig4", ("F4_lbr", "F4_fbr"), _n003_f4)),
    Claim("F5", "Jain's index ~1 (> 0.95) for Max-Min (LBR and FBR) at every rho; SSR far lower",
          _c003("fbr-maxmin/fig5", ("F5",), lambda r, e: "Jain's index of max-min FBR against rho: "
                + _along(r, "jain_mm_fbr") + "; SSR FBR: " + _along(r, "jain_ssr_fbr"))),
    Claim("F6", "Max-Min min-SR stays positive and nearly flat in rho; FBR <= LBR; SSR min-SR lower",
          _c003("fbr-maxmin/fig6", ("F6",), lambda r, e: "max-min FBR min SR against rho: " + _along(r, "mm_fbr")
                + "; FBR <= LBR: " + str(e[0]["ours"].get("fbr_le_lbr")) + "; SSR lower: "
                + str(e[0]["ours"].get("ssr_lower")))),
    Claim("robustness (issue)", "a robust design counts only if the adversarial worst case is >= its claim",
          _c003("fbr-maxmin/fig6", ("robust_check",), lambda r, e: "fraction of robust max-min FBR designs that "
                "keep their claim, against rho: " + _along(r, "robust_ok_mm_fbr") + "; perfect-CSI design: "
                + _along(r, "robust_ok_nominal_fbr"))),
    Claim("F7", "min-SR decreases with K; FBR approaches 0 at the largest K",
          _c003("fbr-maxmin/fig7", ("F7",), lambda r, e: "max-min FBR min SR against K: " + _along(r, "mm_fbr"))),
    Claim("F8", "min-SR increases with t; FBR < LBR and -> LBR as t -> infinity; positive already at small t",
          _c003("fbr-maxmin/fig8", ("F8",), lambda r, e: "max-min FBR min SR against t [ms]: "
                + _along(r, "mm_fbr") + "; LBR - FBR: " + _along(r, "gap_lbr_fbr_mm"))),
)


# --------------------------------------------------------------------------------------------- paper 004
def _c004_order(runs):
    r = runs.get("ris-scheduling/fig2")
    if r is None:
        return "-", NOT_EVALUATED, "fig2 not run"
    os_, ss, me, se = (_series(r, f"{s}_mc") for s in ("OS", "SS", "ME", "SE"))
    if any(v is None for v in (os_, ss, me, se)):
        return "-", NOT_EVALUATED, "series missing"
    hi = {s: _series(r, f"{s}_mc", "ci_high") for s in ("OS", "SS", "ME", "SE")}
    lo = {s: _series(r, f"{s}_mc", "ci_low") for s in ("OS", "SS", "ME", "SE")}
    ok = [bool(np.all(lo["OS"] <= hi["SS"])), bool(np.all(lo["SS"] <= hi["ME"])), bool(np.all(lo["SE"] <= hi["ME"]))]
    return (f"OS <= SS: {ok[0]}, SS <= ME: {ok[1]}, SE <= ME: {ok[2]} (within CIs at every rho)", _verdict(ok),
            "orderings of the full-model Monte Carlo SOPs")


def _c004_gap(runs):
    vals = []
    for name in ("ris-scheduling/fig2", "ris-scheduling/fig2_N64"):
        g = _get(runs.get(name), "derived", "OS_SS_snr_gap_dB_at_0.1_analysis")
        if g is not None:
            vals.append((name.split("/")[1], g))
    if not vals:
        return "-", NOT_EVALUATED, "fig2 presets not run"
    txt = "; ".join(f"{n}: {g:.2f} dB" if isinstance(g, (int, float)) else f"{n}: {g}" for n, g in vals)
    nums = [g for _, g in vals if isinstance(g, (int, float))]
    shrinks = len(nums) == 2 and nums[1] < nums[0]
    return txt, PARTLY if shrinks else FAILS, (
        "the gap shrinks with N as the paper says, but it is far smaller than its ~8 / 2 dB at SOP 0.1: see "
        "scenarios/README_ris_scheduling.md")


def _c004_nstar(runs):
    d = _get(runs.get("ris-scheduling/fig4"), "derived", "N_star")
    if d is None:
        return "-", NOT_EVALUATED, "fig4 not run"
    freqs = [f for f in d if isinstance(d[f], dict) and "N_star_int_SS_vs_R_DL" in d[f]]
    freqs.sort(key=lambda f: float(f.replace("GHz", "")))
    ns = [d[f]["N_star_int_SS_vs_R_DL"] for f in freqs]
    paper = d.get(f"paper_N_star_SS_vs_R_DL_{freqs[0]}") if freqs else None
    if not ns or any(n is None for n in ns):
        return json.dumps(d)[:200], FAILS, "no finite N* at some frequency"
    grows = all(a < b for a, b in zip(ns, ns[1:]))
    close = paper is not None and abs(ns[0] - paper) <= 0.1 * paper
    txt = ("smallest N whose analytical SS SOP is below R-DL's: " + ", ".join(f"{f} {n}" for f, n in zip(freqs, ns))
           + (f" (paper: ~{paper} at {freqs[0]})" if paper is not None else "")
           + "; vs R-NDL: " + ", ".join(f"{f} {d[f]['N_star_int_SS_vs_R_NDL']}" for f in freqs))
    verdict = _verdict([grows, close])
    return txt, verdict, ("finite N* at every frequency, growing with f" + (", within 10 % of the paper's "
                                                                              "value at the lowest" if close else ""))


PAPERS = {
    "000": Paper("000", "Lv et al., IRS secure two-way multiuser communications (IEEE CL 2021)", ("lv-two-way",),
                 runs=(("lv-two-way", "fig1", {"P_dBm": "0:50:10"}, 20_000),
                       ("lv-two-way", "fig2", {"K": "8,32,128"}, 20_000),
                       ("lv-two-way", "fig3", {"N": "1,4,16"}, 20_000),
                       ("lv-two-way", "fig2_40dBm", {"K": "8,32,128"}, 20_000),
                       ("lv-two-way", "fig3_40dBm", {"N": "1,4,16"}, 20_000)),
                 claims=(Claim("F1", "sum ASR increases with P; proposed >= both baselines; B2 > B1 only from "
                                     "~30 dBm", _c000_f1_order),
                         Claim("F1 bound", "bound (1.7) close to MC at medium-high P; relative gap -> 0",
                               _c000_bound),
                         Claim("Remark 3", "Pr(R_si > 0) -> 1 as P -> infinity", _c000_remark3),
                         Claim("F2", "sum ASR increases with K; reference curve '2 log K'", _c000_k_slope),
                         Claim("F3", "proposed increases slowly with N; B2 flat in N", _c000_n))),
    "001": Paper("001", "Jayarathne et al., max-min fairness for IRS two-way secure communications (WCNC 2025)",
                 ("maxmin-two-way", "maxmin-fp-convergence"),
                 runs=tuple(("maxmin-two-way", f"fig5_{c}", {"L": "5,40"}, 12) for c in ("C1", "C2", "C3", "C4"))
                 + (("maxmin-two-way", "convergence", {"L": "10,40"}, 12),
                    ("maxmin-fp-convergence", "fig3", {"L": "16", "grid_points": "12", "fp_iters": "12",
                                                        "iteration": "1:12:1"}, 24)),
                 claims=(Claim("F5 gains", "gains at L = 40 vs random phases: C1 +211 %, C2 +22 %, C3 +92 %, "
                                           "C4 +359 %", _c001_gains),
                         Claim("F5 order", "C1 highest and fastest-growing in L; C2 ~ C1 at small L but nearly "
                                           "flat; C3 worst; C4 >> C3", _c001_order),
                         Claim("F5 baselines", "random-phase curves ~ no-IRS curves; random P_max and P_min "
                                               "baselines coincide", _c001_baselines),
                         Claim("F3a", "FP converges: N = 1 within ~10 iterations to the 4-corner optimum, N = 2 "
                                      "approaches the grid search in ~30", _c001_fp),
                         Claim("F3b", "FP power ratios converge to the grid-search values", _c001_f3b),
                         Claim("F4a", "more phase sub-iterations needed for larger L", _c001_f4a),
                         Claim("F4b", "outer fractional increase < 1e-3 within 4 outer iterations", _c001_f4b))),
    "002": Paper("002", "Cheng et al., SOP fairness for the IRS-assisted uplink", ("uplink-sop",),
                 runs=(("uplink-sop", "fig2", {"iteration": "0:10:1", "ao_iters": "10"}, 8),
                       ("uplink-sop", "fig3a", {"R_s": "1,2,4"}, 16),
                       ("uplink-sop", "fig3b", {"N": "16,64,128"}, 16),
                       ("uplink-sop", "fig3c", {"M": "2,8,16"}, 16)),
                 claims=PAPERS_002_CLAIMS),
    "003": Paper("003", "Abughalwa et al., max-min FBR secrecy with perfect/imperfect CSI", ("fbr-maxmin",),
                 runs=tuple(("fbr-maxmin", f, {}, 4, 100) for f in ("fig2", "fig3", "fig4", "fig5", "fig6", "fig7",
                                                                     "fig8")),
                 claims=PAPERS_003_CLAIMS),
    "004": Paper("004", "Wafai et al., opportunistic user scheduling for secure RIS links (IEEE TVT 2025)",
                 ("ris-scheduling",),
                 runs=(("ris-scheduling", "fig2", {"rho_dB": "60:160:20"}, 20_000),
                       ("ris-scheduling", "fig2_N64", {"rho_dB": "60:160:20"}, 20_000),
                       ("ris-scheduling", "fig2_K10", {"rho_dB": "60:160:20"}, 20_000),
                       ("ris-scheduling", "fig3", {"rho_dB": "60:160:20"}, 20_000),
                       ("ris-scheduling", "fig4", {"N": "4,16,64,256"}, 20_000),
                       ("ris-scheduling", "fig5", {"x_E": "0:100:25"}, 20_000)),
                 claims=(Claim("F2 order", "SOP_OS <= SOP_SS <= SOP_ME and SOP_ME >= SOP_SE", _c004_order),
                         Claim("F2 gap", "OS-SS SNR gap ~8 dB (smaller N) and ~2 dB (larger N)", _c004_gap),
                         Claim("F4", "a finite N* beats R-DL (~53 at the lowest frequency); N* grows with f",
                               _c004_nstar))),
}


def paper_ids(name: str) -> list:
    """Paper ids for ``name``: a seed number, a scenario name or ``all``."""
    if name == "all":
        return sorted(PAPERS)
    if name in PAPERS:
        return [name]
    ids = [p.id for p in PAPERS.values() if name in p.scenarios]
    if not ids:
        raise ValueError(f"unknown paper {name!r}: use one of {sorted(PAPERS)}, a scenario name "
                         f"({', '.join(s for p in PAPERS.values() for s in p.scenarios)}) or 'all'")
    return ids


def _runs(paper: Paper, quick: bool, load_scenario) -> list:
    """``(scenario, preset, overrides, samples)`` of every run of ``paper``."""
    out = []
    if paper.runs:
        for name, preset, qset, qsamples, *full in paper.runs:
            sc = load_scenario(name)
            out.append((name, preset, dict(qset) if quick else {},
                        qsamples if quick else (full[0] if full else sc.default_samples)))
        return out
    for name in paper.scenarios:
        sc = load_scenario(name)
        for preset in sc.presets:
            out.append((name, preset, {}, max(1, sc.default_samples // 10) if quick else sc.default_samples))
    return out


def _derived_checks(runs: dict) -> list:
    """Boolean results of every run's ``derived`` (claims not written out for the paper)."""
    rows = []

    def walk(d, path, key):
        if isinstance(d, bool):
            rows.append({"id": f"{key}: {path}", "words": "(scenario check)", "ours": str(d),
                         "verdict": HOLDS if d else FAILS, "why": "boolean check computed by the scenario's derive()"})
        elif isinstance(d, dict):
            for k, v in d.items():
                walk(v, f"{path}.{k}" if path else k, key)

    for key, res in runs.items():
        walk(res.get("derived", {}), "", key)
    return rows


def reproduce(name: str, out: str = "reproduce", *, quick: bool = False, seed: int = 0, run=None,
              load_scenario=None, report_only: bool = False) -> dict:
    """Run every preset of the paper(s) ``name`` and write ``REPORT.md`` / ``report.json`` per paper.

    ``run(argv) -> int`` runs one ``irsjax run`` command line (default: :func:`irsjax.cli.main`).
    ``report_only``: run nothing; presets without finished results are listed as ``not run``.
    Returns ``{paper id: report dict}``.
    """
    from irsjax import results as R

    if run is None or load_scenario is None:
        from irsjax import cli

        run = run or cli.main
        load_scenario = load_scenario or cli.load_scenario
    reports = {}
    for pid in paper_ids(name):
        paper = PAPERS[pid]
        base = os.path.join(out, pid)
        runs, log = {}, []
        for sc_name in paper.scenarios:
            try:
                load_scenario(sc_name)
            except Exception as e:  # a scenario not installed: say so in the report
                log.append({"scenario": sc_name, "status": f"not available: {e}"})
        available = [s for s in paper.scenarios if not any(e["scenario"] == s for e in log)]
        todo = [r for r in _runs(Paper(pid, paper.title, tuple(available), paper.runs if available else ()),
                                  quick, load_scenario) if r[0] in available]
        for sc_name, preset, overrides, samples in todo:
            d = os.path.join(base, sc_name, preset)
            key = f"{sc_name}/{preset}"
            prev = _load(R, d)
            if prev is not None and prev.get("samples") == samples and prev.get("seed") == seed:
                runs[key] = prev
                meta = prev.get("meta") or {}
                log.append({"run": key, "status": "reused", "dir": d, "run_id": meta.get("run_id"),
                            "seconds": None if meta.get("elapsed_s") is None else round(meta["elapsed_s"], 1)})
                continue
            argv = ["run", sc_name, "--set", f"preset={preset}", "--samples", str(samples), "--seed", str(seed),
                    "--out", d, "--no-progress"]
            for k, v in overrides.items():
                argv += ["--set", f"{k}={v}"]
            if report_only:
                log.append({"run": key, "status": "not run (--report-only)", "argv": argv})
                continue
            t0 = time.perf_counter()
            rc = run(argv)
            res = _load(R, d)
            if rc != 0 or res is None:
                log.append({"run": key, "status": f"failed (exit {rc})", "argv": argv})
                continue
            runs[key] = res
            log.append({"run": key, "status": "ran", "seconds": round(time.perf_counter() - t0, 1), "dir": d,
                        "argv": argv})
        claims = []
        for c in paper.claims:
            try:
                ours, verdict, why = c.check(runs)
            except Exception as e:  # a claim that cannot be evaluated is reported, never hidden
                ours, verdict, why = "-", NOT_EVALUATED, f"evaluation failed: {type(e).__name__}: {e}"
            claims.append({"id": c.id, "words": c.words, "ours": ours, "verdict": verdict, "why": why})
        if not paper.claims:
            claims = _derived_checks(runs)
        report = {"paper": pid, "title": paper.title, "quick": quick, "seed": seed, "runs": log, "claims": claims}
        os.makedirs(base, exist_ok=True)
        with open(os.path.join(base, "report.json"), "w") as f:
            json.dump(report, f, indent=1, default=_json_default)
        with open(os.path.join(base, "REPORT.md"), "w") as f:
            f.write(report_markdown(report))
        reports[pid] = report
    return reports


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return repr(o)
    return str(o)


def _load(R, d):
    try:
        return R.load_results(d)
    except (OSError, ValueError):
        return None


def report_markdown(report: dict) -> str:
    """The claims report of one paper as Markdown."""
    lines = [f"# Paper {report['paper']}: {report['title']}", "",
             f"Seed {report['seed']}{', quick run (indicative verdicts)' if report['quick'] else ''}.", "",
             "| claim | paper | ours | verdict | why |", "|---|---|---|---|---|"]
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    for c in report["claims"]:
        lines.append(f"| {esc(c['id'])} | {esc(c['words'])} | {esc(c['ours'])} | **{c['verdict']}** | "
                     f"{esc(c['why'])} |")
    lines += ["", "## Runs", ""]
    for r in report["runs"]:
        what = r.get("run") or r.get("scenario")
        ran = f"{r['seconds']} s" if r.get("seconds") is not None else ""
        if r.get("run_id"):
            ran = f"run {r['run_id']}" + (f", {ran}" if ran else "")
        lines.append(f"* `{what}`: {r['status']}" + (f" ({ran})" if ran else "")
                     + (f", `{r['dir']}`" if "dir" in r else ""))
    return "\n".join(lines) + "\n"


__all__ = ["Claim", "PAPERS", "Paper", "paper_ids", "report_markdown", "reproduce"]

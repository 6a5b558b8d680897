"""``irsjax run uplink-sop``: min-max secrecy-outage fairness in the IRS-aided multi-antenna uplink (MODELS.md 3).

Per topology (``--samples`` = number of topologies; users uniform in the disc, all links Rayleigh, 3(e))
the per-realisation function :class:`UplinkRealisation` designs the phases and receivers by

* ``mmsop_gradient``: MM-SOP, the gradient way (MODELS.md 6 "002": Riemannian ascent of an annealed
  soft-min of ``x_k*`` with the MMSE receivers in closed form inside the objective; no alternation);
* ``mmsop_sdr``: MM-SOP, the paper's Algorithm 2 (AO of MMSE receivers and Algorithm 1 = generalised
  Dinkelbach over the lifted SDR (3.11), solved by a Burer-Monteiro JAX surrogate + Gaussian
  randomisation ``I_G = 100``), up to ``ao_iters`` AO iterations, ``eps_AO = 1e-4``;
* ``mmsinr_gradient`` / ``mmsinr_sdr``: the MM-SINR baseline (3(d)) by the same two machineries;
* ``random``: random phases with MMSE receivers; ``no_irs``: no IRS (direct links; Eve without the IRS path),

all from the same random start and channels, and evaluates every user's SOP by Theorem 1 (3.7). The
engine averages over topologies, with CIs. Series (each for the first (M, N) and, when ``M_b`` / ``N_b``
are set, a second configuration ``_b`` on the same topologies' positions): ``max_sop_<method>`` =
**E[max_k SOP_k]** (the figures show this: the per-topology objective of P1, averaged) and
``min_sop_<method>`` = E[min_k SOP_k]; ``max_k E[SOP_k]`` (the worst user index after averaging; users
are exchangeable, so it is close to the mean SOP) is in ``derived.per_point`` as ``maxE_sop_<method>``.
``sop_mean_cf_<m>`` / ``sop_mean_mc_<m>``: the user-averaged SOP by (3.7) and by Monte Carlo over
``eve_draws`` Eve draws per topology (3.6), for the MM-SOP gradient design and random phases.

The SDR designs cost ~100x the gradient ones (nested Dinkelbach / Burer-Monteiro loops, lock-step
under ``vmap``), so they run only with ``--set sdr=true`` (the ``fig2`` preset), in a separate engine call
on the same topologies. The x axis of ``fig2`` is the AO iteration
``iteration``: every point makes the same engine calls (``shared_draws``) and picks entry ``i`` of the
AO traces (vector statistics); the gradient designs need no alternation and appear as flat lines at
their final value.

    irsjax run uplink-sop                     # quick: R_s = 1, 2, 4; N = 32, M = 4; 200 topologies, 1 design path
    irsjax run uplink-sop --set preset=fig3b  # N = 16..128, 200 topologies as in the paper, best design options

Sweeps over ``R_s``, ``p_dBm``, ``noise_dBm`` (floats of the system pytree: the channels' law does not change)
and ``iteration`` (an index into the AO traces) share one Monte Carlo pass over the same topologies
(``Scenario.shared_draws``); sweeps over ``N``, ``M`` (sizes) run point by point with the same key.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import optim
from irsjax.analysis import uplink as an
from irsjax.config import config, static
from irsjax.montecarlo import BLOCK, Estimate
from irsjax.scenario import Panel, Param, ParameterError, PointResult, Scenario, Series
from irsjax.systems import uplink as sysm
from scenarios import uplink_design as ud

DEFAULT_TOPOLOGIES = 200  # the paper's count; one engine block (256) is computed anyway, so fewer would cost the same
# The engine evaluates whole blocks of 256 realisations whatever --samples is, so the quick default run makes the
# gradient designs cheaper (1 annealing path, 30 iterations per stage); the presets (paper figures) use the best
# options of scenarios.uplink_design (4 paths, 100 iterations per stage).
QUICK = {"paths": 1, "phase_iters": 30}
BEST = {"paths": 4, "phase_iters": 100}
METHODS = ("mmsop_gradient", "mmsop_sdr", "mmsinr_gradient", "mmsinr_sdr", "random", "no_irs")
GRADIENT_METHODS = ("mmsop_gradient", "mmsinr_gradient", "random", "no_irs")
SDR_METHODS = ("mmsop_sdr", "mmsinr_sdr")
MC_METHODS = ("mmsop_gradient", "random")
LABELS = {"mmsop_gradient": "MM-SOP (gradient)", "mmsop_sdr": "MM-SOP (Dinkelbach-SDR AO)",
          "mmsinr_gradient": "MM-SINR (gradient)", "mmsinr_sdr": "MM-SINR (Dinkelbach-SDR AO)",
          "random": "random phases", "no_irs": "no IRS"}


@config
class UplinkRealisation:
    """Per-topology function for the Monte Carlo engine (a pytree: the system's floats are traced, so a
    sweep over ``R_s``, powers, noise or positions compiles once; sizes and switches are static).

    ``part = "gradient"``: random-phase and no-IRS baselines, MM-SOP / MM-SINR by gradient, MC check of
    (3.7); ``part = "sdr"``: the AO traces of MM-SOP / MM-SINR by Dinkelbach-SDR.
    """

    system: sysm.UplinkConfig
    part: str = static("gradient")
    ao_iters: int = static(30)
    ao_tol: float = 1e-4
    phase_iters: int = static(100)
    paths: int = static(4)
    eve_draws: int = static(100)
    draws: int = static(100)
    dinkelbach_iters: int = static(10)
    temperatures: tuple = ud.GRADIENT_TEMPERATURES

    def __post_init__(self):
        if self.part not in ("gradient", "sdr"):
            raise ValueError(f"part must be 'gradient' or 'sdr', got {self.part!r}")

    def start(self, key):
        """Topology, channels and the common random start ``v0`` (same for every design)."""
        k_ch, k_v = jax.random.split(jax.random.fold_in(key, 0))
        ch = sysm.sample(k_ch, self.system)
        v0 = optim.manifold.random_point(k_v, (self.system.N,), dtype=ch.G.dtype)
        return ch, v0

    def _sops(self, x):
        return an.sop_from_x(x, self.system.N_E)

    def _summary(self, out, name, x):
        s = self._sops(x)
        out[f"sop_{name}"] = s
        out[f"max_sop_{name}"] = jnp.max(s, axis=-1)
        out[f"min_sop_{name}"] = jnp.min(s, axis=-1)

    def __call__(self, key):
        cfg = self.system
        ch, v0 = self.start(key)
        data = ud.problem_data(cfg, ch)
        k_g, k_eve, k_sdr = jax.random.split(jax.random.fold_in(key, 1), 3)
        modes = jnp.asarray([False, True])  # MM-SOP, MM-SINR: one compiled design, run side by side
        out = {}
        if self.part == "sdr":
            tr = jax.vmap(lambda k, m: ud.ao_sdr(k, v0, data, sinr=m, iters=self.ao_iters, tol=self.ao_tol,
                                                 num_draws=self.draws, dinkelbach_iters=self.dinkelbach_iters))(
                jax.random.split(k_sdr, 2), modes)
            for i, name in enumerate(SDR_METHODS):
                s = self._sops(tr.x[i])  # (I + 1, K)
                out[f"trace_max_sop_{name}"] = jnp.max(s, axis=-1)
                out[f"trace_min_sop_{name}"] = jnp.min(s, axis=-1)
                self._summary(out, name, tr.x[i, -1])
                out[f"ao_iters_{name}"] = tr.num_iters[i].astype(s.dtype)
                out[f"dinkelbach_iters_{name}"] = tr.dinkelbach_iters[i]
                out[f"relaxation_gap_{name}"] = tr.relaxed_gap[i]
            out["gap_diff_sdr"] = ((out["max_sop_mmsop_sdr"] - out["min_sop_mmsop_sdr"])
                                   - (out["max_sop_mmsinr_sdr"] - out["min_sop_mmsinr_sdr"]))
            out["max_diff_sdr"] = out["max_sop_mmsop_sdr"] - out["max_sop_mmsinr_sdr"]
            return out
        # baselines
        self._summary(out, "random", ud.mmse_x(v0, data))
        data0 = ud.problem_data(cfg, sysm.no_irs(ch))
        self._summary(out, "no_irs", ud.mmse_x(jnp.zeros((0,), v0.dtype), data0))
        # gradient designs (MMSE receivers inside the objective)
        if cfg.N == 0:
            designs = {"mmsop_gradient": v0, "mmsinr_gradient": v0}
        else:
            opts = ud.gradient_options(self.phase_iters)
            V = jax.vmap(lambda k, m: ud.gradient_design(k, v0, ud.design_objective, (data, m), paths=self.paths,
                                                         options=opts, temperatures=self.temperatures).phases)(
                jax.random.split(k_g, 2), modes)
            designs = {"mmsop_gradient": V[0], "mmsinr_gradient": V[1]}
        for name, v in designs.items():
            self._summary(out, name, ud.mmse_x(v, data))
        out["gap_diff_gradient"] = ((out["max_sop_mmsop_gradient"] - out["min_sop_mmsop_gradient"])
                                    - (out["max_sop_mmsinr_gradient"] - out["min_sop_mmsinr_gradient"]))
        out["max_diff_gradient"] = out["max_sop_mmsop_gradient"] - out["max_sop_mmsinr_gradient"]
        # (3.7) against Monte Carlo over Eve's channel (3.6), same topology and decisions
        eve_keys = jax.random.split(k_eve, self.eve_draws)
        for name, v in (("mmsop_gradient", designs["mmsop_gradient"]), ("random", v0)):
            dec = sysm.UplinkDecision(v, ud.mmse(v, data))
            mc = an.conditional_sop(cfg, ch, dec, eve_keys)
            cf = out[f"sop_{name}"]
            out[f"sop_mean_mc_{name}"] = jnp.mean(mc)
            out[f"sop_mean_cf_{name}"] = jnp.mean(cf)
            out[f"sop_mc_minus_cf_{name}"] = jnp.mean(mc - cf)
        return out


# --------------------------------------------------------------------------------------------- parameters
PARAMS = (
    Param("R_s", 1.0, "bit/s/Hz", "target secrecy rate of the SOP (equal for all users)", minimum=0.0,
          exclusive_minimum=True, maximum=32.0),
    Param("N", 32, "elements", "number of IRS elements", kind=int, minimum=0, maximum=1024),
    Param("M", 4, "antennas", "number of BS antennas", kind=int, minimum=1, maximum=256),
    Param("iteration", -1, "", "AO iteration shown by the Dinkelbach-SDR series (x axis of fig2; -1 = final)",
          kind=int, minimum=-1, maximum=1000),
    Param("K", 4, "users", "number of single-antenna users", kind=int, minimum=1, maximum=64),
    Param("N_E", 2, "antennas", "number of Eve's antennas", kind=int, minimum=1, maximum=256),
    Param("M_b", -1, "antennas", "BS antennas of a second configuration (series '_b'); -1: none, or M when only "
          "N_b is set", kind=int, minimum=-1, maximum=256, sweepable=False),
    Param("N_b", -1, "elements", "IRS elements of a second configuration (series '_b'); -1: none, or N when only "
          "M_b is set", kind=int, minimum=-1, maximum=1024, sweepable=False),
    Param("p_dBm", 10.0, "dBm", "transmit power of every user", minimum=-100.0, maximum=100.0),
    Param("noise_dBm", -90.0, "dBm", "noise power at the BS and at Eve (sigma_B^2 = sigma_E^2)", minimum=-250.0,
          maximum=100.0),
    Param("bs_x", 0.0, "m", "BS position x"), Param("bs_y", 0.0, "m", "BS position y"),
    Param("irs_x", 50.0, "m", "IRS position x"), Param("irs_y", 5.0, "m", "IRS position y"),
    Param("users_x", 60.0, "m", "centre of the users' disc, x"),
    Param("users_y", 0.0, "m", "centre of the users' disc, y"),
    Param("users_radius", 10.0, "m", "radius of the users' disc", minimum=0.0, maximum=1e6),
    Param("eve_x", 0.0, "m", "Eve position x"), Param("eve_y", 80.0, "m", "Eve position y"),
    Param("C0_dB", -30.0, "dB", "path loss at 1 m", minimum=-200.0, maximum=0.0),
    Param("alpha_ub", 3.5, "", "path-loss exponent user-BS", minimum=0.0, exclusive_minimum=True, maximum=10.0),
    Param("alpha_ui", 2.2, "", "path-loss exponent user-IRS", minimum=0.0, exclusive_minimum=True, maximum=10.0),
    Param("alpha_ib", 2.2, "", "path-loss exponent IRS-BS", minimum=0.0, exclusive_minimum=True, maximum=10.0),
    Param("alpha_ue", 3.5, "", "path-loss exponent user-Eve", minimum=0.0, exclusive_minimum=True, maximum=10.0),
    Param("alpha_ie", 2.5, "", "path-loss exponent IRS-Eve", minimum=0.0, exclusive_minimum=True, maximum=10.0),
    Param("sdr", False, "", "also run the paper's AO with Dinkelbach-SDR phase steps (about 100x the cost of the "
          "gradient designs)", kind=bool, sweepable=False),
    Param("ao_iters", 30, "", "maximum AO iterations of the Dinkelbach-SDR designs (i_max)", kind=int, minimum=1,
          maximum=500, sweepable=False),
    Param("phase_iters", QUICK["phase_iters"], "", "Riemannian iterations per annealing stage (gradient designs; "
          f"the presets use {BEST['phase_iters']})", kind=int, minimum=1, maximum=10000, sweepable=False),
    Param("paths", QUICK["paths"], "", "annealing paths of the gradient designs (the first from the common random "
          "start, the others from random phases; the best exact value wins; the presets use 4)", kind=int, minimum=1,
          maximum=64, sweepable=False),
    Param("eve_draws", 100, "", "Eve channel draws per topology for the Monte Carlo SOP check", kind=int, minimum=1,
          maximum=100000, sweepable=False),
    Param("draws", 100, "", "Gaussian-randomisation draws I_G of the SDR phase step", kind=int, minimum=1,
          maximum=100000, sweepable=False),
)


def system_config(params, *, M=None, N=None) -> sysm.UplinkConfig:
    """Validated system configuration from scenario parameters (one-line ``ParameterError`` otherwise)."""
    try:
        return sysm.UplinkConfig(
            K=int(params["K"]), M=int(params["M"] if M is None else M), N=int(params["N"] if N is None else N),
            N_E=int(params["N_E"]), p_dBm=float(params["p_dBm"]), noise_B_dBm=float(params["noise_dBm"]),
            noise_E_dBm=float(params["noise_dBm"]), R_s=float(params["R_s"]),
            bs=(float(params["bs_x"]), float(params["bs_y"])), irs=(float(params["irs_x"]), float(params["irs_y"])),
            user_centre=(float(params["users_x"]), float(params["users_y"])),
            user_radius=float(params["users_radius"]), eve=(float(params["eve_x"]), float(params["eve_y"])),
            C0_dB=float(params["C0_dB"]), alpha_ub=float(params["alpha_ub"]), alpha_ui=float(params["alpha_ui"]),
            alpha_ib=float(params["alpha_ib"]), alpha_ue=float(params["alpha_ue"]), alpha_ie=float(params["alpha_ie"]))
    except ValueError as e:
        raise ParameterError(str(e)) from None


def configurations(params) -> list:
    """``[("", config)]`` plus ``("_b", second config)`` when ``M_b`` or ``N_b`` is set."""
    out = [("", system_config(params))]
    mb, nb = int(params["M_b"]), int(params["N_b"])
    if mb >= 0 or nb >= 0:
        if mb == 0:
            raise ParameterError("parameter 'M_b' must be -1 (no second configuration) or >= 1, got 0")
        out.append(("_b", system_config(params, M=mb if mb >= 1 else None, N=nb if nb >= 0 else None)))
    return out


def realisation(params, cfg: sysm.UplinkConfig, part: str) -> UplinkRealisation:
    return UplinkRealisation(cfg, part=part, ao_iters=int(params["ao_iters"]), phase_iters=int(params["phase_iters"]),
                             paths=int(params["paths"]), eve_draws=int(params["eve_draws"]),
                             draws=int(params["draws"]))


def _nan() -> float:
    return float("nan")


def _max_user_mean(e: Estimate):
    """``max_k E[SOP_k]`` as the estimate of the user with the largest mean (and that user)."""
    k = int(np.argmax(np.asarray(e.mean)))
    return e.at(k), k


def point(ctx, params) -> PointResult:
    it = int(params["iteration"])
    if it > int(params["ao_iters"]):
        raise ParameterError(f"parameter 'iteration' ({it}) must be <= ao_iters ({params['ao_iters']}); e.g. "
                             f"--set iteration=0:{params['ao_iters']}:1")
    values, extras = {}, {}
    for suffix, cfg in configurations(params):
        est = ctx.estimate(realisation(params, cfg, "gradient"), batch_size=BLOCK)
        for m in GRADIENT_METHODS:
            values[f"max_sop_{m}{suffix}"] = est[f"max_sop_{m}"]
            values[f"min_sop_{m}{suffix}"] = est[f"min_sop_{m}"]
            e, k = _max_user_mean(est[f"sop_{m}"])
            extras[f"maxE_sop_{m}{suffix}"], extras[f"maxE_sop_{m}{suffix}_user"] = e.mean, k
            extras[f"maxE_sop_{m}{suffix}_ci_low"], extras[f"maxE_sop_{m}{suffix}_ci_high"] = e.ci_low, e.ci_high
        values[f"diff_max_sop_gradient{suffix}"] = est["max_diff_gradient"]
        values[f"diff_gap_gradient{suffix}"] = est["gap_diff_gradient"]
        for m in MC_METHODS:
            values[f"sop_mean_cf_{m}{suffix}"] = est[f"sop_mean_cf_{m}"]
            values[f"sop_mean_mc_{m}{suffix}"] = est[f"sop_mean_mc_{m}"]
            values[f"mc_minus_cf_{m}{suffix}"] = est[f"sop_mc_minus_cf_{m}"]
        if params["sdr"] and cfg.N > 0:
            es = ctx.estimate(realisation(params, cfg, "sdr"), batch_size=BLOCK)
            for m in SDR_METHODS:
                for stat in ("max", "min"):
                    values[f"{stat}_sop_{m}{suffix}"] = (es[f"{stat}_sop_{m}"] if it < 0
                                                        else es[f"trace_{stat}_sop_{m}"].at(it))
                e, k = _max_user_mean(es[f"sop_{m}"])
                extras[f"maxE_sop_{m}{suffix}"], extras[f"maxE_sop_{m}{suffix}_user"] = e.mean, k
                extras[f"maxE_sop_{m}{suffix}_ci_low"], extras[f"maxE_sop_{m}{suffix}_ci_high"] = e.ci_low, e.ci_high
                values[f"ao_iterations_{m}{suffix}"] = es[f"ao_iters_{m}"]
                extras[f"dinkelbach_iters_{m}{suffix}"] = es[f"dinkelbach_iters_{m}"].mean
                extras[f"relaxation_gap_{m}{suffix}"] = es[f"relaxation_gap_{m}"].mean
            values[f"diff_max_sop_sdr{suffix}"] = es["max_diff_sdr"]
            values[f"diff_gap_sdr{suffix}"] = es["gap_diff_sdr"]
        else:
            for m in SDR_METHODS:
                values[f"max_sop_{m}{suffix}"] = values[f"min_sop_{m}{suffix}"] = _nan()
                values[f"ao_iterations_{m}{suffix}"] = _nan()
            values[f"diff_max_sop_sdr{suffix}"] = values[f"diff_gap_sdr{suffix}"] = _nan()
    for label in SERIES_LABELS:
        values.setdefault(label, _nan())
    return PointResult(values=values, extras=extras)


# --------------------------------------------------------------------------------------------- claims
FEW_ITERATIONS = 5  # [D] "converges in a few AO iterations": within 1 % of the total drop after <= 5 iterations
CONVERGED_SHARE = 0.01


def _arr(series, label, key="mean"):
    return np.asarray([np.nan if v is None else v for v in series[label].get(key, series[label]["mean"])], float)


def _has(series, label):
    return label in series and np.all(np.isfinite(_arr(series, label)))


def _slope_per_doubling(xs, ys):
    """Least-squares slope of ``ys`` against ``log2(xs)`` (change per doubling)."""
    lx = np.log2(np.asarray(xs, float))
    return float(np.polyfit(lx, ys, 1)[0]) if len(xs) >= 2 else float("nan")


def _monotone(ys, decreasing):
    d = np.diff(ys)
    return bool(np.all(d < 0) if decreasing else np.all(d > 0))


def _iterations_to_converge(trace):
    """First AO iteration whose mean max SOP is within ``CONVERGED_SHARE`` of the total drop from the final."""
    total = trace[0] - trace[-1]
    if not total > 0:
        return 0
    return int(np.argmax(np.abs(trace - trace[-1]) <= CONVERGED_SHARE * total))


def derive(params, x_name, xs, series):
    claims = {}
    suffixes = [""] + (["_b"] if _has(series, "max_sop_mmsop_gradient_b") else [])
    # (3.7) against Monte Carlo over Eve's channel, at every point of every sweep
    worst_mean, worst_bound = 0.0, 0.0
    for s in suffixes:
        for m in MC_METHODS:
            lab = f"mc_minus_cf_{m}{s}"
            if _has(series, lab):
                mean, lo, hi = _arr(series, lab), _arr(series, lab, "ci_low"), _arr(series, lab, "ci_high")
                worst_mean = max(worst_mean, float(np.max(np.abs(mean))))
                worst_bound = max(worst_bound, float(np.max(np.maximum(np.abs(lo), np.abs(hi)))))
    claims["sop_closed_form_matches_mc"] = {
        "statement": "(3.7) matches Monte Carlo over Eve's channel draws (abs. error < 0.01)",
        "max_abs_mean_difference": worst_mean, "max_abs_ci_bound": worst_bound,
        "eve_draws_per_topology": params["eve_draws"], "holds": worst_bound < 0.01}
    grad_pairs = [("mmsop_gradient", "mmsinr_gradient", "gradient")]
    sdr_on = _has(series, "max_sop_mmsop_sdr")
    pairs = grad_pairs + ([("mmsop_sdr", "mmsinr_sdr", "sdr")] if sdr_on else [])
    if x_name == "iteration":
        f2 = {"statement": "F2: MM-SOP's max SOP drops quickly and converges in a few AO iterations; its max-min "
                           "SOP gap is smaller than MM-SINR's; convergence slower for N = 32 than for N = 64"}
        if sdr_on:
            conv = {}
            for s in suffixes:
                tr = _arr(series, f"max_sop_mmsop_sdr{s}")
                i_conv = _iterations_to_converge(tr)
                conv[s or "_a"] = {"N": params["N_b" if s else "N"] if not s or params["N_b"] >= 0 else params["N"],
                                   "max_sop_first": float(tr[0]), "max_sop_after_1": float(tr[min(1, len(tr) - 1)]),
                                   "max_sop_last": float(tr[-1]), "iterations_to_1pct_of_drop": i_conv,
                                   "mean_ao_iterations_to_stop": float(_arr(series, f"ao_iterations_mmsop_sdr{s}")[-1]),
                                   "drops": bool(tr[-1] < tr[0]), "few_iterations": i_conv <= FEW_ITERATIONS}
            f2["convergence"] = conv
            if len(suffixes) == 2:
                a, b = conv["_a"], conv["_b"]
                f2["slower_for_first_configuration"] = (
                    a["iterations_to_1pct_of_drop"] > b["iterations_to_1pct_of_drop"]
                    or a["mean_ao_iterations_to_stop"] > b["mean_ao_iterations_to_stop"])
        gaps = {}
        for s in suffixes:
            for sop, sinr, tag in pairs:
                lab = f"diff_gap_{tag}{s}"
                gaps[f"{tag}{s}"] = {"mean": float(_arr(series, lab)[-1]),
                                     "ci_high": float(_arr(series, lab, "ci_high")[-1]),
                                     "smaller_gap": bool(_arr(series, lab)[-1] < 0),
                                     "significant": bool(_arr(series, lab, "ci_high")[-1] < 0)}
        f2["gap_mmsop_minus_gap_mmsinr"] = gaps
        f2["holds"] = bool(all(g["smaller_gap"] for g in gaps.values()) and (not sdr_on or (
            all(c["drops"] and c["few_iterations"] for c in f2["convergence"].values())
            and f2.get("slower_for_first_configuration", True))))
        claims["F2"] = f2
    elif x_name == "R_s":
        f3a = {"statement": "F3a: SOP increases with R_s; larger M or N lowers the max SOP; MM-SOP <= MM-SINR "
                            "everywhere"}
        inc = {f"{m}{s}": _monotone(_arr(series, f"max_sop_{m}{s}"), False) for s in suffixes
               for m in METHODS if _has(series, f"max_sop_{m}{s}")}
        f3a["max_sop_increasing_in_R_s"] = inc
        if len(suffixes) == 2:
            f3a["second_configuration_lower"] = {
                m: bool(np.all(_arr(series, f"max_sop_{m}_b") < _arr(series, f"max_sop_{m}")))
                for m in METHODS if _has(series, f"max_sop_{m}_b") and m != "no_irs"}
        le = {}
        for s in suffixes:
            for sop, sinr, tag in pairs:
                d = _arr(series, f"diff_max_sop_{tag}{s}")
                le[f"{tag}{s}"] = {"max_mean_difference": float(np.max(d)), "holds": bool(np.all(d <= 0))}
        f3a["mmsop_minus_mmsinr_max_sop"] = le
        f3a["holds"] = bool(all(inc.values()) and all(v["holds"] for v in le.values())
                            and all(f3a.get("second_configuration_lower", {"": True}).values()))
        claims["F3a"] = f3a
    elif x_name in ("N", "M"):
        key = "F3b" if x_name == "N" else "F3c"
        fig = {"statement": f"{key}: max SOP decreases with {x_name}"
               + ("; more sensitive to M than to N (compare slope_per_doubling with F3b's)" if x_name == "M" else "")}
        dec, slope = {}, {}
        for s in suffixes:
            for m in METHODS:
                if m != "no_irs" or x_name == "M":
                    lab = f"max_sop_{m}{s}"
                    if _has(series, lab) and len(xs) >= 2 and min(xs) > 0:
                        dec[f"{m}{s}"] = _monotone(_arr(series, lab), True)
                        slope[f"{m}{s}"] = _slope_per_doubling(xs, _arr(series, lab))
        fig["max_sop_decreasing"] = dec
        fig["slope_per_doubling"] = slope
        fig["holds"] = bool(dec.get("mmsop_gradient", False) and all(
            v for k, v in dec.items() if k.startswith(("mmsop", "mmsinr"))))
        le = {}
        for s in suffixes:
            for sop, sinr, tag in pairs:
                d = _arr(series, f"diff_max_sop_{tag}{s}")
                le[f"{tag}{s}"] = {"max_mean_difference": float(np.max(d)), "holds": bool(np.all(d <= 0))}
        fig["mmsop_minus_mmsinr_max_sop"] = le
        claims[key] = fig
    return {"claims": claims,
            "figures_show": "E[max_k SOP_k] (max over users per topology, then the mean over topologies) and "
                            "E[min_k SOP_k]; max_k E[SOP_k] is in per_point as maxE_sop_<method>"}


# --------------------------------------------------------------------------------------------- series
def _series():
    out = []
    for s, what in (("", "first configuration (M, N)"), ("_b", "second configuration (M_b, N_b)")):
        for m in METHODS:
            out.append(Series(f"max_sop_{m}{s}", "max_sop", description=f"E[max_k SOP_k], {LABELS[m]}, {what}"))
        for m in METHODS:
            out.append(Series(f"min_sop_{m}{s}", "min_sop", description=f"E[min_k SOP_k], {LABELS[m]}, {what}"))
        for m in MC_METHODS:
            out.append(Series(f"sop_mean_cf_{m}{s}", "check", description=f"mean SOP by (3.7), {LABELS[m]}, {what}"))
            out.append(Series(f"sop_mean_mc_{m}{s}", "check",
                              description=f"mean SOP by Monte Carlo over Eve's channel, {LABELS[m]}, {what}"))
            out.append(Series(f"mc_minus_cf_{m}{s}", "diff", description=f"MC minus (3.7), {LABELS[m]}, {what}"))
        for tag in ("gradient", "sdr"):
            out.append(Series(f"diff_max_sop_{tag}{s}", "diff",
                              description=f"max SOP of MM-SOP minus MM-SINR ({tag}, paired), {what}"))
            out.append(Series(f"diff_gap_{tag}{s}", "diff",
                              description=f"(max - min) SOP gap of MM-SOP minus MM-SINR's ({tag}, paired), {what}"))
        for m in SDR_METHODS:
            out.append(Series(f"ao_iterations_{m}{s}", "ao", description=f"AO iterations to the stopping rule, "
                                                                         f"{LABELS[m]}, {what}"))
    return tuple(out)


SERIES = _series()
SERIES_LABELS = tuple(s.label for s in SERIES)

SCENARIO = Scenario(
    name="uplink-sop",
    description="min-max secrecy outage fairness, IRS-aided multi-antenna uplink: MM-SOP (gradient, Dinkelbach-SDR "
                "AO) vs MM-SINR, random phases, no IRS; Theorem 1 vs Monte Carlo",
    params=PARAMS,
    sweep="R_s",
    sweep_values=(1.0, 2.0, 4.0),
    series=SERIES,
    panels={"max_sop": Panel("E[max_k SOP_k]", "log"), "min_sop": Panel("E[min_k SOP_k]", "log"),
            "check": Panel("mean SOP: (3.7) vs Monte Carlo", "log"),
            "diff": Panel("paired differences of SOP"), "ao": Panel("AO iterations to stop")},
    point=point,
    default_samples=DEFAULT_TOPOLOGIES,
    derive=derive,
    presets={
        "fig2": {"iteration": "0:30:1", "N": "32", "N_b": "64", "sdr": "true", "ao_iters": "30", **BEST},
        "fig3a": {"R_s": "0.5:4:0.5", "M": "4", "N": "32", "M_b": "8", "N_b": "64", **BEST},
        "fig3b": {"N": "16:128:16", **BEST},
        "fig3c": {"M": "2:16:2", **BEST},
    },
    x_label=None,
    shared_draws=("iteration", "R_s", "p_dBm", "noise_dBm"),
)

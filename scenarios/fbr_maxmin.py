"""``irsjax run fbr-maxmin``: max-min finite-blocklength secrecy for every user, perfect and imperfect CSI
(Abughalwa et al., MODELS.md section 4; system :mod:`irsjax.systems.downlink_fbr`, designs :mod:`optim.fbr_design`).

Per topology (one Monte Carlo realisation = one drop of the users and Eve + one channel draw) and per CSI setting
``(rho_U, rho_E)``, every scheme is designed LBR first, then FBR warm-started from the LBR solution:

* ``mm``: max-min of the per-user secrecy rates over ``(W, theta)``;
* ``ssr``: the sum of the secrecy rates (SSR baseline, both sub-problems);
* ``rnd``: max-min over ``W`` only, random PREs (``theta`` i.i.d. uniform phases).

Under imperfect CSI (``rho > 0``) the designs maximise the closed-form conservative worst-case rates of MODELS.md
6 ("003"); the reported rates of a design are the values it *claims* (clipped at 0). The adversarial check
(:func:`optim.fbr_design.adversarial_worst_case`: projected gradient on the error balls, 16 starts) reports the
worst case it can reach (``*_worst`` series) and whether it stays at or above the claim (``robust_ok_*``, a 0/1
statistic with binomial CIs; tolerance 1e-3 bit for float32).

Design method (``method``): ``gradient`` (default: joint L-BFGS ascent of the annealed soft-min,
``restarts`` starts) or ``sca`` (the paper's Algorithm 1: SCA with the minorisers (D1)-(D3), each convex step
solved by a log-barrier Newton method, monotone); ``compare=true`` also runs the other one for ``mm`` (series
``mm_*_alt``); ``bench/bench_fbr.py`` compares both with the cvxpy SCA per topology (time and min SR).

``figure`` selects what a point computes and which series it fills (the others are null):

* ``min``: min SR of every scheme (figs 6-8), the adversarial worst case of ``mm``; ``nominal=true`` adds the
  perfect-CSI ``mm`` design's worst case under the same errors (perfect vs imperfect CSI);
* ``jain``: Jain's index of every scheme (fig 5);
* ``users``: the SR of the user of rank ``user`` (1 = weakest in its topology: averaging by rank keeps the
  spread that averaging by index would wash out; fig 3); ``shared_draws`` includes ``user``;
* ``pairs``: per-user (rank) SR of ``mm`` for the three ``(rho_U, rho_E)`` pairs of ``pairs`` (fig 4);
* ``convergence``: objective of SCA ``mm`` after iteration ``iteration`` (LBR from RZF + random phases, FBR
  warm-started), perfect CSI and ``(rho_U, rho_E)``, plus the iterations to the ``1e-3`` stop (fig 2).

Every figure's statistics come from one ``ctx.estimate`` call whose arguments do not depend on ``user`` or
``iteration`` (vector statistics; entry picked per point), so the runner can share it across those points.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from irsjax import metrics
from irsjax.config import config, static
from irsjax.scenario import Panel, Param, ParameterError, PointResult, Scenario, Series
from irsjax.systems import downlink_fbr as dl
from optim import fbr_design as fd

SCHEMES = ("mm", "ssr", "rnd")
STAGES = ("lbr", "fbr")
FIGURES = ("min", "jain", "users", "pairs", "convergence")
ROBUST_TOL = 1e-3  # bit: float32 slack of the robustness check


@config
class FBRMaxminRealisation:
    """Per-topology Monte Carlo function (a pytree: the system's floats and the CSI pairs are traced leaves).

    ``csi``: ``((rho_U, rho_E), ...)`` settings evaluated side by side on the same topology (leading axis ``P``
    of every statistic). Statistics (clipped at 0 unless stated): ``rates`` (P, S, 2, K) per-user claimed SR
    sorted ascending; ``min_sr``, ``jain``, ``worst_min_sr``, ``robust_ok`` (P, S, 2) for schemes ``S`` and
    stages (LBR, FBR); paired gaps ``gap_stage`` (P, S) = LBR - FBR min SR and ``gap_scheme`` (P, S-1, 2) = first
    scheme's min SR minus the others'; optional ``nominal_*``, ``alt_min_sr``, ``trace`` (un-clipped objective,
    P, 2, T+1), ``iters`` (P, 2).
    """

    system: dl.FBRDownlinkConfig
    csi: tuple = ((0.0, 0.0),)
    method: str = static("gradient")
    restarts: int = static(2)
    grad_iters: int = static(100)
    sca_outer: int = static(10)
    sca_inner: str = static("newton")
    compare: bool = static(False)
    nominal: bool = static(False)
    trace: bool = static(False)
    adversarial: bool = static(True)
    adv_restarts: int = static(16)
    adv_iters: int = static(50)
    schemes: tuple = static(SCHEMES)
    fill_rates: bool = static(True)

    def _design(self, key, prob, W0, th0, method, use_sum, opt_theta, restarts):
        kw = (dict(iters_per_stage=self.grad_iters) if method == "gradient"
              else dict(num_outer=self.sca_outer, barrier=dict(inner=self.sca_inner)))
        return fd.design(key, prob, W0, th0, method=method, how=use_sum, optimize_theta=opt_theta,
                         num_restarts=restarts, **kw)

    def __call__(self, key):
        sysc = self.system
        k_ch, k_init, k_alg, k_adv, k_alt = jax.random.split(key, 5)
        ch = dl.sample(k_ch, sysc)
        base = dl.problem(ch, sysc, rho=(0.0, 0.0))
        rd = jnp.real(ch.G).dtype
        W0, th0 = fd.initial_point(k_init, base)
        csi = jnp.asarray(self.csi, rd).reshape(-1, 2)
        use_sum = jnp.asarray([s == "ssr" for s in self.schemes])
        opt_th = jnp.asarray([s != "rnd" for s in self.schemes])
        finite = jnp.asarray([0.0, 1.0], rd)

        def staged(prob, f):
            return prob._replace(disp_user=f * prob.disp_user, disp_eve=f * prob.disp_eve)

        def evaluate(prob, W, th, key):
            """claimed (K,) and adversarial (K,) rates of one design (un-clipped, bits)."""
            claimed = dl.problem_rates(prob, W, th)
            if not self.adversarial:
                return claimed, claimed
            worst = fd.adversarial_worst_case(key, prob, W, th, num_restarts=self.adv_restarts,
                                              num_iters=self.adv_iters).rates
            return claimed, worst

        nominal = None
        if self.nominal:
            nominal = self._design(k_alg, base, W0, th0, self.method, False, True, self.restarts)

        def per_pair(rho):
            prob = dl.problem(ch, sysc, rho=(rho[0], rho[1]))
            out = {}
            if self.trace:
                tr = fd.lbr_then_fbr(fd.sca_design, prob, W0, th0, num_outer=self.sca_outer,
                                     barrier=dict(inner=self.sca_inner))
                out["trace"] = tr.history  # (2, T+1), un-clipped objective (bits)
                out["iters"] = tr.num_iters.astype(rd)
            if not self.schemes:
                return out
            des = jax.vmap(lambda us, ot: self._design(k_alg, prob, W0, th0, self.method, us, ot,
                                                       self.restarts))(use_sum, opt_th)
            ev = jax.vmap(jax.vmap(lambda W, th, f: evaluate(staged(prob, f), W, th, k_adv), in_axes=(0, 0, 0)),
                          in_axes=(0, 0, None))
            claimed, worst = ev(des.W, des.theta, finite)  # (S, 2, K)
            clipped = jnp.maximum(claimed, 0.0)
            if self.fill_rates:
                out["rates"] = jnp.sort(clipped, axis=-1)
            out["min_sr"] = jnp.min(clipped, axis=-1)
            out["jain"] = metrics.jain_index(clipped)
            # paired gaps (same topology): LBR - FBR per scheme (S,), first scheme minus the others (S-1, 2)
            out["gap_stage"] = out["min_sr"][:, 0] - out["min_sr"][:, 1]
            if len(self.schemes) > 1:
                out["gap_scheme"] = out["min_sr"][:1] - out["min_sr"][1:]
            if self.adversarial:
                out["worst_min_sr"] = jnp.maximum(jnp.min(worst, axis=-1), 0.0)
                out["robust_ok"] = (jnp.min(worst, axis=-1) >= jnp.min(claimed, axis=-1) - ROBUST_TOL).astype(rd)
            if nominal is not None:
                c_nom, w_nom = jax.vmap(lambda W, th, f: evaluate(staged(prob, f), W, th, k_adv))(
                    nominal.W, nominal.theta, finite)
                claim = jax.vmap(lambda W, th, f: dl.problem_rates(staged(base, f), W, th))(
                    nominal.W, nominal.theta, finite)
                out["nominal_min_sr"] = jnp.maximum(jnp.min(claim, axis=-1), 0.0)
                out["nominal_worst_min_sr"] = jnp.maximum(jnp.min(w_nom, axis=-1), 0.0)
                out["nominal_robust_ok"] = (jnp.min(w_nom, axis=-1) >= jnp.min(claim, axis=-1) - ROBUST_TOL
                                            ).astype(rd)
            if self.compare:
                other = "sca" if self.method == "gradient" else "gradient"
                alt = self._design(k_alt, prob, W0, th0, other, False, True, 1)
                ra = jax.vmap(lambda W, th, f: dl.problem_rates(staged(prob, f), W, th))(alt.W, alt.theta, finite)
                out["alt_min_sr"] = jnp.maximum(jnp.min(ra, axis=-1), 0.0)
            return out

        return jax.vmap(per_pair)(csi)


# --------------------------------------------------------------------------- parameters
def _factor(n: int) -> tuple[int, int]:
    """``N = N_h N_v`` with ``N_v`` the largest divisor ``<= sqrt(N)`` (16 -> 4 x 4)."""
    nv = max(d for d in range(1, int(math.isqrt(n)) + 1) if n % d == 0)
    return n // nv, nv


PARAMS = (
    Param("figure", "min", "", "what to compute: min SR, Jain's index, per-user SR, (rho_U, rho_E) pairs, SCA "
          "convergence", kind=str, choices=FIGURES, sweepable=False),
    Param("N", 16, "elements", "IRS elements (UPA N_h x N_v, N_v the largest divisor <= sqrt(N))", kind=int,
          minimum=1, maximum=1024),
    Param("M", 4, "antennas", "Alice's antennas (ULA)", kind=int, minimum=1, maximum=256),
    Param("K", 4, "users", "single-antenna users", kind=int, minimum=1, maximum=64),
    Param("P_dBm", 20.0, "dBm", "Alice's power budget", minimum=-100.0, maximum=100.0),
    Param("N0_dBm_Hz", -174.0, "dBm/Hz", "noise power spectral density", minimum=-250.0, maximum=0.0),
    Param("B", 1e6, "Hz", "bandwidth", minimum=0.0, exclusive_minimum=True, maximum=1e12),
    Param("t", 0.1, "ms", "transmission duration (blocklength n = floor(B t))", minimum=0.0,
          exclusive_minimum=True, maximum=1e6),
    Param("epsilon", 1e-5, "", "decoding-error probability, in (0, 1)", minimum=0.0, exclusive_minimum=True,
          maximum=1.0),
    Param("delta", 1e-5, "", "information-leakage bound, in (0, 1)", minimum=0.0, exclusive_minimum=True,
          maximum=1.0),
    Param("kappa_G", 10.0, "", "Rician factor Alice-IRS (linear)", minimum=0.0, maximum=1e6),
    Param("kappa", 3.0, "", "Rician factor IRS-users/Eve (linear)", minimum=0.0, maximum=1e6),
    Param("rho_U", 0.0, "", "relative CSI error radius of the users' IRS links (0 = perfect CSI)", minimum=0.0,
          maximum=1.0),
    Param("rho_E", -1.0, "", "relative CSI error radius of Eve's IRS link (-1: same as rho_U)", minimum=-1.0,
          maximum=1.0),
    Param("pairs", "0.01/0.01;0.01/0.03;0.03/0.01", "", "figure=pairs: three rho_U/rho_E pairs, ';'-separated",
          kind=str, sweepable=False),
    Param("G_A_dBi", 5.0, "dBi", "Alice's antenna gain", minimum=-50.0, maximum=50.0),
    Param("G_I_dBi", 5.0, "dBi", "IRS element gain", minimum=-50.0, maximum=50.0),
    Param("frequency_GHz", 3.0, "GHz", "carrier frequency", minimum=0.0, exclusive_minimum=True, maximum=1000.0),
    Param("alice_z", 10.0, "m", "Alice's height (at x = y = 0)", minimum=-1e4, maximum=1e4),
    Param("irs_x", 50.0, "m", "IRS x", minimum=-1e4, maximum=1e4),
    Param("irs_y", 10.0, "m", "IRS y", minimum=-1e4, maximum=1e4),
    Param("irs_z", 10.0, "m", "IRS height", minimum=-1e4, maximum=1e4),
    Param("users_x_min", 50.0, "m", "users' area: x from", minimum=-1e4, maximum=1e4),
    Param("users_x_max", 70.0, "m", "users' area: x to", minimum=-1e4, maximum=1e4),
    Param("users_y_max", 10.0, "m", "users' area: |y| <=", minimum=0.0, maximum=1e4),
    Param("eve_x_min", 70.0, "m", "Eve's area: x from", minimum=-1e4, maximum=1e4),
    Param("eve_x_max", 90.0, "m", "Eve's area: x to", minimum=-1e4, maximum=1e4),
    Param("eve_y_max", 10.0, "m", "Eve's area: |y| <=", minimum=0.0, maximum=1e4),
    Param("height", 1.5, "m", "height of the users and Eve", minimum=-1e4, maximum=1e4),
    Param("user", 1, "rank", "figure=users/pairs: user rank in its topology (1 = weakest)", kind=int, minimum=1,
          maximum=64),
    Param("iteration", 10, "", "figure=convergence: SCA iteration index (0 = start)", kind=int, minimum=0,
          maximum=1000),
    Param("method", "gradient", "", "design method of every scheme", kind=str, choices=("gradient", "sca"),
          sweepable=False),
    Param("restarts", 2, "", "starts per design (best kept)", kind=int, minimum=1, maximum=64, sweepable=False),
    Param("grad_iters", 100, "", "gradient method: L-BFGS iterations per annealing stage", kind=int, minimum=1,
          maximum=10000, sweepable=False),
    Param("sca_outer", 10, "", "SCA: maximum outer iterations (stop at 1e-3 relative increase)", kind=int,
          minimum=1, maximum=200, sweepable=False),
    Param("sca_inner", "newton", "", "SCA: solver of each convex step (log-barrier with Newton steps, or with "
          "L-BFGS: ~8x faster, ~1e-2 nat less accurate)", kind=str, choices=("newton", "lbfgs"), sweepable=False),
    Param("compare", False, "", "figure=min: also design mm with the other method (1 start)", kind=bool,
          sweepable=False),
    Param("nominal", False, "", "figure=min: also the perfect-CSI mm design's worst case under the errors",
          kind=bool, sweepable=False),
    Param("adversarial", True, "", "adversarial worst-case check of every design", kind=bool, sweepable=False),
    Param("adv_restarts", 16, "", "adversarial check: starts per ball", kind=int, minimum=1, maximum=1024,
          sweepable=False),
    Param("adv_iters", 50, "", "adversarial check: projected-gradient evaluations per start", kind=int, minimum=1,
          maximum=10000, sweepable=False),
)


def _pairs(text: str) -> tuple:
    try:
        pairs = tuple(tuple(float(v) for v in item.split("/")) for item in str(text).split(";"))
    except ValueError:
        raise ParameterError(f"parameter 'pairs' must look like 0.01/0.01;0.01/0.03;0.03/0.01, got {text!r}") from None
    if len(pairs) != 3 or any(len(p) != 2 or not all(0.0 <= v <= 1.0 for v in p) for p in pairs):
        raise ParameterError(f"parameter 'pairs' must be three rho_U/rho_E pairs in [0, 1], got {text!r}")
    return pairs


def system_config(params) -> dl.FBRDownlinkConfig:
    """Validated system configuration from scenario parameters (``t`` in ms, frequency in GHz)."""
    rho_e = float(params["rho_E"])
    if -1.0 < rho_e < 0.0:
        raise ParameterError(f"parameter 'rho_E' must be >= 0 or -1 (same as rho_U), got {rho_e!r}")
    n_h, n_v = _factor(int(params["N"]))
    h = float(params["height"])
    try:
        return dl.FBRDownlinkConfig(
            M=int(params["M"]), K=int(params["K"]), N_h=n_h, N_v=n_v, P_dBm=float(params["P_dBm"]),
            N0_dBm_Hz=float(params["N0_dBm_Hz"]), B=float(params["B"]), t=float(params["t"]) * 1e-3,
            epsilon=float(params["epsilon"]), delta=float(params["delta"]), kappa_G=float(params["kappa_G"]),
            kappa=float(params["kappa"]), rho_U=float(params["rho_U"]),
            rho_E=float(params["rho_U"]) if rho_e < 0 else rho_e, G_A_dBi=float(params["G_A_dBi"]),
            G_I_dBi=float(params["G_I_dBi"]), frequency=float(params["frequency_GHz"]) * 1e9,
            alice=(0.0, 0.0, float(params["alice_z"])),
            irs=(float(params["irs_x"]), float(params["irs_y"]), float(params["irs_z"])),
            users_low=(float(params["users_x_min"]), -float(params["users_y_max"]), h),
            users_high=(float(params["users_x_max"]), float(params["users_y_max"]), h),
            eve_low=(float(params["eve_x_min"]), -float(params["eve_y_max"]), h),
            eve_high=(float(params["eve_x_max"]), float(params["eve_y_max"]), h))
    except ValueError as e:
        raise ParameterError(str(e)) from None


def realisation(params) -> FBRMaxminRealisation:
    """Validated per-topology function for ``params`` (its static part depends only on sizes and switches)."""
    system = system_config(params)
    figure = params["figure"]
    if figure == "convergence":
        csi = ((0.0, 0.0), (system.rho_U, system.rho_E))
    elif figure == "pairs":
        csi = _pairs(params["pairs"])
    else:
        csi = ((system.rho_U, system.rho_E),)
    k = int(params["K"])
    if figure in ("users", "pairs") and int(params["user"]) > k:
        raise ParameterError(f"parameter 'user' must be <= K = {k}, got {params['user']}")
    common = dict(system=system, csi=csi, method=params["method"], restarts=int(params["restarts"]),
                  grad_iters=int(params["grad_iters"]), sca_outer=int(params["sca_outer"]),
                  sca_inner=params["sca_inner"])
    if figure == "convergence":  # only the SCA traces of max-min (Algorithm 1 from RZF + random phases)
        return FBRMaxminRealisation(**common, schemes=(), trace=True, adversarial=False, fill_rates=False)
    if figure == "pairs":
        return FBRMaxminRealisation(**common, schemes=("mm",), adversarial=False)
    if figure == "users":
        return FBRMaxminRealisation(**common, schemes=SCHEMES, adversarial=False)
    return FBRMaxminRealisation(**common, schemes=SCHEMES, compare=bool(params["compare"]) and figure == "min",
                                nominal=bool(params["nominal"]) and figure == "min",
                                adversarial=bool(params["adversarial"]) and figure == "min",
                                adv_restarts=int(params["adv_restarts"]),
                                adv_iters=int(params["adv_iters"]), fill_rates=False)


# --------------------------------------------------------------------------- series
def _series():
    s = []
    names = {"mm": "max-min", "ssr": "sum secrecy rate (SSR)", "rnd": "max-min, random PREs"}
    short = {"ssr": "SSR", "rnd": "random-PRE max-min"}
    for sch, desc in names.items():
        for st in STAGES:
            s.append(Series(f"{sch}_{st}", "min_sr", description=f"{desc}, {st.upper()}: min SR claimed by the design"))
    for st in STAGES:
        s.append(Series(f"mm_{st}_worst", "min_sr", description=f"max-min {st.upper()}: adversarial worst case"))
        s.append(Series(f"mm_{st}_nominal_worst", "min_sr",
                        description=f"perfect-CSI max-min {st.upper()} design: adversarial worst case"))
        s.append(Series(f"mm_{st}_alt", "min_sr", description=f"max-min {st.upper()} by the other method"))
    for st in STAGES:
        s.append(Series(f"robust_ok_mm_{st}", "robust",
                        description=f"robust max-min {st.upper()} design: worst case >= claimed (fraction)"))
        s.append(Series(f"robust_ok_nominal_{st}", "robust",
                        description=f"perfect-CSI max-min {st.upper()} design: worst case >= its nominal claim "
                                    "(fraction)"))
    s.append(Series("gap_lbr_fbr_mm", "gap", description="max-min: LBR - FBR min SR (paired, same topologies)"))
    for other in SCHEMES[1:]:
        for st in STAGES:
            s.append(Series(f"gap_mm_{other}_{st}", "gap",
                            description=f"{st.upper()}: max-min min SR - {short[other]} min SR (paired)"))
    for sch in SCHEMES:
        for st in STAGES:
            s.append(Series(f"jain_{sch}_{st}", "jain", description=f"{names[sch]}, {st.upper()}"))
    for sch in SCHEMES:
        for st in STAGES:
            s.append(Series(f"users_{sch}_{st}", "users", description=f"{names[sch]}, {st.upper()}"))
    for i in (1, 2, 3):
        for st in STAGES:
            s.append(Series(f"users_mm_{st}_p{i}", "users", description=f"max-min {st.upper()}, CSI pair {i}"))
    for csi in ("perfect", "imperfect"):
        for st in STAGES:
            s.append(Series(f"trace_{st}_{csi}", "trace", description=f"SCA max-min {st.upper()}, {csi} CSI"))
            s.append(Series(f"iters_{st}_{csi}", "iters",
                            description=f"SCA max-min {st.upper()}, {csi} CSI: iterations to the 1e-3 stop"))
    return tuple(s)


SERIES = _series()
_NAN = float("nan")


def point(ctx, params) -> PointResult:
    fn = realisation(params)
    figure = params["figure"]
    est = ctx.estimate(fn, batch_size=256, probabilities=_probabilities(fn))
    values = {s.label: _NAN for s in SERIES}
    sidx = {s: i for i, s in enumerate(fn.schemes)}
    if figure in ("min", "jain"):
        for sch, i in sidx.items():
            for j, st in enumerate(STAGES):
                if figure == "min":
                    values[f"{sch}_{st}"] = est["min_sr"].at((0, i, j))
                else:
                    values[f"jain_{sch}_{st}"] = est["jain"].at((0, i, j))
        if figure == "min":
            values["gap_lbr_fbr_mm"] = est["gap_stage"].at((0, sidx["mm"]))
            if "gap_scheme" in est and fn.schemes[0] == "mm":
                for i, other in enumerate(fn.schemes[1:]):
                    for j, st in enumerate(STAGES):
                        values[f"gap_mm_{other}_{st}"] = est["gap_scheme"].at((0, i, j))
            for j, st in enumerate(STAGES):
                if "worst_min_sr" in est:
                    values[f"mm_{st}_worst"] = est["worst_min_sr"].at((0, sidx["mm"], j))
                    values[f"robust_ok_mm_{st}"] = est["robust_ok"].at((0, sidx["mm"], j))
                if "nominal_worst_min_sr" in est:
                    values[f"mm_{st}_nominal_worst"] = est["nominal_worst_min_sr"].at((0, j))
                    values[f"robust_ok_nominal_{st}"] = est["nominal_robust_ok"].at((0, j))
                if "alt_min_sr" in est:
                    values[f"mm_{st}_alt"] = est["alt_min_sr"].at((0, j))
    elif figure == "users":
        u = int(params["user"]) - 1
        for sch, i in sidx.items():
            for j, st in enumerate(STAGES):
                values[f"users_{sch}_{st}"] = est["rates"].at((0, i, j, u))
    elif figure == "pairs":
        u = int(params["user"]) - 1
        for p in range(3):
            for j, st in enumerate(STAGES):
                values[f"users_mm_{st}_p{p + 1}"] = est["rates"].at((p, 0, j, u))
    else:  # convergence
        it = min(int(params["iteration"]), int(params["sca_outer"]))
        for p, csi in enumerate(("perfect", "imperfect")):
            for j, st in enumerate(STAGES):
                values[f"trace_{st}_{csi}"] = est["trace"].at((p, j, it))
                values[f"iters_{st}_{csi}"] = est["iters"].at((p, j))
    return PointResult(values=values)


def _probabilities(fn) -> tuple:
    names = []
    if fn.adversarial:
        names.append("robust_ok")
        if fn.nominal:
            names.append("nominal_robust_ok")
    return tuple(names)


# --------------------------------------------------------------------------- claims
Z95 = 1.959963984540054


def _clean(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _get(series, label, key="mean"):
    return [_clean(v) for v in series.get(label, {}).get(key, [])]


def _points(series, label):
    """Per point ``(mean, ci_low, ci_high, std_err)`` of a series (None where the point has no value)."""
    cols = [_get(series, label, k) for k in ("mean", "ci_low", "ci_high", "std_err")]
    n = len(cols[0])
    cols = [c if len(c) == n else [None] * n for c in cols]
    return [None if m is None else (m, lo, hi, se) for m, lo, hi, se in zip(*cols)]


def _ci_text(pt):
    if pt is None:
        return None
    m, lo, hi, _ = pt
    return f"{m:.4g} [{lo:.4g}, {hi:.4g}]" if lo is not None and hi is not None else f"{m:.4g} (no CI)"


def _steps(pts, sign):
    """Consecutive changes ``sign * (b - a)`` of point means and their z-scores (standard errors combined as
    independent: conservative for shared draws, whose paired differences are tighter)."""
    out = []
    for a, b in zip(pts, pts[1:]):
        if a is None or b is None:
            continue
        d = sign * (b[0] - a[0])
        se = math.hypot(a[3] or 0.0, b[3] or 0.0)
        out.append((d, d / se if se > 0 else (math.inf if d > 0 else -math.inf)))
    return out


def _verdict(ok, statement, number, why="", significant=None):
    out = {"statement": statement, "ours": number, "holds": bool(ok), "why": why}
    if significant is not None:
        out["significant"] = bool(significant)
    return out


def _paired_steps(paired, xs, stat, index, sign):
    """``(d, z)`` of consecutive points from the runner's paired differences of engine statistic ``stat`` at
    ``index`` (a shared-draw sweep: same topologies at every point), or None where the run has none."""
    for entry in paired or ():
        between = entry.get("between", [])
        if len(between) != len(xs) - 1 or not all(
                math.isclose(float(a), float(x0)) and math.isclose(float(b), float(x1))
                for (a, b), x0, x1 in zip(between, xs, xs[1:])):
            continue
        st = (entry.get("statistics") or {}).get(stat)
        if st is None or "std_err" not in st:
            return None
        out = []
        for m, se in zip(st["mean"], st["std_err"]):
            d = sign * float(np.asarray(m, dtype=float)[index])
            e = float(np.asarray(se, dtype=float)[index])
            out.append((d, d / e if e > 0 else (math.inf if d > 0 else (-math.inf if d < 0 else 0.0))))
        return out
    return None


def _monotone(pts, sign, steps=None):
    """(all changes >= 0, all z > 1.96, z-scores); ``steps`` (paired ``(d, z)``) replace the independent ones."""
    st = _steps(pts, sign) if steps is None else steps
    return (bool(st) and all(d >= 0 for d, _ in st), bool(st) and all(z > Z95 for _, z in st),
            [round(z, 2) for _, z in st])


def derive(params, x_name, xs, series, paired=None) -> dict:
    """Claim checks of MODELS.md 4(f) for the figure that was run. ``holds``: the claim holds in the means over
    topologies; ``significant``: it also holds at 95 % (CIs above/below the threshold, or z-scores of consecutive
    changes > 1.96: from the paired differences of a shared-draw sweep where ``paired`` has them, else from the
    points' standard errors combined as independent, which is conservative); ``ours`` gives the numbers as
    ``mean [95 % CI]``."""
    figure = params.get("figure")
    claims = {}
    if figure == "convergence" and x_name == "iteration":
        for csi in ("perfect", "imperfect"):
            for st in STAGES:
                tr = [v for v in _get(series, f"trace_{st}_{csi}") if v is not None]
                if len(tr) > 1:
                    mono = all(b >= a - 1e-6 for a, b in zip(tr, tr[1:]))
                    claims[f"theorem_{st}_{csi}"] = _verdict(
                        mono, "objective non-decreasing over iterations (Theorems 1-2; every topology's trace is "
                        "monotone by construction: a step is kept only if the objective does not decrease)",
                        {"trace_mean": tr[:3] + ["..."] + tr[-2:]})
        it = {f"{st}_{csi}": (_points(series, f"iters_{st}_{csi}") or [None])[0] for st in STAGES
              for csi in ("perfect", "imperfect")}
        if all(v is not None for v in it.values()):
            few = all(v[0] < 10 for v in it.values())
            few_sig = all(v[2] is not None and v[2] < 10 for v in it.values())
            fewer = all(it[f"fbr_{c}"][0] < it[f"lbr_{c}"][0] for c in ("perfect", "imperfect"))
            fewer_sig = all(it[f"lbr_{c}"][0] - it[f"fbr_{c}"][0]
                            > Z95 * math.hypot(it[f"lbr_{c}"][3] or 0, it[f"fbr_{c}"][3] or 0)
                            for c in ("perfect", "imperfect"))
            claims["F2"] = _verdict(few and fewer, "all variants converge within <10 iterations; warm-started FBR "
                                    "needs fewer iterations than LBR",
                                    {"mean_iterations": {k: _ci_text(v) for k, v in it.items()}},
                                    "" if few else f"iteration cap sca_outer = {params.get('sca_outer')} reached "
                                    "by part of the topologies", few_sig and fewer_sig)
    if figure == "users" and x_name == "user":
        for st in STAGES:
            opt, rnd = _points(series, f"users_mm_{st}"), _points(series, f"users_rnd_{st}")
            if opt and rnd and all(p is not None for p in opt + rnd):
                top_o, top_r = max(p[0] for p in opt), max(p[0] for p in rnd)
                spread_opt = (top_o - opt[0][0]) / max(top_o, 1e-12)
                spread_rnd = (top_r - rnd[0][0]) / max(top_r, 1e-12)
                # unequal random-PRE rates: weakest user's CI entirely below the strongest user's
                rnd_sig = rnd[0][2] is not None and rnd[-1][1] is not None and rnd[0][2] < rnd[-1][1]
                unequal = spread_rnd > 0.1 and spread_rnd > 2 * spread_opt  # [D] thresholds
                claims[f"F3_{st}"] = _verdict(
                    spread_opt < 0.05 and unequal,
                    "optimised PREs: near-equal per-user SRs (spread = 1 - weakest/strongest < 5 %); random PREs: "
                    "unequal (spread > 10 %) (users ranked per topology)",
                    {"relative_spread_optimised": spread_opt, "relative_spread_random": spread_rnd,
                     "optimised": [_ci_text(p) for p in opt], "random": [_ci_text(p) for p in rnd]},
                    "" if unequal else "with random PREs the W-only max-min still balances the users' rates "
                    "(M >= K beamformers)", spread_opt < 0.05 and unequal and rnd_sig)
    if figure == "pairs" and x_name == "user":
        for st in STAGES:
            out, ok = {}, True
            for p in (1, 2, 3):
                pts = [q for q in _points(series, f"users_mm_{st}_p{p}") if q is not None]
                if pts:
                    top = max(q[0] for q in pts)
                    spread = (top - pts[0][0]) / top if top > 0 else float("nan")
                    out[f"pair{p}"] = {"per_user": [_ci_text(q) for q in pts], "relative_spread": spread}
                    ok &= top > 0 and spread < 0.2
            claims[f"F4_{st}"] = _verdict(ok, "fairness kept for several (rho_U, rho_E) pairs incl. rho_E > rho_U",
                                          {"pairs": params.get("pairs"), **out})
    if figure == "jain":
        K = int(params.get("K", 4))
        j = {f"{sc}_{st}": _points(series, f"jain_{sc}_{st}") for sc in ("mm", "ssr") for st in STAGES}
        mm_ok = all(p is not None and p[0] > 0.95 for st in STAGES for p in j[f"mm_{st}"])
        mm_sig = all(p is not None and p[1] is not None and p[1] > 0.95 for st in STAGES for p in j[f"mm_{st}"])
        ssr_lower = all(a is not None and b is not None and b[0] < a[0] for st in STAGES
                        for a, b in zip(j[f"mm_{st}"], j[f"ssr_{st}"]))
        ssr_sig = all(a is not None and b is not None and b[2] is not None and a[1] is not None and b[2] < a[1]
                      for st in STAGES for a, b in zip(j[f"mm_{st}"], j[f"ssr_{st}"]))
        claims["F5"] = _verdict(mm_ok and ssr_lower, "Jain's index of max-min > 0.95 at every rho; SSR far lower "
                                f"(text: 'nearly zero'; the index of K = {K} users with any positive rate is >= 1/K)",
                                {"x": xs, **{k: [_ci_text(p) for p in v] for k, v in j.items()}},
                                "a topology with every rate clipped to 0 has J = 0 by convention [D]",
                                mm_sig and ssr_sig)
    if figure == "min":
        mm = {st: _points(series, f"mm_{st}") for st in STAGES}
        gap = _points(series, "gap_lbr_fbr_mm")
        ssr_gap = {st: _points(series, f"gap_mm_ssr_{st}") for st in STAGES}
        if not any(gap):  # results without the paired series: differences of means (no uncertainty)
            gap = [None if a is None or b is None else (a[0] - b[0], None, None, None)
                   for a, b in zip(mm["lbr"], mm["fbr"])]
        for st in STAGES:
            if not any(ssr_gap[st]):
                ssr_gap[st] = [None if a is None or b is None else (a[0] - b[0], None, None, None)
                               for a, b in zip(mm[st], _points(series, f"ssr_{st}"))]
        means = {f"mm_{st}": [_ci_text(p) for p in mm[st]] for st in STAGES}
        if x_name == "rho_U":
            pos = all(p is not None and p[0] > 0 for p in mm["fbr"])
            pos_sig = all(p is not None and p[1] is not None and p[1] > 0 for p in mm["fbr"])
            vals = [p[0] for p in mm["fbr"] if p is not None]
            flat = pos and min(vals) > 0.8 * max(vals)
            fbr_le = all(p is not None and p[0] >= -1e-9 for p in gap)
            # SSR lower wherever max-min is positive (both are 0 where the errors leave no secrecy)
            live = {st: [q is not None and q[0] > 1e-3 for q in mm[st]] for st in STAGES}
            ssr_lower = all(p is not None and (p[0] > 0 if a else p[0] >= -1e-9) for st in STAGES
                            for p, a in zip(ssr_gap[st], live[st]))
            ssr_sig = all(p is not None and (not a or (p[1] is not None and p[1] > 0)) for st in STAGES
                          for p, a in zip(ssr_gap[st], live[st]))
            claims["F6"] = _verdict(pos and flat and fbr_le and ssr_lower,
                                    "max-min min-SR positive and nearly flat in rho; FBR <= LBR; SSR min-SR lower "
                                    "where max-min is positive (the text's 'higher' is a typo for 'lower')",
                                    {"x": xs, **means, "lbr_minus_fbr": [_ci_text(p) for p in gap],
                                     **{f"mm_minus_ssr_{st}": [_ci_text(p) for p in ssr_gap[st]] for st in STAGES},
                                     "positive": pos, "nearly_flat (min >= 0.8 max)": flat, "fbr_le_lbr": fbr_le,
                                     "ssr_lower": ssr_lower},
                                    "" if flat else "the conservative worst case loses min SR as rho grows",
                                    pos_sig and flat and ssr_sig)
        mm_fbr = (0, SCHEMES.index("mm"), 1)  # min_sr index of max-min FBR: (CSI pair 0, scheme, stage FBR)
        if x_name == "K":
            steps = _paired_steps(paired, xs, "min_sr", mm_fbr, -1.0)
            z_basis = "independent" if steps is None else "paired"
            dec, dec_sig, z = _monotone(mm["fbr"], -1.0, steps)
            vals = [p[0] for p in mm["fbr"] if p is not None]
            near0 = bool(vals) and vals[-1] < 0.25 * max(vals)
            claims["F7"] = _verdict(dec and near0, "min-SR decreases with K; FBR approaches 0 at the largest K",
                                    {"x": xs, **means, "z_of_decreases": z, "z_basis": z_basis,
                                     "last_over_max": vals[-1] / max(vals) if vals and max(vals) > 0 else None},
                                    "", dec_sig and near0)
        if x_name == "t":
            steps = _paired_steps(paired, xs, "min_sr", mm_fbr, 1.0)
            z_basis = "independent" if steps is None else "paired"
            inc, inc_sig, z = _monotone(mm["fbr"], 1.0, steps)
            below = all(p is not None and p[0] > 0 for p in gap)
            below_sig = all(p is not None and p[1] is not None and p[1] > 0 for p in gap)
            closing = bool(gap) and gap[0] is not None and gap[-1] is not None and gap[-1][0] < gap[0][0]
            closing_sig = closing and (gap[0][0] - gap[-1][0]) > Z95 * math.hypot(gap[0][3] or 0, gap[-1][3] or 0)
            first = mm["fbr"][0] if mm["fbr"] else None
            pos = first is not None and first[0] > 0
            pos_sig = first is not None and first[1] is not None and first[1] > 0
            claims["F8"] = _verdict(inc and below and pos and closing,
                                    "min-SR increases with t; FBR < LBR and -> LBR as t grows; positive at small t",
                                    {"x": xs, **means, "lbr_minus_fbr": [_ci_text(p) for p in gap],
                                     "z_of_increases": z, "z_basis": z_basis}, "",
                                    inc_sig and below_sig and closing_sig and pos_sig)
        ok = _points(series, "robust_ok_mm_fbr")
        if any(p is not None for p in ok):
            nom = _points(series, "robust_ok_nominal_fbr")
            claims["robust_check"] = _verdict(
                all(p is None or p[0] >= 1.0 for p in ok),
                "every robust max-min design's adversarial worst case >= its claim (1e-3 bit float32 tolerance)",
                {"x": xs, "fraction_ok": [_ci_text(p) for p in ok],
                 "worst_case_mm_fbr": [_ci_text(p) for p in _points(series, "mm_fbr_worst")],
                 "perfect_csi_design_fraction_ok": [_ci_text(p) for p in nom] if any(nom) else None,
                 "perfect_csi_design_worst_case": [_ci_text(p) for p in _points(series, "mm_fbr_nominal_worst")]
                 if any(nom) else None})
    return {"claims": claims} if claims else {}


SCENARIO = Scenario(
    name="fbr-maxmin",
    description="max-min finite-blocklength secrecy for every user, IRS MISO downlink, perfect/imperfect CSI "
                "(SCA minorisers vs gradient, SSR and random-PRE baselines, adversarial worst case)",
    params=PARAMS,
    sweep="rho_U",
    sweep_values=(0.0, 0.02),
    series=SERIES,
    panels={"min_sr": Panel("minimum secrecy rate [bit/s/Hz]"), "robust": Panel("worst case >= claim (fraction)"),
            "jain": Panel("Jain's fairness index"), "users": Panel("secrecy rate of the user [bit/s/Hz]"),
            "trace": Panel("SCA objective min_k R_k [bit/s/Hz]"),
            "gap": Panel("paired min-SR gap [bit/s/Hz]"), "iters": Panel("iterations to converge")},
    point=point,
    default_samples=8,
    derive=derive,
    presets={
        "fig2": {"figure": "convergence", "iteration": "0:10:1", "rho_U": "0.02"},
        "fig3": {"figure": "users", "user": "1:4:1", "rho_U": "0"},
        "fig4": {"figure": "pairs", "user": "1:4:1"},
        "fig5": {"figure": "jain", "rho_U": "0,0.005,0.01,0.02,0.05,0.1,0.2,0.3"},
        "fig6": {"figure": "min", "rho_U": "0,0.005,0.01,0.02,0.05,0.1,0.2,0.3", "nominal": "true"},
        "fig7": {"figure": "min", "K": "2:8:1", "adversarial": "false"},
        "fig8": {"figure": "min", "t": "0.02,0.05,0.1,0.2,0.5,1.0", "adversarial": "false"},
    },
    x_label=None,
    shared_draws=("iteration", "user", "t", "P_dBm", "N0_dBm_Hz", "epsilon", "delta", "rho_U", "rho_E"),
)

"""``irsjax run maxmin-two-way``: max-min secrecy fairness for IRS-assisted two-way pairs (MODELS.md section 2).

Per channel realisation (``ctx.estimate`` averages over realisations of the
*optimised* minimum secrecy rate), everything jit-compiled and vmapped:

* ``proposed_gradient``: alternating optimisation (``optim.ao``) of an FP power
  step (quadratic transform, ``optim.fp``) and a Riemannian phase step on the
  raw objective ``min_n R_s,n`` (soft-min annealed 1 -> 0.1 -> 0.01 bit -> exact,
  ``optim.annealed_maximize_phases``), from ``p = P_max`` and ``ao_starts`` (8) phase starts --
  random phases, one co-phased start per pair, one per user's link to E, then random -- keeping the best;
* ``sdr_sca``: the paper's Algorithm 1 rebuilt in JAX -- same FP power step, phase
  step = SCA (tangent of ``S_n`` in the lifted ``Vbar``, eq. 2.6-2.7, trust
  region off as in the authors' code) with each SDP solved by Burer-Monteiro
  ascent over ``{Vbar >= 0, diag = 1}`` (``optim.sdr``), then Gaussian
  randomisation (``Q_G`` draws + principal eigenvector);
* baselines (Fig. 5): random phases with all powers ``P_max`` / ``P_min``,
  random phases + FP power (``random_fp``: the baseline of the quoted gains),
  no IRS with ``P_max`` / ``P_min`` / FP powers.

Convergence (Figs. 3-4) comes out as derived per-point means: the FP
fractional increase per sub-iteration on random phases (``fp_frac_i``), the
SCA phase step's fractional increase per sub-iteration at ``p = P_max``
(``sca_frac_t``, with ``trace=true``) and the outer AO fractional increase of both pipelines
(``ao_frac_i``, ``sdr_ao_frac_i``). ``derived.gains`` gives the gain over
``random_fp`` per L next to the paper's value at L = 40.
"""
from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

import optim
from optim import fp as fp_mod
from optim import sca as sca_mod
from optim import sdr as sdr_mod
from optim.phases import PhaseOptions
from irsjax.config import config, static
from irsjax.scenario import Panel, Param, PointResult, Scenario, Series
from irsjax.systems.maxmin_two_way import CONFIGS, IRS_LINKS, PAPER_GAINS, MaxminTwoWayConfig
from irsjax.units import LN2

NUM_FP_TRACE = 10


@config
class MaxminTwoWayRealisation:
    """Per-realisation Monte Carlo function (a pytree: the algorithm settings are static, the system's
    floats are leaves, so one compilation per L and settings).

    ``__call__(key, positions)`` with ``positions`` = users, E, IRS (traced, so
    the four configurations share one compilation).
    """

    system: MaxminTwoWayConfig
    outer_iters: int = static(4)
    fp_iters: int = static(25)
    fp_inner: int = static(40)
    phase_iters: int = static(60)
    restarts: int = static(2)
    ao_starts: int = static(8)
    temperatures: tuple = static((1.0, 0.1, 0.01, 0.0))
    sca_iters: int = static(8)
    bm_iters: int = static(30)
    draws: int = static(100)
    sdr: bool = static(True)
    trace: bool = static(False)
    tol: float = static(1e-3)

    # ----- building blocks -----------------------------------------------------------
    def objective(self, ch, v, p):
        """``min_n R_s,n`` un-clipped (bits)."""
        s = self.system
        return jnp.min(s.pair_rates(s.gains(ch, v), p)["R_s"])

    def power_step(self, ch, v, p, num_iters=None):
        s = self.system
        G = s.gains(ch, v)
        return fp_mod.power_control(s.fp_ratios(G), p, s.p_min, s.p_max, offsets=jnp.asarray(s.FP_OFFSETS, p.dtype),
                                    num_iters=self.fp_iters if num_iters is None else num_iters,
                                    inner_steps=self.fp_inner, tol=self.tol)

    def gradient_phase_step(self, ch, key, v, p):
        s = self.system

        def obj(w, tau, pp):
            return optim.soft_min(s.pair_rates(s.gains(ch, w), pp)["R_s"], tau)

        opts = PhaseOptions(num_restarts=self.restarts, max_iters=self.phase_iters, tol=1e-6)
        return optim.annealed_maximize_phases(obj, key, s.L, self.temperatures, args=(p,), init=v, options=opts)

    def _qs(self, G, p):
        """``(Q_n, S_n)`` of eq. (2.6) in nats as functions of the gain matrix (affine in Vbar)."""
        s = self.system
        sig, den, leak, eden = s._terms(G, p)
        q = jnp.log(den[0::2] + sig[0::2]) + jnp.log(den[1::2] + sig[1::2]) + jnp.log(eden)
        sn = jnp.log(den[0::2]) + jnp.log(den[1::2]) + jnp.log(eden + leak)
        return q, sn

    def sca_phase_step(self, ch, key, v, p):
        """SCA + SDR (Burer-Monteiro) + Gaussian randomisation; returns (v, relaxed history)."""
        s = self.system
        n = s.L + 1
        r = sdr_mod.default_rank(n)
        vbar = jnp.concatenate([v, jnp.ones((1,), v.dtype)])
        U0 = jnp.zeros((n, r), v.dtype).at[:, 0].set(vbar)
        relaxed = lambda U: jnp.min(jnp.subtract(*self._qs(s.gains_lifted(ch, U), p))) / LN2
        opts = PhaseOptions(method="oblique", num_restarts=1, max_iters=self.bm_iters, tol=1e-6)
        k_bm, k_gr = jax.random.split(key)

        def sub_iter(c, k):
            U, f_old = c
            Gt = s.gains_lifted(ch, U)
            s_lin = sca_mod.tangent(lambda G: self._qs(G, p)[1], Gt)

            def minorizer(W):
                G = s.gains_lifted(ch, W)
                return optim.soft_min((self._qs(G, p)[0] - s_lin(G)) / LN2, 0.01)

            res = sdr_mod.maximize_elliptope(minorizer, k, n, rank=r, init=U, options=opts)
            f_new = relaxed(res.phases)
            ok = jnp.isfinite(f_new) & (f_new >= f_old)
            U = jnp.where(ok, res.phases, U)
            f = jnp.where(ok, f_new, f_old)
            return (U, f), f

        f0 = relaxed(U0)
        (U, _), hist = jax.lax.scan(sub_iter, (U0, f0), jax.random.split(k_bm, self.sca_iters))
        v_new, _ = sdr_mod.gaussian_randomization(k_gr, U, lambda w: self.objective(ch, w, p), num_draws=self.draws)
        return v_new, jnp.concatenate([f0[None], hist])

    def _ao(self, ch, key, v0, p0, phase_step):
        def power(st):
            v, p, k = st
            return (v, self.power_step(ch, v, p).p, k)

        def phase(st):
            v, p, k = st
            k, kk = jax.random.split(k)
            return (phase_step(ch, kk, v, p), p, k)

        obj = lambda st: self.objective(ch, st[0], st[1])
        return optim.alternate((power, phase), (v0, p0, key), obj, num_outer=self.outer_iters, tol=self.tol)

    @staticmethod
    def structured_starts(ch):
        """Phase vectors that favour one link each: ``N`` co-phase a pair's A-B cascade with its direct link,
        ``2N`` anti-phase a user's cascade to E against its direct link; ``(3N, L)``."""
        c, d = ch.cascade, ch.direct
        M = c.shape[0]
        U = M - 1
        rows = [(2 * n, 2 * n + 1, 0.0) for n in range(U // 2)] + [(u, M - 1, jnp.pi) for u in range(U)]
        ph = jnp.stack([jnp.angle(c[x, y]) - jnp.angle(d[x, y]) + sh for x, y, sh in rows])
        return jax.lax.complex(jnp.cos(ph), jnp.sin(ph))

    def _ao_starts(self, ch, key, v0, p0):
        """The gradient AO from ``ao_starts`` phase vectors, stacked: ``v0`` first (exactly the single-start
        run), then :meth:`structured_starts`, then random points."""
        step = lambda c, k, v, p: self.gradient_phase_step(c, k, v, p).phases
        res = self._ao(ch, key, v0, p0, step)
        if self.ao_starts == 1:
            return jax.tree.map(lambda a: a[None], res)
        n = self.ao_starts - 1
        k_v, k_a = jax.random.split(jax.random.fold_in(key, 1))
        starts = self.structured_starts(ch)[:n]
        if starts.shape[0] < n:
            rand = jax.vmap(lambda k: optim.manifold.random_point(k, v0.shape, dtype=v0.dtype))(
                jax.random.split(k_v, n - starts.shape[0]))
            starts = jnp.concatenate([starts, rand])
        more = jax.vmap(lambda v, k: self._ao(ch, k, v, p0, step))(starts, jax.random.split(k_a, n))
        return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), res, more)

    def _best_of_starts(self, ch, key, v0, p0):
        """The best of :meth:`_ao_starts`. The objective has many local maxima: in C4 at L = 40 (16
        realisations, seed 733003) one random start reaches 1.23 bit on average, the best of 8 random starts
        2.22, of 24 random starts 2.73, of the 6 structured starts 2.59 (the A1-B1 co-phase start alone 2.33).
        Start 0 is the single-start run, so more starts never give less."""
        return self.pick_best(self._ao_starts(ch, key, v0, p0))

    @staticmethod
    def pick_best(runs):
        """The run of a stacked AO result with the largest finite value."""
        best = jnp.argmax(jnp.where(jnp.isfinite(runs.value), runs.value, -jnp.inf))
        return jax.tree.map(lambda a: a[best], runs)

    # ----- one realisation ---------------------------------------------------------------
    def __call__(self, key, positions):
        s = self.system
        k_ch, k_v, k_alg, k_sdr, k_sca = jax.random.split(key, 5)
        ch = s.sample(k_ch, positions)
        cd = ch.direct.dtype
        rd = jnp.real(ch.direct).dtype
        U = 2 * s.N
        pmax = jnp.full((U,), s.p_max, rd)
        pmin = jnp.full((U,), s.p_min, rd)
        clip = lambda x: jnp.maximum(x, 0.0)
        out = {}
        # no IRS (direct links only)
        no = ch._replace(cascade=ch.cascade[..., :0])
        v_none = jnp.zeros((0,), cd)
        fp_no = self.power_step(no, v_none, pmax)
        out["no_irs_pmax"] = clip(self.objective(no, v_none, pmax))
        out["no_irs_pmin"] = clip(self.objective(no, v_none, pmin))
        out["no_irs_fp"] = clip(fp_no.value / LN2)
        if s.L == 0:
            v_r = v_none
            fp_r = fp_no
        else:
            v_r = optim.manifold.random_point(k_v, (s.L,), dtype=cd)
            fp_r = self.power_step(ch, v_r, pmax)
        out["random_pmax"] = clip(self.objective(ch, v_r, pmax))
        out["random_pmin"] = clip(self.objective(ch, v_r, pmin))
        out["random_fp"] = clip(fp_r.value / LN2)
        hist = fp_r.history
        frac = optim.fractional_increase(hist[1:], hist[:-1])
        out["fp_frac"] = frac[:min(NUM_FP_TRACE, self.fp_iters)]  # a trace: one statistic per sub-iteration
        if s.L == 0:
            out["proposed_gradient"] = out["no_irs_fp"]
            if self.sdr:
                out["sdr_sca"] = out["no_irs_fp"]
            return out
        res = self._best_of_starts(ch, k_alg, v_r, pmax)
        out["proposed_gradient"] = clip(res.value)
        out["ao_frac"] = res.frac_increase[:self.outer_iters]
        if self.sdr:
            res_s = self._ao(ch, k_sdr, v_r, pmax, lambda c, k, v, p: self.sca_phase_step(c, k, v, p)[0])
            out["sdr_sca"] = clip(res_s.value)
            out["sdr_ao_frac"] = res_s.frac_increase[:self.outer_iters]
            if self.trace:  # Fig. 4a: SCA sub-iterations at p = P_max from random phases
                _, h = self.sca_phase_step(ch, k_sca, v_r, pmax)
                out["sca_frac"] = optim.fractional_increase(h[1:], h[:-1])[:self.sca_iters]
        return out


SYSTEM_PARAMS = (  # the physical system (shared with scenarios.maxmin_fp_convergence)
    Param("config", "C1", "", "user configuration of Table I (E and IRS positions)", kind=str,
          choices=tuple(sorted(CONFIGS)), sweepable=False),
    Param("kappa_assignment", "code", "", "Rician factor on direct links (code) or on IRS hops (text)", kind=str,
          choices=("code", "text"), sweepable=False),
    Param("irs_links", "shared", "", "IRS hops: one channel per node (shared) or drawn afresh per node pair "
          "(independent, as in the authors' code)", kind=str, choices=IRS_LINKS, sweepable=False),
    Param("kappa", 8.0, "", "Rician K-factor (linear)", minimum=0.0, maximum=1e6),
    Param("Pmax_dBm", 15.0, "dBm", "maximum transmit power per user", minimum=-100.0, maximum=100.0),
    Param("Pmin_dBm", 0.0, "dBm", "minimum transmit power per user", minimum=-100.0, maximum=100.0),
    Param("noise_dBm", -105.0, "dBm", "noise power at users and at E", minimum=-250.0, maximum=100.0),
    Param("loop_dBm", -100.0, "dBm", "residual loop-interference power (full duplex)", minimum=-250.0, maximum=100.0),
)

PARAMS = (
    Param("L", 40, "elements", "number of IRS elements", kind=int, minimum=0, maximum=1024),
    *SYSTEM_PARAMS,
    Param("outer_iters", 4, "", "outer AO iterations", kind=int, minimum=1, maximum=100, sweepable=False),
    Param("fp_iters", 25, "", "FP power sub-iterations per outer iteration", kind=int, minimum=1, maximum=500,
          sweepable=False),
    Param("ao_starts", 8, "", "phase starts of the gradient AO: random, then per-link structured ones, then "
          "random (the best run is kept; 1 = a single random start)",
          kind=int, minimum=1, maximum=256, sweepable=False),
    Param("phase_iters", 60, "", "Riemannian iterations per annealing stage (gradient method)", kind=int, minimum=1,
          maximum=10000, sweepable=False),
    Param("sca_iters", 8, "", "SCA sub-iterations of the SDR phase step", kind=int, minimum=1, maximum=100,
          sweepable=False),
    Param("sdr", True, "", "also run the JAX SDR/SCA pipeline of the paper", kind=bool, sweepable=False),
    Param("trace", False, "", "also record the SCA phase step's sub-iteration convergence at p = P_max (Fig. 4a)",
          kind=bool, sweepable=False),
)


def realisation(params) -> MaxminTwoWayRealisation:
    """Validated per-realisation function from scenario parameters."""
    if params["Pmin_dBm"] > params["Pmax_dBm"]:
        from irsjax.scenario import ParameterError

        raise ParameterError(f"Pmin_dBm ({params['Pmin_dBm']}) must be <= Pmax_dBm ({params['Pmax_dBm']})")
    system = MaxminTwoWayConfig(L=int(params["L"]), config=str(params["config"]),
                                kappa_assignment=str(params["kappa_assignment"]), kappa=float(params["kappa"]),
                                irs_links=str(params["irs_links"]), noise_dBm=float(params["noise_dBm"]),
                                eve_noise_dBm=float(params["noise_dBm"]),
                                loop_dBm=float(params["loop_dBm"]), Pmax_dBm=float(params["Pmax_dBm"]),
                                Pmin_dBm=float(params["Pmin_dBm"]))
    # config is traced through `positions`: compile once per L for all four configurations
    base = MaxminTwoWayConfig(L=system.L, kappa_assignment=system.kappa_assignment, kappa=system.kappa,
                              irs_links=system.irs_links,
                              noise_dBm=system.noise_dBm, eve_noise_dBm=system.eve_noise_dBm,
                              loop_dBm=system.loop_dBm, Pmax_dBm=system.Pmax_dBm, Pmin_dBm=system.Pmin_dBm)
    return MaxminTwoWayRealisation(base, outer_iters=int(params["outer_iters"]), fp_iters=int(params["fp_iters"]),
                                   ao_starts=int(params["ao_starts"]),
                                   phase_iters=int(params["phase_iters"]), sca_iters=int(params["sca_iters"]),
                                   sdr=bool(params["sdr"]), trace=bool(params["trace"])), system


SERIES_LABELS = ("proposed_gradient", "sdr_sca", "random_fp", "random_pmax", "random_pmin", "no_irs_fp",
                 "no_irs_pmax", "no_irs_pmin")


def point(ctx, params) -> PointResult:
    fn, system = realisation(params)
    pos = np.asarray(system.positions(), np.float32)
    # one block per batch: the optimiser is costly per realisation (--batch-size takes precedence)
    est = ctx.estimate(fn, args=(pos,), batch_size=256)
    values = {k: est[k] for k in SERIES_LABELS if k in est}
    if "sdr_sca" not in values:
        values["sdr_sca"] = float("nan")
    extras = {}
    for k, v in est.items():  # traces (fp_frac, ao_frac, ...) -> fp_frac_1, fp_frac_2, ... in derived.per_point
        if k in SERIES_LABELS:
            continue
        if v.shape:
            extras.update({f"{k}_{i + 1}": float(m) for i, m in enumerate(np.ravel(v.mean))})
        else:
            extras[k] = v.mean
    base = est["random_fp"].mean
    for k in ("proposed_gradient", "sdr_sca"):
        if k in est:
            extras[f"gain_{k}_vs_random_fp"] = (est[k].mean - base) / base if base > 0 else float("nan")
    return PointResult(values=values, extras=extras)


def derive(params, x_name, xs, series):
    out = {}
    cfg = params.get("config")
    if isinstance(cfg, str):
        base = series["random_fp"]["mean"]
        gains = {}
        for k in ("proposed_gradient", "sdr_sca"):
            m = series[k]["mean"]
            gains[k] = [((a - b) / b if (b and b > 0 and a == a) else None) for a, b in zip(m, base)]
        out["gains_vs_random_fp"] = {"x": list(xs), **gains, "paper_at_L40": PAPER_GAINS[cfg],
                                     "at_last_x": {k: g[-1] for k, g in gains.items()}}
    return out


SCENARIO = Scenario(
    name="maxmin-two-way",
    description="max-min secrecy fairness, IRS two-way pairs + malicious user: gradient AO vs JAX SDR/SCA vs baselines",
    params=PARAMS,
    sweep="L",
    sweep_values=tuple(range(0, 41, 5)),
    series=tuple(Series(k, "msr", description=d) for k, d in (
        ("proposed_gradient", "AO: FP power + Riemannian phase ascent"),
        ("sdr_sca", "AO: FP power + SCA/SDR (Burer-Monteiro) + Gaussian randomisation"),
        ("random_fp", "random phases + FP power (baseline of the quoted gains)"),
        ("random_pmax", "random phases, all powers P_max"),
        ("random_pmin", "random phases, all powers P_min"),
        ("no_irs_fp", "no IRS, FP power"),
        ("no_irs_pmax", "no IRS, P_max"),
        ("no_irs_pmin", "no IRS, P_min"),
    )),
    panels={"msr": Panel("minimum secrecy rate [bit/s/Hz]")},
    point=point,
    default_samples=110,
    derive=derive,
    presets={
        "fig5_C1": {"config": "C1", "L": "0:40:5"},
        "fig5_C2": {"config": "C2", "L": "0:40:5"},
        "fig5_C3": {"config": "C3", "L": "0:40:5"},
        "fig5_C4": {"config": "C4", "L": "0:40:5"},
        "convergence": {"config": "C1", "L": "10,20,30,40", "trace": "true", "outer_iters": "6"},
    },
    x_label="number of IRS elements L",
)

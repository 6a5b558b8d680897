"""RIS opportunistic scheduling system model and its Monte Carlo estimators (irsjax.systems.scheduling).

Orderings are checked in the *full* model (one S-RIS channel shared by every user and
eavesdropper); the conditional estimator is checked against plain Monte Carlo where both
resolve the SOP and, at the rare-event point N=64, K=4, L=1, rho=120 dB (SOP ~1e-7), for its
relative error.
"""
import math

import numpy as np
import pytest
import jax
import jax.numpy as jnp

from irsjax import montecarlo
from irsjax.analysis import scheduling as an
from irsjax.config import replace
from irsjax.systems import scheduling as sched
from irsjax.systems.scheduling import RelaySystem, SchedulingGeometry, SchedulingSystem

GEO = SchedulingGeometry()
PROBS = ("out_SE", "out_ME", "out_SS", "out_OS", "out_NOMA")


def snrs64(rho_db, geo=GEO):
    """Per-element mean cascade SNRs in float64 (Python floats) for the closed forms."""
    with jax.enable_x64(True):
        return tuple(float(v) for v in geo.cascade_snr(rho_db))


def close(a, b, k=4.0):
    """Two independent-or-not estimates agree within k combined standard errors."""
    return abs(a.mean - b.mean) <= k * math.hypot(a.std_err, b.std_err) + 1e-12


@pytest.fixture(scope="module")
def full_est():
    """Full model, N=16, K=4, L=2 at rho = 125 dB (SOPs ~1e-3..1e-1)."""
    cfg = SchedulingSystem(N=16, K=4, L=2, rho_dB=125.0)
    return montecarlo.estimate(cfg, jax.random.key(7), 2**16, probabilities=PROBS)


def test_geometry_path_losses_follow_eq_0_1():
    lam = 299_792_458.0 / 2.4e9
    d_sr, d_ru, d_re = math.hypot(10, 10), math.hypot(50, 30), math.hypot(30, 60)
    pl = lambda d2, cr: (4 * math.pi) ** 2 * d_sr**2 * d2**2 / ((lam / 2) ** 4 * (10 / d_sr) * cr)
    with jax.enable_x64(True):  # float64 on request
        pl_su, pl_se = (float(v) for v in GEO.ris_path_loss())
        g28 = SchedulingGeometry(f_GHz=28.0)
        assert float(g28.ris_path_loss()[0]) / pl_su == pytest.approx((28 / 2.4) ** 4, rel=1e-9)
        assert float(g28.relay_path_loss()[0] / GEO.relay_path_loss()[0]) == pytest.approx((28 / 2.4) ** 2, rel=1e-9)
        su, su_db = float(GEO.cascade_snr(120.0)[0]), float(GEO.cascade_snr_db(120.0)[0])
        c = float(GEO.high_snr_c(1.0))
    assert pl_su == pytest.approx(pl(d_ru, 30 / d_ru), rel=1e-12)
    assert pl_se == pytest.approx(pl(d_re, 60 / d_re), rel=1e-12)
    assert 10 * math.log10(su) == pytest.approx(su_db, abs=1e-9)
    # MODELS.md (5.12): c = d_RE^2 cos(theta_rU) / (v d_RU^2 cos(theta_rE))
    assert c == pytest.approx(d_re**2 * (30 / d_ru) / (2 * d_ru**2 * (60 / d_re)), rel=1e-12)
    # float32 by default, to float32 rounding
    pl32 = GEO.ris_path_loss()
    assert pl32[0].dtype == jnp.float32 and float(pl32[0]) == pytest.approx(pl_su, rel=1e-6)
    with pytest.raises(ValueError, match="y_E"):
        SchedulingGeometry(y_E=0.0)
    with pytest.raises(ValueError, match="f_GHz"):
        SchedulingGeometry(f_GHz=float("nan"))
    with pytest.raises(ValueError, match="N"):
        SchedulingSystem(N=0)
    with pytest.raises(ValueError, match="links"):
        SchedulingSystem(links="shared")
    with pytest.raises(ValueError, match="R_th"):
        RelaySystem(R_th=0.0)
    with pytest.raises(ValueError, match="geometry"):
        SchedulingSystem(geometry=(0.0, 10.0))
    with pytest.raises(ValueError, match="rng must be one of"):
        SchedulingSystem(rng="mt19937")


def test_conditional_agrees_with_plain_and_orderings(full_est):
    e = full_est
    # pointwise orderings (hence exact for the sample means): OS outage => SS outage; SE outage => ME outage
    assert e["out_OS"].events <= e["out_SS"].events and e["out_SE"].events <= e["out_ME"].events
    for s in ("SE", "ME", "SS"):
        assert close(e[f"out_{s}"], e[f"log_cond_{s}"]), s
        assert e[f"log_cond_{s}"].variance < e[f"out_{s}"].variance  # variance reduction > 1
    assert e["out_OS"].mean <= e["out_SS"].mean <= e["log_cond_ME"].mean
    assert e["log_cond_SE"].mean < e["log_cond_ME"].mean
    assert e["out_OS"].mean < 0.5 * e["out_SS"].mean
    # NOMA pair scheduling is worse than SS (Fig. 3)
    assert e["out_NOMA"].mean >= e["out_SS"].mean - 3 * e["out_SS"].std_err
    # the fast magnitude-only estimator has the same law as the full model's cond_*
    lean = montecarlo.estimate(SchedulingSystem(N=16, K=4, L=2, rho_dB=125.0, conditional_only=True),
                               jax.random.key(8), 2**16)
    for s in ("SE", "ME", "SS"):
        assert close(lean[f"log_cond_{s}"], e[f"log_cond_{s}"]), s


def test_sop_saturates_increases_with_L_and_decreases_with_N():
    def cond(N, L, rho):
        cfg = SchedulingSystem(N=N, K=4, L=L, rho_dB=rho, conditional_only=True)
        return montecarlo.estimate(cfg, jax.random.key(11), 2**15)

    sat = [cond(16, 2, r) for r in (110.0, 160.0, 200.0)]
    ss = [e["log_cond_SS"].mean for e in sat]
    # saturation: 160 and 200 dB agree (common random numbers), far below the 110 dB value
    assert ss[2] == pytest.approx(ss[1], rel=0.01) and ss[2] < 0.8 * ss[0]
    # single user: 1 eavesdropper (SE) < 2 eavesdroppers (ME) < SS is better than both
    assert sat[1]["log_cond_SS"].mean < sat[1]["log_cond_SE"].mean < sat[1]["log_cond_ME"].mean
    l3 = cond(16, 3, 160.0)["log_cond_SS"]
    assert l3.mean > ss[1] + 4 * l3.std_err
    n32 = cond(32, 2, 160.0)["log_cond_SS"]
    assert n32.mean < 0.2 * ss[1]


def test_rare_event_conditional_estimator_small():
    """N=64, K=4, L=1, rho=120 dB: SOP ~1e-7 resolved to <5 % from 2^16 realisations."""
    cfg = SchedulingSystem(N=64, K=4, L=1, rho_dB=120.0, conditional_only=True)
    e = montecarlo.estimate(cfg, jax.random.key(5), 2**16)["log_cond_SS"]
    p = e.mean
    assert 2e-8 < p < 5e-7
    assert e.rel_error < 0.05
    vr = p * (1 - p) / e.variance  # plain-MC indicator variance / conditional variance
    assert vr > 1e4


def test_independent_links_separate_clt_error_from_shared_link_correlation():
    """OS with several users: the independent-links MC is close to (5.10); the full model is not."""
    N, K, L, rho = 16, 4, 2, 130.0
    full = montecarlo.estimate(SchedulingSystem(N=N, K=K, L=L, rho_dB=rho), jax.random.key(1), 2**16,
                               probabilities=PROBS)
    ind = montecarlo.estimate(SchedulingSystem(N=N, K=K, L=L, rho_dB=rho, links="independent",
                                               conditional_only=True), jax.random.key(1), 2**16)
    su, se = snrs64(rho)
    with jax.enable_x64(True):
        os_an = float(an.sop_os(N, K, L, su, se, 1.0))
        me_an = float(an.sop_ss(N, 1, L, su, se, 1.0))
    assert ind["log_cond_OS"].mean == pytest.approx(os_an, rel=0.25)
    assert full["out_OS"].mean > 1.5 * os_an  # shared S-RIS link: users' secrecy rates correlated
    assert ind["log_cond_ME"].mean == pytest.approx(me_an, rel=0.05)  # single user: CLT error only


def test_relay_monte_carlo_matches_closed_forms():
    cfg = RelaySystem(K=4, L=2, rho_dB=100.0)
    e = montecarlo.estimate(cfg, jax.random.key(2), 2**16, probabilities=("out_DL", "out_NDL"))
    with jax.enable_x64(True):
        a, b, c, lr = (float(v) for v in cfg.snrs())
        dl = float(an.sop_relay_dl(a, b, c, lr, 4, 2, 1.0))
        ndl = float(an.sop_relay_ndl(a, b, lr, 4, 2, 1.0))
    assert abs(e["log_cond_DL"].mean - dl) < 4 * e["log_cond_DL"].std_err + 1e-6
    assert abs(e["log_cond_NDL"].mean - ndl) < 4 * e["log_cond_NDL"].std_err + 1e-6
    assert abs(e["out_DL"].mean - dl) < 4 * e["out_DL"].std_err
    assert abs(e["out_NDL"].mean - ndl) < 4 * e["out_NDL"].std_err


def test_conditional_sop_gradient_matches_central_differences():
    """Pathwise gradient (montecarlo.mean, common random numbers) of the conditional SS SOP with respect to the
    RIS position, a user and an eavesdropper coordinate and the frequency equals the central finite difference
    of the same Monte Carlo mean (same key), in float64; finite (zero) where the outage is certain."""
    with jax.enable_x64(True):
        key = jax.random.key(3)
        cfg = SchedulingSystem(N=16, K=4, L=2, rho_dB=115.0, conditional_only=True)
        vg = jax.jit(jax.value_and_grad(
            lambda c: jnp.exp(montecarlo.mean(c, key, 4096, statistics=("log_cond_SS",))["log_cond_SS"])))
        p0, g = vg(cfg)
        assert 1e-3 < float(p0) < 0.5
        for name, h in (("x_R", 1e-3), ("x_E", 1e-3), ("y_U", 1e-3), ("f_GHz", 1e-5)):
            at = lambda v, name=name: replace(cfg, geometry=replace(cfg.geometry, **{name: v}))
            x = getattr(cfg.geometry, name)
            fd = (float(vg(at(x + h))[0]) - float(vg(at(x - h))[0])) / (2 * h)
            assert float(getattr(g.geometry, name)) == pytest.approx(fd, rel=1e-6), name
        assert float(g.geometry.x_E) < 0  # eavesdroppers moving away from the RIS (x_R = 10 < x_E) lower the SOP
        assert float(g.rho_dB) < 0
        # 60 dB: every realisation is in certain outage (p = 1, log1p(-1) = -inf): the gradient is 0, not NaN
        p60, g60 = vg(replace(cfg, rho_dB=60.0))
        assert float(p60) == pytest.approx(1.0, abs=1e-12)  # log-sum-exp of n zeros minus log n
        assert all(np.isfinite(float(v)) for v in jax.tree_util.tree_leaves(g60)) and float(g60.geometry.x_R) == 0.0


@pytest.mark.slow
def test_rare_event_conditional_estimator_full_size():
    """Full model, 10^7 realisations at N=64, K=4, L=1, rho=120 dB (SOP ~1e-7)."""
    cfg = SchedulingSystem(N=64, K=4, L=1, rho_dB=120.0, noma=False)
    n = 10**7
    e = montecarlo.estimate(cfg, jax.random.key(123), n, probabilities=("out_SE", "out_ME", "out_SS", "out_OS"))
    c, plain = e["log_cond_SS"], e["out_SS"]
    assert 2e-8 < c.mean < 5e-7 and c.rel_error < 0.05
    # plain MC sees a handful of events at most: consistent with Poisson(n p)
    lam = n * c.mean
    assert plain.events <= lam + 5 * math.sqrt(lam) + 5
    # where plain MC resolves the SOP (single user, ~2.5e-6 -> ~25 events) the two agree
    assert close(e["out_ME"], e["log_cond_ME"], k=5.0)
    vr = c.mean * (1 - c.mean) / c.variance
    print(f"\ncond_SS={c.mean:.4e} rel_err={c.rel_error:.4f} VR={vr:.3e} plain events={plain.events} "
          f"cond_ME={e['log_cond_ME'].mean:.4e} out_ME={e['out_ME'].mean:.4e}")
    assert vr > 1e4


def _pipeline(cfg, key):
    """The complex pipeline (magnitudes, co-phasing, cascades, indicators, conditional SOPs, NOMA) on the draws
    of ``sample(key, cfg)``."""
    ch = sched.sample(key, cfg)
    su, se = cfg.snrs()
    r_th = jnp.asarray(cfg.R_th, su.dtype)
    mag = sched.magnitudes(ch)
    phase = sched.co_phasing(ch)
    ks = sched.schedule_ss(mag)
    gU = su * mag.amplitude ** 2
    gE = se * jnp.abs(sched.eavesdropper_cascades(ch, phase)) ** 2
    res = sched.outage_indicators(gU, gE, ks, r_th)
    independent = cfg.links == "independent"
    res.update(sched.conditional_outages(gU, mag.eve_energy * se, ks, jnp.exp2(r_th), cfg.L, independent))
    if not independent:
        res["out_NOMA"] = sched.noma_outage(ch, phase, gU, gE[:, ks], ks, su, r_th, cfg.alpha_grid)
    return res


def test_fast_pcg_kernel_equals_the_complex_pipeline_on_the_same_draws():
    """``cfg(key)`` with ``rng="pcg"`` evaluates magnitudes and phasors in real arithmetic; it must give the
    statistics of the complex pipeline on ``sample(key, cfg)`` (float64), with full and independent links, at a
    power with frequent and one with rare outages; the magnitude-only path gives the same ``log_cond_*``."""
    @jax.jit  # the config is an argument: one compile per structure
    def all_three(cfg, keys):
        return (jax.vmap(cfg)(keys), jax.vmap(lambda k: _pipeline(cfg, k))(keys),
                jax.vmap(replace(cfg, conditional_only=True))(keys))

    seen = set()
    with jax.enable_x64(True):
        keys = jax.random.split(jax.random.key(17), 256)
        for links in ("full", "independent"):
            for rho in (105.0, 125.0):
                cfg = SchedulingSystem(N=7, K=3, L=2, rho_dB=rho, links=links, rng="pcg")
                fast, ref, lean = all_three(cfg, keys)
                assert set(fast) == set(ref), (set(fast), set(ref))
                for name in ref:
                    a, b = np.asarray(fast[name]), np.asarray(ref[name])
                    assert a.dtype == np.float64
                    if name.startswith("out_"):
                        np.testing.assert_array_equal(a, b, err_msg=f"{links} {rho} {name}")
                        seen.update(f"{name}={v:g}" for v in np.unique(a))
                    else:
                        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=f"{links} {rho} {name}")
                for name in lean:
                    np.testing.assert_allclose(np.asarray(lean[name]), np.asarray(fast[name]), rtol=1e-12,
                                               err_msg=f"{links} {rho} lean {name}")
    assert {f"out_{s}={v}" for s in ("SE", "ME", "SS", "OS", "NOMA") for v in (0, 1)} <= seen, seen
    # the channels are complex Gaussian, the S-RIS channel shared by users and eavesdroppers with full links
    ch = sched.sample(keys[0], SchedulingSystem(N=7, K=3, L=2))
    assert bool(jnp.all(ch.h == ch.h_e)) and ch.g.dtype == jnp.complex64
    assert [v.shape for v in ch] == [(7,), (3, 7), (7,), (2, 7)]
    ch = sched.sample(keys[0], SchedulingSystem(N=7, K=3, L=2, links="independent"))
    assert [v.shape for v in ch] == [(3, 7), (3, 7), (3, 7), (3, 2, 7)]


@pytest.mark.slow
def test_pcg_and_threefry_draw_the_same_law():
    """Every mean of the pcg kernel (full model with NOMA, independent links, magnitude-only) agrees with the
    jax.random reference path (independent draws) within 4 combined standard errors, each statistic resolved;
    the pcg channels are CN(0, 1)."""
    n = 2**16
    for kw, probs in (({}, PROBS), ({"links": "independent"}, PROBS[:4]), ({"conditional_only": True}, ())):
        est = {rng: montecarlo.estimate(SchedulingSystem(N=16, K=4, L=2, rho_dB=125.0, rng=rng, **kw),
                                        jax.random.key(29), n, probabilities=probs) for rng in ("pcg", "threefry")}
        assert set(est["pcg"]) == set(est["threefry"])
        for name in est["pcg"]:
            a, b = est["pcg"][name], est["threefry"][name]
            assert min(a.std_err, b.std_err) > 0, (kw, name)
            assert close(a, b), (kw, name, a.mean, b.mean, a.std_err, b.std_err)
    cfg = SchedulingSystem(N=16, K=4, L=2, links="independent")
    ch = jax.vmap(lambda k: sched.sample(k, cfg))(jax.random.split(jax.random.key(5), 20_000))
    for name, v in zip(ch._fields, ch):
        assert float(jnp.mean(jnp.abs(v) ** 2)) == pytest.approx(1.0, rel=0.01), name
        assert abs(complex(jnp.mean(v))) < 0.01, name
        assert abs(complex(jnp.mean(v * v))) < 0.01, name  # circular: E z^2 = 0


def test_default_kernel_agrees_with_the_independent_numpy_reference(numpy_reference):
    """The default (pcg) kernel against bench/numpy_reference.ris_scheduling_sop (complex NumPy, PCG64 + ziggurat,
    its own path losses and co-phasing): SS and OS outage within 4 combined standard errors at 110 and 120 dB."""
    n = 2**16
    for rho in (110.0, 120.0):
        ref = numpy_reference.ris_scheduling_sop(np.random.default_rng(2028), n, N=16, K=4, L=2, rho_dB=rho)
        est = montecarlo.estimate(SchedulingSystem(N=16, K=4, L=2, rho_dB=rho, noma=False), jax.random.key(2028), n,
                                  probabilities=("out_SS", "out_OS"))
        for name, x in (("out_SS", ref["SS"]), ("out_OS", ref["OS"])):
            se = np.hypot(est[name].std_err, x.std(ddof=1) / np.sqrt(n))
            assert 0 < x.mean() < 1 and abs(est[name].mean - x.mean()) <= 4 * se, (rho, name, est[name].mean,
                                                                                   x.mean())

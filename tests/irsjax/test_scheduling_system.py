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

from irsjax import montecarlo
from irsjax.analysis import scheduling as an
from irsjax.systems.scheduling import RelaySystem, SchedulingGeometry, SchedulingSystem

GEO = SchedulingGeometry()
PROBS = ("out_SE", "out_ME", "out_SS", "out_OS", "out_NOMA")


def args_at(rho_db, geo=GEO):
    return tuple(np.float32(v) for v in geo.cascade_snr_db(rho_db))


def close(a, b, k=4.0):
    """Two independent-or-not estimates agree within k combined standard errors."""
    return abs(a.mean - b.mean) <= k * math.hypot(a.std_err, b.std_err) + 1e-12


@pytest.fixture(scope="module")
def full_est():
    """Full model, N=16, K=4, L=2 at rho = 125 dB (SOPs ~1e-3..1e-1)."""
    cfg = SchedulingSystem(N=16, K=4, L=2)
    return montecarlo.estimate(cfg, jax.random.key(7), 2**16, args=args_at(125.0), probabilities=PROBS)


def test_geometry_path_losses_follow_eq_0_1():
    lam = 299_792_458.0 / 2.4e9
    d_sr, d_ru, d_re = math.hypot(10, 10), math.hypot(50, 30), math.hypot(30, 60)
    pl = lambda d2, cr: (4 * math.pi) ** 2 * d_sr**2 * d2**2 / ((lam / 2) ** 4 * (10 / d_sr) * cr)  # noqa: E731
    pl_su, pl_se = GEO.ris_path_loss()
    assert pl_su == pytest.approx(pl(d_ru, 30 / d_ru), rel=1e-12)
    assert pl_se == pytest.approx(pl(d_re, 60 / d_re), rel=1e-12)
    # RIS loss scales as f^4 (element size lambda/2), relay loss as f^2
    g28 = SchedulingGeometry(f_GHz=28.0)
    assert g28.ris_path_loss()[0] / pl_su == pytest.approx((28 / 2.4) ** 4, rel=1e-9)
    assert g28.relay_path_loss()[0] / GEO.relay_path_loss()[0] == pytest.approx((28 / 2.4) ** 2, rel=1e-9)
    su, se = GEO.cascade_snr(120.0)
    assert 10 * math.log10(su) == pytest.approx(GEO.cascade_snr_db(120.0)[0], abs=1e-9)
    with pytest.raises(ValueError, match="y_E"):
        SchedulingGeometry(y_E=0.0)
    with pytest.raises(ValueError, match="N"):
        SchedulingSystem(N=0)
    with pytest.raises(ValueError, match="links"):
        SchedulingSystem(links="shared")


def test_conditional_agrees_with_plain_and_orderings(full_est):
    e = full_est
    # pointwise orderings (hence exact for the sample means): OS outage => SS outage; SE outage => ME outage
    assert e["out_OS"].events <= e["out_SS"].events and e["out_SE"].events <= e["out_ME"].events
    for s in ("SE", "ME", "SS"):
        assert close(e[f"out_{s}"], e[f"cond_{s}"]), s
        assert e[f"cond_{s}"].variance < e[f"out_{s}"].variance  # variance reduction > 1
    assert e["out_OS"].mean <= e["out_SS"].mean <= e["cond_ME"].mean
    assert e["cond_SE"].mean < e["cond_ME"].mean
    assert e["out_OS"].mean < 0.5 * e["out_SS"].mean
    # NOMA pair scheduling is worse than SS (Fig. 3)
    assert e["out_NOMA"].mean >= e["out_SS"].mean - 3 * e["out_SS"].std_err
    # the fast magnitude-only estimator has the same law as the full model's cond_*
    lean = montecarlo.estimate(SchedulingSystem(N=16, K=4, L=2, conditional_only=True), jax.random.key(8), 2**16,
                               args=args_at(125.0))
    for s in ("SE", "ME", "SS"):
        assert close(lean[f"cond_{s}"], e[f"cond_{s}"]), s


def test_sop_saturates_increases_with_L_and_decreases_with_N():
    def cond(N, L, rho):
        cfg = SchedulingSystem(N=N, K=4, L=L, conditional_only=True)
        return montecarlo.estimate(cfg, jax.random.key(11), 2**15, args=args_at(rho))

    sat = [cond(16, 2, r) for r in (110.0, 160.0, 200.0)]
    ss = [e["cond_SS"].mean for e in sat]
    # saturation: 160 and 200 dB agree (common random numbers), far below the 110 dB value
    assert ss[2] == pytest.approx(ss[1], rel=0.01) and ss[2] < 0.8 * ss[0]
    # single user: 1 eavesdropper (SE) < 2 eavesdroppers (ME) < SS is better than both
    assert sat[1]["cond_SS"].mean < sat[1]["cond_SE"].mean < sat[1]["cond_ME"].mean
    l3 = cond(16, 3, 160.0)["cond_SS"]
    assert l3.mean > ss[1] + 4 * l3.std_err
    n32 = cond(32, 2, 160.0)["cond_SS"]
    assert n32.mean < 0.2 * ss[1]


def test_rare_event_conditional_estimator_small():
    """N=64, K=4, L=1, rho=120 dB: SOP ~1e-7 resolved to <5 % from 2^16 realisations."""
    cfg = SchedulingSystem(N=64, K=4, L=1, conditional_only=True)
    e = montecarlo.estimate(cfg, jax.random.key(5), 2**16, args=args_at(120.0))["cond_SS"]
    p = e.mean
    assert 2e-8 < p < 5e-7
    assert e.rel_error < 0.05
    vr = p * (1 - p) / e.variance  # plain-MC indicator variance / conditional variance
    assert vr > 1e4


def test_independent_links_separate_clt_error_from_shared_link_correlation():
    """OS with several users: the independent-links MC is close to (5.10); the full model is not."""
    N, K, L, rho = 16, 4, 2, 130.0
    a = args_at(rho)
    full = montecarlo.estimate(SchedulingSystem(N=N, K=K, L=L), jax.random.key(1), 2**16, args=a, probabilities=PROBS)
    ind = montecarlo.estimate(SchedulingSystem(N=N, K=K, L=L, links="independent", conditional_only=True),
                              jax.random.key(1), 2**16, args=a)
    with jax.enable_x64(True):
        su, se = GEO.cascade_snr(rho)
        os_an = float(an.sop_os(N, K, L, su, se, 1.0))
        me_an = float(an.sop_ss(N, 1, L, su, se, 1.0))
    assert ind["cond_OS"].mean == pytest.approx(os_an, rel=0.25)
    assert full["out_OS"].mean > 1.5 * os_an  # shared S-RIS link: users' secrecy rates correlated
    assert ind["cond_ME"].mean == pytest.approx(me_an, rel=0.05)  # single user: CLT error only


def test_relay_monte_carlo_matches_closed_forms():
    a, b, c, lr = GEO.relay_snr(100.0)
    cfg = RelaySystem(K=4, L=2)
    db = tuple(np.float32(10 * math.log10(x)) for x in (a, b, c, lr))
    e = montecarlo.estimate(cfg, jax.random.key(2), 2**16, args=db, probabilities=("out_DL", "out_NDL"))
    with jax.enable_x64(True):
        dl = float(an.sop_relay_dl(a, b, c, lr, 4, 2, 1.0))
        ndl = float(an.sop_relay_ndl(a, b, lr, 4, 2, 1.0))
    assert abs(e["cond_DL"].mean - dl) < 4 * e["cond_DL"].std_err + 1e-6
    assert abs(e["cond_NDL"].mean - ndl) < 4 * e["cond_NDL"].std_err + 1e-6
    assert abs(e["out_DL"].mean - dl) < 4 * e["out_DL"].std_err
    assert abs(e["out_NDL"].mean - ndl) < 4 * e["out_NDL"].std_err


@pytest.mark.slow
def test_rare_event_conditional_estimator_full_size():
    """Full model, 10^7 realisations at N=64, K=4, L=1, rho=120 dB (SOP ~1e-7)."""
    cfg = SchedulingSystem(N=64, K=4, L=1, noma=False)
    n = 10**7
    e = montecarlo.estimate(cfg, jax.random.key(123), n, args=args_at(120.0),
                            probabilities=("out_SE", "out_ME", "out_SS", "out_OS"))
    c, plain = e["cond_SS"], e["out_SS"]
    assert 2e-8 < c.mean < 5e-7 and c.rel_error < 0.05
    # plain MC sees a handful of events at most: consistent with Poisson(n p)
    lam = n * c.mean
    assert plain.events <= lam + 5 * math.sqrt(lam) + 5
    # where plain MC resolves the SOP (single user, ~2.5e-6 -> ~25 events) the two agree
    assert close(e["out_ME"], e["cond_ME"], k=5.0)
    vr = c.mean * (1 - c.mean) / c.variance
    print(f"\ncond_SS={c.mean:.4e} rel_err={c.rel_error:.4f} VR={vr:.3e} plain events={plain.events} "
          f"cond_ME={e['cond_ME'].mean:.4e} out_ME={e['out_ME'].mean:.4e}")
    assert vr > 1e4

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irsjax import montecarlo as mc, phases
from irsjax.analysis.wiretap import sop_random_phases
from irsjax.systems.wiretap import (LOG_SPACE, PROBABILITIES, WiretapConfig, realisation, sample, snrs,
                                    statistics)


@jax.jit
def _vmapped(cfg, keys):
    return jax.vmap(cfg)(keys)


def test_config_validation():
    with pytest.raises(ValueError, match="K"):
        WiretapConfig(K=0)
    with pytest.raises(ValueError, match="R_s"):
        WiretapConfig(R_s=-1.0)
    with pytest.raises(ValueError, match="rng must be one of"):
        WiretapConfig(rng="mt19937")


def test_snr_laws():
    P = 20.0
    cfg = WiretapConfig(K=16, P_dBm=P)
    keys = jax.random.split(jax.random.key(0), 100_000)
    h, g_b, g_e = jax.vmap(cfg.sample)(keys)
    gb_bar, ge_bar = (float(x) for x in cfg.mean_snrs())
    rho = 10 ** ((P + 90) / 10)
    # random phases: gamma_B ~ Exp(gb_bar) exactly
    from irsjax import phases
    v = jax.vmap(lambda k: phases.random(k, 16))(jax.random.split(jax.random.key(1), 100_000))
    gb = rho * np.abs(np.asarray(jnp.sum(g_b * v * h, axis=-1))) ** 2
    assert gb.mean() == pytest.approx(gb_bar, rel=0.02)
    assert np.mean(gb > gb_bar) == pytest.approx(np.exp(-1), abs=0.01)
    # aligned phases: gamma_B = rho b_si b_ib (sum |z|)^2
    b_si, b_ib, _ = (float(x) for x in cfg.gains())
    out = jax.vmap(cfg)(keys[:1000])
    assert np.all(np.asarray(out["sr_aligned"]) >= np.asarray(out["sr_random"]) - 20)  # sanity: finite
    assert np.all(np.asarray(out["log_cond_out_aligned"]) <= 0)


@pytest.mark.parametrize("rng", ["pcg", "threefry"])
def test_random_phase_sop_matches_closed_form(rng):
    for P in (10.0, 25.0):
        cfg = WiretapConfig(K=32, P_dBm=P, rng=rng)
        est = mc.estimate(cfg, jax.random.key(7), 200_000, probabilities=("out_random",))
        gb, ge = cfg.mean_snrs()
        exact = float(sop_random_phases(gb, ge, 1.0))
        e = est["out_random"]
        assert abs(e.mean - exact) < 4 * e.std_err + 1e-4, (P, e.mean, exact)


def test_conditional_estimator_agrees_and_reduces_variance():
    cfg = WiretapConfig(K=32, P_dBm=0.0)  # aligned SOP ~ 0.2: both estimators resolve it
    est = mc.estimate(cfg, jax.random.key(3), 100_000, probabilities=("out_aligned",), log_space=LOG_SPACE)
    plain, cond = est["out_aligned"], est["log_cond_out_aligned"]
    assert abs(plain.mean - cond.mean) < 4 * np.hypot(plain.std_err, cond.std_err)
    assert cond.variance < plain.variance
    # at higher power the plain estimator sees no events but the conditional one still resolves the SOP
    est2 = mc.estimate(WiretapConfig(K=32, P_dBm=5.0), jax.random.key(3), 50_000, probabilities=("out_aligned",),
                       log_space=LOG_SPACE)
    c2 = est2["log_cond_out_aligned"]
    assert 0 < c2.mean < 1e-4 and c2.rel_error < 0.3  # ~2e-6 from 5e4 samples: plain MC would see ~0.1 events
    assert mc.variance_reduction(mc.Estimate(c2.mean, 0, 0, 0, 1, c2.mean * (1 - c2.mean)), c2) > 100


def test_secrecy_rate_monotone_in_power_and_aligned_beats_random():
    a = mc.estimate(WiretapConfig(K=32, P_dBm=0.0), jax.random.key(0), 20_000)
    b = mc.estimate(WiretapConfig(K=32, P_dBm=20.0), jax.random.key(0), 20_000)
    assert b["sr_aligned"].mean > a["sr_aligned"].mean
    assert b["sr_random"].mean > a["sr_random"].mean
    assert b["sr_aligned"].mean > b["sr_random"].mean


def test_deep_tail_in_float32_is_accumulated_in_log_space():
    """Aligned-phase conditional SOP at K = 256, P = 0 dBm is ~1e-81..1e-84 (heavy-tailed estimator): below
    float32's range. The engine accumulates it in log space in float32 and reports exactly the float64
    log-mean-exp of the same per-realisation values, with its CI in log10."""
    cfg = WiretapConfig(K=256, P_dBm=0.0)
    n = 4096
    e = mc.estimate(cfg, jax.random.key(9), n, log_space=LOG_SPACE, batch_size=1024)["log_cond_out_aligned"]
    keys = jnp.concatenate([jax.random.split(jax.random.fold_in(jax.random.key(9), b), 256) for b in range(n // 256)])
    logs = np.asarray(_vmapped(cfg, keys)["log_cond_out_aligned"], np.float64)
    ref = (np.logaddexp.reduce(logs) - np.log(n)) / np.log(10.0)
    assert -90 < ref < -75
    assert e.mean > 0 and e.log10_mean == pytest.approx(ref, abs=1e-5)
    p = np.exp(logs - logs.max())  # relative standard error of the mean, from the same values
    rse = np.std(p, ddof=1) / np.sqrt(n) / np.mean(p)
    assert e.log10_ci_high == pytest.approx(ref + np.log10(1 + 1.959964 * rse), abs=1e-4)
    # the log-space mean equals the plain mean where both are representable
    small = WiretapConfig(K=8, P_dBm=-10.0)
    e2 = mc.estimate(small, jax.random.key(9), 4096, log_space=LOG_SPACE)["log_cond_out_aligned"]
    direct = mc.estimate(lambda k, c: {"p": jnp.exp(c(k)["log_cond_out_aligned"])}, jax.random.key(9), 4096,
                         args=(small,))["p"]
    assert e2.mean == pytest.approx(direct.mean, rel=1e-5)
    assert e2.std_err == pytest.approx(direct.std_err, rel=1e-3)


def _plain(cfg, key):
    ch, v = realisation(key, cfg)
    return statistics(*snrs(ch, phases.align(ch.h * ch.g_b), cfg), *snrs(ch, v, cfg), cfg)


def test_fast_pcg_kernel_equals_the_plain_pipeline_on_the_same_draws():
    """``cfg(key)`` with ``rng="pcg"`` evaluates the cascades in real arithmetic from magnitudes and phases; it
    must give the statistics of ``realisation -> align -> snrs`` (complex arithmetic) on the same draws. K = 7 is
    odd: the random-phase block is sliced from ceil(K/4) counters. The config is an argument: one compile."""
    K = 7
    plain = jax.jit(jax.vmap(_plain, in_axes=(None, 0)))
    with jax.enable_x64(True):
        for P in (-10.0, 30.0):
            cfg = WiretapConfig(K=K, P_dBm=P, rng="pcg")
            keys = jax.random.split(jax.random.key(K), 64)
            fast, ref = _vmapped(cfg, keys), plain(cfg, keys)
            for name in ref:
                np.testing.assert_allclose(np.asarray(fast[name]), np.asarray(ref[name]), rtol=1e-9, atol=1e-12,
                                           err_msg=name)
            assert bool(jnp.all(realisation(keys[0], cfg)[0].g_b == sample(keys[0], cfg).g_b))


def test_pcg_and_threefry_draw_the_same_law():
    """Every mean of the fast pcg kernel agrees with the jax.random reference path (independent draws) within
    4 combined standard errors, at two powers where each statistic is resolved at least once."""
    n = 100_000
    resolved = set()
    for P in (5.0, 20.0):
        est = {rng: mc.estimate(WiretapConfig(K=16, P_dBm=P, rng=rng), jax.random.key(21), n,
                                probabilities=PROBABILITIES, log_space=LOG_SPACE) for rng in ("pcg", "threefry")}
        for name in ("sr_aligned", "sr_random", "out_aligned", "out_random", "log_cond_out_aligned"):
            a, b = est["pcg"][name], est["threefry"][name]
            se = np.hypot(a.std_err, b.std_err)
            assert abs(a.mean - b.mean) <= 4 * se + 1e-7 * abs(b.mean), (P, name, a.mean, b.mean)
            if min(a.std_err, b.std_err) > 0:
                resolved.add(name)
    assert len(resolved) == 5, resolved
    # the magnitudes are Rayleigh and the phases uniform: E|g|^2 = gain, E g = 0
    cfg = WiretapConfig(K=16, rng="pcg")
    g = jax.vmap(lambda k: sample(k, cfg).g_b)(jax.random.split(jax.random.key(5), 20_000))
    _, b_ib, _ = (float(x) for x in cfg.gains())
    assert float(jnp.mean(jnp.abs(g) ** 2)) == pytest.approx(b_ib, rel=0.02)
    assert abs(complex(jnp.mean(g))) < 0.02 * np.sqrt(b_ib)


def test_default_kernel_agrees_with_the_independent_numpy_reference(numpy_reference):
    """The default (pcg) kernel against bench/numpy_reference.wiretap (complex NumPy, PCG64 + ziggurat): every
    mean within 4 combined standard errors, at two powers on the same estimator call (P is a leaf)."""
    n = 50_000
    ref = numpy_reference.wiretap(np.random.default_rng(2027), n, K=32, P_dBm=np.array([0.0, 20.0]))
    for i, P in enumerate((0.0, 20.0)):
        est = mc.estimate(WiretapConfig(K=32, P_dBm=P), jax.random.key(2027), n, probabilities=PROBABILITIES)
        for name in ("sr_aligned", "sr_random", "out_aligned", "out_random"):
            x = ref[name][i]
            se = np.hypot(est[name].std_err, x.std(ddof=1) / np.sqrt(n))
            assert abs(est[name].mean - x.mean()) <= 4 * se + 1e-9, (P, name, est[name].mean, x.mean())

"""System model of Lv et al. (MODELS.md section 1): the per-realisation kernel of irsjax.systems.two_way."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from dataclasses import replace
from scipy import stats

from irsjax import channels, montecarlo as mc, phases
from irsjax import streams
from irsjax.phases import phasor
from irsjax.systems import two_way as tw
from irsjax.systems.two_way import TwoWayConfig


def test_config_validation():
    with pytest.raises(ValueError, match="K"):
        TwoWayConfig(K=0)
    with pytest.raises(ValueError, match="N"):
        TwoWayConfig(N=0)
    with pytest.raises(ValueError, match="rng"):
        TwoWayConfig(rng="mt")
    with pytest.raises(ValueError, match="radius"):
        TwoWayConfig(radius=-1.0)
    with pytest.raises(ValueError, match="positions_a"):
        TwoWayConfig(N=2, positions_a=((0.0, 0.0),), positions_b=((30.0, 0.0), (30.0, 1.0)))
    with pytest.raises(ValueError, match="both"):
        TwoWayConfig(N=1, positions_a=((0.0, 0.0),))
    with pytest.raises(ValueError, match="irs"):
        TwoWayConfig(irs=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="P_dBm"):
        TwoWayConfig(P_dBm=float("nan"))
    # a pytree: sizes and switches static, every float a leaf (positions included)
    leaves, treedef = jax.tree_util.tree_flatten(TwoWayConfig(K=8))
    assert len(leaves) == 13 and treedef == jax.tree_util.tree_structure(TwoWayConfig(K=8, P_dBm=99.0))
    assert treedef != jax.tree_util.tree_structure(TwoWayConfig(K=16))


def test_phasor_accuracy_float32_and_float64():
    u = jax.random.uniform(jax.random.key(1), (200_000,))
    c, s = phasor(u)
    ref = 2 * np.pi * np.asarray(u, np.float64)
    assert np.max(np.abs(np.asarray(c) - np.cos(ref))) < 3e-7
    assert np.max(np.abs(np.asarray(s) - np.sin(ref))) < 3e-7
    with jax.enable_x64(True):
        u = jax.random.uniform(jax.random.key(1), (200_000,), dtype=jnp.float64)
        c, s = phasor(u)
        ref = 2 * np.pi * np.asarray(u)
        assert np.asarray(c).dtype == np.float64
        assert np.max(np.abs(np.asarray(c) - np.cos(ref))) < 5e-15
        assert np.max(np.abs(np.asarray(s) - np.sin(ref))) < 5e-15


def test_stream_rows_recompute_and_uniformity():
    st = streams.Stream(jax.random.key(3))
    lanes = st.block(7, (50, 16))
    rows = st.rows(7, (50, 16), jnp.array([4, 49, 4]))
    for full, sel in zip(lanes, rows):
        np.testing.assert_array_equal(np.asarray(full)[[4, 49, 4]], np.asarray(sel))
    # threefry path: rows are gathered from the same block
    st3 = streams.Stream(jax.random.key(3), "threefry")
    b3, r3 = st3.block(7, (50, 16)), st3.rows(7, (50, 16), jnp.array([2]))
    np.testing.assert_array_equal(np.asarray(b3[1])[[2]], np.asarray(r3[1]))
    # pcg uniforms: open interval, uniform (KS), no lag-1 or cross-lane correlation, distinct keys differ
    keys = jax.random.split(jax.random.key(0), 400)
    one = lambda k: jnp.stack([streams.words_to_uniform(v) for v in streams.Stream(k).block(0, (64,))])
    u = np.asarray(jax.vmap(one)(keys))
    flat = u.reshape(-1)
    assert flat.min() > 0 and flat.max() < 1
    assert stats.kstest(flat, "uniform").pvalue > 1e-3
    x = u[:, 0, :].reshape(-1)
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 0.02
    assert abs(np.corrcoef(u[:, 0].ravel(), u[:, 1].ravel())[0, 1]) < 0.02
    assert abs(np.corrcoef(u[:-1, 0, 0], u[1:, 0, 0])[0, 1]) < 0.15


def test_pcg_streams_of_adjacent_raw_keys_are_independent():
    """The pcg seed is the key's own words (the engine's realisation keys come from a threefry split); keys that
    differ in one low bit (jax.random.key(i) for i = 0, 1, 2, ...) must still give unrelated streams."""
    one = lambda k: streams.words_to_uniform(streams.Stream(k).block(0, (32,))[0])
    u = np.asarray(jax.vmap(lambda i: one(jax.random.key(i)))(jnp.arange(2048, dtype=jnp.uint32)))  # (2048, 32)
    assert stats.kstest(u[:, 0], "uniform").pvalue > 1e-3  # the first uniform across keys
    assert abs(np.corrcoef(u[:-1, 0], u[1:, 0])[0, 1]) < 4 / np.sqrt(2048)  # neighbouring keys
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 4 / np.sqrt(2048)  # neighbouring counters
    seed = streams.Stream(jax.random.key(7)).seed
    assert seed.shape == (3,) and len(set(np.asarray(seed).tolist())) == 3


def _literal(cfg, key):
    """Recompute one realisation literally (numpy float64, full complex vectors) from the same stream."""
    K, N, Kh = cfg.K, cfg.N, -(-cfg.K // 2)
    st = streams.Stream(key, cfg.rng)
    c0, c1, c2, c3, c4, _ = cfg._starts
    U = lambda lanes: [np.asarray(streams.words_to_uniform(v), np.float64) for v in lanes]
    x, y, z, w = U(st.block(c0, (N, Kh)))
    mh = np.sqrt(-np.log(np.concatenate([x, y], -1)[:, :K]))
    mg = np.sqrt(-np.log(np.concatenate([z, w], -1)[:, :K]))
    ps = U(st.block(c1, (K,)))
    pr = U(st.block(c2, (K,)))
    pos = np.stack(U(st.block(c3, (N, 1))), -1)[:, 0, :]
    misc = U(st.block(c4, (3,)))
    cn = lambda a, b: np.sqrt(-np.log(a)) * np.exp(2j * np.pi * b)
    h_e = cn(ps[2], ps[3])
    zeta_all = np.sum(mh * mg, -1) ** 2
    n_star = int(np.argmax(zeta_all))
    n_rand = min(int(misc[0][2] * N), N - 1)
    P = 10 ** ((cfg.P_dBm - 30) / 10)
    s0, sl = 10 ** ((cfg.sigma0_dBm - 30) / 10), 10 ** ((cfg.sigmal_dBm - 30) / 10)
    irs, eve = np.array(cfg.irs), np.array(cfg.eve)

    def one(n, ph_h, ph_g, h_ne, g_ne):
        h = mh[n] * np.exp(2j * np.pi * ph_h)
        g = mg[n] * np.exp(2j * np.pi * ph_g)
        v = np.exp(-1j * (np.angle(h) + np.angle(g)))  # Theta aligned to pair n, eq. (1.4)
        v_lib = np.asarray(phases.align(jnp.asarray(h * g, jnp.complex64)))
        assert np.allclose(v_lib, v, atol=1e-5)
        zeta = abs(np.sum(h * v * g)) ** 2  # |h^T Theta g|^2
        r, t = cfg.radius * np.sqrt(pos[n, 0]), 2 * np.pi * pos[n, 1]
        pa = np.array(cfg.centre_a) + r * np.array([np.cos(t), np.sin(t)])
        r, t = cfg.radius * np.sqrt(pos[n, 2]), 2 * np.pi * pos[n, 3]
        pb = np.array(cfg.centre_b) + r * np.array([np.cos(t), np.sin(t)])
        dist = lambda p, q: max(np.linalg.norm(p - q), 1.0)
        dA, dB, dAe, dBe, de = dist(pa, irs), dist(pb, irs), dist(pa, eve), dist(pb, eve), dist(irs, eve)
        al = cfg.alpha
        gam = P * zeta / ((dA * dB) ** al * (sl + s0))
        phi = (de * dA) ** (-al / 2) * np.sum(h_e * v * h) + dAe ** (-al / 2) * h_ne
        psi = (de * dB) ** (-al / 2) * np.sum(h_e * v * g) + dBe ** (-al / 2) * g_ne
        ge1 = P * abs(phi) ** 2 / (P * abs(psi) ** 2 + s0)
        jam2 = P * abs(psi) ** 2 / (P * abs(phi) ** 2 + s0)
        ge2 = P * abs(psi) ** 2 / s0 if ge1 >= gam else jam2
        sr = lambda a, b: max(math.log2(1 + a) - math.log2(1 + b), 0.0)
        return zeta, sr(gam, ge1), sr(gam, ge2), 0.5 * sr(gam, ge1), 0.5 * sr(gam, jam2), ge1 >= gam

    d_s = (cn(misc[0][0], misc[1][0]), cn(misc[2][0], misc[3][0]))
    d_f = (cn(misc[0][1], misc[1][1]), cn(misc[2][1], misc[3][1]))
    zs, r1, r2, o1, o2, sic = one(n_star, ps[0], ps[1], *d_s)
    if n_rand == n_star:
        q1, q2 = r1, r2
    else:
        _, q1, q2, _, _, _ = one(n_rand, pr[0], pr[1], *d_f)
    assert zs == pytest.approx(zeta_all.max(), rel=1e-9)  # matched phases give (sum |h||g|)^2 and n* is the argmax
    return {"proposed_s1": r1, "proposed_s2": r2, "random_scheduling_s1": q1, "random_scheduling_s2": q2,
            "one_way_jamming_s1": o1, "one_way_jamming_s2": o2, "p_sic": float(sic)}


@pytest.mark.parametrize("P_dBm", [20.0, 35.0, 50.0])
def test_kernel_matches_literal_model(P_dBm):
    cfg = TwoWayConfig(K=12, N=4, P_dBm=P_dBm)
    fn = jax.jit(lambda c, k: c(k))
    seen_sic = set()
    for i in range(12):
        key = jax.random.key(100 + i)
        out = {k: float(v) for k, v in fn(cfg, key).items()}
        ref = _literal(cfg, key)
        for k, v in ref.items():
            assert out[k] == pytest.approx(v, rel=2e-4, abs=2e-4), (P_dBm, i, k)
        assert out["proposed"] == pytest.approx(out["proposed_s1"] + out["proposed_s2"], rel=1e-6, abs=1e-7)
        seen_sic.add(ref["p_sic"])
    if P_dBm == 20.0:
        assert seen_sic == {0.0, 1.0}  # both SIC branches of (1.3) exercised


def test_edge_cases_are_finite_and_n1_equals_random():
    keys = jax.random.split(jax.random.key(0), 512)
    cases = ((TwoWayConfig(K=3, N=2), (-80.0, 150.0)),
             (TwoWayConfig(K=4, N=2, positions_a=((15.0, 0.0), (0.0, 0.0)), positions_b=((15.0, 0.5), (30.0, 0.0)),
                           eve=(15.0, 0.0)), (40.0,)))  # users on top of the IRS, Eve at the IRS
    f = jax.jit(jax.vmap(lambda c, k: c(k), in_axes=(None, 0)))
    for cfg, powers in cases:
        for P in powers:
            for k, v in f(replace(cfg, P_dBm=P), keys).items():
                assert np.all(np.isfinite(np.asarray(v))), (cfg, P, k)
                assert np.all(np.asarray(v) >= 0)
    # N = 1: random scheduling is the proposed scheme, realisation by realisation
    cfg = TwoWayConfig(K=1, N=1, P_dBm=40.0)
    out = jax.vmap(cfg)(keys)
    np.testing.assert_array_equal(np.asarray(out["proposed"]), np.asarray(out["random_scheduling"]))


def test_float64_mode():
    with jax.enable_x64(True):
        out = TwoWayConfig(K=4, N=2, P_dBm=40.0)(jax.random.key(0))
        assert out["proposed"].dtype == jnp.float64
        assert channels.real_dtype() == jnp.float64


def test_pcg_and_threefry_streams_agree_statistically():
    e = {r: mc.estimate(TwoWayConfig(K=8, N=3, P_dBm=35.0, rng=r), jax.random.key(11), 40_000,
                        probabilities=tw.PROBABILITIES) for r in ("pcg", "threefry")}
    for k in ("proposed", "random_scheduling", "one_way_jamming", "p_sic", "ln1p_gamma"):
        a, b = e["pcg"][k], e["threefry"][k]
        assert abs(a.mean - b.mean) < 4.5 * math.hypot(a.std_err, b.std_err), (k, a.mean, b.mean)


def test_eve_statistics_match_clt_model():
    """|phi|^2 and |psi|^2 of the scheduled pair are (close to) exponential with the
    variances of MODELS.md 1(g) (fixed positions, so the variance is known)."""
    cfg = TwoWayConfig(K=32, N=2, radius=0.0, P_dBm=-40.0)
    out = mc.estimate(cfg, jax.random.key(5), 50_000)  # Eve's U, V ~ rho0 sigma^2 ~ tiny
    rho, a, b = cfg.snr_scales(*cfg.draw_positions(jax.random.key(0)))
    # E ln(1 + U/(1+V)) -> a - ... for tiny a, b: compare with the closed form Q_E1
    from irsjax.analysis.two_way import q_e1
    assert out["ln1p_gamma_e1"].mean == pytest.approx(float(q_e1(a[0], b[0])), rel=0.02)


def test_local_k_slope_formula_and_measured_slope():
    """slope_per_doubling_K = (1{R_s1>0} + 1{R_s2>0}) gamma/(1+gamma) (1 + K pi/4 / sqrt(zeta*)) per realisation;
    its mean predicts the measured slope of the sum ASR between K and 2K at 40 dBm (the smooth part; the SIC
    switching term adds a little), below the high-SNR value 4 and far above the paper's 2."""
    cfg = TwoWayConfig(K=64, N=6, P_dBm=40.0)
    key = jax.random.key(3)
    out = cfg(key)
    ch = tw.sample(key, cfg)
    zeta = float(jnp.max(ch.zeta))
    gamma_bits = float(out["ln1p_gamma"]) / math.log(2.0)
    gamma = 2.0 ** gamma_bits - 1.0
    active = float(out["proposed_s1"] > 0) + float(out["proposed_s2"] > 0)
    want = active * gamma / (1 + gamma) * (1 + 64 * math.pi / 4 / math.sqrt(zeta))
    assert float(out["slope_per_doubling_K"]) == pytest.approx(want, rel=1e-4)
    est = {K: mc.estimate(replace(cfg, K=K), jax.random.key(K), 8192) for K in (64, 128)}
    measured = est[128]["proposed"].mean - est[64]["proposed"].mean
    smooth = 0.5 * (est[64]["slope_per_doubling_K"].mean + est[128]["slope_per_doubling_K"].mean)
    assert 3.4 < smooth < 4.0
    assert abs(measured - smooth) < 0.25


def test_latin_hypercube_strata_uniform_offsets_and_one_random_draw():
    """Every coordinate is a permutation of the num strata, the offsets inside the strata are uniform, the
    coordinates' permutations are not all the same, and the whole design comes from one random-bits draw (each
    draw compiles its own threefry hash: the bound's cold compile)."""
    num, dim = 256, 12
    for dtype in (jnp.float32, jnp.float64):
        with jax.enable_x64(dtype == jnp.float64):
            u = np.asarray(tw.latin_hypercube(jax.random.key(11), num, dim, dtype))
            assert u.dtype == np.dtype(dtype) and u.shape == (num, dim)
            assert np.all((u >= 0) & (u < 1))
            strata = np.floor(u * num).astype(int)
            for j in range(dim):
                assert sorted(strata[:, j].tolist()) == list(range(num)), j
            frac = (u * num - strata).ravel()
            assert stats.kstest(frac, "uniform").pvalue > 1e-3
            # distinct permutations, weakly correlated coordinates
            assert len({tuple(strata[:, j]) for j in range(dim)}) == dim
            c = np.corrcoef(u.T)[np.triu_indices(dim, 1)]
            assert np.max(np.abs(c)) < 0.3
    other = np.asarray(tw.latin_hypercube(jax.random.key(12), num, dim))
    assert not np.array_equal(np.floor(other * num), np.floor(np.asarray(tw.latin_hypercube(jax.random.key(11), num,
                                                                                              dim)) * num))
    jaxpr = str(jax.make_jaxpr(lambda k: tw.latin_hypercube(k, num, dim))(jax.random.key(0)))
    assert jaxpr.count("random_bits") == 1, jaxpr.count("random_bits")

"""IRS-aided uplink system (irsjax.systems.uplink, MODELS.md 3(a)/(e)): equations against explicit numpy,
geometry/path loss, pytree config (one compile per structure, gradients to positions), validation, edge cases."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp

from irsjax import montecarlo as mc
from irsjax.config import replace
from irsjax.systems import uplink as up
from irsjax.testing import count_compilations


def _setup(seed=0, **kw):
    cfg = up.UplinkConfig(**kw)
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    ch = up.sample(k1, cfg)
    v = jnp.exp(jax.lax.complex(jnp.zeros(cfg.N), jax.random.uniform(k2, (cfg.N,), maxval=6.283)))
    W = jax.random.normal(k3, (cfg.K, cfg.M), dtype=ch.G.dtype)
    W = W / jnp.linalg.norm(W, axis=1, keepdims=True).astype(W.dtype)
    return cfg, ch, up.UplinkDecision(v.astype(ch.G.dtype), W)


def test_channels_and_sinr_match_equations_3_1_to_3_4():
    cfg, ch, dec = _setup(K=3, M=4, N=6, N_E=2, p_dBm=(10.0, 5.0, 12.0))
    hd, G, hr = (np.asarray(x, np.complex128) for x in (ch.h_d, ch.G, ch.h_r))
    v, W = np.asarray(dec.phases, np.complex128), np.asarray(dec.receivers, np.complex128)
    H = np.stack([hd[k] + G @ np.diag(v) @ hr[k] for k in range(3)])  # (3.1)
    np.testing.assert_allclose(np.asarray(up.effective_channels(ch, dec.phases)), H, rtol=2e-5, atol=1e-12)
    p = 10 ** ((np.array([10.0, 5.0, 12.0]) - 30) / 10)
    s2 = 10 ** ((-90 - 30) / 10)
    sinr = []
    for k in range(3):
        B = sum(p[j] * np.outer(H[j], H[j].conj()) for j in range(3) if j != k) + s2 * np.eye(4)
        w = W[k]
        sinr.append(p[k] * abs(np.vdot(w, H[k])) ** 2 / np.real(np.vdot(w, B @ w)))  # (3.3)
    np.testing.assert_allclose(np.asarray(up.sinr(cfg, ch, dec)), sinr, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(up.bob_capacity(cfg, ch, dec)), np.log2(1 + np.array(sinr)), rtol=1e-4)
    eve = up.sample_eve(jax.random.key(9), cfg, ch)
    he, GE = np.asarray(eve.h_e, np.complex128), np.asarray(eve.G_E, np.complex128)
    HE = np.stack([he[k] + GE @ np.diag(v) @ hr[k] for k in range(3)])  # (3.2)
    ce = np.log2(1 + p * np.sum(np.abs(HE) ** 2, axis=1) / s2)  # (3.4)
    np.testing.assert_allclose(np.asarray(up.eve_capacity(cfg, ch, eve, dec.phases)), ce, rtol=1e-4)
    rs = np.log2(1 + np.array(sinr)) - ce
    np.testing.assert_allclose(np.asarray(up.secrecy_rate(cfg, ch, eve, dec, clip=False)), rs, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(np.asarray(up.secrecy_rate(cfg, ch, eve, dec)), np.maximum(rs, 0), rtol=1e-3, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(up.outage(cfg, ch, eve, dec)), (rs < 1.0).astype(float))
    # lifted coefficients: w_k^H h_j = Q[k, j] . [v; 1]
    Q = np.asarray(up.cascade_coefficients(ch, dec.receivers), np.complex128)
    vb = np.concatenate([v, [1.0]])
    np.testing.assert_allclose(Q @ vb, W.conj() @ H.T, rtol=2e-5, atol=1e-12)


def test_geometry_and_path_loss_of_3e():
    cfg = up.UplinkConfig(K=4, M=2, N=3)
    keys = jax.random.split(jax.random.key(1), 2000)
    chs = jax.vmap(lambda k: up.sample(k, cfg))(keys)
    users = np.asarray(chs.users)
    assert np.all(np.linalg.norm(users - np.array([60.0, 0.0]), axis=-1) <= 10.0 + 1e-4)
    # uniform in the disc: P(r < 5) = 1/4
    assert abs(np.mean(np.linalg.norm(users - np.array([60.0, 0.0]), axis=-1) < 5.0) - 0.25) < 0.015
    d_ue = np.linalg.norm(users - np.array([0.0, 80.0]), axis=-1)
    np.testing.assert_allclose(np.asarray(chs.beta_ue), 1e-3 * d_ue ** -3.5, rtol=1e-4)
    d_ie = np.hypot(50.0, 75.0)
    np.testing.assert_allclose(np.asarray(chs.beta_ie), 1e-3 * d_ie ** -2.5, rtol=1e-4)
    # Rayleigh variances: E|h_d|^2 / beta_ub = 1, E|G|^2 = beta_ib, E|h_r|^2 / beta_ui = 1
    d_ub = np.linalg.norm(users, axis=-1)
    d_ui = np.linalg.norm(users - np.array([50.0, 5.0]), axis=-1)
    r_d = np.abs(np.asarray(chs.h_d)) ** 2 / (1e-3 * d_ub ** -3.5)[..., None]
    r_r = np.abs(np.asarray(chs.h_r)) ** 2 / (1e-3 * np.maximum(d_ui, 1.0) ** -2.2)[..., None]
    r_g = np.abs(np.asarray(chs.G)) ** 2 / (1e-3 * np.hypot(50.0, 5.0) ** -2.2)
    for r in (r_d, r_r, r_g):
        assert abs(r.mean() - 1.0) < 0.03
    # no IRS: same topology, nothing through the IRS
    ch0 = up.no_irs(jax.tree_util.tree_map(lambda a: a[0], chs))
    assert ch0.G.shape == (2, 0) and ch0.h_r.shape == (4, 0)
    np.testing.assert_allclose(np.asarray(up.eve_variance(ch0)), np.asarray(chs.beta_ue[0]))


def test_eve_variance_does_not_depend_on_the_phases():
    cfg, ch, dec = _setup(seed=3, N=16)
    e0 = np.asarray(up.eve_variance(ch))
    for s in range(3):
        v = jnp.exp(jax.lax.complex(0.0, jax.random.uniform(jax.random.key(s), (16,), maxval=6.283)))
        np.testing.assert_allclose(np.asarray(up.eve_variance(ch, v.astype(ch.G.dtype))), e0, rtol=1e-5)


def _capacity_stats(key, c):
    ch = up.sample(key, c)
    v = jnp.ones(c.N, ch.G.dtype)
    W = up.matched_filters(up.effective_channels(ch, v))
    return {"c": up.bob_capacity(c, ch, up.UplinkDecision(v, W))}


def test_config_is_a_pytree_one_compile_per_structure_and_gradients_reach_positions():
    cfg = up.UplinkConfig(K=2, M=2, N=4)
    leaves = jax.tree_util.tree_leaves(cfg)
    assert 1.0 in leaves and -90.0 in leaves  # R_s and noise are leaves; sizes are not
    assert 4 not in [x for x in leaves if isinstance(x, int)]

    mc.estimate(_capacity_stats, jax.random.key(0), 256, args=(cfg,))
    with count_compilations() as cnt:
        for r in (0.5, 2.0, 3.0):
            e = mc.estimate(_capacity_stats, jax.random.key(0), 256, args=(replace(cfg, R_s=r, p_dBm=r, irs=(r, 5.0)),))
    assert cnt.count == 0
    assert e["c"].shape == (2,)

    def mean_cap(c):
        ch = up.sample(jax.random.key(5), c)
        v = jnp.ones(c.N, ch.G.dtype)
        W = up.matched_filters(up.effective_channels(ch, v))
        return jnp.mean(up.bob_capacity(c, ch, up.UplinkDecision(v, W)))

    g = jax.grad(mean_cap)(cfg)
    assert np.isfinite(g.irs[0]) and g.irs[0] != 0  # moving the IRS changes the capacity
    assert np.isfinite(g.user_centre[0]) and g.user_centre[0] < 0  # users further from the BS: lower capacity
    assert g.p_dBm > 0


@pytest.mark.parametrize("kw, name", [({"K": 0}, "K"), ({"M": 0}, "M"), ({"N_E": 0}, "N_E"), ({"N": -1}, "N"),
                                      ({"p_dBm": float("nan")}, "p_dBm"), ({"R_s": 0.0}, "R_s"),
                                      ({"noise_B_dBm": float("inf")}, "noise_B_dBm"), ({"irs": (1.0,)}, "irs"),
                                      ({"K": 2, "p_dBm": (1.0, 2.0, 3.0)}, "p_dBm"), ({"alpha_ub": -1.0}, "alpha_ub")])
def test_validation_names_the_parameter(kw, name):
    with pytest.raises(ValueError, match=name):
        up.UplinkConfig(**kw)


def test_zero_channels_give_finite_values():
    cfg = up.UplinkConfig(K=2, M=2, N=3)
    z = jnp.zeros
    cd = jnp.complex64
    ch = up.UplinkChannels(z((2, 2), cd), z((2, 3), cd), z((2, 3), cd), jnp.full(2, 1e-10), jnp.asarray(1e-9),
                           z((2, 2)))
    v = jnp.ones(3, cd)
    W = up.matched_filters(up.effective_channels(ch, v))
    assert np.all(np.isfinite(np.asarray(W))) and np.allclose(np.abs(np.asarray(W[:, 0])), 1.0)
    s = up.sinr(cfg, ch, up.UplinkDecision(v, W))
    assert np.all(np.asarray(s) == 0.0)
    g = jax.grad(lambda th: jnp.sum(up.sinr(cfg, ch, up.UplinkDecision(jnp.exp(jax.lax.complex(0.0, th)), W))))(z(3))
    assert np.all(np.isfinite(np.asarray(g)))

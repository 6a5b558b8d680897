"""IRS MISO downlink with finite blocklength (MODELS.md section 4): channels, SINRs, rates, CSI-error bounds."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp

from irsjax import channels, metrics, units
from irsjax.config import replace
from irsjax.special import q_inverse
from irsjax.systems import downlink_fbr as dl
from irsjax.testing import count_compilations


def _draw(cfg, seed=0):
    ch = dl.sample(jax.random.key(seed), cfg)
    k1, k2 = jax.random.split(jax.random.key(seed + 100))
    W = (jax.random.normal(k1, (cfg.M, cfg.K), dtype=ch.G.dtype))
    W = W * jnp.sqrt(dl.tx_power(cfg) / jnp.sum(jnp.abs(W) ** 2)).astype(W.dtype)
    phi = jax.random.uniform(k2, (cfg.N,), maxval=2 * np.pi)
    th = jax.lax.complex(jnp.cos(phi), jnp.sin(phi)).astype(ch.G.dtype)
    return ch, W, th


def test_sinrs_and_rates_match_equations_4_4_and_0_2():
    cfg = dl.FBRDownlinkConfig(K=3, M=4, N_h=2, N_v=3)
    ch, W, th = _draw(cfg)
    G, g, Wn, t = (np.asarray(a, np.complex128) for a in (ch.G, ch.g, W, th))
    s2 = float(dl.noise_power(cfg))
    assert s2 == pytest.approx(float(units.dbm_to_watt(-174 + 60.0)), rel=1e-5)  # N0 B at 1 MHz
    h = np.conj(g) @ np.diag(t) @ G  # cascades h_k^H (K+1, M)
    A = np.abs(h @ Wn) ** 2
    K = cfg.K
    gam = [A[k, k] / (sum(A[k, j] for j in range(K) if j != k) + s2) for k in range(K)]
    gam_e = [A[K, k] / (sum(A[K, j] for j in range(K) if j != k) + s2) for k in range(K)]
    gk, ge = dl.sinrs(ch, cfg, W, th)
    np.testing.assert_allclose(np.asarray(gk), gam, rtol=2e-4)
    np.testing.assert_allclose(np.asarray(ge), gam_e, rtol=2e-4)
    # FBR (0.2) with n = floor(B t) = 100, and LBR (4.5)
    n = 100
    V = lambda x: 1 - (1 + np.asarray(x)) ** -2  # noqa: E731
    qi = float(q_inverse(1e-5))
    fbr = (np.log2(1 + np.array(gam)) - np.log2(1 + np.array(gam_e))
           - np.log2(np.e) * (qi * np.sqrt(V(gam) / n) + qi * np.sqrt(V(gam_e) / n)))
    np.testing.assert_allclose(np.asarray(dl.secrecy_rates(ch, cfg, W, th, clip=False)), fbr, atol=2e-4)
    lbr = np.log2(1 + np.array(gam)) - np.log2(1 + np.array(gam_e))
    np.testing.assert_allclose(np.asarray(dl.secrecy_rates(ch, cfg, W, th, finite=False, clip=False)), lbr,
                               atol=2e-4)
    assert float(dl.blocklength(cfg)) == 100.0  # 1e6 * 1e-4 in float32 is 99.99999...: floor must still give 100
    assert float(dl.blocklength(replace(cfg, t=2.5e-5))) == 25.0


def test_fbr_tends_to_lbr_and_normalised_problem_agrees():
    cfg = dl.FBRDownlinkConfig(K=2)
    ch, W, th = _draw(cfg, 1)
    lbr = np.asarray(dl.secrecy_rates(ch, cfg, W, th, finite=False, clip=False))
    gaps = [float(np.max(lbr - np.asarray(dl.secrecy_rates(ch, replace(cfg, t=t), W, th, clip=False))))
            for t in (1e-4, 1e-2, 10.0)]
    # the penalty scales as 1/sqrt(n): ~1.2 bit at n = 100, ~0.004 bit at n = 1e7
    assert gaps[0] > gaps[1] > gaps[2] > 0 and gaps[2] < 0.01
    # optimiser units (noise 1, ||W||_F <= 1) give the same rates
    prob = dl.problem(ch, cfg)
    r = np.asarray(dl.problem_rates(prob, dl.to_normalized(W, cfg), th))
    np.testing.assert_allclose(r, np.asarray(dl.secrecy_rates(ch, cfg, W, th, clip=False)), atol=2e-4)
    np.testing.assert_allclose(np.asarray(dl.problem_rates(prob.lbr(), dl.to_normalized(W, cfg), th)), lbr,
                               atol=2e-4)


def test_channel_statistics_and_geometry():
    cfg = dl.FBRDownlinkConfig(K=3)
    chs = jax.vmap(lambda k: dl.sample(k, cfg))(jax.random.split(jax.random.key(3), 2000))
    users, eve = np.asarray(chs.users), np.asarray(chs.eve)
    assert users.shape == (2000, 3, 3) and np.all(users[..., 0] >= 50) and np.all(users[..., 0] <= 70)
    assert np.all(np.abs(users[..., 1]) <= 10) and np.allclose(users[..., 2], 1.5)
    assert np.all(eve[:, 0] >= 70) and np.all(eve[:, 0] <= 90)
    # E||g_k||^2 = beta_k N given the position (unit-modulus LoS, tr R = N); check the mean of ||g||^2 / (beta N)
    irs = np.array(cfg.irs)
    nodes = np.concatenate([users, eve[:, None, :]], axis=1)
    d = np.linalg.norm(nodes - irs, axis=-1)
    beta = 10 ** ((5.0 - 37.5 - 22 * np.log10(d)) / 10)
    ratio = np.sum(np.abs(np.asarray(chs.g)) ** 2, axis=-1) / (beta * cfg.N)
    assert abs(ratio.mean() - 1.0) < 0.03
    d_g = np.linalg.norm(np.array(cfg.alice) - irs)
    beta_g = 10 ** ((10.0 - 37.5 - 22 * np.log10(d_g)) / 10)
    ratio_g = np.sum(np.abs(np.asarray(chs.G)) ** 2, axis=(-2, -1)) / (beta_g * cfg.N * cfg.M)
    assert abs(ratio_g.mean() - 1.0) < 0.02
    # Rician LoS part of G is the rank-one a_I a_M^H: the mean of G is sqrt(beta k/(1+k)) times it
    Gm = np.asarray(chs.G).mean(axis=0)
    s = np.linalg.svd(Gm, compute_uv=False)
    assert s[1] < 0.1 * s[0]


def test_irs_correlation_square_root():
    r = dl.irs_correlation_sqrt(4, 4)
    lam = 0.1
    p = np.array([[pp * lam / 2, 0.0, q * lam / 2] for pp in range(4) for q in range(4)])
    R = np.asarray(channels.sinc_correlation(jnp.asarray(p), wavelength=lam), np.float64)
    np.testing.assert_allclose(r @ r.T, R, atol=1e-5)
    np.testing.assert_allclose(r, r.T, atol=1e-12)


def test_closed_form_bounds_hold_for_random_errors_and_reduce_to_nominal():
    cfg = dl.FBRDownlinkConfig(K=3, rho_U=0.05, rho_E=0.1)
    ch, W, th = _draw(cfg, 2)
    bound = np.asarray(dl.robust_secrecy_rates(ch, cfg, W, th, clip=False))
    keys = jax.random.split(jax.random.key(9), 400)

    def ball(key, g, rho):
        # uniform in the ball ||Delta|| <= rho ||g|| (channels.bounded_error mixes real and complex: not strict-safe)
        k1, k2 = jax.random.split(key)
        d = channels.complex_normal(k1, g.shape, dtype=g.dtype)
        d = d / jnp.linalg.norm(d, axis=-1, keepdims=True).astype(d.dtype)
        r = jax.random.uniform(k2, g.shape[:-1] + (1,)) ** (1.0 / (2 * g.shape[-1]))
        return (rho * jnp.linalg.norm(g, axis=-1, keepdims=True) * r).astype(g.dtype) * d

    def one(k):
        ku, ke = jax.random.split(k)
        du = ball(ku, ch.g[: cfg.K], cfg.rho_U)
        de = ball(ke, ch.g[cfg.K], cfg.rho_E)
        return dl.rates_with_errors(ch, cfg, W, th, du, de, clip=False)

    r = np.asarray(jax.vmap(one)(keys))
    assert np.all(r >= bound[None, :] - 1e-4)
    # each closed-form term is attained: the signal bound |g^H x| - xi ||x|| by the aligned error
    prob = dl.problem(ch, cfg)
    Wn = dl.to_normalized(W, cfg)
    c, nrm = dl.stream_terms(prob.G, prob.g, Wn, th)
    x0 = th * (prob.G @ Wn[:, 0])
    phase = jnp.conj(c[0, 0]) / jnp.abs(c[0, 0]).astype(c.dtype)
    delta = (-prob.xi[0] / jnp.linalg.norm(x0)).astype(x0.dtype) * phase * x0
    np.testing.assert_allclose(float(jnp.abs(jnp.vdot(prob.g[0] + delta, x0))),
                               float(jnp.abs(c[0, 0]) - prob.xi[0] * nrm[0]), rtol=1e-4)
    # rho = 0: the bounds are the nominal rates
    perfect = replace(cfg, rho_U=0.0, rho_E=0.0)
    np.testing.assert_allclose(np.asarray(dl.robust_secrecy_rates(ch, perfect, W, th, clip=False)),
                               np.asarray(dl.secrecy_rates(ch, perfect, W, th, clip=False)), atol=1e-5)


def test_rzf_power_and_edge_cases_are_finite():
    cfg = dl.FBRDownlinkConfig(K=4)
    ch, _, th = _draw(cfg, 4)
    W = dl.rzf_beamformer(ch, cfg, th)
    assert float(jnp.sum(jnp.abs(W) ** 2)) == pytest.approx(float(dl.tx_power(cfg)), rel=1e-5)
    # zero beamformers: rates 0 (FBR un-clipped too: the smoothed sqrt(V) vanishes at 0), finite gradients
    prob = dl.problem(ch, cfg)
    Z = jnp.zeros((cfg.M, cfg.K), ch.G.dtype)
    r = dl.problem_rates(prob, Z, th)
    assert np.allclose(np.asarray(r), 0.0, atol=1e-6)
    g = jax.grad(lambda w: jnp.sum(dl.problem_rates(prob._replace(xi=prob.xi + 1e-3), w, th)))(Z)
    assert np.all(np.isfinite(np.asarray(g)))


def test_config_is_a_pytree_gradients_reach_floats_and_sweeps_do_not_recompile():
    cfg = dl.FBRDownlinkConfig(K=2, N_h=2, N_v=2)
    _, W, th = _draw(cfg, 5)
    Wn = dl.to_normalized(W, cfg)  # beamformer shape at unit power: the power budget P enters the rates

    def f(c):
        ch = dl.sample(jax.random.key(0), c)
        return jnp.sum(dl.secrecy_rates(ch, c, dl.to_physical(Wn, c), th, clip=False))

    g = jax.grad(f)(cfg)
    assert all(np.isfinite(float(v)) for v in jax.tree_util.tree_leaves(g))
    assert float(g.P_dBm) != 0.0 and float(g.irs[1]) != 0.0  # reaches the power and the IRS position
    fj = jax.jit(f)
    with count_compilations() as n:
        for p in (10.0, 20.0, 30.0):
            fj(replace(cfg, P_dBm=p, t=2e-4, rho_U=0.1))
    assert n.count == 1


@pytest.mark.parametrize("kw, msg", [
    (dict(t=0.0), "t must be > 0"), (dict(t=-1e-3), "t must be > 0"), (dict(epsilon=1.0), "epsilon"),
    (dict(epsilon=0.0), "epsilon"), (dict(delta=1.5), "delta"), (dict(rho_U=-0.1), "rho_U"),
    (dict(rho_E=-1e-3), "rho_E"), (dict(K=0), "K must be"), (dict(M=0), "M must be"),
    (dict(t=1e-7), "B \\* t must be >= 1"), (dict(users_low=(80.0, 0.0, 1.5)), "users_low must be <="),
    (dict(P_dBm=float("nan")), "P_dBm"), (dict(alice=(0.0, 0.0)), "alice"),
])
def test_bad_input_one_line_errors(kw, msg):
    with pytest.raises(ValueError, match=msg) as e:
        dl.FBRDownlinkConfig(**kw)
    assert "\n" not in str(e.value)

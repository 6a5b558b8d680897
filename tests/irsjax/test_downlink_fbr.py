"""IRS MISO downlink with finite blocklength (MODELS.md section 4): channels, SINRs, rates, CSI-error bounds.

Every check evaluates one jitted function (eager op-by-op dispatch is slow on a loaded CPU)."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp

from irsjax import channels, units
from irsjax.config import replace
from irsjax.special import q_inverse
from irsjax.systems import downlink_fbr as dl
from irsjax.testing import count_compilations


def _decision(key, cfg, dtype):
    k1, k2 = jax.random.split(key)
    W = jax.random.normal(k1, (cfg.M, cfg.K), dtype=dtype)
    W = W * jnp.sqrt(dl.tx_power(cfg) / jnp.sum(jnp.abs(W) ** 2)).astype(W.dtype)
    phi = jax.random.uniform(k2, (cfg.N,), maxval=2 * np.pi)
    return W, jax.lax.complex(jnp.cos(phi), jnp.sin(phi)).astype(dtype)


@jax.jit
def _everything(key, cfg):
    """Channels, a random decision and every rate of interest for one realisation."""
    ch = dl.sample(key, cfg)
    W, th = _decision(jax.random.fold_in(key, 1), cfg, ch.G.dtype)
    prob = dl.problem(ch, cfg)
    gk, ge = dl.sinrs(ch, cfg, W, th)
    return dict(ch=ch, W=W, th=th, gk=gk, ge=ge, noise=dl.noise_power(cfg), n=dl.blocklength(cfg),
                fbr=dl.secrecy_rates(ch, cfg, W, th, clip=False),
                lbr=dl.secrecy_rates(ch, cfg, W, th, finite=False, clip=False),
                prob_fbr=dl.problem_rates(prob, dl.to_normalized(W, cfg), th),
                prob_lbr=dl.problem_rates(prob.lbr(), dl.to_normalized(W, cfg), th),
                robust=dl.robust_secrecy_rates(ch, cfg, W, th, clip=False),
                rzf_power=jnp.sum(jnp.abs(dl.rzf_beamformer(ch, cfg, th)) ** 2))


@pytest.fixture(scope="module")
def base():
    cfg = dl.FBRDownlinkConfig(K=3, M=4, N_h=2, N_v=3, rho_U=0.05, rho_E=0.1)
    return cfg, _everything(jax.random.key(0), cfg)


def test_sinrs_and_rates_match_equations_4_4_and_0_2(base):
    cfg, out = base
    ch = out["ch"]
    G, g, Wn, t = (np.asarray(a, np.complex128) for a in (ch.G, ch.g, out["W"], out["th"]))
    s2 = float(out["noise"])
    assert s2 == pytest.approx(float(units.dbm_to_watt(-174 + 60.0)), rel=1e-5)  # N0 B at 1 MHz
    h = np.conj(g) @ np.diag(t) @ G  # cascades h_k^H (K+1, M)
    A = np.abs(h @ Wn) ** 2
    K = cfg.K
    gam = np.array([A[k, k] / (sum(A[k, j] for j in range(K) if j != k) + s2) for k in range(K)])
    gam_e = np.array([A[K, k] / (sum(A[K, j] for j in range(K) if j != k) + s2) for k in range(K)])
    np.testing.assert_allclose(np.asarray(out["gk"]), gam, rtol=2e-4)
    np.testing.assert_allclose(np.asarray(out["ge"]), gam_e, rtol=2e-4)
    # FBR (0.2) with n = floor(B t) = 100 (1e6 * 1e-4 is 99.99999... in float32), and LBR (4.5)
    assert float(out["n"]) == 100.0
    V = lambda x: 1 - (1 + x) ** -2  # noqa: E731
    qi = float(q_inverse(1e-5))
    lbr = np.log2(1 + gam) - np.log2(1 + gam_e)
    fbr = lbr - np.log2(np.e) * (qi * np.sqrt(V(gam) / 100) + qi * np.sqrt(V(gam_e) / 100))
    np.testing.assert_allclose(np.asarray(out["fbr"]), fbr, atol=2e-4)
    np.testing.assert_allclose(np.asarray(out["lbr"]), lbr, atol=2e-4)
    # optimiser units (noise 1, ||W||_F <= 1) give the same nominal rates
    perfect = _everything(jax.random.key(0), replace(cfg, rho_U=0.0, rho_E=0.0))
    np.testing.assert_allclose(np.asarray(perfect["prob_fbr"]), fbr, atol=2e-4)
    np.testing.assert_allclose(np.asarray(perfect["prob_lbr"]), lbr, atol=2e-4)
    np.testing.assert_allclose(np.asarray(perfect["robust"]), fbr, atol=2e-4)  # rho = 0: bound = nominal
    assert float(out["rzf_power"]) == pytest.approx(float(dl.tx_power(cfg)), rel=1e-5)


def test_fbr_tends_to_lbr_as_t_grows(base):
    cfg, _ = base
    gaps = []
    for t in (1e-4, 1e-2, 10.0):  # same compiled function: t is a leaf
        o = _everything(jax.random.key(0), replace(cfg, t=t))
        gaps.append(float(np.max(np.asarray(o["lbr"] - o["fbr"]))))
    # the penalty scales as 1/sqrt(n): ~1 bit at n = 100, ~0.004 bit at n = 1e7
    assert gaps[0] > gaps[1] > gaps[2] > 0 and gaps[2] < 0.01


@pytest.mark.slow
def test_channel_statistics_and_geometry():
    cfg = dl.FBRDownlinkConfig(K=3)
    chs = jax.jit(jax.vmap(lambda k: dl.sample(k, cfg)))(jax.random.split(jax.random.key(3), 2000))
    users, eve = np.asarray(chs.users), np.asarray(chs.eve)
    assert users.shape == (2000, 3, 3) and np.all(users[..., 0] >= 50) and np.all(users[..., 0] <= 70)
    assert np.all(np.abs(users[..., 1]) <= 10) and np.allclose(users[..., 2], 1.5)
    assert np.all(eve[:, 0] >= 70) and np.all(eve[:, 0] <= 90)
    # E||g_k||^2 = beta_k N given the position (unit-modulus LoS, tr R = N)
    irs = np.array(cfg.irs)
    nodes = np.concatenate([users, eve[:, None, :]], axis=1)
    beta = 10 ** ((5.0 - 37.5 - 22 * np.log10(np.linalg.norm(nodes - irs, axis=-1))) / 10)
    ratio = np.sum(np.abs(np.asarray(chs.g)) ** 2, axis=-1) / (beta * cfg.N)
    assert abs(ratio.mean() - 1.0) < 0.03
    beta_g = 10 ** ((10.0 - 37.5 - 22 * np.log10(np.linalg.norm(np.array(cfg.alice) - irs))) / 10)
    ratio_g = np.sum(np.abs(np.asarray(chs.G)) ** 2, axis=(-2, -1)) / (beta_g * cfg.N * cfg.M)
    assert abs(ratio_g.mean() - 1.0) < 0.02
    # the Rician mean of G is rank one (the LoS a_I a_M^H)
    s = np.linalg.svd(np.asarray(chs.G).mean(axis=0), compute_uv=False)
    assert s[1] < 0.1 * s[0]


def test_irs_correlation_square_root():
    r = dl.irs_correlation_sqrt(4, 4)
    lam = 0.1
    p = np.array([[pp * lam / 2, 0.0, q * lam / 2] for pp in range(4) for q in range(4)])
    R = np.asarray(channels.sinc_correlation(jnp.asarray(p), wavelength=lam), np.float64)
    np.testing.assert_allclose(r @ r.T, R, atol=1e-5)
    np.testing.assert_allclose(r, r.T, atol=1e-12)


def _ball(key, g, rho):
    # uniform in ||Delta|| <= rho ||g|| (channels.bounded_error mixes real and complex: not strict-safe)
    k1, k2 = jax.random.split(key)
    d = channels.complex_normal(k1, g.shape, dtype=g.dtype)
    d = d / jnp.linalg.norm(d, axis=-1, keepdims=True).astype(d.dtype)
    r = jax.random.uniform(k2, g.shape[:-1] + (1,)) ** (1.0 / (2 * g.shape[-1]))
    return (rho * jnp.linalg.norm(g, axis=-1, keepdims=True) * r).astype(g.dtype) * d


@pytest.mark.slow
def test_closed_form_bounds_hold_for_random_errors_and_are_attained(base):
    cfg, out = base
    ch, W, th = out["ch"], out["W"], out["th"]

    @jax.jit
    def check(keys):
        def one(k):
            ku, ke = jax.random.split(k)
            du = _ball(ku, ch.g[: cfg.K], cfg.rho_U)
            de = _ball(ke, ch.g[cfg.K], cfg.rho_E)
            return dl.rates_with_errors(ch, cfg, W, th, du, de, clip=False)

        prob = dl.problem(ch, cfg)
        Wn = dl.to_normalized(W, cfg)
        c, nrm = dl.stream_terms(prob.G, prob.g, Wn, th)
        x0 = th * (prob.G @ Wn[:, 0])
        phase = jnp.conj(c[0, 0]) / jnp.abs(c[0, 0]).astype(c.dtype)
        delta = (-prob.xi[0] / jnp.linalg.norm(x0)).astype(x0.dtype) * phase * x0
        return (jax.vmap(one)(keys), jnp.abs(jnp.vdot(prob.g[0] + delta, x0)),
                jnp.abs(c[0, 0]) - prob.xi[0] * nrm[0])

    r, attained, bound_term = check(jax.random.split(jax.random.key(9), 400))
    assert np.all(np.asarray(r) >= np.asarray(out["robust"])[None, :] - 1e-4)
    assert np.all(np.asarray(out["robust"]) < np.asarray(out["fbr"]))  # rho > 0 costs something
    # the signal term |g^H x| - xi ||x|| is attained by the aligned error
    assert float(attained) == pytest.approx(float(bound_term), rel=1e-4)


def test_zero_beamformers_give_zero_rates_and_finite_gradients(base):
    cfg, out = base
    prob = dl.problem(out["ch"], cfg)
    Z = jnp.zeros((cfg.M, cfg.K), out["W"].dtype)
    f = jax.jit(lambda w: jnp.sum(dl.problem_rates(prob, w, out["th"])))
    assert float(f(Z)) == pytest.approx(0.0, abs=1e-5)  # the smoothed sqrt(V) vanishes at 0 (float32 noise)
    g = jax.jit(jax.grad(f))(Z)
    assert np.all(np.isfinite(np.asarray(g)))


@pytest.mark.slow
def test_config_is_a_pytree_gradients_reach_floats_and_sweeps_do_not_recompile(base):
    cfg = dl.FBRDownlinkConfig(K=2, N_h=2, N_v=2)
    W, th = _decision(jax.random.key(5), cfg, jnp.complex64)
    Wn = dl.to_normalized(W, cfg)  # beamformer shape at unit power: the power budget P enters the rates

    def f(c):
        ch = dl.sample(jax.random.key(0), c)
        return jnp.sum(dl.secrecy_rates(ch, c, dl.to_physical(Wn, c), th, clip=False))

    g = jax.jit(jax.grad(f))(cfg)
    assert all(np.isfinite(float(v)) for v in jax.tree_util.tree_leaves(g))
    assert float(g.P_dBm) != 0.0 and float(g.irs[1]) != 0.0  # reaches the power and the IRS position
    fj = jax.jit(f)
    fj(cfg)
    with count_compilations() as n:
        for p in (10.0, 20.0, 30.0):
            fj(replace(cfg, P_dBm=p, t=2e-4, rho_U=0.1))
    assert n.count == 0


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

"""IRS secure two-way multiuser communications (MODELS.md section 1; Lv et al., IEEE CL 2021).

``N`` user pairs ``(A_n, B_n)`` exchange data in full duplex through a ``K``-element
IRS (no direct A-B link); one passive single-antenna Eve hears both users directly
and through the IRS and decodes by successive interference cancellation (SIC),
eqs. (1.2)-(1.3). The scheduled pair maximises ``zeta_n = |h_n^T Theta g_n|^2``
with matched phases (1.4)-(1.5); secrecy rates (1.6). One call of a
:class:`TwoWayConfig` is one realisation (topology *and* fading, so samples are
i.i.d.) and returns the proposed scheme and both baselines on the same draws.

The pipeline: :func:`sample` draws what the schedule needs (``zeta_n`` of every pair, from
the channel magnitudes) and :func:`sample_pairs` the rest of the two pairs in use; the
decisions sit between them (:func:`schedule`: argmax and random pair; the IRS aligned to the
chosen pair); :func:`pair_snrs` and :func:`secrecy_rates` are pure functions of the channels
and decisions. ``cfg(key)`` composes them into one realisation's statistics.

>>> import jax
>>> from irsjax.systems.two_way import TwoWayConfig
>>> cfg = TwoWayConfig(K=8, N=4, P_dBm=40.0)
>>> out = cfg(jax.random.key(0))
>>> sorted(k for k in out if not k.startswith(("ln1p", "p_")))[:3]
['one_way_jamming', 'one_way_jamming_s1', 'one_way_jamming_s2']
>>> bool(out["proposed"] >= 0)
True

Random numbers
--------------
Per realisation the model needs about ``2 N K + 6 K + 4 N`` uniforms; the
``2 N K`` channel magnitudes dominate (640 at ``K=32, N=10``). JAX's threefry
delivers ~1e8 words/s on a CPU, i.e. ~10 s per million realisations for the
magnitudes alone. With ``rng="pcg"`` (default) the counter-based stream of
:mod:`irsjax.streams` is ~8x cheaper and, being a pure function of the counter,
lets the kernel reduce the ``N x K`` magnitudes to ``zeta_n`` in one fused loop
and *recompute* the scheduled pair's row instead of storing all of them.
``rng="threefry"`` draws the same lanes with ``jax.random.bits`` (reference path;
the tests check the two agree statistically). Every number derives only from the
explicit key.

Exact "lazy" sampling: the phases of a pair's channels and its direct Eve links
are independent of the channel magnitudes (circular symmetry), so only the
magnitudes of all pairs are drawn up front (they decide the schedule); phases
and Eve links of the scheduled pair ``n*`` and of the random-scheduling pair
``n_r`` are drawn afterwards (shared when ``n_r = n*``). This is the joint law
of drawing every ``h_n, g_n, h_ne, g_ne`` and discarding the unused ones.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from irsjax import _compile, channels, geometry, units
from irsjax.analysis import two_way as analysis
from irsjax.config import (check_choice, check_finite, check_point, check_positive, check_size, config,
                           merge_dynamic, split_dynamic, static)
from irsjax.phases import phasor
from irsjax.streams import RNGS, Stream, words_to_uniform
from irsjax.units import LN2


# --------------------------------------------------------------------------- configuration
@config
class TwoWayConfig:
    """System configuration: sizes and switches static, every float a pytree leaf.

    Powers in dBm; coordinates in metres (2-D). ``positions_a``/``positions_b``
    (tuples of ``N`` ``(x, y)`` pairs) fix the users; ``None`` drops them
    uniformly in the discs of radius ``radius`` around ``centre_a``/``centre_b``,
    anew in every realisation. Path loss ``d^-alpha`` (``C0 = 1``), distances
    clipped at 1 m.
    """

    K: int = static(32)
    N: int = static(10)
    P_dBm: float = 20.0
    sigma0_dBm: float = -70.0
    sigmal_dBm: float = -40.0
    alpha: float = 4.0
    irs: tuple = (15.0, 0.0)
    eve: tuple = (15.0, 20.0)
    centre_a: tuple = (0.0, 0.0)
    centre_b: tuple = (30.0, 0.0)
    radius: float = 5.0
    positions_a: tuple | None = None
    positions_b: tuple | None = None
    rng: str = static("pcg")

    def __post_init__(self):
        check_size("K", self.K)
        check_size("N", self.N)
        for nm in ("P_dBm", "sigma0_dBm", "sigmal_dBm"):
            check_finite(nm, getattr(self, nm))
        check_positive("alpha", self.alpha)
        check_positive("radius", self.radius, allow_zero=True)
        check_choice("rng", self.rng, RNGS)
        for nm in ("irs", "eve", "centre_a", "centre_b"):
            object.__setattr__(self, nm, check_point(nm, getattr(self, nm), 2))
        for nm in ("positions_a", "positions_b"):
            p = getattr(self, nm)
            if p is None:
                continue
            pts = tuple(check_point(f"{nm}[{i}]", q, 2) for i, q in enumerate(p))
            if len(pts) != self.N:
                raise ValueError(f"{nm} must hold N={self.N} points, got {len(pts)}")
            object.__setattr__(self, nm, pts)
        if (self.positions_a is None) != (self.positions_b is None):
            raise ValueError("give both positions_a and positions_b, or neither")

    @property
    def fixed_positions(self) -> bool:
        return self.positions_a is not None

    # --- layout of the per-realisation random stream ------------------------------
    @property
    def _half_k(self) -> int:
        return -(-self.K // 2)

    @property
    def _starts(self):
        """Counter offsets of the stream blocks: magnitudes (N, ceil(K/2)), phases of n* and
        Eve's IRS channel (K,), phases of n_r (K,), user drops (N,), direct links + choice (3,)."""
        c1 = self.N * self._half_k
        c2 = c1 + self.K
        c3 = c2 + self.K
        c4 = c3 + self.N
        return 0, c1, c2, c3, c4, c4 + 3

    @property
    def num_words(self) -> int:
        """uint32 words drawn per realisation."""
        return 4 * self._starts[-1]

    # --- large scale ---------------------------------------------------------------
    def _pt(self, p, dt):
        return jnp.stack([jnp.asarray(c, dt) for c in p])

    def draw_positions(self, key_or_uniforms, pairs=None):
        """Positions ``(A, B)`` of shape ``(N, 2)``: fixed ones, or uniform drops in the discs.

        Accepts a key, or uniforms of shape ``(..., 4)`` (one row per pair, e.g. from the
        realisation's own stream); ``pairs`` selects rows of the fixed positions.
        """
        dt = channels.real_dtype()
        if self.fixed_positions:
            pa = jnp.stack([self._pt(q, dt) for q in self.positions_a])
            pb = jnp.stack([self._pt(q, dt) for q in self.positions_b])
            return (pa, pb) if pairs is None else (pa[pairs], pb[pairs])
        u = key_or_uniforms
        if not (hasattr(u, "shape") and u.shape[-1:] == (4,) and jnp.issubdtype(u.dtype, jnp.floating)):
            u = jax.random.uniform(u, (self.N, 4), dtype=dt)

        def disc(c, ur, ut):
            r = jnp.asarray(self.radius, dt) * jnp.sqrt(ur)
            cs, sn = phasor(ut)
            off = jnp.stack([r * cs, r * sn], axis=-1)
            return self._pt(c, dt).reshape((1,) * (off.ndim - 1) + (2,)) + off

        return disc(self.centre_a, u[..., 0], u[..., 1]), disc(self.centre_b, u[..., 2], u[..., 3])

    def distances(self, pos_a, pos_b):
        """``dict(dA, dB, dAe, dBe, de)``: users to IRS, users to Eve, IRS to Eve (metres, >= 1)."""
        dt = pos_a.dtype
        irs, eve = self._pt(self.irs, dt), self._pt(self.eve, dt)
        return dict(dA=geometry.distance(pos_a, irs), dB=geometry.distance(pos_b, irs),
                    dAe=geometry.distance(pos_a, eve), dBe=geometry.distance(pos_b, eve),
                    de=geometry.distance(irs, eve))

    def powers(self, dt=None):
        """``(P, sigma0^2, sigmal^2)`` in watts."""
        dt = channels.real_dtype(dt) if dt is None else dt
        return tuple(units.dbm_to_watt(jnp.asarray(v, dt)) for v in (self.P_dBm, self.sigma0_dBm, self.sigmal_dBm))

    def snr_scales(self, pos_a, pos_b):
        """Per-pair large-scale quantities of Theorem 1 (linear, shape ``(N,)``).

        ``rho_n = P / (dA^a dB^a (sl^2 + s0^2))``, ``a_n = rho0 sigma_e^2``,
        ``b_n = rho0 sigma_e'^2`` with ``sigma_e^2 = K de^-a dA^-a + dAe^-a`` (MODELS.md 1(g)).
        """
        d = self.distances(pos_a, pos_b)
        P, s0, sl = self.powers(pos_a.dtype)
        al = jnp.asarray(self.alpha, pos_a.dtype)
        rho = P / ((d["dA"] * d["dB"]) ** al * (sl + s0))
        rho0 = P / s0
        sig_e = self.K * (d["de"] * d["dA"]) ** -al + d["dAe"] ** -al
        sig_e2 = self.K * (d["de"] * d["dB"]) ** -al + d["dBe"] ** -al
        return rho, rho0 * sig_e, rho0 * sig_e2

    # --- one realisation -----------------------------------------------------------------
    def __call__(self, key):
        """Per-realisation secrecy rates (bit/s/Hz) of the three schemes (MODELS.md 1(a)-(d))."""
        ch = sample(key, self)
        n_star, n_rand = schedule(ch, self)
        pc = sample_pairs(ch, n_star, n_rand, self)
        g_s, U_s, V_s = pair_snrs(pc, 0, ch.zeta[n_star], self)
        g_r, U_r, V_r = pair_snrs(pc, 1, ch.zeta[n_rand], self)
        out = secrecy_rates(g_s, U_s, V_s, g_r, U_r, V_r)
        out["slope_per_doubling_K"] = local_k_slope(g_s, ch.zeta[n_star], out, self.K)
        return out


# --------------------------------------------------------------------------- sampling
class TwoWayChannels(NamedTuple):
    """What the schedule needs: ``zeta_n = (sum_k |h_nk| |g_nk|)^2`` of every pair (1.4), and the
    realisation's stream (the remaining channels are drawn from it on demand by :func:`sample_pairs`:
    exact lazy sampling, see the module docstring)."""

    zeta: jax.Array
    stream: Stream


class PairChannels(NamedTuple):
    """Channels of the two pairs in use (row 0: the scheduled pair ``n*``, row 1: the random pair ``n_r``).

    ``mag_h, mag_g``: ``|h_nk|, |g_nk|`` (2, K); ``turns_h, turns_g``: ``arg/(2 pi)`` of ``h_nk, g_nk``
    (2, K); ``h_e``: IRS-Eve (K,); ``direct``: the direct Eve links ``(h_ne, g_ne)`` (2 rows, 2
    links); ``dist``: distances of :meth:`TwoWayConfig.distances` for the two pairs.
    """

    mag_h: jax.Array
    mag_g: jax.Array
    turns_h: jax.Array
    turns_g: jax.Array
    h_e: jax.Array
    direct: jax.Array
    dist: dict


def _magnitudes(cfg, lanes):
    """Lanes of magnitude rows -> ``(|h|, |g|)`` of shape ``(..., K)``."""
    x, y, z, w = (words_to_uniform(v) for v in lanes)
    mh = jnp.concatenate([jnp.sqrt(-jnp.log(x)), jnp.sqrt(-jnp.log(y))], axis=-1)[..., :cfg.K]
    mg = jnp.concatenate([jnp.sqrt(-jnp.log(z)), jnp.sqrt(-jnp.log(w))], axis=-1)[..., :cfg.K]
    return mh, mg


def _amplitudes(cfg, lanes):
    """``sqrt(zeta_n) = sum_k |h_nk| |g_nk|`` from the magnitude lanes, as one reduction over the half-rows: the
    two halves (lanes ``x z`` and ``y w``) are added elementwise first. With one reduction per half, as before,
    the engine's lv-two-way program took 1.59 us a realisation at K = 16 instead of 0.98 us (1.18 / 1.08 us at
    K = 32, 2.09 / 1.78 us at K = 64; how XLA fuses the whole program, measured, not traced further)."""
    x, y, z, w = (jnp.log(words_to_uniform(v)) for v in lanes)
    second = jnp.sqrt(y * w)
    if cfg.K % 2:
        second = jnp.where(jnp.arange(cfg._half_k) < cfg._half_k - 1, second, jnp.zeros((), second.dtype))
    return jnp.sum(jnp.sqrt(x * z) + second, axis=-1)


def sample(key, cfg: TwoWayConfig) -> TwoWayChannels:
    """Draw the cascade gains ``zeta_n`` of every pair (each with its own aligned phases, (1.4))."""
    st = Stream(key, cfg.rng)
    amp = _amplitudes(cfg, st.block(cfg._starts[0], (cfg.N, cfg._half_k)))
    return TwoWayChannels(amp * amp, st)


def schedule(ch: TwoWayChannels, cfg: TwoWayConfig):
    """The decisions: ``(n*, n_r)``, the proposed pair ``argmax_n zeta_n`` (1.5) and the random pair (B2)."""
    misc = words_to_uniform(ch.stream.block(cfg._starts[4], (3,))[0])
    n_rand = jnp.minimum((misc[2] * cfg.N).astype(jnp.int32), cfg.N - 1)
    return jnp.argmax(ch.zeta), n_rand


def sample_pairs(ch: TwoWayChannels, n_star, n_rand, cfg: TwoWayConfig) -> PairChannels:
    """The remaining channels of the scheduled pair and of the random pair (the same draws when they
    coincide), given the schedule: magnitudes, phases, IRS-Eve link, direct Eve links, user drops."""
    st, K, N = ch.stream, cfg.K, cfg.N
    c0, c1, c2, c3, c4, _ = cfg._starts
    ph_s = [words_to_uniform(v) for v in st.block(c1, (K,))]  # arg h, arg g of n*; h_e
    ph_r = [words_to_uniform(v) for v in st.block(c2, (K,))[:2]]  # arg h, arg g of n_r
    misc = [words_to_uniform(v) for v in st.block(c4, (3,))]
    n_star = n_star.astype(jnp.int32)
    same = n_rand == n_star
    chosen = jnp.stack([n_star, n_rand])
    mh, mg = _magnitudes(cfg, st.rows(c0, (N, cfg._half_k), chosen))  # rows of n*, n_r
    # large scale: only the two pairs in use are placed (drops are i.i.d. over pairs)
    u_pos = jnp.concatenate([words_to_uniform(v) for v in st.rows(c3, (N, 1), chosen)], axis=-1)
    pos_a, pos_b = cfg.draw_positions(u_pos, pairs=chosen)
    cn = channels.complex_normal_from_uniforms
    h_e = cn(ph_s[2], ph_s[3])  # IRS-Eve, common to all schemes
    # direct links (h_ne, g_ne) of n* and n_r (the same draws when n_r = n*)
    dir_s = (cn(misc[0][0], misc[1][0]), cn(misc[2][0], misc[3][0]))
    dir_f = (cn(misc[0][1], misc[1][1]), cn(misc[2][1], misc[3][1]))
    dir_r = tuple(jnp.where(same, a, b) for a, b in zip(dir_s, dir_f))
    ph_r = [jnp.where(same, a, b) for a, b in zip(ph_s[:2], ph_r)]  # phases in turns
    return PairChannels(mh, mg, jnp.stack([ph_s[0], ph_r[0]]), jnp.stack([ph_s[1], ph_r[1]]), h_e,
                        jnp.stack([jnp.stack(dir_s), jnp.stack(dir_r)]), cfg.distances(pos_a, pos_b))


# --------------------------------------------------------------------------- metrics
def pair_snrs(pc: PairChannels, i, zeta_n, cfg: TwoWayConfig):
    """Row ``i`` of ``pc`` with the IRS aligned to it: ``(gamma_n, U, V)``, eq. (1.1)-(1.3) inputs,
    ``U = rho0 |phi_n|^2``, ``V = rho0 |psi_n|^2``.

    ``Theta = diag(exp(-j(arg h_nk + arg g_nk)))`` (1.4), so ``Theta h_n`` has entries
    ``|h_nk| e^{-j arg g_nk}`` and ``Theta g_n`` entries ``|g_nk| e^{-j arg h_nk}``.
    """
    d = pc.dist
    P, s0, sl = cfg.powers(pc.mag_h.dtype)
    rho0 = P / s0
    al = jnp.asarray(cfg.alpha, pc.mag_h.dtype)
    ch, sh = phasor(pc.turns_h[i])  # e^{j arg h_nk}
    cg, sg = phasor(pc.turns_g[i])  # e^{j arg g_nk}
    mh, mg = pc.mag_h[i], pc.mag_g[i]
    er, ei = pc.h_e.real, pc.h_e.imag
    dA, dB = d["dA"][i], d["dB"][i]
    gamma = P * zeta_n / ((dA * dB) ** al * (sl + s0))  # eq. (1.1)
    # sum_k h_e,k (Theta h_n)_k and sum_k h_e,k (Theta g_n)_k in real arithmetic (XLA's complex products and
    # reductions over K cost ~10 % of the lv-two-way kernel at K = 16)
    hr, hi = jnp.sum(mh * (er * cg + ei * sg)), jnp.sum(mh * (ei * cg - er * sg))
    gr, gi = jnp.sum(mg * (er * ch + ei * sh)), jnp.sum(mg * (ei * ch - er * sh))
    ca, cb = (d["de"] * dA) ** (-al / 2), (d["de"] * dB) ** (-al / 2)
    da, db = d["dAe"][i] ** (-al / 2), d["dBe"][i] ** (-al / 2)
    pa, pb = pc.direct[i, 0], pc.direct[i, 1]
    phi_r, phi_i = ca * hr + da * pa.real, ca * hi + da * pa.imag
    psi_r, psi_i = cb * gr + db * pb.real, cb * gi + db * pb.imag
    U = rho0 * (phi_r * phi_r + phi_i * phi_i)
    V = rho0 * (psi_r * psi_r + psi_i * psi_i)
    return gamma, U, V


def _rates(gamma, U, V):
    ge1 = U / (V + 1.0)  # eq. (1.2)
    sic = ge1 >= gamma
    ge2_jam = V / (U + 1.0)
    ge2 = jnp.where(sic, V, ge2_jam)  # eq. (1.3)
    lg = jnp.log1p(gamma)
    l1, l2, l2j = jnp.log1p(ge1), jnp.log1p(ge2), jnp.log1p(ge2_jam)
    r1 = jnp.maximum(lg - l1, 0.0) / LN2  # eq. (1.6)
    r2 = jnp.maximum(lg - l2, 0.0) / LN2
    ow2 = 0.5 * jnp.maximum(lg - l2j, 0.0) / LN2  # B1 slot 2: A jams while B sends
    return r1, r2, ow2, sic, lg, l1, l2


def secrecy_rates(g_s, U_s, V_s, g_r, U_r, V_r):
    """Statistics of one realisation from the scheduled pair's ``(gamma, U, V)`` and the random pair's:
    per-signal and sum secrecy rates of the proposed scheme, B2 (random scheduling) and B1 (one-way
    jamming, two half slots), the indicators ``p_secure_s1/s2`` and ``p_sic``, and ``ln(1+gamma)`` terms."""
    r1, r2, ow2, sic, lg, l1, l2 = _rates(g_s, U_s, V_s)
    q1, q2 = _rates(g_r, U_r, V_r)[:2]
    ow1 = 0.5 * r1  # B1 slot 1: the SINRs of (1.2) (B's jamming = s2's power), half the time
    dt = r1.dtype
    one, zero = jnp.ones((), dt), jnp.zeros((), dt)
    return {
        "proposed": r1 + r2, "proposed_s1": r1, "proposed_s2": r2,
        "random_scheduling": q1 + q2, "random_scheduling_s1": q1, "random_scheduling_s2": q2,
        "one_way_jamming": ow1 + ow2, "one_way_jamming_s1": ow1, "one_way_jamming_s2": ow2,
        "p_secure_s1": jnp.where(r1 > 0, one, zero), "p_secure_s2": jnp.where(r2 > 0, one, zero),
        "p_sic": jnp.where(sic, one, zero),
        "ln1p_gamma": lg, "ln1p_gamma_e1": l1, "ln1p_gamma_e2": l2,
    }


def local_k_slope(gamma, zeta, rates, K):
    """Pathwise local slope of the proposed sum secrecy rate per doubling of ``K`` (bit), one realisation.

    ``d/dlog2 K {log2(1+gamma) - log2(1+gamma_ei)}^+ = 1{R_si > 0} gamma/(1+gamma) d ln gamma / d ln K``
    with Eve's SINRs taken as independent of ``K`` (her direct links dominate, MODELS.md 1(g)) and
    ``gamma = rho zeta*``. In the CLT picture ``sqrt(zeta*) = K pi/4 + sqrt(K) s z`` (mean ``pi/4`` per
    element, fluctuation ``sqrt(K)``), so ``d ln gamma / d ln K = 2 d ln sqrt(zeta*) / d ln K
    = 1 + (K pi/4) / sqrt(zeta*)``. At high SNR with ``Pr(R_si > 0) -> 1`` this tends to
    ``2 + 2 = 4`` bit per doubling (``K^2`` SNR growth on each of the two signals). This is the smooth
    part of the slope only: it leaves out the switching term of Eve's SIC (as ``gamma`` grows, Eve's
    SIC fails more often and ``gamma_e2`` drops from ``V`` to ``V/(U+1)``, a jump up of ``R_s2``), which
    adds ~0.05-0.2 bit at 40 dBm (see ``scenarios/README_lv_two_way.md``). The paper's reference curve
    "2 log K" corresponds to an SNR growing like ``K``, not ``K^2``.
    """
    dt = gamma.dtype
    one, zero = jnp.ones((), dt), jnp.zeros((), dt)
    active = jnp.where(rates["proposed_s1"] > 0, one, zero) + jnp.where(rates["proposed_s2"] > 0, one, zero)
    elastic = 1.0 + (K * jnp.pi / 4) / jnp.sqrt(jnp.maximum(zeta, jnp.finfo(dt).tiny))
    return active * (gamma / (1.0 + gamma)) * elastic


PROBABILITIES = ("p_secure_s1", "p_secure_s2", "p_sic")
"""Names of the 0/1 indicator statistics returned by :class:`TwoWayConfig` (binomial CIs)."""


# --------------------------------------------------------------------------- Theorem 1 over topologies
def lower_bound(cfg: TwoWayConfig, key, num_topologies=300, *, methods=("reference", "paper"), M=20):
    """Theorem 1 ASR lower bound (bit/s/Hz) averaged over ``num_topologies`` drops.

    Evaluated per topology (``{.}^+`` after the fading expectation, per topology)
    and averaged over Latin-hypercube user drops (:func:`latin_hypercube`; unbiased, much
    smaller topology-sampling error than i.i.d. drops); with fixed positions a single
    topology is used. Returns
    ``{method: dict(sum, s1, s2, q_m, q_e1, q_e2, sum_se, s1_se, s2_se)}`` (floats; rates in
    bit/s/Hz, ``q_*`` topology-averaged nats, ``*_se`` the standard error of the topology
    average) for ``methods`` among ``"reference"`` (accurate quadrature)
    and ``"paper"`` (Gauss-Chebyshev with ``M`` nodes), on the same topologies.

    >>> b = lower_bound(TwoWayConfig(K=16, N=2, P_dBm=50.0), jax.random.key(0), 4)
    >>> b["reference"]["sum"] > 0 and b["paper"]["sum"] > 0
    True
    """
    T = 1 if cfg.fixed_positions else int(num_topologies)
    if T < 1:
        raise ValueError(f"num_topologies must be >= 1, got {num_topologies!r}")
    methods = analysis.check_methods(methods)
    leaves, static_cfg = split_dynamic(cfg)
    out = _lower_bound_jit(static_cfg, T, methods, int(M), leaves, key)
    return {m: {k: float(v) for k, v in d.items()} for m, d in out.items()}


def latin_hypercube(key, num, dim, dtype=None):
    """``num`` points in ``[0, 1)^dim``: each coordinate a random permutation of the strata
    ``[k/num, (k+1)/num)`` with a uniform offset (unbiased for any integrand; removes the
    variance of additive effects, e.g. of the independent user drops).

    One ``jax.random.bits`` call draws everything: the permutations sort 32-bit random keys (as
    ``jax.random.permutation`` does) and the offsets are :func:`irsjax.streams.words_to_uniform` of the
    other words. Each separate draw (splits, a permutation, uniforms) compiles its own threefry hash:
    the five of the previous version cost 0.3 s of a cold ``irsjax run lv-two-way``.

    >>> u = latin_hypercube(jax.random.key(0), 8, 3)
    >>> u.shape, sorted((u[:, 0] * 8).astype(int).tolist()) == list(range(8))
    ((8, 3), True)
    """
    dt = channels.real_dtype(dtype)
    words = jax.random.bits(key, (2, dim, num), dtype=jnp.uint32)
    perms = jnp.argsort(words[0], axis=-1)  # (dim, num)
    u = (perms.T.astype(dt) + words_to_uniform(words[1].T, dt)) / num
    return jnp.minimum(u, 1.0 - jnp.finfo(dt).epsneg)


@_compile.jit(static_argnums=(0, 1, 2, 3), program_cache=True, options=False)
def _lower_bound_jit(static_cfg, T, methods, M, leaves, key):
    cfg = merge_dynamic(leaves, static_cfg)
    u = latin_hypercube(key, T, 4 * cfg.N).reshape(T, cfg.N, 4)  # Latin-hypercube user drops

    def one(ut):
        pa, pb = cfg.draw_positions(ut)
        rho, a, b = cfg.snr_scales(pa, pb)
        return analysis.asr_lower_bounds(rho, a, b, cfg.K, cfg.N, methods=methods, M=M)

    res = jax.vmap(one)(u)
    out = {}
    for m, d in res.items():
        out[m] = {k: jnp.mean(v, axis=0) for k, v in d.items()}
        for k in ("sum", "s1", "s2"):  # i.i.d.-formula standard error: conservative for Latin-hypercube drops
            out[m][k + "_se"] = jnp.std(d[k], axis=0, ddof=1) / jnp.sqrt(T) if T > 1 else jnp.zeros_like(d[k][0])
    return out

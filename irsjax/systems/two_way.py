"""IRS secure two-way multiuser communications (MODELS.md section 1; Lv et al., IEEE CL 2021).

``N`` user pairs ``(A_n, B_n)`` exchange data in full duplex through a ``K``-element
IRS (no direct A-B link); one passive single-antenna Eve hears both users directly
and through the IRS and decodes by successive interference cancellation (SIC),
eqs. (1.2)-(1.3). The scheduled pair maximises ``zeta_n = |h_n^T Theta g_n|^2``
with matched phases (1.4)-(1.5); secrecy rates (1.6). One call of a
:class:`TwoWayConfig` is one realisation (topology *and* fading, so samples are
i.i.d.) and returns the proposed scheme and both baselines on the same draws.

>>> import jax
>>> from irsjax.systems.two_way import TwoWayConfig
>>> cfg = TwoWayConfig(K=8, N=4)
>>> out = cfg(jax.random.key(0), 40.0)
>>> sorted(k for k in out if not k.startswith(("ln1p", "p_")))[:3]
['one_way_jamming', 'one_way_jamming_s1', 'one_way_jamming_s2']
>>> bool(out["proposed"] >= 0)
True

Random numbers
--------------
Per realisation the model needs about ``2 N K + 6 K + 4 N`` uniforms; the
``2 N K`` channel magnitudes dominate (640 at ``K=32, N=10``). JAX's threefry
delivers ~1e8 words/s on a CPU, i.e. ~10 s per million realisations for the
magnitudes alone. With ``rng="pcg"`` (default) 96 threefry bits of the
realisation key seed a counter-based ``pcg4d`` hash (Jarzynski & Olano, JCGT
9(3), 2020; passes TestU01 BigCrush) that is ~8x cheaper and, being a pure
function of the counter, lets the kernel reduce the ``N x K`` magnitudes to
``zeta_n`` in one fused loop and *recompute* the scheduled pair's row instead of
storing all of them. ``rng="threefry"`` draws the same lanes with
``jax.random.bits`` (reference path; the tests check the two agree
statistically). Every number derives only from the explicit key.

Exact "lazy" sampling: the phases of a pair's channels and its direct Eve links
are independent of the channel magnitudes (circular symmetry), so only the
magnitudes of all pairs are drawn up front (they decide the schedule); phases
and Eve links of the scheduled pair ``n*`` and of the random-scheduling pair
``n_r`` are drawn afterwards (shared when ``n_r = n*``). This is the joint law
of drawing every ``h_n, g_n, h_ne, g_ne`` and discarding the unused ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import jax
import jax.numpy as jnp

from irsjax import channels, geometry, units
from irsjax.analysis import two_way as analysis

LN2 = float(np.log(2.0))


# --------------------------------------------------------------------------- random stream
def _pcg4d(x, y, z, w):
    """One round of the pcg4d hash on uint32 lanes (Jarzynski & Olano 2020)."""
    a, c = jnp.uint32(1664525), jnp.uint32(1013904223)
    x, y, z, w = x * a + c, y * a + c, z * a + c, w * a + c
    x = x + y * w
    y = y + z * x
    z = z + x * y
    w = w + y * z
    s = jnp.uint32(16)
    x, y, z, w = x ^ (x >> s), y ^ (y >> s), z ^ (z >> s), w ^ (w >> s)
    x = x + y * w
    y = y + z * x
    z = z + x * y
    w = w + y * z
    return x, y, z, w


class Stream:
    """The uint32 stream of one realisation, as blocks of four lanes addressed by counter.

    ``block(start, shape)``: lanes ``(x, y, z, w)`` (each of ``shape``) for counters
    ``start + arange(prod(shape))``; ``rows(start, shape, idx)``: the rows ``idx`` of the
    2-D block ``block(start, shape)``. With ``rng="pcg"`` a row is recomputed from its
    counters (nothing is stored); with ``rng="threefry"`` a block is
    ``jax.random.bits(fold_in(key, start))`` and rows are gathered from it.

    >>> st = Stream(jax.random.key(0))
    >>> x, y, z, w = st.block(0, (3, 4))
    >>> x.shape, str(x.dtype), bool((st.rows(0, (3, 4), 1)[2] == z[1]).all())
    ((3, 4), 'uint32', True)
    """

    def __init__(self, key, rng="pcg"):
        if rng not in ("pcg", "threefry"):
            raise ValueError(f"rng must be 'pcg' or 'threefry', got {rng!r}")
        self.key = key
        self.rng = rng
        self.seed = jax.random.bits(key, (3,), dtype=jnp.uint32) if rng == "pcg" else None

    def _hash(self, ctr):
        s0, s1, s2 = (jnp.broadcast_to(self.seed[i], ctr.shape) for i in range(3))
        return _pcg4d(ctr, s0, s1, s2)

    def block(self, start, shape):
        shape = tuple(int(v) for v in shape)
        if self.rng == "threefry":
            b = jax.random.bits(jax.random.fold_in(self.key, start), (4,) + shape, dtype=jnp.uint32)
            return b[0], b[1], b[2], b[3]
        n = int(np.prod(shape))
        ctr = (jnp.uint32(start) + jnp.arange(n, dtype=jnp.uint32)).reshape(shape)
        return self._hash(ctr)

    def rows(self, start, shape, idx):
        cols = int(shape[1])
        if self.rng == "threefry":
            return tuple(lane[idx] for lane in self.block(start, shape))
        idx = jnp.asarray(idx).astype(jnp.uint32)
        ctr = jnp.uint32(start) + idx[..., None] * jnp.uint32(cols) + jnp.arange(cols, dtype=jnp.uint32)
        return self._hash(ctr)


def words_to_uniform(words, dtype=None):
    """Map uint32 words to uniforms on the *open* interval (0, 1) (midpoints of 2^23 or 2^31 bins)."""
    dt = channels.real_dtype(dtype)
    if dt == jnp.float64:
        return (words | jnp.uint32(1)).astype(dt) * (2.0 ** -32)
    return ((words >> jnp.uint32(8)) | jnp.uint32(1)).astype(dt) * np.float32(2.0 ** -24)


def phasor(u):
    """``(cos 2 pi u, sin 2 pi u)`` for uniforms ``u`` in [0, 1), by quadrant reduction and a
    Taylor polynomial on ``[-pi/4, pi/4]`` (full float32/float64 accuracy, only multiply-adds:
    XLA's CPU ``sin``/``cos`` are ~15x slower than ``log``).

    >>> c, s = phasor(jnp.array([0.0, 0.125, 0.7]))
    >>> bool(jnp.allclose(c, jnp.cos(2 * jnp.pi * jnp.array([0.0, 0.125, 0.7])), atol=1e-6))
    True
    """
    u = jnp.asarray(u)
    q = jnp.round(4.0 * u)
    x = (2 * np.pi) * (u - 0.25 * q)  # in [-pi/4, pi/4]
    x2 = x * x
    nterms = 9 if u.dtype == jnp.float64 else 5
    # sin x = x sum_k (-x2)^k / (2k+1)!,  cos x = sum_k (-x2)^k / (2k)!   (Horner)
    sp = jnp.ones_like(x)
    cp = jnp.ones_like(x)
    for k in range(nterms, 0, -1):
        sp = 1.0 - sp * x2 / ((2 * k) * (2 * k + 1))
        cp = 1.0 - cp * x2 / ((2 * k - 1) * (2 * k))
    sn, cs = x * sp, cp
    qi = q.astype(jnp.int32) & 3
    c = jnp.where(qi == 0, cs, jnp.where(qi == 1, -sn, jnp.where(qi == 2, -cs, sn)))
    s_ = jnp.where(qi == 0, sn, jnp.where(qi == 1, cs, jnp.where(qi == 2, -sn, -cs)))
    return c, s_


def _cn_from_uniform(u1, u2):
    """Box-Muller: CN(0, 1) from two uniforms (|z|^2 = -ln u1 ~ Exp(1), arg = 2 pi u2)."""
    r = jnp.sqrt(-jnp.log(u1))
    c, s = phasor(u2)
    return jax.lax.complex(r * c, r * s)


# --------------------------------------------------------------------------- configuration
def _point(p, name):
    try:
        t = tuple(float(v) for v in p)
    except TypeError:
        raise ValueError(f"{name} must be an (x, y) pair, got {p!r}") from None
    if len(t) != 2 or not all(np.isfinite(t)):
        raise ValueError(f"{name} must be a finite (x, y) pair, got {p!r}")
    return t


@dataclass(frozen=True)
class TwoWayConfig:
    """Static configuration (hashable: one compilation per distinct config).

    Powers in dBm; coordinates in metres (2-D). ``positions_a``/``positions_b``
    (tuples of ``N`` ``(x, y)`` pairs) fix the users; ``None`` drops them
    uniformly in the discs of radius ``radius`` around ``centre_a``/``centre_b``,
    anew in every realisation. Path loss ``d^-alpha`` (``C0 = 1``), distances
    clipped at 1 m.
    """

    K: int = 32
    N: int = 10
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
    rng: str = "pcg"

    def __post_init__(self):
        if not (isinstance(self.K, (int, np.integer)) and self.K >= 1):
            raise ValueError(f"K must be a positive integer, got {self.K!r}")
        if not (isinstance(self.N, (int, np.integer)) and self.N >= 1):
            raise ValueError(f"N must be a positive integer, got {self.N!r}")
        for nm in ("sigma0_dBm", "sigmal_dBm", "alpha", "radius"):
            if not np.isfinite(getattr(self, nm)):
                raise ValueError(f"{nm} must be finite, got {getattr(self, nm)!r}")
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha!r}")
        if not self.radius >= 0:
            raise ValueError(f"radius must be >= 0, got {self.radius!r}")
        if self.rng not in ("pcg", "threefry"):
            raise ValueError(f"rng must be 'pcg' or 'threefry', got {self.rng!r}")
        for nm in ("irs", "eve", "centre_a", "centre_b"):
            object.__setattr__(self, nm, _point(getattr(self, nm), nm))
        for nm in ("positions_a", "positions_b"):
            p = getattr(self, nm)
            if p is None:
                continue
            pts = tuple(_point(q, f"{nm}[{i}]") for i, q in enumerate(p))
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

    def _magnitudes(self, lanes):
        """Lanes of magnitude rows -> ``(|h|, |g|)`` of shape ``(..., K)``."""
        x, y, z, w = (words_to_uniform(v) for v in lanes)
        mh = jnp.concatenate([jnp.sqrt(-jnp.log(x)), jnp.sqrt(-jnp.log(y))], axis=-1)[..., :self.K]
        mg = jnp.concatenate([jnp.sqrt(-jnp.log(z)), jnp.sqrt(-jnp.log(w))], axis=-1)[..., :self.K]
        return mh, mg

    def _amplitudes(self, lanes):
        """``sqrt(zeta_n) = sum_k |h_nk| |g_nk|`` from the magnitude lanes (one fused reduction)."""
        x, y, z, w = (jnp.log(words_to_uniform(v)) for v in lanes)
        first = jnp.sum(jnp.sqrt(x * z), axis=-1)
        second = jnp.sqrt(y * w)
        if self.K % 2:
            second = jnp.where(jnp.arange(self._half_k) < self._half_k - 1, second, 0.0)
        return first + jnp.sum(second, axis=-1)

    # --- large scale ---------------------------------------------------------------
    def draw_positions(self, key_or_uniforms, pairs=None):
        """Positions ``(A, B)`` of shape ``(N, 2)``: fixed ones, or uniform drops in the discs.

        Accepts a key, or uniforms of shape ``(..., 4)`` (one row per pair, e.g. from the
        realisation's own stream); ``pairs`` selects rows of the fixed positions.
        """
        dt = channels.real_dtype()
        if self.fixed_positions:
            pa, pb = jnp.asarray(self.positions_a, dt), jnp.asarray(self.positions_b, dt)
            return (pa, pb) if pairs is None else (pa[pairs], pb[pairs])
        u = key_or_uniforms
        if not (hasattr(u, "shape") and u.shape[-1:] == (4,) and jnp.issubdtype(u.dtype, jnp.floating)):
            u = jax.random.uniform(u, (self.N, 4), dtype=dt)

        def disc(c, ur, ut):
            r = self.radius * jnp.sqrt(ur)
            cs, sn = phasor(ut)
            return jnp.asarray(c, dt) + jnp.stack([r * cs, r * sn], axis=-1)

        return disc(self.centre_a, u[..., 0], u[..., 1]), disc(self.centre_b, u[..., 2], u[..., 3])

    def distances(self, pos_a, pos_b):
        """``dict(dA, dB, dAe, dBe, de)``: users to IRS, users to Eve, IRS to Eve (metres, >= 1)."""
        dt = pos_a.dtype
        irs, eve = jnp.asarray(self.irs, dt), jnp.asarray(self.eve, dt)
        return dict(dA=geometry.distance(pos_a, irs), dB=geometry.distance(pos_b, irs),
                    dAe=geometry.distance(pos_a, eve), dBe=geometry.distance(pos_b, eve),
                    de=geometry.distance(irs, eve))

    def snr_scales(self, P_dBm, pos_a, pos_b):
        """Per-pair large-scale quantities of Theorem 1 (linear, shape ``(N,)``).

        ``rho_n = P / (dA^a dB^a (sl^2 + s0^2))``, ``a_n = rho0 sigma_e^2``,
        ``b_n = rho0 sigma_e'^2`` with ``sigma_e^2 = K de^-a dA^-a + dAe^-a`` (MODELS.md 1(g)).
        """
        d = self.distances(pos_a, pos_b)
        dt = pos_a.dtype
        P = units.dbm_to_watt(jnp.asarray(P_dBm, dt))
        s0 = units.dbm_to_watt(jnp.asarray(self.sigma0_dBm, dt))
        sl = units.dbm_to_watt(jnp.asarray(self.sigmal_dBm, dt))
        al = self.alpha
        rho = P / ((d["dA"] * d["dB"]) ** al * (sl + s0))
        rho0 = P / s0
        sig_e = self.K * (d["de"] * d["dA"]) ** -al + d["dAe"] ** -al
        sig_e2 = self.K * (d["de"] * d["dB"]) ** -al + d["dBe"] ** -al
        return rho, rho0 * sig_e, rho0 * sig_e2

    # --- one realisation -----------------------------------------------------------------
    def __call__(self, key, P_dBm):
        """Per-realisation secrecy rates (bit/s/Hz) of the three schemes at ``P_dBm`` (traced)."""
        K, N = self.K, self.N
        dt = channels.real_dtype()
        st = Stream(key, self.rng)
        c0, c1, c2, c3, c4, _ = self._starts
        mag_shape = (N, self._half_k)
        amp = self._amplitudes(st.block(c0, mag_shape))  # sqrt(zeta_n), eq. (1.4)
        zeta = amp * amp
        n_star = jnp.argmax(zeta)  # eq. (1.5): small-scale only
        ph_s = [words_to_uniform(v) for v in st.block(c1, (K,))]  # arg h, arg g of n*; h_e
        ph_r = [words_to_uniform(v) for v in st.block(c2, (K,))[:2]]  # arg h, arg g of n_r
        misc = [words_to_uniform(v) for v in st.block(c4, (3,))]
        n_rand = jnp.minimum((misc[0][2] * N).astype(jnp.int32), N - 1)
        same = n_rand == n_star
        chosen = jnp.stack([n_star, n_rand])
        mh, mg = self._magnitudes(st.rows(c0, mag_shape, chosen))  # rows of n*, n_r

        # large scale: only the two pairs in use are placed (drops are i.i.d. over pairs)
        u_pos = jnp.concatenate([words_to_uniform(v) for v in st.rows(c3, (N, 1), chosen)], axis=-1)
        pos_a, pos_b = self.draw_positions(u_pos, pairs=chosen)
        d = self.distances(pos_a, pos_b)
        P = units.dbm_to_watt(jnp.asarray(P_dBm, dt))
        s0 = units.dbm_to_watt(jnp.asarray(self.sigma0_dBm, dt))
        sl = units.dbm_to_watt(jnp.asarray(self.sigmal_dBm, dt))
        rho0 = P / s0
        al = self.alpha
        h_e = _cn_from_uniform(ph_s[2], ph_s[3])  # IRS-Eve, common to all schemes
        # direct links (h_ne, g_ne) of n* and n_r (the same draws when n_r = n*)
        dir_s = (_cn_from_uniform(misc[0][0], misc[1][0]), _cn_from_uniform(misc[2][0], misc[3][0]))
        dir_f = (_cn_from_uniform(misc[0][1], misc[1][1]), _cn_from_uniform(misc[2][1], misc[3][1]))
        dir_r = tuple(jnp.where(same, a, b) for a, b in zip(dir_s, dir_f))
        ph_r = [jnp.where(same, a, b) for a, b in zip(ph_s[:2], ph_r)]  # phases in turns

        def pair(i, n, ph, direct):
            """Pair ``n`` (row ``i`` of the recomputed magnitudes) with the IRS aligned to it.

            ``Theta = diag(exp(-j(arg h_nk + arg g_nk)))`` (1.4), so ``Theta h_n`` has entries
            ``|h_nk| e^{-j arg g_nk}`` and ``Theta g_n`` entries ``|g_nk| e^{-j arg h_nk}``.
            Returns ``(gamma_n, U, V)``, ``U = rho0 |phi_n|^2``, ``V = rho0 |psi_n|^2``.
            """
            ch, sh = phasor(ph[0])  # e^{j arg h_nk}
            cg, sg = phasor(ph[1])  # e^{j arg g_nk}
            theta_h = mh[i] * jax.lax.complex(cg, -sg)  # Theta h_n
            theta_g = mg[i] * jax.lax.complex(ch, -sh)  # Theta g_n
            dA, dB = d["dA"][i], d["dB"][i]
            gamma = P * zeta[n] / ((dA * dB) ** al * (sl + s0))  # eq. (1.1)
            phi = (d["de"] * dA) ** (-al / 2) * jnp.sum(h_e * theta_h) + d["dAe"][i] ** (-al / 2) * direct[0]
            psi = (d["de"] * dB) ** (-al / 2) * jnp.sum(h_e * theta_g) + d["dBe"][i] ** (-al / 2) * direct[1]
            U = rho0 * (phi.real ** 2 + phi.imag ** 2)
            V = rho0 * (psi.real ** 2 + psi.imag ** 2)
            return gamma, U, V

        def rates(gamma, U, V):
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

        g_s, U_s, V_s = pair(0, n_star, ph_s[:2], dir_s)
        g_r, U_r, V_r = pair(1, n_rand, ph_r, dir_r)
        r1, r2, ow2, sic, lg, l1, l2 = rates(g_s, U_s, V_s)
        q1, q2 = rates(g_r, U_r, V_r)[:2]
        ow1 = 0.5 * r1  # B1 slot 1: the SINRs of (1.2) (B's jamming = s2's power), half the time
        one, zero = jnp.ones((), dt), jnp.zeros((), dt)
        return {
            "proposed": r1 + r2, "proposed_s1": r1, "proposed_s2": r2,
            "random_scheduling": q1 + q2, "random_scheduling_s1": q1, "random_scheduling_s2": q2,
            "one_way_jamming": ow1 + ow2, "one_way_jamming_s1": ow1, "one_way_jamming_s2": ow2,
            "p_secure_s1": jnp.where(r1 > 0, one, zero), "p_secure_s2": jnp.where(r2 > 0, one, zero),
            "p_sic": jnp.where(sic, one, zero),
            "ln1p_gamma": lg, "ln1p_gamma_e1": l1, "ln1p_gamma_e2": l2,
        }


PROBABILITIES = ("p_secure_s1", "p_secure_s2", "p_sic")
"""Names of the 0/1 indicator statistics returned by :class:`TwoWayConfig` (binomial CIs)."""


# --------------------------------------------------------------------------- Theorem 1 over topologies
def lower_bound(cfg: TwoWayConfig, key, P_dBm, num_topologies=300, *, methods=("reference", "paper"), M=20):
    """Theorem 1 ASR lower bound (bit/s/Hz) averaged over ``num_topologies`` drops.

    Evaluated per topology (``{.}^+`` after the fading expectation, per topology)
    and averaged over Latin-hypercube user drops (:func:`latin_hypercube`; unbiased, much
    smaller topology-sampling error than i.i.d. drops); with fixed positions a single
    topology is used. Returns
    ``{method: dict(sum, s1, s2, q_m, q_e1, q_e2, sum_se, s1_se, s2_se)}`` (floats; rates in
    bit/s/Hz, ``q_*`` topology-averaged nats, ``*_se`` the standard error of the topology
    average) for ``methods`` among ``"reference"`` (accurate quadrature)
    and ``"paper"`` (Gauss-Chebyshev with ``M`` nodes), on the same topologies.

    >>> b = lower_bound(TwoWayConfig(K=16, N=2), jax.random.key(0), 50.0, 4)
    >>> b["reference"]["sum"] > 0 and b["paper"]["sum"] > 0
    True
    """
    T = 1 if cfg.fixed_positions else int(num_topologies)
    if T < 1:
        raise ValueError(f"num_topologies must be >= 1, got {num_topologies!r}")
    methods = tuple(methods)
    bad = [m for m in methods if m not in ("reference", "paper")]
    if bad or not methods:
        raise ValueError(f"methods must be among 'reference', 'paper', got {methods!r}")
    out = _lower_bound_jit(cfg, T, methods, int(M), key, jnp.asarray(P_dBm, channels.real_dtype()))
    return {m: {k: float(v) for k, v in d.items()} for m, d in out.items()}


def latin_hypercube(key, num, dim, dtype=None):
    """``num`` points in ``[0, 1)^dim``: each coordinate a random permutation of the strata
    ``[k/num, (k+1)/num)`` with a uniform offset (unbiased for any integrand; removes the
    variance of additive effects, e.g. of the independent user drops).

    >>> u = latin_hypercube(jax.random.key(0), 8, 3)
    >>> u.shape, sorted((u[:, 0] * 8).astype(int).tolist()) == list(range(8))
    ((8, 3), True)
    """
    dt = channels.real_dtype(dtype)
    kp, ku = jax.random.split(key)
    perms = jax.vmap(lambda k: jax.random.permutation(k, num))(jax.random.split(kp, dim))  # (dim, num)
    u = (perms.T.astype(dt) + jax.random.uniform(ku, (num, dim), dtype=dt)) / num
    return jnp.minimum(u, 1.0 - jnp.finfo(dt).epsneg)


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _lower_bound_jit(cfg, T, methods, M, key, P_dBm):
    u = latin_hypercube(key, T, 4 * cfg.N).reshape(T, cfg.N, 4)  # Latin-hypercube user drops

    def one(ut):
        pa, pb = cfg.draw_positions(ut)
        rho, a, b = cfg.snr_scales(P_dBm, pa, pb)
        return {m: analysis.asr_lower_bound(rho, a, b, cfg.K, cfg.N, method=m, M=M) for m in methods}

    res = jax.vmap(one)(u)
    out = {}
    for m, d in res.items():
        out[m] = {k: jnp.mean(v, axis=0) for k, v in d.items()}
        for k in ("sum", "s1", "s2"):  # i.i.d.-formula standard error: conservative for Latin-hypercube drops
            out[m][k + "_se"] = jnp.std(d[k], axis=0, ddof=1) / jnp.sqrt(T) if T > 1 else jnp.zeros_like(d[k][0])
    return out

"""IRS-aided multi-antenna uplink with a multi-antenna eavesdropper (MODELS.md section 3).

``K`` single-antenna users with powers ``p_k`` transmit to an ``M``-antenna BS through the direct
links ``h_d,k`` and an ``N``-element IRS (``h_k = h_d,k + G Theta h_r,k``, eq. 3.1); an ``N_E``-antenna
eavesdropper receives ``h_E,k = h_e,k + G_E Theta h_r,k`` (3.2). Only the statistics of Eve's links
are known. Large-scale model of 3(e): 2-D positions, users uniform in a disc, distance path loss
``C0 d^-alpha`` per link, every link Rayleigh.

The module is split as ARCHITECTURE.md says: :func:`sample` draws a topology and the legitimate
channels (:class:`UplinkChannels`), :func:`sample_eve` draws Eve's channels (:class:`EveChannels`),
and pure metric functions of ``(config, channels, decision)`` give the SINR (3.3), Bob's capacity,
Eve's pessimistic capacity (3.4), the secrecy rate (3.5) and the outage indicator of (3.6). The
decision (:class:`UplinkDecision`: IRS phases ``v`` and receive vectors ``W``, one row ``w_k`` per
user) comes from an optimiser (``optim``) or a baseline. SINRs are computed on channels scaled by
``sqrt(p_k / sigma_B^2)`` (no ``1e-12`` W numbers in the linear algebra, float32-safe).

>>> import jax, jax.numpy as jnp
>>> from irsjax.systems import uplink
>>> cfg = uplink.UplinkConfig(K=3, M=2, N=8)
>>> ch = uplink.sample(jax.random.key(0), cfg)
>>> ch.h_d.shape, ch.G.shape, ch.h_r.shape
((3, 2), (2, 8), (3, 8))
>>> v = jnp.ones(8, ch.G.dtype); W = uplink.matched_filters(uplink.effective_channels(ch, v))
>>> uplink.sinr(cfg, ch, uplink.UplinkDecision(v, W)).shape
(3,)
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from irsjax import channels, geometry, pathloss, units
from irsjax.config import (
    check_finite,
    check_point,
    check_positive,
    check_size,
    config,
    is_concrete,
    static,
)

__all__ = [
    "EveChannels",
    "UplinkChannels",
    "UplinkConfig",
    "UplinkDecision",
    "bob_capacity",
    "cascade_coefficients",
    "effective_channels",
    "eve_capacity",
    "eve_effective_channels",
    "eve_variance",
    "matched_filters",
    "no_irs",
    "outage",
    "sample",
    "sample_eve",
    "secrecy_rate",
    "sinr",
]


@config
class UplinkConfig:
    """System of MODELS.md 3(a)/(e). Sizes are static; every float (powers, noise, target rate,
    positions, path-loss constants) is a pytree leaf (a sweep over it compiles once, ``jax.grad``
    reaches it). Defaults are the [D] values of MODELS.md 3(e).

    ``p_dBm`` is one power for every user or a length-``K`` tuple; ``noise_B_dBm`` / ``noise_E_dBm``
    are ``sigma_B^2`` / ``sigma_E^2``; ``R_s`` [bit/s/Hz] is the target secrecy rate of the SOP.
    Exponents: ``alpha_ub`` user-BS, ``alpha_ui`` user-IRS, ``alpha_ib`` IRS-BS, ``alpha_ue`` user-Eve,
    ``alpha_ie`` IRS-Eve.
    """

    K: int = static(4)
    M: int = static(4)
    N: int = static(32)
    N_E: int = static(2)
    p_dBm: float | tuple = 10.0
    noise_B_dBm: float = -90.0
    noise_E_dBm: float = -90.0
    R_s: float = 1.0
    bs: tuple = (0.0, 0.0)
    irs: tuple = (50.0, 5.0)
    user_centre: tuple = (60.0, 0.0)
    user_radius: float = 10.0
    eve: tuple = (0.0, 80.0)
    C0_dB: float = -30.0
    alpha_ub: float = 3.5
    alpha_ui: float = 2.2
    alpha_ib: float = 2.2
    alpha_ue: float = 3.5
    alpha_ie: float = 2.5

    def __post_init__(self):
        check_size("K", self.K, 1)
        check_size("M", self.M, 1)
        check_size("N", self.N, 0)
        check_size("N_E", self.N_E, 1)
        if isinstance(self.p_dBm, (tuple, list)):
            if len(self.p_dBm) != self.K:
                raise ValueError(f"p_dBm must be one power or K = {self.K} powers, got {len(self.p_dBm)}")
            object.__setattr__(self, "p_dBm", tuple(self.p_dBm))
        elif is_concrete(self.p_dBm) and np.ndim(self.p_dBm) not in (0,) and np.shape(self.p_dBm) != (self.K,):
            raise ValueError(f"p_dBm must be one power or K = {self.K} powers, got shape {np.shape(self.p_dBm)}")
        for name in ("p_dBm", "noise_B_dBm", "noise_E_dBm", "C0_dB"):
            check_finite(name, getattr(self, name))
        check_positive("R_s", self.R_s)
        check_positive("user_radius", self.user_radius, allow_zero=True)
        for name in ("alpha_ub", "alpha_ui", "alpha_ib", "alpha_ue", "alpha_ie"):
            check_positive(name, getattr(self, name))
        for name in ("bs", "irs", "user_centre", "eve"):
            object.__setattr__(self, name, check_point(name, getattr(self, name), 2))

    # ----- derived constants (traceable) ---------------------------------------------------
    def powers(self, dtype=None):
        """``p_k`` in W, shape ``(K,)``."""
        rd = channels.real_dtype(dtype)
        p = jnp.asarray(self.p_dBm, rd) if not isinstance(self.p_dBm, tuple) else jnp.stack(
            [jnp.asarray(x, rd) for x in self.p_dBm])
        return jnp.broadcast_to(units.dbm_to_watt(p), (self.K,)).astype(rd)

    def noise(self, dtype=None):
        """``(sigma_B^2, sigma_E^2)`` in W."""
        rd = channels.real_dtype(dtype)
        return (units.dbm_to_watt(jnp.asarray(self.noise_B_dBm, rd)).astype(rd),
                units.dbm_to_watt(jnp.asarray(self.noise_E_dBm, rd)).astype(rd))

    def snr_bob(self, dtype=None):
        """``rho_k = p_k / sigma_B^2`` (transmit SNRs at the BS), shape ``(K,)``."""
        return self.powers(dtype) / self.noise(dtype)[0]

    def snr_eve(self, dtype=None):
        """``p_k / sigma_E^2``, shape ``(K,)``."""
        return self.powers(dtype) / self.noise(dtype)[1]

    def _point(self, name, dtype):
        return jnp.stack([jnp.asarray(c, dtype) for c in getattr(self, name)])

    def gain(self, d, exponent):
        """Distance path-loss power gain ``C0 d^-alpha`` (``d`` clipped at 1 m)."""
        return pathloss.distance_gain(d, exponent=exponent, c0_db=self.C0_dB)


class UplinkChannels(NamedTuple):
    """One topology + the legitimate links (known perfectly at the BS).

    ``h_d`` (K, M): user -> BS; ``G`` (M, N): IRS -> BS; ``h_r`` (K, N): user -> IRS (row k is
    ``h_r,k``); ``beta_ue`` (K,): user -> Eve path-loss gains; ``beta_ie`` (): IRS -> Eve gain;
    ``users`` (K, 2): user positions [m].
    """

    h_d: jax.Array
    G: jax.Array
    h_r: jax.Array
    beta_ue: jax.Array
    beta_ie: jax.Array
    users: jax.Array


class EveChannels(NamedTuple):
    """Eve's links of one realisation: ``h_e`` (K, N_E) user -> Eve, ``G_E`` (N_E, N) IRS -> Eve."""

    h_e: jax.Array
    G_E: jax.Array


class UplinkDecision(NamedTuple):
    """IRS phases ``v`` (N,), unit modulus, and receive vectors ``W`` (K, M), row ``k`` = ``w_k``
    (so that ``w_k^H h_k = vdot(W[k], H[k])``)."""

    phases: jax.Array
    receivers: jax.Array


# --------------------------------------------------------------------------------- sampling
def sample(key, cfg: UplinkConfig, *, dtype=None) -> UplinkChannels:
    """Draw user positions (uniform in the disc) and the Rayleigh links ``h_d, G, h_r``."""
    cd = channels.complex_dtype(dtype)
    rd = channels.real_dtype(cd)
    k_pos, k_d, k_g, k_r = jax.random.split(key, 4)
    bs, irs, eve = (cfg._point(n, rd) for n in ("bs", "irs", "eve"))
    centre, radius = cfg._point("user_centre", rd), jnp.asarray(cfg.user_radius, rd)
    users = geometry.drop_in_disc(k_pos, centre, radius, shape=(cfg.K,))
    b_ub = cfg.gain(geometry.distance(users, bs[None, :]), cfg.alpha_ub).astype(rd)
    b_ui = cfg.gain(geometry.distance(users, irs[None, :]), cfg.alpha_ui).astype(rd)
    b_ib = cfg.gain(geometry.distance(irs, bs), cfg.alpha_ib).astype(rd)
    b_ue = cfg.gain(geometry.distance(users, eve[None, :]), cfg.alpha_ue).astype(rd)
    b_ie = cfg.gain(geometry.distance(irs, eve), cfg.alpha_ie).astype(rd)
    h_d = channels.rayleigh(k_d, (cfg.K, cfg.M), gain=b_ub[:, None], dtype=cd)
    G = channels.rayleigh(k_g, (cfg.M, cfg.N), gain=b_ib, dtype=cd)
    h_r = channels.rayleigh(k_r, (cfg.K, cfg.N), gain=b_ui[:, None], dtype=cd)
    return UplinkChannels(h_d, G, h_r, b_ue, b_ie, users)


def sample_eve(key, cfg: UplinkConfig, ch: UplinkChannels) -> EveChannels:
    """Draw Eve's links ``h_e,k ~ CN(0, beta_UE,k I)`` and ``G_E`` i.i.d. ``CN(0, beta_IE)``."""
    cd = ch.G.dtype
    k1, k2 = jax.random.split(key)
    h_e = channels.rayleigh(k1, (cfg.K, cfg.N_E), gain=ch.beta_ue[:, None], dtype=cd)
    G_E = channels.rayleigh(k2, (cfg.N_E, ch.G.shape[1]), gain=ch.beta_ie, dtype=cd)
    return EveChannels(h_e, G_E)


def no_irs(ch: UplinkChannels) -> UplinkChannels:
    """The same topology without the IRS (``N = 0``: no cascade, no IRS-Eve path)."""
    return ch._replace(G=ch.G[:, :0], h_r=ch.h_r[:, :0])


# --------------------------------------------------------------------------------- metrics
def effective_channels(ch: UplinkChannels, v):
    """``H`` (K, M), row ``k`` = ``h_k = h_d,k + G diag(v) h_r,k`` (3.1)."""
    return ch.h_d + (ch.h_r * v[None, :]) @ ch.G.T


def eve_effective_channels(ch: UplinkChannels, eve: EveChannels, v):
    """``(K, N_E)``, row ``k`` = ``h_E,k = h_e,k + G_E diag(v) h_r,k`` (3.2)."""
    return eve.h_e + (ch.h_r * v[None, :]) @ eve.G_E.T


def matched_filters(H):
    """Unit-norm matched filters ``w_k = h_k / ||h_k||`` (a receiver baseline; ``e_1`` for ``h_k = 0``)."""
    n = jnp.linalg.norm(H, axis=-1, keepdims=True)
    e1 = jnp.zeros_like(H).at[..., 0].set(1.0)
    return jnp.where(n > 0, H / jnp.where(n > 0, n, 1.0).astype(H.dtype), e1)


def sinr(cfg: UplinkConfig, ch: UplinkChannels, decision: UplinkDecision):
    """Per-user SINR at the BS with receivers ``w_k`` (3.3): ``p_k |w_k^H h_k|^2 / w_k^H B_k w_k``,
    ``B_k = sum_{j != k} p_j h_j h_j^H + sigma_B^2 I``. Shape ``(K,)``."""
    H = effective_channels(ch, decision.phases)
    W = decision.receivers
    rd = jnp.real(H).dtype
    rho = cfg.snr_bob(rd)
    gains = jnp.abs(jnp.conj(W) @ H.T) ** 2  # [k, j] = |w_k^H h_j|^2
    K = H.shape[0]
    off = ~jnp.eye(K, dtype=bool)
    interf = jnp.sum(jnp.where(off, gains * rho[None, :], jnp.zeros((), rd)), axis=1)
    wn = jnp.sum(jnp.abs(W) ** 2, axis=-1)
    return rho * jnp.diagonal(gains) / (interf + wn)


def bob_capacity(cfg: UplinkConfig, ch: UplinkChannels, decision: UplinkDecision):
    """``C_B,k = log2(1 + SINR_k)`` [bit/s/Hz], shape ``(K,)``."""
    return jnp.log2(1.0 + sinr(cfg, ch, decision))


def eve_capacity(cfg: UplinkConfig, ch: UplinkChannels, eve: EveChannels, v):
    """Pessimistic ``C_E,k = log2(1 + p_k ||h_E,k||^2 / sigma_E^2)`` (3.4), shape ``(K,)``."""
    He = eve_effective_channels(ch, eve, v)
    rd = jnp.real(He).dtype
    return jnp.log2(1.0 + cfg.snr_eve(rd) * jnp.sum(jnp.abs(He) ** 2, axis=-1))


def secrecy_rate(cfg, ch, eve, decision, *, clip=True):
    """``R_s,k = {C_B,k - C_E,k}^+`` (3.5) (``clip=False``: the raw difference)."""
    d = bob_capacity(cfg, ch, decision) - eve_capacity(cfg, ch, eve, decision.phases)
    return jnp.maximum(d, 0.0) if clip else d


def outage(cfg, ch, eve, decision):
    """Secrecy-outage indicator of (3.6), ``C_B,k - C_E,k < R_s`` (float 0/1), shape ``(K,)``."""
    d = secrecy_rate(cfg, ch, eve, decision, clip=False)
    return (d < jnp.asarray(cfg.R_s, d.dtype)).astype(d.dtype)


def eve_variance(ch: UplinkChannels, v=None):
    """``eps_k = beta_UE,k + beta_IE ||diag(v) h_r,k||^2`` (variance per antenna of ``h_E,k``; MODELS 3(g)).

    Unit-modulus ``v`` leaves ``||diag(v) h_r,k|| = ||h_r,k||``, so ``v`` does not matter (it is
    accepted to make that checkable).
    """
    hr = ch.h_r if v is None else ch.h_r * v[None, :]
    return ch.beta_ue + ch.beta_ie * jnp.sum(jnp.abs(hr) ** 2, axis=-1)


def cascade_coefficients(ch: UplinkChannels, W):
    """``Q`` (K, K, N + 1) with ``w_k^H h_j(v) = Q[k, j] . [v; 1]`` (MODELS.md 3(c): ``b_kj``, ``a_kj``).

    ``Q[k, j, n] = (w_k^H G)_n h_r,j,n`` for ``n < N`` and ``Q[k, j, N] = w_k^H h_d,j``, so that the lifted
    gains are ``|w_k^H h_j|^2 = tr(R_kj V)`` with ``R_kj = Q[k, j]^H Q[k, j]`` and ``V = vbar vbar^H``
    (the transpose-conjugate of the paper's ``q_kj``; no phase-dependent quantity is needed).
    """
    wG = jnp.conj(W) @ ch.G  # (K, N): w_k^H G
    cas = wG[:, None, :] * ch.h_r[None, :, :]  # (K, K, N)
    direct = jnp.conj(W) @ ch.h_d.T  # (K, K): w_k^H h_d,j
    return jnp.concatenate([cas, direct[..., None]], axis=-1)

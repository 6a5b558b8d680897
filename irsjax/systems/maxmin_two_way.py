"""IRS-assisted secure multi-pair two-way communications with a malicious user (MODELS.md section 2).

``N`` full-duplex pairs ``(A_n, B_n)``, one malicious user ``E``, an IRS with
``L`` elements, direct links everywhere. Nodes are indexed ``A_1, B_1, ...,
A_N, B_N, E`` (``A_n = 2n``, ``B_n = 2n + 1``, ``E = 2N``). For nodes
``X != Y`` the cascade is ``c_XY,l = f_X,l f_Y,l`` (``f_X``: X-IRS channel,
reciprocal) and the effective channel (2.1) is

    h_XY(v) = vbar^H cbar_XY = sum_l conj(v_l) c_XY,l + d_XY,   vbar = [v; 1].

Rates (2.2)-(2.4) in bit/s/Hz; Eve decodes each pair jointly with the other
pairs as noise. Large-scale model (MODELS.md 2(e), [C]): ``rho0 = -30 dB`` at
1 m per hop, exponent 2 on every IRS hop, 3 on every direct link; per-hop
fading ``sqrt(k/(1+k)) + sqrt(1/(1+k)) CN(0,1)`` with ``kappa_assignment``
``"code"`` (IRS hops Rayleigh, direct links Rician ``kappa = 8``; default) or
``"text"`` (the reverse). ``irs_links`` sets the structure of the IRS hops:
``"shared"`` (default: one channel ``f_X`` per node, so every cascade through
``X`` shares it) or ``"independent"`` (as in the authors' MATLAB code [C]: the
two hops of ``c_XY`` are drawn afresh for each node pair; every cascade has the
same law as in the shared model, but different pairs' cascades are independent).

This module is pure physics (no optimiser): see ``scenarios/maxmin_two_way.py``.

>>> import jax, jax.numpy as jnp
>>> from irsjax.systems.maxmin_two_way import MaxminTwoWayConfig
>>> cfg = MaxminTwoWayConfig(L=8, config="C1")
>>> ch = cfg.sample(jax.random.key(0))
>>> G = cfg.gains(ch, jnp.ones(8, ch.direct.dtype))
>>> r = cfg.pair_rates(G, jnp.full(4, cfg.p_max))
>>> r["R_s"].shape
(2,)
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from irsjax import channels, geometry, pathloss, units
from irsjax.config import check_choice, check_finite, check_positive, check_size, config, is_concrete, static

#: Candidate points of Fig. 2 and the user positions (metres).
POINTS = {"V": (0.0, 10.0), "W": (0.0, 5.0), "X": (0.0, 0.0), "Y": (-15.0, -35.0), "Z": (-15.0, -45.0)}
USERS = ((-20.0, -10.0), (-20.0, -40.0), (20.0, -10.0), (20.0, -40.0))  # A1, B1, A2, B2
#: Table I: configuration -> (position of E, position of the IRS).
CONFIGS = {"C1": ("W", "Z"), "C2": ("W", "V"), "C3": ("Z", "V"), "C4": ("Y", "Z")}
#: Gains at L = 40 over the random-phase + FP baseline quoted in the paper.
PAPER_GAINS = {"C1": 2.11, "C2": 0.22, "C3": 0.92, "C4": 3.59}
#: Structure of the IRS hops: one channel per node, or both hops drawn afresh per node pair (authors' code).
IRS_LINKS = ("shared", "independent")


class TwoWayChannels(NamedTuple):
    """One realisation: ``cascade`` (M, M, L) with ``c_XY`` (symmetric), ``direct`` (M, M) with ``d_XY``."""

    cascade: jax.Array
    direct: jax.Array


@config
class MaxminTwoWayConfig:
    """System configuration (a pytree: ``L``, ``config`` and ``kappa_assignment`` static, every float a leaf;
    the number of user positions fixes the number of pairs). Powers in dBm, ``kappa`` linear."""

    L: int = static(40)
    config: str = static("C1")
    users: tuple = USERS
    rho0_dB: float = -30.0
    alpha_irs: float = 2.0
    alpha_direct: float = 3.0
    kappa: float = 8.0
    kappa_assignment: str = static("code")
    irs_links: str = static("shared")
    noise_dBm: float = -105.0
    eve_noise_dBm: float = -105.0
    loop_dBm: float = -100.0
    Pmax_dBm: float = 15.0
    Pmin_dBm: float = 0.0

    def __post_init__(self):
        check_size("L", self.L, 0)
        check_choice("config", self.config, sorted(CONFIGS))
        if len(self.users) < 2 or len(self.users) % 2:
            raise ValueError("users must list an even number (>= 2) of positions A1, B1, A2, B2, ...")
        check_choice("kappa_assignment", self.kappa_assignment, ("code", "text"))
        check_choice("irs_links", self.irs_links, IRS_LINKS)
        check_positive("kappa", self.kappa, allow_zero=True)
        for nm in ("rho0_dB", "noise_dBm", "eve_noise_dBm", "loop_dBm", "Pmax_dBm", "Pmin_dBm"):
            check_finite(nm, getattr(self, nm))
        check_positive("alpha_irs", self.alpha_irs)
        check_positive("alpha_direct", self.alpha_direct)
        if is_concrete(self.Pmin_dBm) and is_concrete(self.Pmax_dBm) and not self.Pmin_dBm <= self.Pmax_dBm:
            raise ValueError(f"Pmin_dBm ({self.Pmin_dBm}) must be <= Pmax_dBm ({self.Pmax_dBm})")

    # ----- sizes and constants ---------------------------------------------------
    @property
    def N(self) -> int:
        """Number of pairs."""
        return len(self.users) // 2

    @property
    def M(self) -> int:
        """Number of nodes (2N users + E)."""
        return len(self.users) + 1

    @property
    def p_max(self):
        return units.dbm_to_watt(self.Pmax_dBm)

    @property
    def p_min(self):
        return units.dbm_to_watt(self.Pmin_dBm)

    def positions(self):
        """``(M + 1, 2)`` array: users, E, IRS (from ``config``)."""
        e, irs = CONFIGS[self.config]
        return jnp.array(tuple(self.users) + (POINTS[e], POINTS[irs]))

    def noise(self):
        """``(sigma_u^2 = sigma^2 + sigma_l^2, sigma_E^2)`` in W."""
        return (units.dbm_to_watt(self.noise_dBm) + units.dbm_to_watt(self.loop_dBm),
                units.dbm_to_watt(self.eve_noise_dBm))

    # ----- one realisation ----------------------------------------------------------
    def sample(self, key, positions=None) -> TwoWayChannels:
        """Draw the cascades and direct links (``positions`` overrides :meth:`positions`, traced OK)."""
        pos = self.positions() if positions is None else jnp.asarray(positions)
        M, L = self.M, self.L
        cd = channels.complex_dtype()
        nodes, irs = pos[:M], pos[M]
        k_irs = 0.0 if self.kappa_assignment == "code" else self.kappa
        k_dir = self.kappa if self.kappa_assignment == "code" else 0.0
        k1, k2 = jax.random.split(key)
        # node-IRS hops f_X (M, L)
        d_xi = geometry.distance(nodes, irs[None, :])
        beta = pathloss.distance_gain(d_xi, exponent=self.alpha_irs, c0_db=self.rho0_dB)
        upper = jnp.triu(jnp.ones((M, M), bool), 1)
        if self.irs_links == "shared":
            f = channels.rician(k1, jnp.ones((M, L), cd), kappa=k_irs, gain=beta[:, None], dtype=cd)
            casc = f[:, None, :] * f[None, :, :]
        else:  # per node pair (X, Y), X < Y: a fresh X-IRS hop and a fresh IRS-Y hop; reciprocal c_YX = c_XY
            ones = jnp.ones((M, M, L), cd)
            ka, kb = jax.random.split(k1)
            fx = channels.rician(ka, ones, kappa=k_irs, gain=beta[:, None, None], dtype=cd)
            fy = channels.rician(kb, ones, kappa=k_irs, gain=beta[None, :, None], dtype=cd)
            c = jnp.where(upper[..., None], fx * fy, 0.0)
            casc = c + jnp.swapaxes(c, 0, 1)
        # direct links, reciprocal: draw the upper triangle and symmetrise
        d_xy = geometry.distance(nodes[:, None, :], nodes[None, :, :])
        bd = pathloss.distance_gain(d_xy, exponent=self.alpha_direct, c0_db=self.rho0_dB)
        z = channels.rician(k2, jnp.ones((M, M), cd), kappa=k_dir, gain=bd, dtype=cd)
        z = jnp.where(upper, z, 0.0)
        direct = z + z.T
        return TwoWayChannels(casc, direct)

    # ----- effective channels ---------------------------------------------------------
    @staticmethod
    def gains(ch: TwoWayChannels, v):
        """``|h_XY(v)|^2`` for all node pairs, shape (M, M) (diagonal meaningless)."""
        h = jnp.einsum("l,xyl->xy", jnp.conj(v), ch.cascade) + ch.direct
        return jnp.abs(h) ** 2

    @staticmethod
    def gains_lifted(ch: TwoWayChannels, U):
        """``tr(C_XY U U^H) = ||U^H cbar_XY||^2`` for a Burer-Monteiro factor ``U`` ((L+1) x r, unit rows)."""
        cbar = jnp.concatenate([ch.cascade, ch.direct[..., None]], axis=-1)  # (M, M, L+1)
        w = jnp.einsum("lr,xyl->xyr", jnp.conj(U), cbar)
        return jnp.sum(jnp.abs(w) ** 2, axis=-1)

    # ----- rates ------------------------------------------------------------------------
    def _terms(self, G, p):
        """Signal, interference-plus-noise at each user; Eve's leakage and interference-plus-noise per pair."""
        N, M = self.N, self.M
        su2, se2 = self.noise()
        U = 2 * N
        pair = jnp.arange(U) // 2
        partner = jnp.arange(U) ^ 1
        Guu = G[:U, :U]
        other = pair[:, None] != pair[None, :]  # w in another pair than u
        sig = p[partner] * Guu[partner, jnp.arange(U)]
        interf = jnp.sum(jnp.where(other, p[:, None] * Guu, 0.0), axis=0)
        ge = G[:U, M - 1]
        pe = p * ge
        leak = pe[0::2] + pe[1::2]  # (N,)
        # other pairs' leakage summed directly (sum(pe) - leak cancels: float32 rounding of the
        # leakage, ~1e5 x sigma_E^2, would swamp sigma_E^2; for N = 1 it must be exactly 0)
        ie = jnp.sum(jnp.where(jnp.eye(N, dtype=bool), 0.0, leak[None, :]), axis=1)
        return sig, su2 + interf, leak, se2 + ie

    def pair_rates(self, G, p):
        """Per-pair ``R_A, R_B, R_E`` and the un-clipped ``R_s`` (bit/s/Hz), each shape (N,)."""
        sig, den, leak, eden = self._terms(G, p)
        r = jnp.log2(1.0 + sig / den)
        r_e = jnp.log2(1.0 + leak / eden)
        return {"R_A": r[0::2], "R_B": r[1::2], "R_E": r_e, "R_s": r[0::2] + r[1::2] - r_e}

    def min_secrecy_rate(self, G, p, *, clip=True):
        """``min_n R_s,n`` (with ``{.}^+`` per pair when ``clip``)."""
        m = jnp.min(self.pair_rates(G, p)["R_s"])
        return jnp.maximum(m, 0.0) if clip else m

    def fp_ratios(self, G):
        """``p -> (a, b)`` of shape (N, 3) for :func:`optim.fp.power_control` with offsets ``(1, 1, 0)``:
        ``ln(1 + SINR_A) + ln(1 + SINR_B) + ln(I'_n / T_n)`` = ``ln 2 * R_s,n`` (eq. 2.8-2.9)."""

        def ratios(p):
            sig, den, leak, eden = self._terms(G, p)
            a = jnp.stack([sig[0::2], sig[1::2], eden], axis=-1)
            b = jnp.stack([den[0::2], den[1::2], eden + leak], axis=-1)
            return a, b

        return ratios

    FP_OFFSETS = (1.0, 1.0, 0.0)


__all__ = ["POINTS", "USERS", "CONFIGS", "PAPER_GAINS", "IRS_LINKS", "TwoWayChannels", "MaxminTwoWayConfig"]

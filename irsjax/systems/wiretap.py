"""Reference single-user IRS wiretap channel (MODELS.md section 0.5).

Source S (one antenna) -> K-element IRS -> Bob / Eve, no direct links. S-IRS is
line of sight, IRS-Bob and IRS-Eve are Rayleigh.

>>> import jax
>>> from irsjax.systems.wiretap import WiretapConfig
>>> cfg = WiretapConfig(K=8)
>>> out = cfg(jax.random.key(0), 30.0)
>>> sorted(out)[:3]
['cond_out_aligned', 'out_aligned', 'out_random']
"""
from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from irsjax import channels, geometry, metrics, pathloss, phases, units
from irsjax.analysis.wiretap import sop_given_bob_snr


@dataclass(frozen=True)
class WiretapConfig:
    """Static configuration (hashable: one compilation per distinct config)."""

    K: int = 32
    R_s: float = 1.0
    noise_dBm: float = -90.0
    c0_dB: float = -30.0
    alpha_si: float = 2.0
    alpha_irs_user: float = 2.5
    source: tuple = (0.0, 0.0)
    irs: tuple = (40.0, 0.0)
    bob: tuple = (45.0, 10.0)
    eve: tuple = (45.0, -15.0)

    def __post_init__(self):
        if not (isinstance(self.K, int) and self.K >= 1):
            raise ValueError(f"K must be a positive integer, got {self.K!r}")
        if not self.R_s > 0:
            raise ValueError(f"R_s must be > 0, got {self.R_s!r}")

    # --- large-scale quantities -------------------------------------------------
    def gains(self):
        """Path-loss power gains ``(beta_SI, beta_IB, beta_IE)``."""
        d_si = geometry.distance(jnp.array(self.source), jnp.array(self.irs))
        d_ib = geometry.distance(jnp.array(self.irs), jnp.array(self.bob))
        d_ie = geometry.distance(jnp.array(self.irs), jnp.array(self.eve))
        return (pathloss.distance_gain(d_si, exponent=self.alpha_si, c0_db=self.c0_dB),
                pathloss.distance_gain(d_ib, exponent=self.alpha_irs_user, c0_db=self.c0_dB),
                pathloss.distance_gain(d_ie, exponent=self.alpha_irs_user, c0_db=self.c0_dB))

    def mean_snrs(self, P_dBm):
        """``(gamma_B_bar_random, gamma_E_bar)``: exact means of the exponential SNRs."""
        b_si, b_ib, b_ie = self.gains()
        rho = units.dbm_to_watt(P_dBm) / units.dbm_to_watt(self.noise_dBm)
        return rho * self.K * b_si * b_ib, rho * self.K * b_si * b_ie

    # --- one realisation -------------------------------------------------------
    def sample(self, key):
        """Draw ``(h, g_B, g_E)`` for one realisation (unit-free complex gains)."""
        b_si, b_ib, b_ie = self.gains()
        kb, ke = jax.random.split(key)
        u = geometry.unit_vector(jnp.array(self.irs + (0.0,)), jnp.array(self.source + (0.0,)))
        los = channels.upa_steering(self.K, 1, u, wavelength=1.0)
        h = jnp.sqrt(b_si) * los
        return h, channels.rayleigh(kb, (self.K,), gain=b_ib), channels.rayleigh(ke, (self.K,), gain=b_ie)

    def __call__(self, key, P_dBm):
        """Per-realisation statistics at transmit power ``P_dBm`` (a traced scalar)."""
        k_ch, k_ph = jax.random.split(key)
        h, g_b, g_e = self.sample(k_ch)
        rho = units.dbm_to_watt(P_dBm) / units.dbm_to_watt(self.noise_dBm)
        v_al = phases.align(h * g_b)
        v_rd = phases.random(k_ph, self.K, dtype=h.dtype)
        snr = lambda g, v: rho * jnp.abs(channels.cascade(g, v, h)) ** 2  # noqa: E731
        gb_al, ge_al = snr(g_b, v_al), snr(g_e, v_al)
        gb_rd, ge_rd = snr(g_b, v_rd), snr(g_e, v_rd)
        _, ge_bar = self.mean_snrs(P_dBm)
        # Eve's conditional outage law given gamma_B (exact: gamma_E ~ Exp(ge_bar) independent of theta)
        cond = sop_given_bob_snr(gb_al, ge_bar, self.R_s)
        return {
            "sr_aligned": metrics.secrecy_rate(gb_al, ge_al),
            "sr_random": metrics.secrecy_rate(gb_rd, ge_rd),
            "out_aligned": metrics.secrecy_outage(gb_al, ge_al, self.R_s),
            "out_random": metrics.secrecy_outage(gb_rd, ge_rd, self.R_s),
            "cond_out_aligned": cond.astype(gb_al.dtype),
        }

"""Reference single-user IRS wiretap channel (MODELS.md section 0.5).

Source S (one antenna) -> K-element IRS -> Bob / Eve, no direct links. S-IRS is
line of sight, IRS-Bob and IRS-Eve are Rayleigh. The pipeline is
``sample(key, cfg) -> WiretapChannels``, the decisions (phases aligned to Bob, random
phases), then pure metrics of (channels, phases); ``cfg(key)`` composes them into one
realisation's statistics for the Monte Carlo engine.

>>> import jax
>>> from irsjax.systems.wiretap import WiretapConfig
>>> cfg = WiretapConfig(K=8, P_dBm=30.0)
>>> out = cfg(jax.random.key(0))
>>> sorted(out)[:3]
['log_cond_out_aligned', 'out_aligned', 'out_random']

Every float of the configuration is a pytree leaf, so the ASR is differentiable in the
power and in the positions (pathwise, with common random numbers):

>>> from irsjax import montecarlo
>>> g = jax.grad(lambda c: montecarlo.mean(c, jax.random.key(1), 512)["sr_aligned"])(cfg)
>>> bool(g.P_dBm > 0)
True
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from irsjax import channels, geometry, metrics, pathloss, phases, units
from irsjax.analysis.wiretap import log_sop_given_bob_snr
from irsjax.config import check_point, check_positive, check_range, check_size, config, static


class WiretapChannels(NamedTuple):
    """One realisation: S-IRS LoS ``h`` and the Rayleigh IRS-Bob ``g_b``, IRS-Eve ``g_e`` (shape ``(K,)``)."""

    h: jax.Array
    g_b: jax.Array
    g_e: jax.Array


@config
class WiretapConfig:
    """Reference wiretap: sizes static, every float a leaf (positions in metres, 2-D)."""

    K: int = static(32)
    P_dBm: float = -10.0
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
        check_size("K", self.K)
        check_positive("R_s", self.R_s)
        for name in ("P_dBm", "noise_dBm", "c0_dB"):
            check_range(name, getattr(self, name))
        check_positive("alpha_si", self.alpha_si)
        check_positive("alpha_irs_user", self.alpha_irs_user)
        for name in ("source", "irs", "bob", "eve"):
            object.__setattr__(self, name, check_point(name, getattr(self, name), 2))

    # --- large-scale quantities -------------------------------------------------
    def gains(self):
        """Path-loss power gains ``(beta_SI, beta_IB, beta_IE)``."""
        dt = channels.real_dtype()
        pos = {n: jnp.stack([jnp.asarray(c, dt) for c in getattr(self, n)]) for n in ("source", "irs", "bob", "eve")}
        d_si = geometry.distance(pos["source"], pos["irs"])
        d_ib = geometry.distance(pos["irs"], pos["bob"])
        d_ie = geometry.distance(pos["irs"], pos["eve"])
        return (pathloss.distance_gain(d_si, exponent=self.alpha_si, c0_db=self.c0_dB),
                pathloss.distance_gain(d_ib, exponent=self.alpha_irs_user, c0_db=self.c0_dB),
                pathloss.distance_gain(d_ie, exponent=self.alpha_irs_user, c0_db=self.c0_dB))

    def snr_scale(self):
        """Transmit SNR ``rho = P / sigma^2`` (linear)."""
        dt = channels.real_dtype()
        return units.dbm_to_watt(jnp.asarray(self.P_dBm, dt)) / units.dbm_to_watt(jnp.asarray(self.noise_dBm, dt))

    def mean_snrs(self):
        """``(gamma_B_bar_random, gamma_E_bar)``: exact means of the exponential SNRs."""
        b_si, b_ib, b_ie = self.gains()
        rho = self.snr_scale()
        return rho * self.K * b_si * b_ib, rho * self.K * b_si * b_ie

    # --- one realisation -------------------------------------------------------
    def sample(self, key) -> WiretapChannels:
        """Draw one realisation's channels (unit-free complex gains)."""
        return sample(key, self)

    def __call__(self, key):
        """Per-realisation statistics: secrecy rates and outage indicators with aligned and random phases,
        and the *log* of the conditional outage probability of the aligned phases (Eve's exact law given
        Bob's SNR; average it with ``estimate(..., log_space=LOG_SPACE)``)."""
        k_ch, k_ph = jax.random.split(key)
        ch = sample(k_ch, self)
        v_al = phases.align(ch.h * ch.g_b)
        v_rd = phases.random(k_ph, self.K, dtype=ch.h.dtype)
        gb_al, ge_al = snrs(ch, v_al, self)
        gb_rd, ge_rd = snrs(ch, v_rd, self)
        _, ge_bar = self.mean_snrs()
        # Eve's conditional outage law given gamma_B (exact: gamma_E ~ Exp(ge_bar) independent of theta), in
        # log space: at K = 256, P >= 0 dBm it is ~1e-81, below float32's range
        log_cond = log_sop_given_bob_snr(gb_al, ge_bar, self.R_s)
        return {
            "sr_aligned": metrics.secrecy_rate(gb_al, ge_al),
            "sr_random": metrics.secrecy_rate(gb_rd, ge_rd),
            "out_aligned": metrics.secrecy_outage(gb_al, ge_al, self.R_s),
            "out_random": metrics.secrecy_outage(gb_rd, ge_rd, self.R_s),
            "log_cond_out_aligned": log_cond.astype(gb_al.dtype),
        }


PROBABILITIES = ("out_aligned", "out_random")
LOG_SPACE = ("log_cond_out_aligned",)
"""Statistics of :class:`WiretapConfig` returned as logs (the engine averages their exponentials)."""


def sample(key, cfg: WiretapConfig) -> WiretapChannels:
    """``(h, g_B, g_E)`` of one realisation: LoS S-IRS (UPA steering), Rayleigh IRS-Bob and IRS-Eve."""
    b_si, b_ib, b_ie = cfg.gains()
    kb, ke = jax.random.split(key)
    dt = channels.real_dtype()
    irs = jnp.stack([jnp.asarray(c, dt) for c in cfg.irs] + [jnp.zeros((), dt)])
    src = jnp.stack([jnp.asarray(c, dt) for c in cfg.source] + [jnp.zeros((), dt)])
    u = geometry.unit_vector(irs, src)
    los = channels.upa_steering(cfg.K, 1, u, wavelength=1.0)
    h = jnp.sqrt(b_si).astype(los.dtype) * los
    return WiretapChannels(h, channels.rayleigh(kb, (cfg.K,), gain=b_ib), channels.rayleigh(ke, (cfg.K,), gain=b_ie))


def snrs(ch: WiretapChannels, v, cfg: WiretapConfig):
    """``(gamma_B, gamma_E)`` with IRS phases ``v`` (unit modulus, shape ``(K,)``)."""
    rho = cfg.snr_scale()
    return (rho * jnp.abs(channels.cascade(ch.g_b, v, ch.h)) ** 2,
            rho * jnp.abs(channels.cascade(ch.g_e, v, ch.h)) ** 2)

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
from irsjax.config import check_choice, check_point, check_positive, check_range, check_size, config, static
from irsjax.streams import RNGS, Stream, words_to_uniform


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
    rng: str = static("pcg")

    def __post_init__(self):
        check_size("K", self.K)
        check_choice("rng", self.rng, RNGS)
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
        if self.rng == "pcg":
            gb_al, ge_al, gb_rd, ge_rd = _snrs_pcg(key, self)
        else:
            ch, v_rd = realisation(key, self)
            gb_al, ge_al = snrs(ch, phases.align(ch.h * ch.g_b), self)
            gb_rd, ge_rd = snrs(ch, v_rd, self)
        return statistics(gb_al, ge_al, gb_rd, ge_rd, self)


def statistics(gb_al, ge_al, gb_rd, ge_rd, cfg: WiretapConfig):
    """The per-realisation statistics of ``cfg(key)`` from the four SNRs (aligned / random phases)."""
    _, ge_bar = cfg.mean_snrs()
    # Eve's conditional outage law given gamma_B (exact: gamma_E ~ Exp(ge_bar) independent of theta), in
    # log space: at K = 256, P >= 0 dBm it is ~1e-81, below float32's range
    log_cond = log_sop_given_bob_snr(gb_al, ge_bar, cfg.R_s)
    return {
        "sr_aligned": metrics.secrecy_rate(gb_al, ge_al),
        "sr_random": metrics.secrecy_rate(gb_rd, ge_rd),
        "out_aligned": metrics.secrecy_outage(gb_al, ge_al, cfg.R_s),
        "out_random": metrics.secrecy_outage(gb_rd, ge_rd, cfg.R_s),
        "log_cond_out_aligned": log_cond.astype(gb_al.dtype),
    }


PROBABILITIES = ("out_aligned", "out_random")
LOG_SPACE = ("log_cond_out_aligned",)
"""Statistics of :class:`WiretapConfig` returned as logs (the engine averages their exponentials)."""


def _los(cfg: WiretapConfig):
    """The S-IRS line-of-sight steering vector (unit modulus, shape ``(K,)``)."""
    dt = channels.real_dtype()
    irs = jnp.stack([jnp.asarray(c, dt) for c in cfg.irs] + [jnp.zeros((), dt)])
    src = jnp.stack([jnp.asarray(c, dt) for c in cfg.source] + [jnp.zeros((), dt)])
    return channels.upa_steering(cfg.K, 1, geometry.unit_vector(irs, src), wavelength=1.0)


def _pcg_uniforms(key, K):
    """``(u_mag_b, u_arg_a, u_mag_e, u_arg_b)``, each ``(K,)``: what ``cfg(key)`` reads of the pcg stream of one
    realisation (counters ``0..K-1``): the Rayleigh magnitudes of the IRS-Bob and IRS-Eve links and two uniform
    phases, ``A`` (Eve's aligned phase) and ``B`` (Bob's random-phase phase); see :func:`_snrs_pcg`."""
    return tuple(words_to_uniform(v) for v in Stream(key, "pcg").block(0, (K,)))


def _pcg_theta(key, K):
    """``arg g_B / 2 pi`` of one pcg realisation (counters ``K..K+ceil(K/4)-1``): the channels of
    :func:`sample` carry it, the statistics of ``cfg(key)`` do not depend on it."""
    return jnp.concatenate([words_to_uniform(v) for v in Stream(key, "pcg").block(K, (-(-K // 4),))])[:K]


def _pcg_realisation(key, cfg: WiretapConfig):
    """``(channels, v_random)`` of one pcg realisation, each draw read once: ``g_B = r e^{j theta}``,
    ``g_E = s e^{j(theta + A)}`` and ``v = e^{j(B - theta - psi)}`` (``psi = arg h``, the LoS phases;
    ``theta, A, B`` i.i.d. uniform, :func:`_snrs_pcg`)."""
    b_si, b_ib, b_ie = cfg.gains()
    los = _los(cfg)
    x, a, z, b = _pcg_uniforms(key, cfg.K)
    theta = _pcg_theta(key, cfg.K)
    cn = channels.complex_normal_from_uniforms
    ch = WiretapChannels(jnp.sqrt(b_si).astype(los.dtype) * los, jnp.sqrt(b_ib).astype(los.dtype) * cn(x, theta),
                         jnp.sqrt(b_ie).astype(los.dtype) * cn(z, theta + a - jnp.floor(theta + a)))
    turns = b - theta
    c, s = phases.phasor(turns - jnp.floor(turns))
    return ch, jax.lax.complex(c, s) * jnp.conj(los).astype(ch.h.dtype)


def sample(key, cfg: WiretapConfig) -> WiretapChannels:
    """``(h, g_B, g_E)`` of one realisation: LoS S-IRS (UPA steering), Rayleigh IRS-Bob and IRS-Eve.

    With ``rng="pcg"`` these are the channels that ``cfg(key)`` evaluates; with ``rng="threefry"``
    ``cfg(key)`` uses ``realisation(key, cfg)``, whose channels come from a sub-key.
    """
    if cfg.rng == "pcg":
        return _pcg_realisation(key, cfg)[0]
    b_si, b_ib, b_ie = cfg.gains()
    los = _los(cfg)
    h = jnp.sqrt(b_si).astype(los.dtype) * los
    kb, ke = jax.random.split(key)
    return WiretapChannels(h, channels.rayleigh(kb, (cfg.K,), gain=b_ib), channels.rayleigh(ke, (cfg.K,), gain=b_ie))


def realisation(key, cfg: WiretapConfig):
    """``(channels, v_random)``: exactly the draws that ``cfg(key)`` evaluates (channels and the random
    phases), for the plain pipeline ``align -> snrs`` on the same realisation.

    >>> import jax
    >>> from irsjax import phases
    >>> cfg = WiretapConfig(K=8, P_dBm=30.0)
    >>> ch, v = realisation(jax.random.key(0), cfg)
    >>> gb, ge = snrs(ch, phases.align(ch.h * ch.g_b), cfg)
    >>> bool(jnp.allclose(statistics(gb, ge, *snrs(ch, v, cfg), cfg)["sr_aligned"],
    ...                   cfg(jax.random.key(0))["sr_aligned"], rtol=1e-5))
    True
    """
    if cfg.rng == "pcg":
        return _pcg_realisation(key, cfg)
    k_ch, k_ph = jax.random.split(key)
    ch = sample(k_ch, cfg)
    return ch, phases.random(k_ph, cfg.K, dtype=ch.h.dtype)


def _snrs_pcg(key, cfg: WiretapConfig):
    """``(gamma_B, gamma_E)`` with aligned and with random phases, from the pcg draws of ``realisation``, in
    real arithmetic. With ``h = sqrt(b_SI) e^{j psi_k}``, ``g_B = sqrt(b_IB) r_k e^{j theta_k}``,
    ``g_E = sqrt(b_IE) s_k e^{j(theta_k + A_k)}`` and random phases ``v_k = e^{j(B_k - theta_k - psi_k)}``
    (``theta, A, B`` i.i.d. uniform, so ``arg g_E`` and the random phases are uniform and independent of the
    rest, as the model asks): aligned (``v = e^{-j(psi + theta)}``) Bob's cascade is ``sqrt(b_SI b_IB) sum r_k``
    and Eve's ``sqrt(b_SI b_IE) sum s_k e^{j A_k}``; random, ``sum r_k e^{j B_k}`` and ``sum s_k e^{j(A_k + B_k)}``.
    Neither ``theta`` nor the LoS phases enter: two phasors an element, four uniforms (one pcg block)."""
    x, a, z, b = _pcg_uniforms(key, cfg.K)
    r, s = jnp.sqrt(-jnp.log(x)), jnp.sqrt(-jnp.log(z))  # Rayleigh magnitudes (|CN(0,1)|)
    ca, sa = phases.phasor(a)  # e^{j A}
    cb, sb = phases.phasor(b)  # e^{j B}
    cc, sc = ca * cb - sa * sb, sa * cb + ca * sb  # e^{j(A + B)}
    b_si, b_ib, b_ie = cfg.gains()
    rho = cfg.snr_scale() * b_si
    sq2 = lambda u, v: u * u + v * v  # noqa: E731
    gb_al = rho * b_ib * jnp.sum(r) ** 2
    ge_al = rho * b_ie * sq2(jnp.sum(s * ca), jnp.sum(s * sa))
    gb_rd = rho * b_ib * sq2(jnp.sum(r * cb), jnp.sum(r * sb))
    ge_rd = rho * b_ie * sq2(jnp.sum(s * cc), jnp.sum(s * sc))
    return gb_al, ge_al, gb_rd, ge_rd


def snrs(ch: WiretapChannels, v, cfg: WiretapConfig):
    """``(gamma_B, gamma_E)`` with IRS phases ``v`` (unit modulus, shape ``(K,)``)."""
    rho = cfg.snr_scale()
    return (rho * jnp.abs(channels.cascade(ch.g_b, v, ch.h)) ** 2,
            rho * jnp.abs(channels.cascade(ch.g_e, v, ch.h)) ** 2)

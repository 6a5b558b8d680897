"""Closed-form secrecy outage probability of the IRS-aided uplink: Theorem 1, eq. (3.7) of MODELS.md.

Given the phases and ``h_r,k``, Eve's effective channel ``h_E,k = h_e,k + G_E Theta h_r,k`` is
``CN(0, eps_k I_{N_E})`` with ``eps_k = beta_UE,k + beta_IE ||h_r,k||^2`` (independent of the
unit-modulus phases), so ``||h_E,k||^2 ~ Gamma(N_E, eps_k)`` and

    P_so,k = Pr(C_B,k - C_E,k < R_s) = Q_Gamma(N_E, max(x_k, 0)),
    x_k = sigma_E^2 (2^(C_B,k - R_s) - 1) / (p_k eps_k),

``Q_Gamma`` the regularised upper incomplete gamma function (``x_k <= 0`` gives 1). The SOP is
strictly decreasing in ``x_k``; :func:`sop_derivative` is ``dP/dx = -x^(N_E - 1) e^(-x) / Gamma(N_E)``
(``0`` for ``x < 0``), the same as ``jax.grad`` of :func:`sop_from_x`. MODELS.md 0.1 asks for closed forms
in float64: call under ``jax.enable_x64`` for that (the functions follow their inputs' dtype).

>>> import jax.numpy as jnp
>>> from irsjax.analysis import uplink as an
>>> round(float(an.sop_from_x(jnp.array(1.0), 2)), 6)     # Q(2, 1) = 2 / e
0.735759
>>> float(an.sop_from_x(jnp.array(-0.5), 2))
1.0
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy import special as jsp

from irsjax.systems import uplink as sysm

__all__ = [
    "conditional_sop",
    "sop",
    "sop_derivative",
    "sop_from_sinr",
    "sop_from_x",
    "x_from_capacity",
    "x_from_sinr",
]


def x_from_capacity(capacity_bob, eps, snr_eve, R_s):
    """``x_k = (2^(C_B,k - R_s) - 1) / (snr_eve_k eps_k)`` with ``snr_eve_k = p_k / sigma_E^2`` (3.7)."""
    return jnp.expm1(jnp.log(2.0) * (capacity_bob - R_s)) / (snr_eve * eps)


def x_from_sinr(sinr, eps, snr_eve, R_s):
    """``x_k = c_k (1 + SINR_k - 2^R_s)``, ``c_k = sigma_E^2 / (p_k eps_k 2^R_s)`` (3.9)-(3.10); equals
    :func:`x_from_capacity` at ``C_B,k = log2(1 + SINR_k)``."""
    t = jnp.exp2(R_s)
    return (1.0 + sinr - t) / (snr_eve * eps * t)


def sop_from_x(x, N_E):
    """``Q_Gamma(N_E, max(x, 0))`` (``N_E`` a positive integer or array of them)."""
    x = jnp.asarray(x)
    a = jnp.asarray(N_E, x.dtype)
    return jsp.gammaincc(a, jnp.maximum(x, jnp.zeros((), x.dtype)))


def sop_derivative(x, N_E):
    """``dP_so/dx = -x^(N_E - 1) e^(-x) / Gamma(N_E)`` for ``x > 0``, ``0`` for ``x < 0`` (closed form)."""
    x = jnp.asarray(x)
    a = jnp.asarray(N_E, x.dtype)
    pos = x > 0
    xs = jnp.where(pos, x, jnp.ones((), x.dtype))
    d = -jnp.exp((a - 1.0) * jnp.log(xs) - xs - jsp.gammaln(a))
    return jnp.where(pos, d, jnp.zeros((), x.dtype))


def sop_from_sinr(cfg: sysm.UplinkConfig, ch: sysm.UplinkChannels, sinr):
    """Per-user SOP (3.7) from the SINRs at the BS, shape ``(K,)``."""
    rd = jnp.real(ch.G).dtype
    x = x_from_sinr(sinr, sysm.eve_variance(ch), cfg.snr_eve(rd), jnp.asarray(cfg.R_s, rd))
    return sop_from_x(x, cfg.N_E)


def sop(cfg: sysm.UplinkConfig, ch: sysm.UplinkChannels, decision: sysm.UplinkDecision):
    """Per-user SOP (3.7) of a decision (phases, receivers), shape ``(K,)``."""
    return sop_from_sinr(cfg, ch, sysm.sinr(cfg, ch, decision))


def conditional_sop(cfg: sysm.UplinkConfig, ch: sysm.UplinkChannels, decision: sysm.UplinkDecision, eve_keys):
    """Monte Carlo estimate of (3.6) over Eve's channel draws (one per key), shape ``(K,)``:
    the fraction of draws with ``C_B,k - C_E,k < R_s`` (the reference for (3.7))."""
    def one(k):
        return sysm.outage(cfg, ch, sysm.sample_eve(k, cfg, ch), decision)

    return jnp.mean(jax.vmap(one)(eve_keys), axis=0)

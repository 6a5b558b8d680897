"""Rates, secrecy rates and outage indicators (MODELS.md section 0.4).

All rates in bit/s/Hz (log2). ``{x}^+`` is applied per realisation.

>>> from irsjax import metrics
>>> float(metrics.secrecy_rate(3.0, 1.0))
1.0
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from irsjax.special import q_inverse

LOG2E = 1.4426950408889634


def rate(snr):
    """Achievable rate ``log2(1 + snr)``."""
    return jnp.log2(1.0 + jnp.asarray(snr))


def positive_part(x):
    """``{x}^+ = max(x, 0)`` (sub-gradient 1/2 at 0 via jnp.maximum; finite everywhere)."""
    return jnp.maximum(jnp.asarray(x), 0.0)


def secrecy_rate(snr_b, snr_e, *, clip=True):
    """``{log2(1+snr_b) - log2(1+snr_e)}^+`` (``clip=False`` keeps the raw difference)."""
    d = jnp.log2(1.0 + jnp.asarray(snr_b)) - jnp.log2(1.0 + jnp.asarray(snr_e))
    return positive_part(d) if clip else d


def secrecy_outage(snr_b, snr_e, threshold):
    """Outage indicator of ``C_s < R_th`` for ``R_th > 0``, i.e. ``(1+snr_b) < 2^R (1+snr_e)``.

    Returned as a float 0/1 so that the Monte Carlo engine can average it.
    """
    snr_b = jnp.asarray(snr_b)
    dtype = snr_b.real.dtype if jnp.issubdtype(snr_b.dtype, jnp.floating) else jnp.float32
    return ((1.0 + snr_b) < jnp.exp2(threshold) * (1.0 + jnp.asarray(snr_e))).astype(dtype)


def outage(snr, threshold):
    """Connection-outage indicator ``log2(1+snr) < R_th`` (float 0/1)."""
    snr = jnp.asarray(snr)
    return (rate(snr) < threshold).astype(snr.dtype)


def dispersion(snr):
    """Channel dispersion ``V(snr) = 1 - (1 + snr)^-2`` (in nats^2)."""
    return 1.0 - 1.0 / (1.0 + jnp.asarray(snr)) ** 2


def _sqrt_dispersion(snr, eps=1e-12):
    # smoothed sqrt so that the gradient at snr = 0 stays finite (MODELS.md 6)
    return jnp.sqrt(dispersion(snr) + eps) - jnp.sqrt(eps)


def fbr_rate(snr, *, blocklength, error_prob):
    """Normal-approximation finite-blocklength rate
    ``log2(1+snr) - log2(e) Q^{-1}(eps) sqrt(V/n)`` (un-clipped)."""
    return rate(snr) - LOG2E * q_inverse(error_prob) * _sqrt_dispersion(snr) / jnp.sqrt(blocklength)


def fbr_secrecy_rate(snr_b, snr_e, *, blocklength, error_prob, leakage, clip=True):
    """Finite-blocklength secrecy rate, eq. (0.2) (Feng, Wang & Poor normal approximation).

    ``blocklength = floor(t B)``; ``error_prob`` = epsilon, ``leakage`` = delta.
    ``blocklength -> inf`` recovers :func:`secrecy_rate`.
    """
    spread = q_inverse(error_prob) * _sqrt_dispersion(snr_b) + q_inverse(leakage) * _sqrt_dispersion(snr_e)
    penalty = LOG2E * spread / jnp.sqrt(blocklength)
    d = secrecy_rate(snr_b, snr_e, clip=False) - penalty
    return positive_part(d) if clip else d


def jain_index(rates):
    """Jain's fairness index ``(sum r)^2 / (K sum r^2)`` over the last axis; 0 if all rates are 0."""
    r = jnp.asarray(rates)
    k = r.shape[-1]
    s2 = jnp.sum(r * r, axis=-1)
    safe = jnp.where(s2 > 0, s2, 1.0)
    return jnp.where(s2 > 0, jnp.sum(r, axis=-1) ** 2 / (k * safe), 0.0)


def soft_min(x, temperature, axis=-1):
    """Soft minimum ``-tau log sum exp(-x/tau)`` (``<= min``, ``>= min - tau log K``); the exact ``min`` where
    ``temperature == 0`` (traceable: an annealing schedule can end on the exact objective; no division by 0)."""
    x = jnp.asarray(x)
    tau = jnp.asarray(temperature, x.dtype)
    safe = jnp.where(tau > 0, tau, jnp.ones_like(tau))
    soft = -safe * jax.nn.logsumexp(-x / safe, axis=axis)
    return jnp.where(tau > 0, soft, jnp.min(x, axis=axis))

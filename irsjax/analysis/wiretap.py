"""Closed forms of the reference wiretap (MODELS.md section 0.5).

>>> from irsjax.analysis.wiretap import sop_random_phases
>>> round(float(sop_random_phases(100.0, 1.0, 1.0)), 4)
0.0294
"""
from __future__ import annotations

import jax.numpy as jnp


def sop_random_phases(gamma_b_bar, gamma_e_bar, rate_threshold):
    """Exact SOP with random phases (both SNRs exponential):
    ``1 - gB/(gB + v gE) exp(-(v-1)/gB)``, ``v = 2^R``."""
    vt = 2.0 ** jnp.asarray(rate_threshold)
    gb = jnp.asarray(gamma_b_bar)
    return 1.0 - gb / (gb + vt * gamma_e_bar) * jnp.exp(-(vt - 1.0) / gb)


def sop_given_bob_snr(gamma_b, gamma_e_bar, rate_threshold):
    """``Pr(outage | gamma_B) = exp(-{(1+gamma_B)/v - 1}^+ / gamma_E_bar)``."""
    vt = 2.0 ** jnp.asarray(rate_threshold)
    return jnp.exp(-jnp.maximum((1.0 + jnp.asarray(gamma_b)) / vt - 1.0, 0.0) / gamma_e_bar)


def log_sop_given_bob_snr(gamma_b, gamma_e_bar, rate_threshold):
    """``ln Pr(outage | gamma_B) = -{(1+gamma_B)/v - 1}^+ / gamma_E_bar`` (exact, no underflow: the
    log of :func:`sop_given_bob_snr`, for tail probabilities far below float32's range)."""
    vt = jnp.exp2(jnp.asarray(rate_threshold))
    return -jnp.maximum((1.0 + jnp.asarray(gamma_b)) / vt - 1.0, 0.0) / gamma_e_bar

"""Large-scale path-loss models (MODELS.md section 0.3).

All functions return *power gains* (linear, <= 1 for losses) unless the name
says ``_db`` or ``loss``.

>>> from irsjax import pathloss
>>> round(float(pathloss.distance_gain(10.0, exponent=2.0, c0_db=-30.0)), 9)
1e-05
"""
from __future__ import annotations

import jax.numpy as jnp

from irsjax.units import SPEED_OF_LIGHT, db_to_linear


def distance_gain(d, *, exponent, c0_db=0.0, d0=1.0):
    """Power gain ``C0 (d/d0)^-alpha`` with ``C0`` given in dB."""
    return db_to_linear(c0_db) * jnp.power(jnp.asarray(d) / d0, -exponent)


def log_distance_gain_db(d, *, intercept_db, slope_db, gains_db=0.0):
    """3GPP-style log-distance gain in dB: ``gains + intercept - slope log10(d)``.

    E.g. UMi LoS (Bjornson et al.): ``intercept_db=-37.5``, ``slope_db=22``.
    """
    return gains_db + intercept_db - slope_db * jnp.log10(jnp.asarray(d))


def ris_free_space_loss(d1, d2, cos_i, cos_r, *, frequency_hz, element_size=None, gt_db=0.0, gr_db=0.0):
    """Per-element RIS free-space path *loss* (dimensionless, > 1), eq. (0.1).

    ``PL = (4 pi)^2 d1^2 d2^2 / (Gt Gr (dx dy)^2 cos(theta_i) cos(theta_r))``
    with ``dx = dy = element_size`` (default lambda/2).
    """
    lam = SPEED_OF_LIGHT / jnp.asarray(frequency_hz)
    a = lam / 2 if element_size is None else element_size
    gt = db_to_linear(gt_db)
    gr = db_to_linear(gr_db)
    return (4 * jnp.pi) ** 2 * d1**2 * d2**2 / (gt * gr * (a * a) ** 2 * cos_i * cos_r)


def free_space_loss(d, *, frequency_hz, exponent=2.0, gt_db=0.0, gr_db=0.0):
    """Direct-link free-space loss ``(4 pi / lambda)^2 d^alpha / (Gt Gr)`` (> 1)."""
    lam = SPEED_OF_LIGHT / jnp.asarray(frequency_hz)
    return (4 * jnp.pi / lam) ** 2 * jnp.power(jnp.asarray(d), exponent) / (db_to_linear(gt_db) * db_to_linear(gr_db))

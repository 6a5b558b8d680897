"""Unit conversions (MODELS.md section 0.1).

>>> from irsjax import units
>>> float(units.dbm_to_watt(30.0))
1.0
"""
from __future__ import annotations

import math

import jax.numpy as jnp

SPEED_OF_LIGHT = 299_792_458.0  # m/s, exact
LN2 = math.log(2.0)  # nats per bit: log2(x) = ln(x) / LN2


def db_to_linear(x_db):
    """Power ratio in dB -> linear: ``10**(x/10)``."""
    return jnp.power(10.0, jnp.asarray(x_db) / 10.0)


def linear_to_db(x):
    """Linear power ratio -> dB (``-inf`` for 0)."""
    return 10.0 * jnp.log10(jnp.asarray(x))


def dbm_to_watt(p_dbm):
    """Power in dBm -> watts: ``10**((p-30)/10)``."""
    return jnp.power(10.0, (jnp.asarray(p_dbm) - 30.0) / 10.0)


def watt_to_dbm(p_w):
    """Power in watts -> dBm."""
    return 10.0 * jnp.log10(jnp.asarray(p_w)) + 30.0


def thermal_noise_dbm(bandwidth_hz, noise_figure_db=0.0):
    """Thermal noise power ``-174 + 10 log10(B) + NF`` in dBm."""
    return -174.0 + 10.0 * jnp.log10(jnp.asarray(bandwidth_hz)) + noise_figure_db


def wavelength(frequency_hz):
    """Wavelength ``c / f`` in metres (c exact)."""
    return SPEED_OF_LIGHT / jnp.asarray(frequency_hz)

"""Unit-modulus IRS phases (MODELS.md section 0.3).

Phases are parametrised by real angles ``theta`` (``v = exp(j theta)``), so
``jax.grad`` of a real objective with respect to ``theta`` is the true ascent
direction (no complex-conjugate pitfall).

>>> import jax.numpy as jnp
>>> from irsjax import phases
>>> h = jnp.array([1j, -1.0]); g = jnp.array([1.0, 1j])
>>> v = phases.align(h * g)
>>> bool(jnp.allclose(jnp.sum(h * v * g), 2.0, atol=1e-6))
True
"""
from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from irsjax.channels import complex_dtype, real_dtype


def from_angles(theta):
    """``exp(j theta)``."""
    theta = jnp.asarray(theta)
    return jax.lax.complex(jnp.cos(theta), jnp.sin(theta))


def to_angles(v):
    """Angles in ``[-pi, pi)`` of a complex vector."""
    return jnp.angle(v)


def align(cascade_coeffs):
    """Phases ``v_n = exp(-j arg c_n)`` that co-phase ``sum_n c_n v_n = sum_n |c_n|``.

    ``cascade_coeffs`` are the per-element products (e.g. ``h_n g_n``). A zero
    coefficient gets phase 0 (no NaN).
    """
    c = jnp.asarray(cascade_coeffs)
    mag = jnp.abs(c)
    safe = jnp.where(mag > 0, mag, jnp.ones((), mag.dtype))
    return jnp.where(mag > 0, jnp.conj(c) / safe.astype(c.dtype), jnp.ones_like(c))


def random(key, num_elements, *, dtype=None):
    """i.i.d. uniform phases on ``[0, 2 pi)``."""
    theta = jax.random.uniform(key, (num_elements,), dtype=real_dtype(dtype), maxval=2 * jnp.pi)
    return from_angles(theta).astype(complex_dtype(dtype))


def project_unit_modulus(z):
    """Nearest unit-modulus vector (elementwise ``z/|z|``; 1 where ``z = 0``)."""
    return align(jnp.conj(z))


def quantize(v, bits):
    """Round each phase to the nearest of ``2**bits`` uniform levels ``{2 pi k / 2^b}``."""
    levels = 2 ** int(bits)
    step = 2 * jnp.pi / levels
    theta = jnp.round(jnp.angle(v) / step) * step
    return from_angles(theta).astype(jnp.asarray(v).dtype)


def phasor(u):
    """``(cos 2 pi u, sin 2 pi u)`` for uniforms ``u`` in [0, 1), by quadrant reduction and a
    Taylor polynomial on ``[-pi/4, pi/4]`` (full float32/float64 accuracy, only multiply-adds:
    XLA's CPU ``sin``/``cos`` are ~15x slower than ``log``).

    >>> c, s = phasor(jnp.array([0.0, 0.125, 0.7]))
    >>> bool(jnp.allclose(c, jnp.cos(2 * jnp.pi * jnp.array([0.0, 0.125, 0.7])), atol=1e-6))
    True
    """
    u = jnp.asarray(u)
    q = jnp.round(4.0 * u)
    x = (2 * np.pi) * (u - 0.25 * q)  # in [-pi/4, pi/4]
    x2 = x * x
    nterms = 9 if u.dtype == jnp.float64 else 5
    # sin x = x sum_k (-x2)^k / (2k+1)!,  cos x = sum_k (-x2)^k / (2k)!   (Horner)
    sp = jnp.ones_like(x)
    cp = jnp.ones_like(x)
    for k in range(nterms, 0, -1):
        sp = 1.0 - sp * x2 / ((2 * k) * (2 * k + 1))
        cp = 1.0 - cp * x2 / ((2 * k - 1) * (2 * k))
    sn, cs = x * sp, cp
    qi = q.astype(jnp.int32) & 3
    c = jnp.where(qi == 0, cs, jnp.where(qi == 1, -sn, jnp.where(qi == 2, -cs, sn)))
    s_ = jnp.where(qi == 0, sn, jnp.where(qi == 1, cs, jnp.where(qi == 2, -sn, -cs)))
    return c, s_

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


#: Minimax coefficients of ``sin x = x + x^3 P(x^2)`` and ``cos x = 1 - x^2/2 + x^4 Q(x^2)`` on [-pi/4, pi/4]
#: (Cephes ``sinf``/``cosf`` for float32, ``sin``/``cos`` for float64; highest power first).
_SIN_COEFFS = {4: (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1),
               8: (1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6,
                   -1.98412698295895385996e-4, 8.33333333332211858878e-3, -1.66666666666666307295e-1)}
_COS_COEFFS = {4: (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2),
               8: (-1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7,
                   2.48015872888517045348e-5, -1.38888888888730564116e-3, 4.16666666666665929218e-2)}


def phasor(u):
    """``(cos 2 pi u, sin 2 pi u)`` for uniforms ``u`` in [0, 1), by quadrant reduction and minimax
    polynomials on ``[-pi/4, pi/4]`` (full float32/float64 accuracy, only multiply-adds: XLA's CPU
    ``sin``/``cos`` are ~15x slower than ``log``; a Monte Carlo kernel's fusions may each evaluate it again, so
    its cost counts several times: 3 + 3 terms in float32 made the wiretap kernel 15-20 % faster than Taylor's
    5 + 5).

    >>> c, s = phasor(jnp.array([0.0, 0.125, 0.7]))
    >>> bool(jnp.allclose(c, jnp.cos(2 * jnp.pi * jnp.array([0.0, 0.125, 0.7])), atol=1e-6))
    True
    """
    u = jnp.asarray(u)
    if not jnp.issubdtype(u.dtype, jnp.floating):
        u = u.astype(real_dtype())
    dt = u.dtype
    q = jnp.round(4.0 * u)
    x = np.asarray(2 * np.pi, dt) * (u - 0.25 * q)  # in [-pi/4, pi/4]
    x2 = x * x
    w = 8 if dt.itemsize == 8 else 4
    ps, pc = _SIN_COEFFS[w], _COS_COEFFS[w]
    sp, cp = jnp.full_like(x, ps[0]), jnp.full_like(x, pc[0])
    for a, b in zip(ps[1:], pc[1:]):  # Horner
        sp = sp * x2 + np.asarray(a, dt)
        cp = cp * x2 + np.asarray(b, dt)
    sn = x + x * x2 * sp
    cs = 1.0 - 0.5 * x2 + x2 * x2 * cp
    qi = q.astype(jnp.int32) & 3
    c = jnp.where(qi == 0, cs, jnp.where(qi == 1, -sn, jnp.where(qi == 2, -cs, sn)))
    s_ = jnp.where(qi == 0, sn, jnp.where(qi == 1, cs, jnp.where(qi == 2, -sn, -cs)))
    return c, s_

"""Points, random drops, distances and IRS angles (MODELS.md section 0.2).

Coordinates are metres, 2-D or 3-D (last axis). Distances are clipped below at
``MIN_DISTANCE`` = 1 m.

>>> import jax, jax.numpy as jnp
>>> from irsjax import geometry
>>> p = geometry.drop_in_disc(jax.random.key(0), jnp.array([0.0, 0.0]), 5.0, shape=(3,))
>>> p.shape
(3, 2)
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

MIN_DISTANCE = 1.0


def _safe_norm(v, axis=-1, keepdims=False):
    """``||v||`` whose gradient is 0 (not NaN) where ``v = 0``."""
    n2 = jnp.sum(v * v, axis=axis, keepdims=keepdims)
    pos = n2 > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, n2, jnp.ones((), n2.dtype))), jnp.zeros((), n2.dtype))


def _same_rank(a, b):
    """Leading unit axes so that ``a`` and ``b`` broadcast explicitly (points of any batch shape)."""
    nd = max(a.ndim, b.ndim)
    return a.reshape((1,) * (nd - a.ndim) + a.shape), b.reshape((1,) * (nd - b.ndim) + b.shape)


def distance(a, b, *, min_distance=MIN_DISTANCE):
    """Euclidean distance between points ``a`` and ``b`` (broadcast), clipped below (finite gradients
    also where the points coincide)."""
    a, b = _same_rank(jnp.asarray(a), jnp.asarray(b))
    return jnp.maximum(_safe_norm(a - b), min_distance)


def drop_in_disc(key, centre, radius, shape=()):
    """Uniform points in a disc: ``c + r sqrt(u) (cos 2 pi u', sin 2 pi u')``.

    ``centre`` has 2 coordinates (a third one, if given, is kept as height).
    Returns an array of ``shape + centre.shape``.
    """
    centre = jnp.asarray(centre)
    k1, k2 = jax.random.split(key)
    u = jax.random.uniform(k1, shape, dtype=centre.dtype if jnp.issubdtype(centre.dtype, jnp.floating) else None)
    u2 = jax.random.uniform(k2, shape, dtype=u.dtype)
    r = radius * jnp.sqrt(u)
    xy = jnp.stack([r * jnp.cos(2 * jnp.pi * u2), r * jnp.sin(2 * jnp.pi * u2)], axis=-1)
    if centre.shape[-1] == 3:
        xy = jnp.concatenate([xy, jnp.zeros(shape + (1,), xy.dtype)], axis=-1)
    return centre.reshape((1,) * len(shape) + centre.shape) + xy


def drop_in_rectangle(key, low, high, shape=()):
    """Uniform points in the axis-aligned box ``[low, high]`` (independent axes)."""
    dt = jax.dtypes.canonicalize_dtype(jnp.float64)
    low = jnp.asarray(low, dtype=dt)
    high = jnp.asarray(high, dtype=dt)
    u = jax.random.uniform(key, shape + low.shape, dtype=low.dtype)
    lead = (1,) * len(shape)
    return low.reshape(lead + low.shape) + (high - low).reshape(lead + low.shape) * u


def unit_vector(frm, to):
    """Unit vector from ``frm`` towards ``to`` (safe when they coincide)."""
    to, frm = _same_rank(jnp.asarray(to), jnp.asarray(frm))
    v = to - frm
    n = _safe_norm(v, keepdims=True)
    return v / jnp.maximum(n, 1e-30)


def cos_angle_to_normal(irs_centre, normal, point):
    """|cos| of the angle between an IRS's normal and the direction to ``point``.

    Used for the angles of incidence (towards the transmitter) and reflection
    (towards the receiver) of the RIS free-space path-loss model (MODELS.md 0.3).
    """
    u = unit_vector(irs_centre, point)
    n = jnp.asarray(normal) / jnp.linalg.norm(jnp.asarray(normal))
    u, n = _same_rank(u, n)
    return jnp.abs(jnp.sum(u * n, axis=-1))


def incidence_reflection_cos(irs_centre, normal, tx, rx):
    """``(cos theta_i, cos theta_r)`` for a planar IRS with the given normal."""
    return cos_angle_to_normal(irs_centre, normal, tx), cos_angle_to_normal(irs_centre, normal, rx)


def upa_element_positions(n_h, n_v, spacing, centre=(0.0, 0.0, 0.0)):
    """Element positions of a UPA in the x-z plane (index ``p*n_v + q``), centred."""
    dt = jax.dtypes.canonicalize_dtype(jnp.float64)
    p = jnp.arange(n_h, dtype=dt) - (n_h - 1) / 2
    q = jnp.arange(n_v, dtype=dt) - (n_v - 1) / 2
    pp, qq = jnp.meshgrid(p, q, indexing="ij")
    pos = jnp.stack([pp.ravel() * spacing, jnp.zeros(n_h * n_v, dt), qq.ravel() * spacing], axis=-1)
    return pos + jnp.asarray(centre, dt)[None, :]

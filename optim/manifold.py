"""Manifolds for phase design: the complex circle ``{v : |v_i| = 1}`` (MODELS.md section 6) and the oblique manifold.

:class:`UnitModulus` and :class:`Oblique` are the manifold objects used by
:func:`optim.maximize_phases` and :mod:`optim.sdr`: optimisation runs on real
*coordinates* (``params``) in which an optax update is a retraction --
angles ``theta`` for the circle (``v = exp(j theta)``: flat, so vector transport
is the identity and quasi-Newton / Newton steps need no correction), stacked
real and imaginary parts of the rows for the oblique manifold (projective
retraction, transport by tangent projection). Both offer ``point`` (coordinates
-> complex point), ``coordinates`` (the inverse), ``project`` (nearest point of
an ambient array), ``retract``, ``to_tangent``, ``transport``, ``random_point``,
``random_coordinates`` and ``inner``.

The functions below are the circle tools in the complex representation.

JAX's complex-gradient convention: for a real ``f`` of a complex ``v``,
``jax.grad(f)(v)`` returns ``df/dRe(v) - j df/dIm(v)``, the *conjugate* of the
steepest-ascent direction. :func:`ascent_direction` undoes that, so that
``v + eta * ascent_direction(f, v)`` increases ``f`` for small ``eta > 0``
(equivalently ``2 df/dv*``, the Wirtinger gradient times two).

>>> import jax, jax.numpy as jnp
>>> from optim import manifold
>>> f = lambda v: jnp.abs(jnp.sum(v)) ** 2
>>> v = jnp.array([1.0 + 0j, 1j])
>>> g = manifold.riemannian_gradient(v, manifold.ascent_direction(f, v))
>>> bool(jnp.allclose(jnp.real(g * jnp.conj(v)), 0.0, atol=1e-6))   # tangent to the circle
True
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from dataclasses import dataclass

from irsjax.channels import complex_dtype, real_dtype
from irsjax.phases import from_angles


def _unit(z):
    """``z / |z|`` elementwise, 1 where ``z = 0`` (strict dtype promotion safe)."""
    z = jnp.asarray(z)
    mag = jnp.abs(z)
    ok = mag > 0
    return jnp.where(ok, z / jnp.where(ok, mag, jnp.ones_like(mag)).astype(z.dtype), jnp.ones_like(z))


def ascent_direction(f, v, *args):
    """Euclidean steepest-ascent direction of a real ``f(v, *args)`` at complex ``v``.

    Equals ``conj(jax.grad(f)(v))`` (``= df/dRe v + j df/dIm v = 2 df/dv*``).
    """
    return jnp.conj(jax.grad(f)(v, *args))


def value_and_ascent(f, v, *args):
    """``(f(v), ascent_direction(f, v))`` in one pass."""
    val, g = jax.value_and_grad(f)(v, *args)
    return val, jnp.conj(g)


def tangent_project(v, g):
    """Project ``g`` onto the tangent space at ``v``: ``g - Re(g conj(v)) v`` (elementwise)."""
    v = jnp.asarray(v)
    return g - jnp.real(g * jnp.conj(v)).astype(v.dtype) * v


def riemannian_gradient(v, euclidean_ascent):
    """Riemannian gradient on the circle manifold from the Euclidean ascent direction."""
    return tangent_project(v, euclidean_ascent)


def angle_gradient(v, euclidean_ascent):
    """Gradient with respect to the angles ``theta`` (``v = exp(j theta)``): ``Im(conj(v) g)``.

    Same information as the Riemannian gradient: ``g_R = j v * angle_gradient``.
    """
    return jnp.imag(jnp.conj(v) * euclidean_ascent)


def retract(z):
    """Retraction onto the manifold (elementwise normalisation ``z/|z|``; 1 where ``z = 0``)."""
    return _unit(z)


def random_point(key, shape, *, dtype=None):
    """i.i.d. uniform phases of the given shape."""
    theta = jax.random.uniform(key, tuple(shape), dtype=real_dtype(dtype), maxval=2 * jnp.pi)
    return from_angles(theta).astype(complex_dtype(dtype))


class RiemannianState(NamedTuple):
    """State of :func:`riemannian` (the wrapped optimiser's state)."""

    inner: optax.OptState


def riemannian(optimizer: optax.GradientTransformation) -> optax.GradientTransformation:
    """Wrap an optax optimiser for the circle manifold (optax-style transform).

    ``update(ascent, state, params=v)`` takes the *Euclidean ascent direction*
    ``g`` at ``v``, feeds ``-g_R`` (optax minimises) to ``optimizer`` and
    projects the resulting update onto the tangent space at ``v``; apply it
    with :func:`apply_update` (``retract(v + update)``).
    """

    def init(params):
        return RiemannianState(optimizer.init(params))

    def update(ascent, state, params=None):
        if params is None:
            raise ValueError("riemannian(...).update needs params=v")
        g_r = riemannian_gradient(params, ascent)
        upd, inner = optimizer.update(-g_r, state.inner, params)
        return tangent_project(params, upd), RiemannianState(inner)

    return optax.GradientTransformation(init, update)


def apply_update(v, update):
    """Retract ``v + update`` back onto the manifold."""
    return retract(v + update)


__all__ = [
    "ascent_direction", "value_and_ascent", "tangent_project", "riemannian_gradient", "angle_gradient",
    "retract", "random_point", "riemannian", "RiemannianState", "apply_update",
]


def from_angles_like(theta, like):
    """``exp(j theta)`` in the complex dtype of ``like``."""
    return from_angles(theta).astype(jnp.asarray(like).dtype)


__all__.append("from_angles_like")


def oblique_tangent(U, G):
    """Tangent projection on the complex oblique manifold (rows of ``U`` on unit spheres)."""
    U = jnp.asarray(U)
    return G - jnp.real(jnp.sum(G * jnp.conj(U), axis=-1, keepdims=True)).astype(U.dtype) * U


def oblique_retract(Z):
    """Row normalisation ``Z_i / ||Z_i||`` (rows of norm 0 become ``e_1``)."""
    Z = jnp.asarray(Z)
    nrm = jnp.linalg.norm(Z, axis=-1, keepdims=True)
    e1 = jnp.zeros_like(Z).at[..., 0].set(1.0)
    ok = nrm > 0
    return jnp.where(ok, Z / jnp.where(ok, nrm, jnp.ones_like(nrm)).astype(Z.dtype), e1)


__all__ += ["oblique_tangent", "oblique_retract"]


def _tree_inner(a, b):
    leaves = jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda x, y: jnp.sum(jnp.real(jnp.conj(x) * y)), a, b))
    return sum(leaves[1:], leaves[0])


@dataclass(frozen=True)
class UnitModulus:
    """The complex circle ``{v : |v_i| = 1}`` in angle coordinates ``theta`` (``v = exp(j theta)``).

    The angle chart is flat: ``retract(theta, d) = theta + d`` is the exponential map, tangent vectors are real
    arrays of the shape of ``v``, vector transport is the identity. ``flat = True`` marks the manifolds on
    which :func:`optim.transforms.scale_by_angle_bfgs` and :func:`optim.transforms.scale_by_angle_newton` apply.

    >>> import jax, jax.numpy as jnp
    >>> from optim.manifold import UnitModulus
    >>> m = UnitModulus()
    >>> v = m.point(jnp.array([0.0, jnp.pi / 2]))
    >>> bool(jnp.allclose(v, jnp.array([1.0 + 0j, 1j]), atol=1e-6))
    True
    """

    flat = True

    def point(self, params, dtype=None):
        """``exp(j theta)`` (complex dtype matching ``params``, or ``dtype``)."""
        v = from_angles(jnp.asarray(params))  # lax.complex: complex64 from float32, complex128 from float64
        return v if dtype is None else v.astype(complex_dtype(dtype))

    def point_with_amplitude(self, params, log_amplitude):
        """``exp(a + j theta)``: the point scaled off the manifold (for the radial derivative of an objective)."""
        v = from_angles(jnp.asarray(params))
        return v * jnp.exp(jnp.asarray(log_amplitude)).astype(v.dtype)

    def coordinates(self, point):
        """Angles of a point (``project`` first if it is off the manifold)."""
        return jnp.angle(jnp.asarray(point))

    def project(self, z):
        """Nearest unit-modulus array ``z/|z|`` (1 where ``z = 0``)."""
        return _unit(z)

    def retract(self, params, step):
        """``theta + step`` (exponential map)."""
        return jax.tree_util.tree_map(jnp.add, params, step)

    def to_tangent(self, params, vector):
        """Identity (every real array is tangent in the angle chart)."""
        return vector

    def transport(self, params, vector):
        """Identity (flat chart)."""
        return vector

    def inner(self, params, a, b):
        """Euclidean inner product of the angle coordinates."""
        return _tree_inner(a, b)

    def random_point(self, key, shape, dtype=None):
        """i.i.d. uniform phases."""
        return random_point(key, shape, dtype=dtype)

    def random_coordinates(self, key, shape, dtype=None):
        """i.i.d. uniform angles in ``[0, 2 pi)``."""
        return jax.random.uniform(key, tuple(shape), dtype=real_dtype(dtype), maxval=2 * jnp.pi)


@dataclass(frozen=True)
class Oblique:
    """Complex matrices with unit-norm rows (``U U^H`` has unit diagonal: the Burer-Monteiro factor of the SDR).

    Coordinates are real arrays ``(..., r, 2)`` (real and imaginary parts of each row); ``retract`` normalises
    the rows of ``x + step`` (projective retraction), ``to_tangent`` removes the radial part of each row and
    vector transport is that projection at the new point.
    """

    flat = False

    def point(self, params, dtype=None):
        """Complex matrix with unit-norm rows."""
        x = self._normalise(jnp.asarray(params))
        z = jax.lax.complex(x[..., 0], x[..., 1])
        return z if dtype is None else z.astype(dtype)

    def coordinates(self, point):
        """Stacked real and imaginary parts of the (normalised) rows."""
        z = oblique_retract(jnp.asarray(point))
        return jnp.stack([jnp.real(z), jnp.imag(z)], axis=-1)

    def project(self, z):
        """Row normalisation of a complex matrix (rows of norm 0 become ``e_1``)."""
        return oblique_retract(jnp.asarray(z))

    @staticmethod
    def _normalise(x):
        nrm = jnp.sqrt(jnp.sum(x * x, axis=(-2, -1), keepdims=True))
        e1 = jnp.zeros_like(x).at[..., 0, 0].set(1.0)
        return jnp.where(nrm > 0, x / jnp.where(nrm > 0, nrm, 1.0), e1)

    def retract(self, params, step):
        """Row normalisation of ``params + step``."""
        return self._normalise(params + step)

    def to_tangent(self, params, vector):
        """Remove the component of each row of ``vector`` along the row of ``params``."""
        x = self._normalise(params)
        return vector - jnp.sum(vector * x, axis=(-2, -1), keepdims=True) * x

    def transport(self, params, vector):
        """Vector transport to the tangent space at ``params`` (projection)."""
        return self.to_tangent(params, vector)

    def inner(self, params, a, b):
        """Euclidean inner product of the real coordinates."""
        return _tree_inner(a, b)

    def random_coordinates(self, key, shape, dtype=None):
        """Rows uniform on the unit sphere; ``shape = (n, r)`` complex -> coordinates ``(n, r, 2)``."""
        return self._normalise(jax.random.normal(key, tuple(shape) + (2,), dtype=real_dtype(dtype)))

    def random_point(self, key, shape, dtype=None):
        """Complex ``(n, r)`` matrix with rows uniform on the unit sphere."""
        return self.point(self.random_coordinates(key, shape, dtype))


def projection_unit_modulus(tree):
    """Projection onto unit modulus, optax-style (:mod:`optax.projections` has none): ``z / |z|`` per entry.

    Complex leaves map to ``z/|z|`` (1 where ``z = 0``); real leaves are angles and are returned unchanged.

    >>> import jax.numpy as jnp
    >>> from optim.manifold import projection_unit_modulus
    >>> projection_unit_modulus(jnp.array([3.0 + 4.0j, 0.0j]))
    Array([0.6+0.8j, 1. +0.j ], dtype=complex64)
    """
    def leaf(z):
        z = jnp.asarray(z)
        return _unit(z) if jnp.iscomplexobj(z) else z

    return jax.tree_util.tree_map(leaf, tree)


__all__ += ["UnitModulus", "Oblique", "projection_unit_modulus"]

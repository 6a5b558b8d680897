"""The complex circle manifold ``{v : |v_i| = 1}`` (MODELS.md section 6).

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

from irsjax.phases import from_angles, project_unit_modulus


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
    return g - jnp.real(g * jnp.conj(v)) * v


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
    return project_unit_modulus(z)


def random_point(key, shape, *, dtype=None):
    """i.i.d. uniform phases of the given shape."""
    from irsjax.channels import real_dtype, complex_dtype

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
    return G - jnp.real(jnp.sum(G * jnp.conj(U), axis=-1, keepdims=True)) * U


def oblique_retract(Z):
    """Row normalisation ``Z_i / ||Z_i||`` (rows of norm 0 become ``e_1``)."""
    nrm = jnp.linalg.norm(Z, axis=-1, keepdims=True)
    e1 = jnp.zeros_like(Z).at[..., 0].set(1.0)
    return jnp.where(nrm > 0, Z / jnp.where(nrm > 0, nrm, 1.0), e1)


__all__ += ["oblique_tangent", "oblique_retract"]

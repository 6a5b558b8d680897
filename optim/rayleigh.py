"""Generalised Rayleigh quotient ``max_w (w^H A w) / (w^H B w)`` (``B`` positive definite).

The maximiser is the generalised eigenvector of ``(A, B)`` with the largest
eigenvalue (receive beam / MMSE-type combiner); for rank-one ``A = a a^H`` it
is ``w = B^{-1} a`` with value ``a^H B^{-1} a``.

>>> import jax.numpy as jnp
>>> from optim import rayleigh
>>> A = jnp.diag(jnp.array([1.0, 4.0])); B = jnp.diag(jnp.array([1.0, 2.0]))
>>> val, w = rayleigh.max_generalized_eig(A, B)
>>> round(float(val), 4)
2.0
"""
from __future__ import annotations

import jax.numpy as jnp


def max_generalized_eig(A, B):
    """Largest generalised eigenpair ``A w = lambda B w`` (Cholesky whitening + ``eigh``); ``w`` unit norm."""
    A = jnp.asarray(A)
    B = jnp.asarray(B)
    A = (A + jnp.conj(A.T)) / 2
    L = jnp.linalg.cholesky((B + jnp.conj(B.T)) / 2)
    Li_A = jnp.linalg.solve(L, A)
    M = jnp.conj(jnp.linalg.solve(L, jnp.conj(Li_A.T)).T)  # L^-1 A L^-H
    M = (M + jnp.conj(M.T)) / 2
    w, V = jnp.linalg.eigh(M)
    x = jnp.linalg.solve(jnp.conj(L.T), V[:, -1])
    return w[-1], x / jnp.linalg.norm(x).astype(x.dtype)


def rayleigh_quotient(w, A, B):
    """``Re(w^H A w) / Re(w^H B w)``."""
    return jnp.real(jnp.vdot(w, A @ w)) / jnp.real(jnp.vdot(w, B @ w))


def rank_one_beam(a, B):
    """Maximiser ``B^{-1} a`` (normalised) and value ``a^H B^{-1} a`` for ``A = a a^H``."""
    x = jnp.linalg.solve(B, a)
    return jnp.real(jnp.vdot(a, x)), x / jnp.linalg.norm(x).astype(x.dtype)


__all__ = ["max_generalized_eig", "rayleigh_quotient", "rank_one_beam"]

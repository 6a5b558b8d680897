"""Linear receivers in closed form, batched: MMSE and generalised Rayleigh quotients (MODELS.md 3(c)).

For users ``k = 1..K`` with channels ``h_k`` (rows of ``H``, shape ``(..., K, M)``) and transmit SNRs
``rho_k = p_k / sigma^2``, the SINR of user ``k`` with receive vector ``w`` is the generalised Rayleigh
quotient ``rho_k |w^H h_k|^2 / w^H B_k w``, ``B_k = I + sum_{j != k} rho_j h_j h_j^H`` (noise-normalised).
Its maximiser is the MMSE direction ``w_k ∝ B_k^{-1} h_k`` with value ``rho_k h_k^H B_k^{-1} h_k``
(:func:`mmse_receivers`, :func:`mmse_sinr`). Any objective ``c w^H C w / w^H B w`` with Hermitian ``C``
and ``B > 0`` -- e.g. (3.9), ``C_k = rho_k h_k h_k^H + (1 - 2^R) B_k`` -- is maximised by the principal
generalised eigenvector (:func:`generalized_rayleigh`, batched over leading axes).

All functions take arbitrary leading batch axes and are differentiable (linear solves, no eigenvectors
in :func:`mmse_sinr`: by the envelope theorem its gradient is the gradient of the SINR at the optimal
receiver).

>>> import jax.numpy as jnp
>>> from optim import receivers
>>> H = jnp.array([[1.0, 0.0], [1.0, 1.0]], jnp.complex64)
>>> s = receivers.mmse_sinr(H, jnp.array([1.0, 1.0]))
>>> [round(float(x), 4) for x in s]                       # user 1: 1 - 1/3, user 2: 2 - 1/2
[0.6667, 1.5]
>>> W = receivers.mmse_receivers(H, jnp.array([1.0, 1.0]))
>>> [round(float(x), 4) for x in receivers.sinr(H, W, jnp.array([1.0, 1.0]))]
[0.6667, 1.5]
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = [
    "generalized_rayleigh",
    "interference_plus_noise",
    "mmse_receivers",
    "mmse_sinr",
    "rayleigh_quotient",
    "sinr",
]


def _real(x):
    return jnp.real(x).dtype


def _rho(rho, H):
    """``rho`` as a real array of shape ``H.shape[:-1]`` (explicit broadcast: strict rank promotion)."""
    return jnp.broadcast_to(jnp.asarray(rho, _real(H)), H.shape[:-1])


def interference_plus_noise(H, rho):
    """``B_k = I + sum_{j != k} rho_j h_j h_j^H`` for every ``k``: shape ``(..., K, M, M)``."""
    K, M = H.shape[-2], H.shape[-1]
    rho = _rho(rho, H)
    off = jnp.broadcast_to((~jnp.eye(K, dtype=bool)).astype(rho.dtype), rho.shape + (K,))  # [k, j] = 1, j != k
    weights = (off * rho[..., None, :]).astype(H.dtype)  # (..., K, K)
    B = jnp.einsum("...kj,...jm,...jn->...kmn", weights, H, jnp.conj(H))
    return B + jnp.broadcast_to(jnp.eye(M, dtype=H.dtype), B.shape)


def _solve_no_pivot(A, rhs):
    """``A^{-1} rhs`` (``rhs``: shape ``(..., n, r)``), batched over leading axes, for a matrix ``A`` whose leading
    principal minors are all nonzero (Hermitian positive definite, or ``I + R G`` with ``R >= 0`` diagonal and
    ``G`` a Gram matrix: its leading minors are ``det(I + R_11^{1/2} G_11 R_11^{1/2}) >= 1``).

    Gauss-Jordan elimination of ``[A | rhs]`` without pivoting in plain XLA operations, one column per
    ``fori_loop`` step. Not LAPACK: a batched LAPACK call (``cholesky``/``solve``) splits its batch over the XLA
    CPU thread pool and waits for the parts; two such calls running at once on a 2-thread pool wait for each
    other for ever (jax 0.10.2: the uplink-sop presets hung with every thread idle, a native stack showed
    ``lapack_cpotrf_ffi`` in ``ParallelBatchMap``).
    """
    n = A.shape[-1]
    X = jnp.concatenate([A, rhs], axis=-1)  # (..., n, n + r)
    rows = jnp.arange(n)

    def step(k, X):
        row = jax.lax.dynamic_index_in_dim(X, k, axis=X.ndim - 2, keepdims=False)  # (..., n + r)
        piv = jax.lax.dynamic_index_in_dim(row, k, axis=row.ndim - 1, keepdims=True)
        row = row / piv
        col = jax.lax.dynamic_index_in_dim(X, k, axis=X.ndim - 1, keepdims=False)  # (..., n)
        X = X - col[..., :, None] * row[..., None, :]  # row k itself is replaced by the pivot row below
        is_k = jnp.broadcast_to((rows == k)[:, None], X.shape[-2:])
        return jnp.where(jnp.broadcast_to(is_k, X.shape), jnp.broadcast_to(row[..., None, :], X.shape), X)

    return jax.lax.fori_loop(0, n, step, X)[..., :, n:]


def _solve_hermitian(B, h):
    """``B^{-1} h`` for Hermitian positive definite ``B`` (``h``: shape ``(..., M)``), batched; LAPACK-free
    (see :func:`_solve_no_pivot`)."""
    return _solve_no_pivot(B, h[..., None])[..., 0]


def mmse_sinr(H, rho):
    """Optimal SINRs ``rho_k h_k^H B_k^{-1} h_k`` (shape ``(..., K)``).

    With ``M >= K`` antennas it is computed in the ``K``-dimensional user space: with the Gram matrix
    ``G = [h_i^H h_j]`` and ``R = diag(rho)``, ``Y = (I + R G)^{-1}`` gives ``1 / (1 + SINR_k) = Y_kk`` and
    ``SINR_k / (1 + SINR_k) = rho_k [G Y]_kk`` (Sherman-Morrison and the push-through identity), so
    ``SINR_k = rho_k [G Y]_kk / Y_kk``: one ``K x K`` solve instead of ``K`` solves of size ``M x M`` (13x faster
    at M = 12, K = 4), and accurate to float32 precision at high SNR, where the ``M x M`` solves lose digits.
    With ``M < K`` (overloaded: ``I + R G`` is then ill-conditioned at high SNR) it solves the ``K`` systems
    ``B_k x = h_k`` of size ``M x M``, which are accurate there. ``M`` and ``K`` are static: one branch is traced.
    """
    rho = _rho(rho, H)
    K, M = H.shape[-2], H.shape[-1]
    if M < K:
        x = _solve_hermitian(interference_plus_noise(H, rho), H)
        return rho * jnp.real(jnp.sum(jnp.conj(H) * x, axis=-1))
    G = jnp.einsum("...im,...jm->...ij", jnp.conj(H), H)  # G[i, j] = h_i^H h_j
    eye = jnp.broadcast_to(jnp.eye(K, dtype=H.dtype), G.shape)
    Y = _solve_no_pivot(eye + rho[..., :, None].astype(H.dtype) * G, eye)
    num = rho * jnp.real(jnp.einsum("...kj,...jk->...k", G, Y))
    den = jnp.real(jnp.diagonal(Y, axis1=-2, axis2=-1))
    return num / den


def _normalise(x):
    n = jnp.linalg.norm(x, axis=-1, keepdims=True)
    e1 = jnp.zeros_like(x).at[..., 0].set(1.0)
    return jnp.where(n > 0, x / jnp.where(n > 0, n, 1.0).astype(x.dtype), e1)


def mmse_receivers(H, rho):
    """Unit-norm MMSE receivers ``w_k = B_k^{-1} h_k / ||B_k^{-1} h_k||`` (rows, shape ``(..., K, M)``;
    ``e_1`` for a zero channel)."""
    return _normalise(_solve_hermitian(interference_plus_noise(H, rho), H))


def sinr(H, W, rho):
    """SINRs ``rho_k |w_k^H h_k|^2 / (sum_{j != k} rho_j |w_k^H h_j|^2 + ||w_k||^2)`` for given receivers."""
    rho = _rho(rho, H)
    K = H.shape[-2]
    g = jnp.abs(jnp.einsum("...km,...jm->...kj", jnp.conj(W), H)) ** 2
    off = jnp.broadcast_to(~jnp.eye(K, dtype=bool), g.shape)
    interf = jnp.sum(jnp.where(off, g * rho[..., None, :], jnp.zeros((), g.dtype)), axis=-1)
    sig = rho * jnp.diagonal(g, axis1=-2, axis2=-1)
    return sig / (interf + jnp.sum(jnp.abs(W) ** 2, axis=-1))


def generalized_rayleigh(C, B):
    """Principal generalised eigenpair of ``(C, B)``: ``max_w w^H C w / w^H B w`` (``C`` Hermitian,
    ``B`` Hermitian positive definite), batched over leading axes. Returns ``(value, w)`` with unit-norm ``w``.

    Cholesky whitening ``B = L L^H``, ``eigh(L^-1 C L^-H)``, ``w = L^-H u``.
    """
    C = (C + jnp.conj(jnp.swapaxes(C, -1, -2))) / 2
    B = (B + jnp.conj(jnp.swapaxes(B, -1, -2))) / 2
    L = jnp.linalg.cholesky(B)
    tri = jax.scipy.linalg.solve_triangular
    X = tri(L, C, lower=True)  # L^-1 C
    Mw = jnp.conj(jnp.swapaxes(tri(L, jnp.conj(jnp.swapaxes(X, -1, -2)), lower=True), -1, -2))  # L^-1 C L^-H
    Mw = (Mw + jnp.conj(jnp.swapaxes(Mw, -1, -2))) / 2
    vals, U = jnp.linalg.eigh(Mw)
    w = tri(L, U[..., :, -1:], lower=True, trans="C")[..., 0]
    return vals[..., -1], _normalise(w)


def rayleigh_quotient(w, C, B):
    """``Re(w^H C w) / Re(w^H B w)`` (batched)."""
    num = jnp.real(jnp.einsum("...m,...mn,...n->...", jnp.conj(w), C, w))
    den = jnp.real(jnp.einsum("...m,...mn,...n->...", jnp.conj(w), B, w))
    return num / den

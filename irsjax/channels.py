"""Small-scale channel models (MODELS.md section 0.3).

Complex dtype follows JAX's precision mode: complex64 by default, complex128
when ``jax_enable_x64`` is on (``irsjax run --x64``), unless ``dtype`` is given.

>>> import jax
>>> from irsjax import channels
>>> h = channels.rayleigh(jax.random.key(0), (4,), gain=2.0)
>>> h.shape, h.dtype
((4,), dtype('complex64'))
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from irsjax.units import SPEED_OF_LIGHT


def complex_dtype(dtype=None):
    """The complex dtype to use: ``dtype`` if given, else complex128 under x64, else complex64."""
    if dtype is not None:
        return jnp.dtype(dtype)
    return jax.dtypes.canonicalize_dtype(jnp.complex128)


def real_dtype(dtype=None):
    """The real dtype matching :func:`complex_dtype`."""
    return jnp.finfo(complex_dtype(dtype)).dtype


def complex_normal(key, shape=(), *, dtype=None):
    """i.i.d. CN(0, 1): real and imaginary parts independent N(0, 1/2)."""
    cd = complex_dtype(dtype)
    return jax.random.normal(key, shape, dtype=cd)  # JAX's complex normal has unit total variance


def complex_normal_from_uniforms(u1, u2):
    """Box-Muller: CN(0, 1) from two uniforms on (0, 1): ``|z|^2 = -ln u1 ~ Exp(1)``, ``arg z = 2 pi u2``.

    >>> import jax.numpy as jnp
    >>> z = complex_normal_from_uniforms(jnp.array([jnp.exp(-1.0)]), jnp.array([0.25]))
    >>> bool(jnp.allclose(z, 1j, atol=1e-6))
    True
    """
    from irsjax.phases import phasor

    r = jnp.sqrt(-jnp.log(u1))
    c, s = phasor(u2)
    return jax.lax.complex(r * c, r * s)


def rayleigh(key, shape=(), *, gain=1.0, dtype=None):
    """Rayleigh fading ``sqrt(gain) z``, ``z ~ CN(0, I)`` (``gain`` = path-loss power gain)."""
    z = complex_normal(key, shape, dtype=dtype)
    return jnp.sqrt(jnp.asarray(gain, real_dtype(z.dtype))).astype(z.dtype) * z


def rician(key, los, *, kappa, gain=1.0, dtype=None):
    """Rician fading ``sqrt(gain) (sqrt(k/(1+k)) los + sqrt(1/(1+k)) z)``.

    ``los`` holds unit-modulus LoS entries (e.g. a steering vector); ``kappa``
    is the linear K-factor (0 gives Rayleigh).
    """
    los = jnp.asarray(los)
    z = complex_normal(key, los.shape, dtype=dtype)
    cd = z.dtype
    kappa = jnp.asarray(kappa, real_dtype(cd))
    a_los = jnp.sqrt(kappa / (1 + kappa)).astype(cd)
    a_nlos = jnp.sqrt(1 / (1 + kappa)).astype(cd)
    amp = jnp.sqrt(jnp.asarray(gain, real_dtype(cd))).astype(cd)
    return amp * (a_los * los.astype(cd) + a_nlos * z)


def ula_steering(num_antennas, direction, *, wavelength, spacing=None, dtype=None):
    """ULA along the global x-axis: ``exp(j 2 pi d m u_x / lambda)``, m = 0..M-1.

    ``direction`` is the unit vector from the array towards the other node.
    """
    d = wavelength / 2 if spacing is None else spacing
    ux = jnp.asarray(direction)[..., 0:1]
    m = jnp.arange(num_antennas).astype(ux.dtype)
    phase = (2 * jnp.pi * d / wavelength) * m * ux
    return jax.lax.complex(jnp.cos(phase), jnp.sin(phase)).astype(complex_dtype(dtype))


def upa_steering(n_h, n_v, direction, *, wavelength, spacing=None, dtype=None):
    """UPA in the x-z plane: entry ``p*n_v + q`` is ``exp(j 2 pi d (p u_x + q u_z)/lambda)``."""
    d = wavelength / 2 if spacing is None else spacing
    u = jnp.asarray(direction)
    p = jnp.repeat(jnp.arange(n_h), n_v).astype(u.dtype)
    q = jnp.tile(jnp.arange(n_v), n_h).astype(u.dtype)
    phase = (2 * jnp.pi * d / wavelength) * (p * u[..., 0:1] + q * u[..., 2:3])
    return jax.lax.complex(jnp.cos(phase), jnp.sin(phase)).astype(complex_dtype(dtype))


def mimo_los(irs_steering, array_steering):
    """LoS matrix transmit array -> IRS: ``a_I a_M^H`` (shape N x M)."""
    return jnp.outer(irs_steering, jnp.conj(array_steering))


def sinc_correlation(positions, *, wavelength):
    """Isotropic IRS correlation ``R_mn = sinc(2 ||p_m - p_n|| / lambda)`` (numpy sinc convention)."""
    p = jnp.asarray(positions)
    d = jnp.sqrt(jnp.sum((p[:, None, :] - p[None, :, :]) ** 2, axis=-1))
    return jnp.sinc(2 * d / wavelength)


def sqrtm_psd(r):
    """Hermitian square root by eigendecomposition, negative eigenvalues clipped to 0."""
    w, v = jnp.linalg.eigh(r)
    w = jnp.clip(w, 0.0, None)
    return (v * jnp.sqrt(w)[..., None, :].astype(v.dtype)) @ jnp.conj(jnp.swapaxes(v, -1, -2))


def correlated_rayleigh(key, r_sqrt, *, gain=1.0, dtype=None):
    """Correlated Rayleigh ``sqrt(gain) R^{1/2} w`` given ``r_sqrt = sqrtm_psd(R)``."""
    cd = complex_dtype(dtype)
    w = complex_normal(key, (r_sqrt.shape[-1],), dtype=cd)
    return jnp.sqrt(jnp.asarray(gain, real_dtype(cd))).astype(cd) * (r_sqrt.astype(cd) @ w)


def cascade(g_rx, v, h_tx):
    """Single-antenna cascade ``sum_n g_n v_n h_n`` (receiver, phases, transmitter)."""
    return jnp.sum(g_rx * v * h_tx, axis=-1)


def cascade_mimo(g_rx, v, big_g):
    """Multi-antenna cascade ``g^H diag(v) G`` (row vector, length M)."""
    return (jnp.conj(g_rx) * v) @ big_g


def bounded_error(key, g_hat, *, relative_radius):
    """A random CSI error ``Delta`` with ``||Delta|| <= rho ||g_hat||`` (uniform in the ball)."""
    n = g_hat.shape[-1]
    k1, k2 = jax.random.split(key)
    d = complex_normal(k1, g_hat.shape, dtype=g_hat.dtype)
    d = d / jnp.linalg.norm(d, axis=-1, keepdims=True).astype(d.dtype)
    # uniform radius in a 2n-dimensional real ball
    r = jax.random.uniform(k2, g_hat.shape[:-1] + (1,), dtype=real_dtype(g_hat.dtype)) ** (1.0 / (2 * n))
    scale = relative_radius * jnp.linalg.norm(g_hat, axis=-1, keepdims=True) * r
    return scale.astype(d.dtype) * d


def bounded_gain_interval(g_hat, x, radius):
    """Range of ``|(g_hat + Delta)^H x|`` over ``||Delta|| <= radius``: ``(low, high)``, both attained."""
    c = jnp.abs(jnp.vdot(g_hat, x))
    e = radius * jnp.linalg.norm(x)
    return jnp.maximum(c - e, 0.0), c + e


def gaussian_error(key, g, *, error_variance):
    """Gaussian CSI model: estimate ``g_hat = g + e``, ``e ~ CN(0, error_variance I)``."""
    s = jnp.sqrt(jnp.asarray(error_variance, real_dtype(g.dtype))).astype(g.dtype)
    return g + s * complex_normal(key, g.shape, dtype=g.dtype)


__all__ = [
    "SPEED_OF_LIGHT", "complex_dtype", "real_dtype", "complex_normal", "complex_normal_from_uniforms", "rayleigh",
        "rician",
    "ula_steering", "upa_steering", "mimo_los", "sinc_correlation", "sqrtm_psd", "correlated_rayleigh",
    "cascade", "cascade_mimo", "bounded_error", "bounded_gain_interval", "gaussian_error",
]

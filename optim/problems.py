"""Test problems shared by the tests, the benchmarks and the notebooks.

The single-antenna IRS wiretap phase problem (homogenised form, direct links
included): with ``vbar = [v; 1]``,

    maximise  (1 + |b^H vbar|^2) / (1 + |e^H vbar|^2)   over |v_l| = 1,

where ``b, e`` (length ``K + 1``) absorb the transmit SNR. Instances follow the
reference wiretap geometry (MODELS.md section 0.5: S (0,0), IRS (40,0), Bob
(45,10), Eve (45,-15), C0 = -30 dB, S-IRS line of sight with exponent 2,
IRS-user Rayleigh with exponent 2.5) plus Rayleigh direct links S-Bob and
S-Eve with exponent 3.5, noise -90 dBm and transmit power uniform in (default 10 to 40)
``[P_low, P_high]`` dBm per instance.

>>> import jax
>>> from optim import problems
>>> inst = problems.wiretap_instance(jax.random.key(0), 8)
>>> inst.b.shape, inst.e.shape
((9,), (9,))
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from irsjax import channels, geometry, pathloss, units
from irsjax.phases import from_angles
from optim.families import lifted_quadratic


class WiretapRatioInstance(NamedTuple):
    """Homogenised wiretap data: ``b`` (Bob) and ``e`` (Eve), each of length ``K + 1`` (last = direct link)."""

    b: jax.Array
    e: jax.Array


def homogenise(v):
    """``vbar = [v; 1]``."""
    v = jnp.asarray(v)
    return jnp.concatenate([v, jnp.ones(v.shape[:-1] + (1,), v.dtype)], axis=-1)


def wiretap_instance(key, K, *, P_low=10.0, P_high=40.0, noise_dBm=-90.0, c0_dB=-30.0, direct_exponent=3.5,
                     dtype=None) -> WiretapRatioInstance:
    """One random instance of the homogenised wiretap ratio problem (see module docstring)."""
    cd = channels.complex_dtype(dtype)
    rd = channels.real_dtype(cd)
    s, irs, bob, eve = (jnp.array(p, rd) for p in ((0.0, 0.0), (40.0, 0.0), (45.0, 10.0), (45.0, -15.0)))
    g = lambda a, b_, ex: pathloss.distance_gain(geometry.distance(a, b_), exponent=ex, c0_db=c0_dB)  # noqa: E731
    kp, k1, k2, k3, k4, k5 = jax.random.split(key, 6)
    P = jax.random.uniform(kp, (), rd, minval=P_low, maxval=P_high)
    rho = units.dbm_to_watt(P) / units.dbm_to_watt(noise_dBm)
    los = from_angles(2 * jnp.pi * jax.random.uniform(k1, (K,), rd)).astype(cd)
    h = jnp.sqrt(g(s, irs, 2.0)).astype(cd) * los
    gb = channels.rayleigh(k2, (K,), gain=g(irs, bob, 2.5), dtype=cd)
    ge = channels.rayleigh(k3, (K,), gain=g(irs, eve, 2.5), dtype=cd)
    db = channels.rayleigh(k4, (1,), gain=g(s, bob, direct_exponent), dtype=cd)
    de = channels.rayleigh(k5, (1,), gain=g(s, eve, direct_exponent), dtype=cd)
    # effective gain sum_l h_l g_l v_l + d = b^H vbar  with  b = conj([h g; d])
    sr = jnp.sqrt(rho).astype(cd)
    b = jnp.conj(jnp.concatenate([h * gb, db])) * sr
    e = jnp.conj(jnp.concatenate([h * ge, de])) * sr
    return WiretapRatioInstance(b, e)


def wiretap_instances(key, K, num, **kw) -> WiretapRatioInstance:
    """``num`` independent instances stacked on a leading axis."""
    return jax.vmap(lambda k: wiretap_instance(k, K, **kw))(jax.random.split(key, num))


def wiretap_ratio(v, inst: WiretapRatioInstance):
    """``(1 + |b^H vbar|^2) / (1 + |e^H vbar|^2)`` for unit-modulus ``v`` (length K)."""
    vb = homogenise(v)
    gb = jnp.abs(jnp.vdot(inst.b, vb)) ** 2
    ge = jnp.abs(jnp.vdot(inst.e, vb)) ** 2
    return (1.0 + gb) / (1.0 + ge)


def wiretap_secrecy_rate(v, inst: WiretapRatioInstance):
    """Un-clipped secrecy rate ``log2`` of :func:`wiretap_ratio` (same maximiser)."""
    return jnp.log2(wiretap_ratio(v, inst))


def ratio_matrices(inst: WiretapRatioInstance):
    """Lifted matrices ``(A, C)`` with ratio ``= tr(A X) / tr(C X)`` at ``X = vbar vbar^H`` (``diag X = 1``).

    ``A = I/(K+1) + b b^H`` and ``C = I/(K+1) + e e^H`` (the constant 1 is
    homogenised as ``tr(X)/(K+1)``).
    """
    return lifted_quadratic(inst.b), lifted_quadratic(inst.e)


__all__ = ["WiretapRatioInstance", "homogenise", "wiretap_instance", "wiretap_instances", "wiretap_ratio",
           "wiretap_secrecy_rate", "ratio_matrices"]


def wiretap_eig_init(inst: WiretapRatioInstance):
    """Warm start: the generalised eigenvector of ``(A, C)`` (:func:`ratio_matrices`, norm instead of
    unit-modulus constraint), de-homogenised and projected onto unit modulus."""
    from optim.rayleigh import max_generalized_eig
    from optim.manifold import retract

    A, C = ratio_matrices(inst)
    _, w = max_generalized_eig(A, C)
    ref = w[-1]
    return retract(w[:-1] * jnp.conj(jnp.where(jnp.abs(ref) > 0, ref, jnp.ones_like(ref))))


__all__.append("wiretap_eig_init")

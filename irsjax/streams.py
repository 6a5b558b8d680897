"""Counter-based uniform streams for hot Monte Carlo kernels.

A :class:`Stream` is the uint32 stream of one realisation, addressed by counter in blocks of
four lanes. ``rng="pcg"`` (default in the systems that use it) seeds a ``pcg4d`` hash (Jarzynski &
Olano, JCGT 9(3), 2020; passes TestU01 BigCrush) with the words of the realisation key: about
8x cheaper than threefry on a CPU, and a pure function of the counter, so a kernel can *recompute*
rows instead of storing them. ``rng="threefry"`` draws the same lanes with ``jax.random.bits`` (the
reference path). Every number derives only from the explicit key.

>>> import jax
>>> from irsjax.streams import Stream, words_to_uniform
>>> u = words_to_uniform(Stream(jax.random.key(0)).block(0, (3,))[0])
>>> bool(((u > 0) & (u < 1)).all())
True
"""
from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from irsjax import channels

RNGS = ("pcg", "threefry")


def _pcg4d(x, y, z, w):
    """One round of the pcg4d hash on uint32 lanes (Jarzynski & Olano 2020)."""
    a, c = jnp.uint32(1664525), jnp.uint32(1013904223)
    x, y, z, w = x * a + c, y * a + c, z * a + c, w * a + c
    x = x + y * w
    y = y + z * x
    z = z + x * y
    w = w + y * z
    s = jnp.uint32(16)
    x, y, z, w = x ^ (x >> s), y ^ (y >> s), z ^ (z >> s), w ^ (w >> s)
    x = x + y * w
    y = y + z * x
    z = z + x * y
    w = w + y * z
    return x, y, z, w


def _seed_words(key):
    """Three uint32 seed words of a ``pcg`` stream: the key's own words (a realisation key of the engine is the
    output of a threefry split, so its 64 bits are already a hash; deriving 96 more bits from them by another
    threefry call, as before, cost 15-25 % of a K = 16 kernel and added no entropy). A key with fewer than three
    words (threefry: two) gets a third from a multiply-xorshift of the two."""
    d = jax.random.key_data(key).reshape(-1).astype(jnp.uint32)
    if d.shape[0] >= 3:
        return d[:3]
    h = d[0] * jnp.uint32(0x9E3779B9) ^ d[-1]
    h = (h ^ (h >> jnp.uint32(15))) * jnp.uint32(0x85EBCA6B)
    return jnp.stack([d[0], d[-1], h ^ (h >> jnp.uint32(13))])


class Stream:
    """The uint32 stream of one realisation, as blocks of four lanes addressed by counter.

    ``block(start, shape)``: lanes ``(x, y, z, w)`` (each of ``shape``) for counters
    ``start + arange(prod(shape))``; ``rows(start, shape, idx)``: the rows ``idx`` of the
    2-D block ``block(start, shape)``. With ``rng="pcg"`` a row is recomputed from its
    counters (nothing is stored); with ``rng="threefry"`` a block is
    ``jax.random.bits(fold_in(key, start))`` and rows are gathered from it.

    >>> st = Stream(jax.random.key(0))
    >>> x, y, z, w = st.block(0, (3, 4))
    >>> x.shape, str(x.dtype), bool((st.rows(0, (3, 4), 1)[2] == z[1]).all())
    ((3, 4), 'uint32', True)
    """

    def __init__(self, key, rng="pcg"):
        if rng not in RNGS:
            raise ValueError(f"rng must be 'pcg' or 'threefry', got {rng!r}")
        self.key = key
        self.rng = rng
        self.seed = _seed_words(key) if rng == "pcg" else None

    def _hash(self, ctr):
        s0, s1, s2 = (jnp.broadcast_to(self.seed[i], ctr.shape) for i in range(3))
        return _pcg4d(ctr, s0, s1, s2)

    def block(self, start, shape):
        shape = tuple(int(v) for v in shape)
        if self.rng == "threefry":
            b = jax.random.bits(jax.random.fold_in(self.key, start), (4,) + shape, dtype=jnp.uint32)
            return b[0], b[1], b[2], b[3]
        n = int(np.prod(shape))
        ctr = (jnp.uint32(start) + jnp.arange(n, dtype=jnp.uint32)).reshape(shape)
        return self._hash(ctr)

    def rows(self, start, shape, idx):
        cols = int(shape[1])
        if self.rng == "threefry":
            return tuple(lane[idx] for lane in self.block(start, shape))
        idx = jnp.asarray(idx).astype(jnp.uint32)
        lane = jnp.arange(cols, dtype=jnp.uint32).reshape((1,) * idx.ndim + (cols,))
        ctr = jnp.uint32(start) + idx[..., None] * jnp.uint32(cols) + lane
        return self._hash(ctr)


def words_to_uniform(words, dtype=None):
    """Map uint32 words to uniforms on the *open* interval (0, 1) (midpoints of 2^23 or 2^31 bins)."""
    dt = channels.real_dtype(dtype)
    if dt == jnp.float64:
        return (words | jnp.uint32(1)).astype(dt) * (2.0 ** -32)
    return ((words >> jnp.uint32(8)) | jnp.uint32(1)).astype(dt) * np.float32(2.0 ** -24)

"""Configurations as pytrees: sizes and mode switches are static, every float is a leaf.

A system configuration is a frozen dataclass decorated with :func:`config`. Fields declared with
:func:`static` (sizes such as ``K`` or ``N``, mode switches such as ``links="full"``) become the
pytree's metadata: ``jit`` specialises once per distinct value. Every other field (powers, noise,
target rates, exponents, positions, frequencies) is a pytree leaf: a sweep over it compiles once and
``jax.grad`` reaches it.

>>> import jax, jax.numpy as jnp
>>> from irsjax.config import config, static
>>> @config
... class Link:
...     K: int = static(8)
...     P_dBm: float = 10.0
...     position: tuple = (40.0, 0.0)
...     def gain(self):
...         return 10 ** (jnp.asarray(self.P_dBm) / 10) / jnp.hypot(*self.position) ** 2
>>> cfg = Link(K=16)
>>> jax.tree_util.tree_leaves(cfg)
[10.0, 40.0, 0.0]
>>> g = jax.grad(lambda c: c.gain())(cfg)       # gradients reach every float, positions included
>>> g.K, bool(g.position[0] < 0)
(16, True)

Validation runs on construction (``__post_init__``), with the helpers below, and only on concrete
values: when JAX rebuilds a config from traced leaves (inside ``jit``, ``vmap`` or ``grad``) it
bypasses ``__init__``, so nothing is re-validated or concretised there.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import jax

__all__ = [
    "config", "static", "is_config", "replace", "is_concrete", "split_dynamic", "merge_dynamic",
    "check_size", "check_finite", "check_positive", "check_range", "check_choice", "check_point",
    "check_probability",
]


def static(default: Any = dataclasses.MISSING, **kwargs):
    """A dataclass field that is pytree *metadata* (a size or a mode switch; hashable)."""
    md = dict(kwargs.pop("metadata", {}) or {})
    md["static"] = True
    return dataclasses.field(default=default, metadata=md, **kwargs)


def _register(cls):
    fields = [f for f in dataclasses.fields(cls) if f.init]
    data = tuple(f.name for f in fields if not f.metadata.get("static", False))
    meta = tuple(f.name for f in fields if f.metadata.get("static", False))
    keys = tuple(jax.tree_util.GetAttrKey(n) for n in data)

    def flatten_with_keys(x):
        return [(k, getattr(x, n)) for k, n in zip(keys, data)], tuple(getattr(x, n) for n in meta)

    def flatten(x):
        return [getattr(x, n) for n in data], tuple(getattr(x, n) for n in meta)

    def unflatten(aux, children):
        obj = object.__new__(cls)  # no __init__: leaves may be tracers or placeholders
        for n, v in zip(meta, aux):
            object.__setattr__(obj, n, v)
        for n, v in zip(data, children):
            object.__setattr__(obj, n, v)
        return obj

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
    cls.__irsjax_config__ = (data, meta)
    return cls


def config(cls=None, /):
    """Class decorator: a frozen dataclass registered as a pytree (static fields = metadata).

    Equality and hashing are by identity (leaves may be arrays); compare configs with
    ``jax.tree_util`` or field by field.
    """
    def wrap(c):
        c = dataclasses.dataclass(frozen=True, eq=False)(c)
        return _register(c)

    return wrap if cls is None else wrap(cls)


def is_config(x) -> bool:
    """True for instances of :func:`config` classes."""
    return hasattr(type(x), "__irsjax_config__")


def replace(cfg, **changes):
    """A copy of ``cfg`` with ``changes`` (validated like a new config)."""
    return dataclasses.replace(cfg, **changes)


# --------------------------------------------------------------------------- dynamic / static split
def _is_dynamic_leaf(x) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, (float, complex)):
        return True
    if isinstance(x, (np.ndarray, np.generic, jax.Array)):
        return True
    return False


def split_dynamic(tree):
    """Split a pytree into ``(dynamic leaves, static part)``.

    Dynamic leaves: floats, complex numbers and arrays (traced by ``jit``: new values never
    recompile). Static part: the tree structure plus every other leaf (functions, strings, ints,
    bools, None), hashable, so it can key a ``jit`` cache. ``merge_dynamic`` inverts it.

    >>> dyn, st = split_dynamic({"f": abs, "x": 2.0, "n": 3})
    >>> dyn
    [2.0]
    """
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    mask = tuple(_is_dynamic_leaf(v) for v in leaves)
    dyn = [v for v, m in zip(leaves, mask) if m]
    rest = tuple(None if m else v for v, m in zip(leaves, mask))
    return dyn, _Static(treedef, mask, rest)


def merge_dynamic(dynamic, static_part):
    """Rebuild the pytree split by :func:`split_dynamic`."""
    it = iter(dynamic)
    leaves = [next(it) if m else v for m, v in zip(static_part.mask, static_part.rest)]
    return jax.tree_util.tree_unflatten(static_part.treedef, leaves)


class _Static:
    """Hashable static half of a split pytree (compared by structure and static leaves)."""

    __slots__ = ("treedef", "mask", "rest", "_hash")

    def __init__(self, treedef, mask, rest):
        self.treedef, self.mask, self.rest = treedef, mask, rest
        self._hash = hash((treedef, mask, tuple(_hashable(v) for v in rest)))

    def __hash__(self):
        return self._hash

    def __repr__(self):  # printed inside tree definitions that hold it: the program cache keys on it
        return f"_Static({self.treedef}, {self.mask}, {self.rest!r})"

    def __eq__(self, other):
        return (isinstance(other, _Static) and self.treedef == other.treedef and self.mask == other.mask
                and all(_same(a, b) for a, b in zip(self.rest, other.rest)))


def _hashable(v):
    try:
        hash(v)
        return v
    except TypeError:
        return id(v)


def _same(a, b):
    if a is b:
        return True
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - incomparable objects are different
        return False


# --------------------------------------------------------------------------- validation helpers
def is_concrete(x) -> bool:
    """True for values that can be checked now: Python/numpy numbers and non-traced arrays."""
    if isinstance(x, (bool, int, float, complex, np.ndarray, np.generic)):
        return True
    if isinstance(x, jax.core.Tracer):
        return False
    return isinstance(x, jax.Array)


def _floats(x):
    return np.asarray(x, dtype=float)


def check_size(name: str, value, minimum: int = 1):
    """A static integer size ``>= minimum`` (bools and non-integers rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_finite(name: str, value):
    """Every entry finite (skipped for traced values)."""
    if is_concrete(value) and not np.all(np.isfinite(_floats(value))):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def check_positive(name: str, value, *, allow_zero: bool = False):
    """Finite and ``> 0`` (or ``>= 0``)."""
    check_finite(name, value)
    if is_concrete(value):
        a = _floats(value)
        if not (np.all(a >= 0) if allow_zero else np.all(a > 0)):
            raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return value


def check_range(name: str, value, low=-math.inf, high=math.inf, *, open_low=False, open_high=False):
    """Finite and within ``[low, high]`` (ends open on request)."""
    check_finite(name, value)
    if is_concrete(value):
        a = _floats(value)
        ok_lo = np.all(a > low) if open_low else np.all(a >= low)
        ok_hi = np.all(a < high) if open_high else np.all(a <= high)
        if not (ok_lo and ok_hi):
            lb, hb = "(" if open_low else "[", ")" if open_high else "]"
            raise ValueError(f"{name} must be in {lb}{low}, {high}{hb}, got {value!r}")
    return value


def check_probability(name: str, value):
    """Strictly inside (0, 1)."""
    return check_range(name, value, 0.0, 1.0, open_low=True, open_high=True)


def check_choice(name: str, value, choices):
    """One of ``choices``."""
    if value not in tuple(choices):
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_point(name: str, value, dim: int | tuple = 2):
    """A finite point with ``dim`` coordinates; concrete values come back as a tuple of floats."""
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if isinstance(value, (tuple, list)) and not all(is_concrete(v) for v in value):
        return tuple(value)
    if not is_concrete(value) and not isinstance(value, (tuple, list)):
        return value
    try:
        a = _floats(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a point with {' or '.join(map(str, dims))} coordinates, "
                         f"got {value!r}") from None
    if a.ndim != 1 or a.shape[0] not in dims or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite point with {' or '.join(map(str, dims))} coordinates, "
                         f"got {value!r}")
    return tuple(float(v) for v in a)

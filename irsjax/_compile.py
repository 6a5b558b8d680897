"""``jit`` for irsjax's own heavy programs, with per-backend XLA compiler options (workarounds for backend bugs).

XLA:CPU (jaxlib 0.10) hands some reductions and small dot products of large vmapped programs to YNNPACK
fusions (``__ynn_fusion``); in the Monte Carlo engine's program for ``irsjax run fbr-maxmin --set preset=fig5``
one of them crashes the process at run time (segmentation fault inside ``YnnFusionThunk``; reproducible, seen
on 2-core AMD EPYC and in every attempt). :data:`CPU_OPTIONS` turns those fusions off, for the programs compiled
through :func:`jit` only (the engine's), and only on CPU: the options are chosen at the first call, for the
backend that call runs on, so importing irsjax neither starts a backend nor changes ``XLA_FLAGS``. A user's
``XLA_FLAGS`` setting of the same option wins (``IRSJAX_XLA_CPU_DEFAULTS=0`` keeps XLA's defaults).

>>> import jax.numpy as jnp
>>> from irsjax import _compile
>>> f = _compile.jit(lambda x: jnp.sum(x * x, axis=-1))
>>> float(f(jnp.ones((4, 3)))[0])
3.0
>>> "__ynn_fusion" in f.lower(jnp.ones((256, 256))).compile().as_text()
False
"""
from __future__ import annotations

import functools
import os

import jax

#: Compiler options of :func:`jit` programs on the CPU backend.
CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}


def compiler_options(backend: str | None = None) -> dict | None:
    """The options :func:`jit` compiles with on ``backend`` (default: JAX's default backend); None: XLA's own."""
    if os.environ.get("IRSJAX_XLA_CPU_DEFAULTS", "1") == "0":
        return None
    if (backend or jax.default_backend()) != "cpu":
        return None
    user = os.environ.get("XLA_FLAGS", "")
    opts = {k: v for k, v in CPU_OPTIONS.items() if k not in user}
    return opts or None


def _traced(tree) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(tree))


class _BackendJit:
    """A ``jax.jit`` of ``fun`` built at the first use, with :func:`compiler_options` for the default backend.

    Called with traced arguments (inside a user's ``jit``, ``grad`` or ``vmap``) it is a plain ``jax.jit``: JAX
    accepts compiler options only on a top-level ``jit``, and the enclosing program's options then apply."""

    def __init__(self, fun, kwargs):
        self._fun, self._kwargs, self._jitted, self._plain = fun, kwargs, None, None
        functools.update_wrapper(self, fun)

    def _get(self, args, kwargs):
        if _traced((args, kwargs)):
            if self._plain is None:
                self._plain = jax.jit(self._fun, **self._kwargs)
            return self._plain
        if self._jitted is None:
            self._jitted = jax.jit(self._fun, compiler_options=compiler_options(), **self._kwargs)
        return self._jitted

    def __call__(self, *args, **kwargs):
        return self._get(args, kwargs)(*args, **kwargs)

    def lower(self, *args, **kwargs):
        return self._get(args, kwargs).lower(*args, **kwargs)

    def _cache_size(self):
        return sum(j._cache_size() for j in (self._jitted, self._plain) if j is not None)


def jit(fun=None, **kwargs):
    """``jax.jit(fun, **kwargs)`` compiled with :func:`compiler_options`; usable as ``@jit(static_argnames=...)``."""
    if fun is None:
        return lambda f: _BackendJit(f, kwargs)
    return _BackendJit(fun, kwargs)

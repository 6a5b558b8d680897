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

**Program cache.** JAX's persistent compilation cache skips XLA compilation in a new process, but not the
Python tracing and lowering that compute its key: for the engine's program and the Theorem 1 bound that is
1-2 s a process, most of a repeated ``irsjax run``'s fixed cost. A :func:`jit` made with
``program_cache=True`` therefore also keeps the traced program itself: when JAX's persistent cache is on
(``jax_compilation_cache_dir``, which the CLI turns on by default), the first call exports the program
(:mod:`jax.export`, StableHLO) to ``<cache dir>/irsjax-programs/``, and a later process with the same key
loads it instead of tracing (:func:`program_key`). The key holds everything the traced program depends on:
the sources of irsjax, optim and scenarios, the versions of jax, jaxlib, numpy and scipy, the backend and
devices, the JAX settings that change tracing, the static arguments and the dynamic arguments' shapes and
dtypes. Programs whose static arguments hold something without a stable description (a function, a pytree
node type from another package, an object printed with its address) are not cached; nor are traced calls,
multi-process runs, or programs :mod:`jax.export` refuses. Same numbers either way: the exported program is
the same StableHLO, compiled with the same options.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import json
import os
import tempfile

import jax
import numpy as np

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


# --------------------------------------------------------------------------- program cache
PROGRAMS = "irsjax-programs"
_OWN_PACKAGES = ("irsjax", "optim", "scenarios")
_TRACING_SETTINGS = ("jax_enable_x64", "jax_default_prng_impl", "jax_threefry_partitionable",
                     "jax_default_matmul_precision", "jax_numpy_dtype_promotion", "jax_numpy_rank_promotion",
                     "jax_enable_custom_prng")


class _Unstable(Exception):
    """A static argument without a description that is stable across processes."""


@functools.lru_cache(maxsize=None)
def source_fingerprint() -> str:
    """SHA-256 of every ``.py`` file of irsjax, optim and scenarios and of the versions that tracing depends on."""
    import jaxlib
    import scipy

    h = hashlib.sha256()
    for lib in (jax, jaxlib, np, scipy):
        h.update(f"{lib.__name__}={lib.__version__};".encode())
    for pkg in _OWN_PACKAGES:
        spec = importlib.util.find_spec(pkg)
        for root in (spec.submodule_search_locations or []) if spec is not None else []:
            for dirpath, dirnames, files in sorted(os.walk(root)):
                dirnames.sort()
                for f in sorted(files):
                    if f.endswith(".py"):
                        path = os.path.join(dirpath, f)
                        h.update(os.path.relpath(path, root).encode())
                        with open(path, "rb") as fh:
                            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def _treedef(td) -> str:
    """``str(td)``, once every custom node type of ``td`` (and of the split pytrees its nodes hold) is known to
    come from irsjax, optim or scenarios."""
    from irsjax.config import _Static

    def check_aux(a):
        if isinstance(a, _Static):
            check(a.treedef)
        elif isinstance(a, (tuple, list)):
            for x in a:
                check_aux(x)

    def check(t):
        data = t.node_data()
        if data is not None:
            typ, aux = data
            mod = getattr(typ, "__module__", "") or ""
            if typ not in (tuple, list, dict, type(None)) and mod.split(".")[0] not in _OWN_PACKAGES:
                raise _Unstable(typ)
            check_aux(aux)
        for c in t.children():
            check(c)
    check(td)
    text = str(td)
    if " at 0x" in text:
        raise _Unstable(text)
    return text


def _describe(v) -> str:
    """A description of a static argument that is the same in every process (or :class:`_Unstable`)."""
    from irsjax.config import _Static

    if v is None or isinstance(v, (bool, int, float, str)):
        return repr(v)
    if isinstance(v, (tuple, list)):
        return type(v).__name__ + "(" + ",".join(_describe(x) for x in v) + ")"
    if isinstance(v, _Static):
        return f"Static({_treedef(v.treedef)};{v.mask};{_describe(v.rest)})"
    if isinstance(v, np.dtype):
        return f"dtype({v})"
    raise _Unstable(type(v))


def _aval(x) -> str:
    if isinstance(x, (bool, int, float, complex)):
        return f"py:{type(x).__name__}"
    a = jax.typeof(x)
    return f"{a.dtype}{list(a.shape)}{'w' if getattr(a, 'weak_type', False) else ''}"


def program_key(fun, statics: dict, dynamic, options) -> str | None:
    """The cache key of ``fun`` (a function, or a name) called with ``statics`` and ``dynamic`` (None: not
    cacheable)."""
    try:
        leaves, td = jax.tree_util.tree_flatten(dynamic)
        dev = jax.devices()[0]
        name = fun if isinstance(fun, str) else f"{fun.__module__}.{fun.__qualname__}"
        if not isinstance(fun, str) and fun.__module__.split(".")[0] not in _OWN_PACKAGES:
            raise _Unstable(fun)  # its source is not in the fingerprint
        parts = [source_fingerprint(), name,
                 ";".join(f"{k}={_describe(v)}" for k, v in sorted(statics.items())),
                 _treedef(td), ",".join(_aval(x) for x in leaves), repr(sorted((options or {}).items())),
                 f"{jax.default_backend()}/{dev.platform}/{dev.device_kind}/{jax.device_count()}",
                 ";".join(f"{n}={getattr(jax.config, n, None)!r}" for n in _TRACING_SETTINGS)]
    except _Unstable:
        return None
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def program_cache_dir() -> str | None:
    """Where programs are kept: ``<jax_compilation_cache_dir>/irsjax-programs`` (None: JAX's cache is off)."""
    base = jax.config.jax_compilation_cache_dir
    return os.path.join(base, PROGRAMS) if base else None


def _usable(dynamic) -> bool:
    return not _traced(dynamic) and jax.process_count() == 1


def memo(name: str, statics: dict, dynamic, compute):
    """``compute()`` (a JSON value), kept in the program cache under :func:`program_key` rules: for what a
    run learns by tracing (statistic shapes, a memory bound) and would otherwise trace again in every process.

    >>> memo("doc.example", {"n": 3}, (), lambda: [1, 2])
    [1, 2]
    """
    folder = program_cache_dir()
    key = program_key(name, statics, dynamic, None) if folder is not None and _usable(dynamic) else None
    if key is None:
        return compute()
    path = os.path.join(folder, key + ".json")
    try:
        with open(path) as f:
            return json.load(f)["value"]
    except Exception:  # noqa: BLE001 - missing or partial: compute it
        pass
    value = compute()
    _store(path, json.dumps({"name": name, "value": value}).encode())
    return value


def _load(path):
    try:
        with open(path, "rb") as f:
            return jax.export.deserialize(bytearray(f.read()))
    except Exception:  # noqa: BLE001 - a missing, partial or foreign file is a cache miss
        return None


def _store(path, data):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the whole new one
    except Exception:  # noqa: BLE001 - a read-only or full cache only costs the tracing next time
        pass


# --------------------------------------------------------------------------- jit
class _BackendJit:
    """A ``jax.jit`` of ``fun`` built at the first use, with :func:`compiler_options` for the default backend
    (``options=False``: XLA's own) and, with ``program_cache=True``, the program cache (module docstring).

    Called with traced arguments (inside a user's ``jit``, ``grad`` or ``vmap``) it is a plain ``jax.jit``: JAX
    accepts compiler options only on a top-level ``jit``, and the enclosing program's options then apply."""

    def __init__(self, fun, kwargs, program_cache=False, options=True):
        self._fun, self._kwargs, self._jitted, self._plain = fun, kwargs, None, None
        self._program_cache, self._options, self._programs, self._checked = program_cache, options, {}, set()
        functools.update_wrapper(self, fun)

    def _compiler_options(self):
        return compiler_options() if self._options else None

    def _get(self, args, kwargs):
        if _traced((args, kwargs)):
            if self._plain is None:
                self._plain = jax.jit(self._fun, **self._kwargs)
            return self._plain
        if self._jitted is None:
            self._jitted = jax.jit(self._fun, compiler_options=self._compiler_options(), **self._kwargs)
        return self._jitted

    def _split(self, args, kwargs):
        """``(statics, dynamic names, dynamic values)`` of a call, by parameter name."""
        sig = inspect.signature(self._fun)
        names = list(sig.parameters)
        static = set(self._kwargs.get("static_argnames", ()))
        nums = self._kwargs.get("static_argnums", ())
        static |= {names[i] for i in ((nums,) if isinstance(nums, int) else nums)}
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        statics = {k: v for k, v in bound.arguments.items() if k in static}
        dyn = [(k, v) for k, v in bound.arguments.items() if k not in static]
        return statics, tuple(k for k, _ in dyn), tuple(v for _, v in dyn)

    def _cached_program(self, args, kwargs):
        """``(runner, dynamic values, key)`` from the program cache, or None (not cacheable, or the cache is off)."""
        folder = program_cache_dir()
        if folder is None or not _usable((args, kwargs)):
            return None
        statics, dyn_names, dyn = self._split(args, kwargs)
        key = program_key(self._fun, statics, dyn, self._compiler_options())
        if key is None:
            return None
        if key not in self._programs:
            path = os.path.join(folder, key + ".stablehlo")
            exported = _load(path)
            if exported is None:
                fun = self._fun

                def program(*values):
                    return fun(**statics, **dict(zip(dyn_names, values)))

                try:
                    exported = jax.export.export(jax.jit(program))(*dyn)
                except Exception:  # noqa: BLE001 - e.g. a custom call jax.export does not allow: plain jit
                    self._programs[key] = None
                    return None
                try:
                    _store(path, exported.serialize())
                except Exception:  # noqa: BLE001 - e.g. no flatbuffers: the program runs, only unkept
                    pass
            self._programs[key] = jax.jit(exported.call, compiler_options=self._compiler_options())
        runner = self._programs[key]
        return None if runner is None else (runner, dyn, key)

    def __call__(self, *args, **kwargs):
        hit = self._cached_program(args, kwargs) if self._program_cache else None
        if hit is not None:
            runner, dyn, key = hit
            if key in self._checked:
                return runner(*dyn)
            try:
                out = runner(*dyn)
            except Exception:  # noqa: BLE001 - a kept program that cannot run here: plain jit (which raises a real error)
                self._programs[key] = None
            else:
                self._checked.add(key)
                return out
        return self._get(args, kwargs)(*args, **kwargs)

    def lower(self, *args, **kwargs):
        return self._get(args, kwargs).lower(*args, **kwargs)

    def _cache_size(self):
        return sum(j._cache_size() for j in (self._jitted, self._plain) if j is not None)


def jit(fun=None, *, program_cache=False, options=True, **kwargs):
    """``jax.jit(fun, **kwargs)`` compiled with :func:`compiler_options` (``options=False``: XLA's defaults);
    usable as ``@jit(static_argnames=...)``. ``program_cache=True``: keep the traced program across processes
    (module docstring)."""
    if fun is None:
        return lambda f: _BackendJit(f, kwargs, program_cache, options)
    return _BackendJit(fun, kwargs, program_cache, options)

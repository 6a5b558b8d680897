"""The Monte Carlo engine: batched, memory-bounded, reproducible estimation.

Any per-realisation function ``fn(key, *args) -> {name: scalar}`` is turned
into estimates with confidence intervals::

    >>> import jax, jax.numpy as jnp
    >>> from irsjax import montecarlo
    >>> def fn(key):
    ...     x = jax.random.exponential(key)
    ...     return {"x": x, "p": (x > 1.0).astype(jnp.float32)}
    >>> est = montecarlo.estimate(fn, jax.random.key(0), 20_000, probabilities=("p",))
    >>> bool(abs(est["x"].mean - 1.0) < 0.05), est["p"].kind
    (True, 'probability')

How reproducibility is guaranteed
---------------------------------
Realisations are grouped in fixed *blocks* of ``BLOCK`` samples. Block ``b``
draws its keys as ``split(fold_in(key, b), BLOCK)``, so every realisation's
randomness depends only on its global index, never on the batch size. Each
block is reduced by a fixed pairwise tree (exact same additions whatever the
batch), and block results are folded into the running totals one block at a
time, in block order, with a compensated (double-word) sum and Chan's update
of the sum of squared deviations. Hence: same key and sample count give
bit-identical numbers for every batch size and after a resume. Batches only
bound memory: one batch holds ``batch_size`` realisations at a time.

Accumulation error: the compensated sum keeps ~2x the working precision
(about 48 bits in float32), so means over 1e9+ samples lose nothing to
rounding.
"""
from __future__ import annotations

import math
import time
from functools import partial
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np
import jax
import jax.numpy as jnp
from scipy import special as _scipy_special  # ndtri, betaincinv: scipy.stats costs ~1 s more to import

from irsjax import _compile
from irsjax.config import merge_dynamic, split_dynamic

BLOCK = 256  # realisations per block (the unit of key derivation and reduction)


class Estimate(NamedTuple):
    """One estimated quantity with its uncertainty.

    ``kind`` is ``"mean"`` (normal-theory CI) or ``"probability"`` (binomial CI:
    Wilson by default, or Clopper-Pearson). ``variance`` is the per-realisation
    sample variance, ``std_err = sqrt(variance / num_samples)``. For a statistic of
    shape ``s`` (a per-user vector, a trace) every field but ``num_samples`` and
    ``kind`` is a numpy array of shape ``s`` (elementwise CIs); :meth:`at` picks one entry.
    Statistics accumulated in log space (``estimate(..., log_space=...)``) also carry
    ``log10_mean``, ``log10_ci_low``, ``log10_ci_high``: exact where ``mean`` underflows.
    """

    mean: float
    std_err: float
    ci_low: float
    ci_high: float
    num_samples: int
    variance: float
    kind: str = "mean"
    events: float = float("nan")
    log10_mean: float = float("nan")
    log10_ci_low: float = float("nan")
    log10_ci_high: float = float("nan")

    @property
    def rel_error(self):
        """Relative standard error ``std_err / |mean|`` (inf when the mean is 0)."""
        if np.ndim(self.mean) == 0:
            return self.std_err / abs(self.mean) if self.mean != 0 else math.inf
        m = np.abs(np.asarray(self.mean, float))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(m > 0, np.asarray(self.std_err, float) / np.where(m > 0, m, 1.0), np.inf)

    @property
    def shape(self) -> tuple:
        """Shape of the statistic (``()`` for a scalar)."""
        return np.shape(self.mean)

    def at(self, index) -> "Estimate":
        """The estimate of one entry (or a sub-array) of a shaped statistic.

        >>> e = Estimate(np.array([1.0, 2.0]), np.array([.1, .2]), np.array([.8, 1.6]), np.array([1.2, 2.4]),
        ...              10, np.array([.1, .4]))
        >>> e.at(1).mean
        2.0
        """
        def pick(v):
            a = np.asarray(v)[index]
            return float(a) if np.ndim(a) == 0 else a

        keep = lambda v: pick(v) if np.ndim(v) else v  # noqa: E731
        return Estimate(pick(self.mean), pick(self.std_err), pick(self.ci_low), pick(self.ci_high),
                        self.num_samples, pick(self.variance), self.kind, keep(self.events),
                        keep(self.log10_mean), keep(self.log10_ci_low), keep(self.log10_ci_high))

    def as_dict(self) -> dict:
        d = self._asdict()
        d["rel_error"] = self.rel_error
        return d

    def clipped(self, low=0.0, high=1.0) -> "Estimate":
        """The estimate with its confidence interval clipped to ``[low, high]``, the range of a bounded
        quantity (a probability: a normal-theory interval of a mean near 1 may otherwise exceed 1).

        >>> Estimate(0.999, 0.001, 0.997, 1.001, 100, 1e-4).clipped().ci_high
        1.0
        """
        def clip(v, a, b):
            c = np.clip(np.asarray(v, float), a, b)
            return float(c) if np.ndim(c) == 0 else c

        lg = lambda v: math.log10(v) if v > 0 else -math.inf  # noqa: E731
        return self._replace(ci_low=clip(self.ci_low, low, high), ci_high=clip(self.ci_high, low, high),
                             log10_ci_low=clip(self.log10_ci_low, lg(low), lg(high)),
                             log10_ci_high=clip(self.log10_ci_high, lg(low), lg(high)))


class EngineState(NamedTuple):
    """Resumable accumulator state (host numpy arrays; the statistics flattened and concatenated
    in ``names`` order, statistic ``i`` of shape ``shapes[i]``)."""

    names: tuple
    next_block: int
    num_samples: int
    sum_hi: np.ndarray
    sum_lo: np.ndarray
    m2: np.ndarray
    nonfinite: np.ndarray
    shapes: tuple = ()
    log_names: tuple = ()

    @property
    def log_mask(self) -> tuple:
        """Per flat feature: accumulated in log space (running max in ``sum_hi``, scaled sums of
        ``exp(x - max)`` and ``exp(2 (x - max))`` in ``sum_lo`` and ``m2``)?"""
        return tuple(n in self.log_names for n, _, a, b in self.layout for _ in range(b - a))

    @property
    def layout(self) -> tuple:
        """``(name, shape, start, stop)`` of every statistic in the flat accumulators."""
        shapes = self.shapes or ((),) * len(self.names)
        out, start = [], 0
        for n, sh in zip(self.names, shapes):
            size = int(np.prod(sh, dtype=np.int64))
            out.append((n, tuple(sh), start, start + size))
            start += size
        return tuple(out)

    def to_json(self) -> dict:
        return {
            "names": list(self.names),
            "shapes": [list(sh) for sh in (self.shapes or ((),) * len(self.names))],
            "log_names": list(self.log_names),
            "next_block": self.next_block,
            "num_samples": self.num_samples,
            "sum_hi": self.sum_hi.tolist(),
            "sum_lo": self.sum_lo.tolist(),
            "m2": self.m2.tolist(),
            "nonfinite": self.nonfinite.tolist(),
            "dtype": str(self.sum_hi.dtype),
        }

    @classmethod
    def from_json(cls, d: Mapping) -> "EngineState":
        dt = np.dtype(d.get("dtype", "float32"))
        return cls(
            tuple(d["names"]), int(d["next_block"]), int(d["num_samples"]),
            np.asarray(d["sum_hi"], dt), np.asarray(d["sum_lo"], dt), np.asarray(d["m2"], dt),
            np.asarray(d["nonfinite"], np.int64),
            tuple(tuple(int(v) for v in sh) for sh in d.get("shapes", [[]] * len(d["names"]))),
            tuple(d.get("log_names", ())),
        )


class Estimates(dict):
    """``{name: Estimate}`` plus the engine ``state`` it came from (for resuming)."""

    state: EngineState | None = None


def _pairwise_sum(x):
    """Sum over the last axis (a power of two) by a fixed tree of elementwise adds."""
    while x.shape[-1] > 1:
        h = x.shape[-1] // 2
        x = x[..., :h] + x[..., h:]
    return x[..., 0]


def _two_sum(a, b):
    s = a + b
    bb = s - a
    err = (a - (s - bb)) + (b - bb)
    return s, err


def _block_stats(static_fn, layout, leaves, first_block, blocks, key, full_blocks, remainder, dtype, log_mask):
    """Per-block (count, sum, centred sum of squares, max) of ``blocks`` blocks from ``first_block``.

    Statistics are flattened and concatenated (``layout``) into ``F`` features per realisation.
    Log-space features (``log_mask``) give (count, sum exp(x - max), sum exp(2 (x - max)), max) instead;
    ``-inf`` (a zero) is a valid value for them.
    """
    fn, args = merge_dynamic(leaves, static_fn)
    block_ids = first_block + jnp.arange(blocks, dtype=jnp.uint32)

    def one_block(b):
        keys = jax.random.split(jax.random.fold_in(key, b), BLOCK)
        out = jax.vmap(lambda k: fn(k, *args))(keys)
        flat = [jnp.asarray(out[nm]).astype(dtype).reshape(BLOCK, stop - start) for nm, _, start, stop in layout]
        return jnp.concatenate(flat, axis=1).T if len(flat) > 1 else flat[0].T  # (F, BLOCK)

    vals = jax.vmap(one_block)(block_ids)  # (blocks, F, BLOCK)
    # validity mask per realisation (the last batch may overrun the sample count)
    lane = jnp.arange(BLOCK, dtype=jnp.int32)[None, :]
    valid = (block_ids[:, None] < full_blocks) | ((block_ids[:, None] == full_blocks) & (lane < remainder))
    finite = jnp.isfinite(vals)
    n_b = jnp.sum(valid, axis=1).astype(dtype)  # (blocks,)
    if not any(log_mask):
        bad = jnp.sum(jnp.logical_and(~finite, valid[:, None, :]), axis=(0, 2))
        v = jnp.where(valid[:, None, :] & finite, vals, jnp.zeros((), dtype))
        s_b = _pairwise_sum(v)  # (blocks, F)
        mean_b = s_b / jnp.where(n_b > 0, n_b, jnp.ones((), dtype))[:, None]
        dev = jnp.where(valid[:, None, :], v - mean_b[..., None], jnp.zeros((), dtype))
        m2_b = _pairwise_sum(dev * dev)
        return n_b, s_b, m2_b, jnp.zeros_like(s_b), bad
    lm = jnp.asarray(log_mask)[None, :, None]
    ok = finite | (lm & (vals == -jnp.inf))
    bad = jnp.sum(jnp.logical_and(~ok, valid[:, None, :]), axis=(0, 2))
    v = jnp.where(valid[:, None, :] & finite, vals, jnp.zeros((), dtype))
    s_b = _pairwise_sum(v)
    mean_b = s_b / jnp.where(n_b > 0, n_b, jnp.ones((), dtype))[:, None]
    dev = jnp.where(valid[:, None, :], v - mean_b[..., None], jnp.zeros((), dtype))
    m2_b = _pairwise_sum(dev * dev)
    # log space: x = log of a nonnegative quantity; keep max and sums of exp(x - max), exp(2 (x - max)),
    # computed on the log-space features only (runs of contiguous features); the others keep the plain sums
    s_parts, m2_parts, mx_parts = [], [], []
    for a, b, is_log in _runs(log_mask):
        if not is_log:
            s_parts.append(s_b[:, a:b])
            m2_parts.append(m2_b[:, a:b])
            mx_parts.append(jnp.zeros((s_b.shape[0], b - a), dtype))
            continue
        xv, live = vals[:, a:b, :], valid[:, None, :] & finite[:, a:b, :]
        mx = jnp.max(jnp.where(live, xv, -jnp.inf), axis=-1)  # (blocks, b - a)
        safe_mx = jnp.where(jnp.isfinite(mx), mx, jnp.zeros((), dtype))
        e = jnp.where(live, jnp.exp(jnp.where(live, xv, jnp.zeros((), dtype)) - safe_mx[..., None]),
                      jnp.zeros((), dtype))
        s_parts.append(_pairwise_sum(e))
        m2_parts.append(_pairwise_sum(e * e))
        mx_parts.append(mx)
    cat = lambda parts: parts[0] if len(parts) == 1 else jnp.concatenate(parts, axis=1)  # noqa: E731
    return n_b, cat(s_parts), cat(m2_parts), cat(mx_parts), bad


def _runs(mask):
    """Maximal runs ``(start, stop, value)`` of equal values in the tuple ``mask``."""
    out, start = [], 0
    for i in range(1, len(mask) + 1):
        if i == len(mask) or mask[i] != mask[start]:
            out.append((start, i, mask[start]))
            start = i
    return out


def _batch_stats(static_fn, layout, chunk, slots, leaves, key, first_block, num_chunks, full_blocks, remainder,
                 dtype, log_mask):
    """Per-block statistics of ``num_chunks`` chunks of ``chunk`` blocks, into ``slots`` chunk slots.

    The chunks are evaluated by one loop whose trip count is a *traced* value, so the loop body (the
    per-realisation function on ``chunk * BLOCK`` realisations) is compiled the same way for every
    batch size and device count: a realisation's value never depends on how the run was batched
    (XLA compiles reductions differently for different batch shapes). Unused slots have count 0.
    """
    F = layout[-1][3] if layout else 0
    size = slots * chunk
    init = (jnp.zeros((size,), dtype), jnp.zeros((size, F), dtype), jnp.zeros((size, F), dtype),
            jnp.zeros((size, F), dtype), jnp.zeros((F,), jnp.int32))

    def body(i, bufs):
        n_buf, s_buf, m2_buf, mx_buf, bad = bufs
        start = first_block + (i * chunk).astype(jnp.uint32)
        n_b, s_b, m2_b, mx_b, bad_b = _block_stats(static_fn, layout, leaves, start, chunk, key, full_blocks,
                                                   remainder, dtype, log_mask)
        at = i * chunk
        upd = jax.lax.dynamic_update_slice_in_dim
        return (upd(n_buf, n_b, at, axis=0), upd(s_buf, s_b, at, axis=0), upd(m2_buf, m2_b, at, axis=0),
                upd(mx_buf, mx_b, at, axis=0), bad + bad_b.astype(jnp.int32))

    return jax.lax.fori_loop(jnp.int32(0), num_chunks, body, init)


def _fold(log_mask, carry, blk):
    """Fold one block into the running totals (compensated sum, Chan's M2 update; for log-space
    features: running max and rescaled sums)."""
    n_a, hi, lo, m2 = carry
    nb, sb, m2b, mxb = blk
    mean_a = (hi + lo) / jnp.where(n_a > 0, n_a, 1.0)
    mb = sb / jnp.where(nb > 0, nb, 1.0)
    s, e = _two_sum(hi, sb)
    lo2 = lo + e
    hi2, lo2 = _two_sum(s, lo2)
    n = n_a + nb
    delta = mb - mean_a
    m2n = m2 + m2b + delta * delta * n_a * nb / jnp.where(n > 0, n, 1.0)
    if any(log_mask):
        lm = jnp.asarray(log_mask)
        mx = jnp.maximum(hi, mxb)
        zero = jnp.zeros((), hi.dtype)
        fa = jnp.where(hi > -jnp.inf, jnp.exp(jnp.where(hi > -jnp.inf, hi, zero) - jnp.where(mx > -jnp.inf, mx, zero)),
                       zero)
        fb = jnp.where(mxb > -jnp.inf,
                       jnp.exp(jnp.where(mxb > -jnp.inf, mxb, zero) - jnp.where(mx > -jnp.inf, mx, zero)), zero)
        hi2 = jnp.where(lm, mx, hi2)
        lo2 = jnp.where(lm, lo * fa + sb * fb, lo2)
        m2n = jnp.where(lm, m2 * fa * fa + m2b * fb * fb, m2n)
    keep = nb > 0
    return (jnp.where(keep, n, n_a), jnp.where(keep, hi2, hi), jnp.where(keep, lo2, lo), jnp.where(keep, m2n, m2)), None


@_compile.jit(static_argnames=("static_fn", "layout", "log_mask", "chunk"), program_cache=True)
def _run_batch(static_fn, layout, log_mask, chunk, leaves, key, first_block, num_chunks, full_blocks, remainder,
               n_done, hi, lo, m2):
    """Evaluate ``num_chunks`` chunks of ``chunk`` blocks from ``first_block`` and fold them in (one device).

    ``static_fn`` and ``leaves`` are the two halves of ``(fn, args)`` (:func:`irsjax.config.split_dynamic`):
    new values of any float leaf reuse the compiled program; only a new structure compiles.
    Several devices: :func:`_run_batch_on`.
    """
    dtype = hi.dtype
    # fold each chunk into the running totals inside the loop (same fold order as the sharded path)
    F = layout[-1][3]

    def body(i, carry):
        tot, bad = carry
        start = first_block + (i * chunk).astype(jnp.uint32)
        n_b, s_b, m2_b, mx_b, bad_b = _block_stats(static_fn, layout, leaves, start, chunk, key, full_blocks,
                                                   remainder, dtype, log_mask)
        tot, _ = jax.lax.scan(partial(_fold, log_mask), tot, (n_b, s_b, m2_b, mx_b))
        return tot, bad + bad_b.astype(jnp.int32)

    (n_done, hi, lo, m2), bad = jax.lax.fori_loop(jnp.int32(0), num_chunks, body,
                                                  ((n_done, hi, lo, m2), jnp.zeros((F,), jnp.int32)))
    return n_done, hi, lo, m2, bad


@_compile.jit(static_argnames=("static_fn", "layout", "log_mask", "chunk", "slots", "mesh", "dtype"))
def _device_batch(static_fn, layout, log_mask, chunk, slots, mesh, dtype, leaves, key, first_block, num_chunks,
                  full_blocks, remainder):
    """Per-block statistics on every device of ``mesh`` (axis ``"mc"``): device ``i`` evaluates the contiguous
    chunks ``[i*S, (i+1)*S)`` of the batch (``S = slots``) with ``shard_map``. No collective runs in this
    program: a device that finishes early does not wait inside XLA for a slower one (the CPU runtime aborts
    the process when a collective waits more than ~40 s, which optimiser-heavy per-realisation functions
    with unequal work per device reached)."""
    from jax.sharding import PartitionSpec as P

    def per_device(leaves, key, first_block, num_chunks, full_blocks, remainder):
        d = jax.lax.axis_index("mc").astype(jnp.int32)
        mine = jnp.clip(num_chunks - d * slots, 0, slots)
        start = first_block + (d * slots * chunk).astype(jnp.uint32)
        n_b, s_b, m2_b, mx_b, bad = _batch_stats(static_fn, layout, chunk, slots, leaves, key, start, mine,
                                                 full_blocks, remainder, dtype, log_mask)
        return n_b, s_b, m2_b, mx_b, bad[None]

    return jax.shard_map(
        per_device, mesh=mesh, in_specs=(P(), P(), P(), P(), P(), P()),
        out_specs=(P("mc"), P("mc"), P("mc"), P("mc"), P("mc")), check_vma=False,
    )(leaves, key, first_block, num_chunks, full_blocks, remainder)


@_compile.jit(static_argnames=("log_mask",))
def _fold_blocks(log_mask, n_done, hi, lo, m2, n_b, s_b, m2_b, mx_b, bad):
    (n_done, hi, lo, m2), _ = jax.lax.scan(partial(_fold, log_mask), (n_done, hi, lo, m2), (n_b, s_b, m2_b, mx_b))
    return n_done, hi, lo, m2, jnp.sum(bad, axis=0)


def _run_batch_on(static_fn, layout, log_mask, chunk, slots, mesh, leaves, key, first_block, num_chunks, full_blocks,
                  remainder, n_done, hi, lo, m2):
    """:func:`_run_batch` on one device, or on a ``mesh``: the sharded per-block statistics
    (:func:`_device_batch`), then, in a second program, gathered and folded in block order, so the estimate
    is identical, bit for bit, for any number of devices and any batch size."""
    if mesh is None:
        return _run_batch(static_fn, layout, log_mask, chunk, leaves, key, first_block, num_chunks, full_blocks,
                          remainder, n_done, hi, lo, m2)
    stats = _device_batch(static_fn, layout, log_mask, chunk, slots, mesh, hi.dtype, leaves, key, first_block,
                          num_chunks, full_blocks, remainder)
    # each device's part of the fold program starts when its own shard is ready: wait for every shard first,
    # so that its gather never waits inside the runtime for a slower device
    jax.block_until_ready(stats)
    return _fold_blocks(log_mask, n_done, hi, lo, m2, *stats)


def device_mesh(num_devices=None):
    """A 1-D mesh (axis ``"mc"``) over the first ``num_devices`` devices (all by default), or over the given
    sequence of devices (e.g. ``jax.local_devices()``); None for one device.

    Under ``jax.distributed.initialize()`` the devices of every process take part: every process must then
    make the same call, and a mesh that leaves out some processes' devices is refused (each process would
    run a different program). ``devices=jax.local_devices()`` keeps a process on its own devices (sweeps
    spread over processes point by point, :func:`irsjax.distributed.run_sweep_by_point`).
    """
    devs = jax.devices()
    if num_devices is not None and not isinstance(num_devices, (int, np.integer)):
        chosen = list(num_devices)
        if not chosen:
            raise ValueError("devices must not be an empty sequence")
        if len(chosen) == 1:
            return None
        devs, n = chosen, len(chosen)
    else:
        n = len(devs) if num_devices is None else int(num_devices)
        if n <= 0 or n > len(devs):
            raise ValueError(f"devices must be between 1 and {len(devs)} (the devices present), got {num_devices}")
    if n == 1:
        return None
    devs = devs[:n]
    if jax.process_count() > 1:
        owners = {d.process_index for d in devs}
        if len(owners) > 1 and len(owners) < jax.process_count():
            raise ValueError(f"devices={num_devices!r} spans processes {sorted(owners)} of {jax.process_count()}: "
                             "use all devices, one, or this process's local devices")
        if jax.process_index() not in owners:
            raise ValueError(f"devices={num_devices!r} holds none of this process's devices")
    return jax.sharding.Mesh(np.array(devs), ("mc",))


def _accum_dtype():
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def init_state(names, shapes=None, log_names=()) -> EngineState:
    """An empty accumulator for the statistics ``names`` (a sequence, or ``{name: shape}``);
    ``log_names`` are accumulated in log space."""
    if isinstance(names, Mapping):
        shapes = {n: tuple(getattr(v, "shape", v)) for n, v in names.items()}
        names = tuple(sorted(shapes))
        shapes = tuple(shapes[n] for n in names)
    else:
        names = tuple(sorted(names))
        shapes = tuple(tuple(sh) for sh in shapes) if shapes is not None else ((),) * len(names)
    size = sum(int(np.prod(sh, dtype=np.int64)) for sh in shapes)
    dt = np.dtype(_accum_dtype())
    z = np.zeros(size, dt)
    st = EngineState(names, 0, 0, z, z.copy(), z.copy(), np.zeros(size, np.int64), shapes,
                     tuple(sorted(log_names)))
    hi = np.where(np.asarray(st.log_mask, bool), -np.inf, 0.0).astype(dt) if size else z.copy()
    return st._replace(sum_hi=hi)


def default_batch_size() -> int:
    """Realisations of the first engine call (between progress updates and checkpoints): 2**15 on CPU, 2**19
    on accelerators. Memory is bounded by the chunk (:func:`chunk_blocks`), not by this. Without a
    ``batch_size``, :func:`estimate` then grows the batch while one takes under :data:`BATCH_SECONDS` / 2."""
    return 2**15 if jax.default_backend() == "cpu" else 2**19


#: With the default ``batch_size`` (one device, no stopping rule), :func:`estimate` doubles the batch while
#: one takes under half this many seconds (the engine's fixed cost per call, about 0.6 ms on a CPU, is then
#: under 1 % of a batch), up to :data:`MAX_ADAPTIVE_BATCH` realisations. Numbers do not depend on it.
BATCH_SECONDS = 0.25
MAX_ADAPTIVE_BATCH = 2**24


#: On a CPU, the blocks of one engine step times the function's per-realisation bytes (the no-reuse upper
#: bound) stay within this (:func:`chunk_blocks`): light kernels get several blocks a step, heavy ones one.
CPU_STEP_BYTES = 3 * 2**19


def chunk_blocks(bytes_per_realisation: int | None = None) -> int:
    """Blocks evaluated at once by one step of the engine's loop (256 realisations a block).

    On an accelerator 64 (16384 realisations). On a CPU, for a function whose intermediates take
    ``bytes_per_realisation`` (the no-reuse upper bound of :func:`memory_estimate`), the largest power of two
    up to 16 with ``blocks * bytes_per_realisation <= CPU_STEP_BYTES``: light kernels (the wiretap,
    lv-two-way and ris-scheduling kernels at K <= 64) run 8-16 blocks a step, 5-30 % faster than one, and
    heavy ones (lv-two-way and ris-scheduling at K = 256, per-realisation optimisers) one block, which keeps
    them in cache; 1 when the function is not given. Numbers may depend on it (XLA could compile a reduction
    differently for another shape) but on nothing else: not on the batch size, a resume, or the device count.
    ``IRSJAX_CHUNK_BLOCKS`` overrides it.

    >>> chunk_blocks(40_000) if jax.default_backend() == "cpu" else 16
    16
    """
    import os

    env = os.environ.get("IRSJAX_CHUNK_BLOCKS")
    if env:
        return max(1, int(env))
    if jax.default_backend() != "cpu":
        return 64
    if not bytes_per_realisation or bytes_per_realisation <= 0:
        return 1
    blocks = 1
    while blocks < 16 and 2 * blocks * int(bytes_per_realisation) <= CPU_STEP_BYTES:
        blocks *= 2
    return blocks


def _z(confidence):
    return float(_scipy_special.ndtri(0.5 + confidence / 2))


def wilson_interval(events, n, confidence=0.95):
    """Wilson score interval for a binomial proportion."""
    if n <= 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = events / n
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / den
    lo = 0.0 if events <= 0 else max(c - h, 0.0)
    hi = 1.0 if events >= n else min(c + h, 1.0)
    return lo, hi


def clopper_pearson_interval(events, n, confidence=0.95):
    """Exact (conservative) Clopper-Pearson interval for a binomial proportion."""
    a = 1 - confidence
    k = round(events)
    lo = 0.0 if k <= 0 else float(_scipy_special.betaincinv(k, n - k + 1, a / 2))
    hi = 1.0 if k >= n else float(_scipy_special.betaincinv(k + 1, n - k, 1 - a / 2))
    return lo, hi


def _finalize_one(total, m2, n, is_prob, confidence, ci_method):
    mean = total / n if n else float("nan")
    var = float(m2) / (n - 1) if n > 1 else float("nan")
    var = max(var, 0.0)
    se = math.sqrt(var / n) if n else float("nan")
    if is_prob:
        events = total
        interval = clopper_pearson_interval if ci_method == "clopper-pearson" else wilson_interval
        lo, hi = interval(events, n, confidence)
        return Estimate(mean, se, lo, hi, n, var, "probability", events)
    z = _z(confidence)
    return Estimate(mean, se, mean - z * se, mean + z * se, n, var, "mean")


def _finalize_log(mx, s1, s2, n, confidence):
    """Mean of ``exp(x)`` from a log-space accumulator (max ``mx``, sums of exp(x - mx), exp(2 (x - mx)))."""
    mx, s1, s2 = float(mx), float(s1), float(s2)
    nan = float("nan")
    if n == 0:
        return Estimate(nan, nan, nan, nan, 0, nan, "mean")
    if not (s1 > 0 and math.isfinite(mx)):  # every value was 0
        return Estimate(0.0, 0.0, 0.0, 0.0, n, 0.0, "mean", nan, -math.inf, -math.inf, -math.inf)
    log_mean = mx + math.log(s1) - math.log(n)
    rel_var = max(n * s2 / (s1 * s1) - 1.0, 0.0) * n / (n - 1) if n > 1 else nan  # var(p) / mean^2
    rse = math.sqrt(rel_var / n) if n > 1 else nan  # relative standard error
    z = _z(confidence)
    mean = math.exp(log_mean) if log_mean > -745 else 0.0
    se = mean * rse
    l10 = log_mean / math.log(10.0)
    lo_factor = 1.0 - z * rse
    log10_lo = l10 + math.log10(lo_factor) if lo_factor > 0 else -math.inf
    log10_hi = l10 + math.log10(1.0 + z * rse) if math.isfinite(rse) else nan
    return Estimate(mean, se, max(mean - z * se, 0.0), mean + z * se, n, mean * mean * rel_var, "mean", nan,
                    l10, log10_lo, log10_hi)


def finalize(state: EngineState, *, probabilities=(), confidence=0.95, ci_method="wilson") -> Estimates:
    """Turn an accumulator state into ``{name: Estimate}`` (array fields for shaped statistics)."""
    out = Estimates()
    n = state.num_samples
    for name, shape, start, stop in state.layout:
        if name in state.log_names:
            ests = [_finalize_log(state.sum_hi[i], state.sum_lo[i], state.m2[i], n, confidence)
                    for i in range(start, stop)]
            if shape == ():
                out[name] = ests[0]
            else:
                cols = [np.asarray(c, dtype=float).reshape(shape) for c in zip(*[
                    (e.mean, e.std_err, e.ci_low, e.ci_high, e.variance, e.log10_mean, e.log10_ci_low,
                     e.log10_ci_high) for e in ests])]
                out[name] = Estimate(*cols[:4], n, cols[4], "mean", float("nan"), *cols[5:])
            continue
        is_prob = name in probabilities
        ests = [_finalize_one(float(np.float64(state.sum_hi[i]) + np.float64(state.sum_lo[i])), state.m2[i], n,
                              is_prob, confidence, ci_method) for i in range(start, stop)]
        if shape == ():
            out[name] = ests[0]
            continue
        cols = [np.asarray(c, dtype=float).reshape(shape) for c in zip(*[(e.mean, e.std_err, e.ci_low, e.ci_high,
                                                                             e.variance, e.events) for e in ests])]
        mean, se, lo, hi, var, ev = cols
        out[name] = Estimate(mean, se, lo, hi, n, var, "probability" if is_prob else "mean",
                             ev if is_prob else float("nan"))
    out.state = state
    return out


_NO_EVENT_BOUND = -math.log(0.05)  # 95% upper bound on a rate after n event-free trials: 2.996 / n ("rule of three")


def stopping_status(est: Estimates, *, target_rel_error=None, min_events=None, stop_on=None,
                    num_samples=None) -> dict:
    """Where each statistic stands against a stopping rule: ``{name: {"reached", "unreachable"}}``
    (boolean arrays of the statistic's shape).

    ``reached``: the relative error is at most ``target_rel_error`` and (probabilities) at least
    ``min_events`` events were seen. ``unreachable``: not reached, no realisation so far differed from 0
    (no event), and even the 95% upper bound of the rate of nonzero realisations, ``2.996 / n`` after
    ``n`` samples, cannot reach the target within ``num_samples``: a statistic that is nonzero with
    probability ``q`` has a relative error of at least ``sqrt((1 - q) / (N q))`` after ``N`` samples, so
    the target ``e`` needs ``q >= 1 / (1 + N e**2)``, and ``min_events = m`` needs ``q >= m / N``.
    The engine stops when every entry of every statistic in ``stop_on`` (default: all) is reached or
    unreachable.

    >>> e = Estimates(z=Estimate(0.0, 0.0, 0.0, 0.0, 40_000, 0.0, "probability", 0.0),
    ...               x=Estimate(2.0, 0.01, 1.98, 2.02, 40_000, 4.0))
    >>> st = stopping_status(e, target_rel_error=0.01, num_samples=10**8)
    >>> bool(st["x"]["reached"]), bool(st["z"]["reached"]), bool(st["z"]["unreachable"])
    (True, False, True)
    """
    names = list(est) if stop_on is None else list(stop_on)
    out = {}
    for name in names:
        e = est[name]
        n = int(e.num_samples)
        shape = np.shape(e.mean)
        reached = np.ones(shape, bool)
        need_q = 0.0  # the smallest rate of nonzero realisations that could still reach the rule
        if target_rel_error is not None:
            with np.errstate(invalid="ignore"):
                reached &= relative_error(e) <= target_rel_error
            if num_samples is not None:
                need_q = max(need_q, 1.0 / (1.0 + float(num_samples) * float(target_rel_error) ** 2))
        if min_events is not None and e.kind == "probability":
            reached &= np.asarray(e.events, float) >= min_events
            if num_samples is not None:
                need_q = max(need_q, float(min_events) / float(num_samples))
        silent = ((np.asarray(e.mean, float) == 0) & (np.nan_to_num(np.asarray(e.variance, float)) == 0)
                  & ~np.isfinite(np.asarray(e.log10_mean, float)))  # (a log-space mean below float range is not 0)
        bound = _NO_EVENT_BOUND / n if n > 0 else 1.0
        unreachable = ~reached & silent & (num_samples is not None) & (bound < need_q)
        out[name] = {"reached": reached, "unreachable": unreachable}
    return out


def relative_error(e: Estimate, confidence: float = 0.95):
    """``std_err / |mean|`` (inf for a zero mean); for a log-space statistic whose mean is below the float
    range, the relative error its log10 interval implies."""
    rel = np.asarray(e.rel_error, float)
    l10, hi = np.asarray(e.log10_mean, float), np.asarray(e.log10_ci_high, float)
    with np.errstate(invalid="ignore", over="ignore"):
        fix = np.isfinite(l10) & np.isfinite(hi) & ~np.isfinite(rel)
        if np.any(fix):
            rel = np.where(fix, (10.0 ** np.where(fix, hi - l10, 0.0) - 1.0) / _z(confidence), rel)
    return rel


def _should_stop(est: Estimates, target_rel_error, min_events, stop_on, num_samples=None):
    st = stopping_status(est, target_rel_error=target_rel_error, min_events=min_events, stop_on=stop_on,
                         num_samples=num_samples)
    return all(bool(np.all(s["reached"] | s["unreachable"])) for s in st.values())


_TRACE_CACHE: dict = {}


def _structure_key(static_fn, leaves, key) -> tuple:
    """What abstract evaluation of ``fn(key, *args)`` depends on: its static part and the leaves' avals."""
    avals = tuple((np.shape(v), jnp.result_type(v), isinstance(v, (float, complex))) for v in leaves)
    return (static_fn, avals, key.dtype, jax.config.jax_enable_x64)


def _traced(fn, args, static_fn, leaves, key) -> dict:
    """What one trace of ``fn(key, *args)`` tells the engine: ``{"shapes": [[name, shape], ...], "bytes": n}``,
    the statistics' shapes and the bytes of every intermediate of one realisation (no buffer reuse). Traced once
    per structure and process, and kept in the program cache."""
    ck = _structure_key(static_fn, leaves, key)
    if ck not in _TRACE_CACHE:
        def trace():
            jaxpr, out = jax.make_jaxpr(lambda k: fn(k, *args), return_shape=True)(key)
            if not isinstance(out, Mapping) or not out:
                raise TypeError("fn must return a non-empty dict {name: array}")
            for nm, v in out.items():
                if not jnp.issubdtype(v.dtype, jnp.number) or jnp.issubdtype(v.dtype, jnp.complexfloating):
                    raise TypeError(f"statistic '{nm}' must be real, got dtype {v.dtype}")
            return {"shapes": [[nm, list(v.shape)] for nm, v in out.items()], "bytes": _jaxpr_bytes(jaxpr.jaxpr)}

        if len(_TRACE_CACHE) > 256:
            _TRACE_CACHE.clear()
        _TRACE_CACHE[ck] = _compile.memo("montecarlo.trace", {"fn": static_fn}, (leaves, key), trace)
    return _TRACE_CACHE[ck]


def _realisation_bytes(fn, args, static_fn, leaves, key) -> int:
    """Bytes of every intermediate of one realisation of ``fn(key, *args)`` (no buffer reuse)."""
    return _traced(fn, args, static_fn, leaves, key)["bytes"]


def _engine_chunk(fn, args, static_fn, leaves, key) -> int:
    """:func:`chunk_blocks` for ``fn``: sized by its per-realisation bytes on a CPU."""
    import os

    if os.environ.get("IRSJAX_CHUNK_BLOCKS") or jax.default_backend() != "cpu":
        return chunk_blocks()
    return chunk_blocks(_realisation_bytes(fn, args, static_fn, leaves, key))


def _statistic_shapes(fn, args, static_fn, leaves, key) -> dict:
    """``{name: shape}`` of ``fn``'s statistics (abstract evaluation, cached per structure)."""
    return {nm: tuple(shape) for nm, shape in _traced(fn, args, static_fn, leaves, key)["shapes"]}


def estimate(
    fn: Callable[..., Mapping[str, Any]],
    key,
    num_samples: int,
    *,
    args: tuple = (),
    batch_size: int | None = None,
    probabilities: Sequence[str] = (),
    confidence: float = 0.95,
    ci_method: str = "wilson",
    target_rel_error: float | None = None,
    min_events: int | None = None,
    stop_on: Sequence[str] | None = None,
    min_samples: int = 0,
    progress: bool | str = False,
    resume: EngineState | None = None,
    checkpoint: Callable[[EngineState], None] | None = None,
    devices: int | None = None,
    log_space: Sequence[str] | None = None,
) -> Estimates:
    """Estimate the means of every statistic returned by ``fn(key, *args)``.

    Args:
      fn: per-realisation function returning ``{name: array}``; every statistic may have any fixed
        shape (a scalar, a per-user vector, an iteration trace) and is averaged over realisations
        only. ``fn`` may be any pytree that is callable: a :func:`irsjax.config.config` instance with
        a ``__call__``, a ``jax.tree_util.Partial``, or a plain function. Its float and array leaves
        are traced, so a new value of any of them (a power, a position, a target rate) reuses the
        compiled program; only a new structure (a size, a mode switch, another function) compiles.
      key: a ``jax.random.key``.
      num_samples: number of realisations (the maximum when a stopping rule is set).
      args: dynamic arguments passed to ``fn`` (pytrees of arrays/floats; new values do not recompile).
      batch_size: realisations per engine call, between progress updates, checkpoints and stopping
        checks (rounded up to whole engine steps of :func:`chunk_blocks` blocks). Does not change any number.
        Default: :func:`default_batch_size`; on one device and without a stopping rule the batch then
        doubles while one takes under :data:`BATCH_SECONDS` / 2 (progress and checkpoints stay a fraction
        of a second apart; light kernels lose no time to the per-call cost). With a stopping rule it stays
        fixed, so where a run stops never depends on timing.
      probabilities: names of 0/1 indicator statistics (binomial CIs).
      ci_method: ``"wilson"`` or ``"clopper-pearson"`` for probabilities.
      target_rel_error, min_events, stop_on: optional stopping rules (Sionna
        ``sim_ber`` style), checked after each batch once ``min_samples`` are
        done; stop when every statistic in ``stop_on`` (default: all) reaches the
        target relative error and every probability in it has ``min_events``.
      progress: show a tqdm bar (a string is used as its label).
      resume: continue from a previous :class:`EngineState` (same key, same fn).
      checkpoint: called with the state after every batch (e.g. to save it).
      devices: shard each batch over this many devices (default: all of
        ``jax.devices()``), or over a sequence of devices (``jax.local_devices()``); the numbers do
        not depend on it.
      log_space: statistics that ``fn`` returns as the natural *log* of a nonnegative quantity
        (``-inf`` for 0), e.g. a conditional outage probability: the engine estimates the mean of
        ``exp(value)`` with a streaming log-sum-exp, so tails far below float32's range (1e-81, ...)
        keep their value; the estimate carries ``log10_mean`` and ``log10_ci_*``. Default: the names
        in ``fn.LOG_SPACE`` (a system's declaration of which of its outputs are logs) that ``fn`` returns.
    Returns:
      :class:`Estimates` (``{name: Estimate}`` with a ``.state``).
    """
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise ValueError(f"num_samples must be a positive integer, got {num_samples}")
    if ci_method not in ("wilson", "clopper-pearson"):
        raise ValueError(f"ci_method must be 'wilson' or 'clopper-pearson', got {ci_method!r}")
    bs = default_batch_size() if batch_size is None else int(batch_size)
    if bs <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {bs}")
    mesh = device_mesh(devices)
    ndev = 1 if mesh is None else mesh.devices.size
    total_blocks = -(-num_samples // BLOCK)
    if total_blocks >= 2**32:
        raise ValueError(f"num_samples too large ({num_samples}); at most {BLOCK * (2**32 - 1)}")
    # Python numbers among the args become (weakly typed) arrays: traced, never baked in
    args = tuple(jax.tree_util.tree_map(lambda a: jnp.asarray(a) if isinstance(a, (int, float, complex)) and
                                        not isinstance(a, bool) else a, a) for a in args)
    leaves, static_fn = split_dynamic((fn, args))
    chunk = _engine_chunk(fn, args, static_fn, leaves, key)
    total_chunks = -(-total_blocks // chunk)
    chunks = min(max(1, -(-bs // (BLOCK * chunk))), total_chunks)  # a small run does not hold a full batch
    slots = -(-chunks // ndev)  # chunk slots per device
    chunks = slots * ndev
    shapes = _statistic_shapes(fn, args, static_fn, leaves, key)
    unknown = set(probabilities) - set(shapes)
    if unknown:
        raise ValueError(f"probabilities names not returned by fn: {sorted(unknown)}")
    if log_space is None:
        log_space = tuple(n for n in getattr(fn, "LOG_SPACE", ()) if n in shapes)
    unknown = set(log_space) - set(shapes)
    if unknown:
        raise ValueError(f"log_space names not returned by fn: {sorted(unknown)}")
    if set(log_space) & set(probabilities):
        raise ValueError("a statistic cannot be both a 0/1 probability and a log-space statistic")
    state = resume if resume is not None else init_state(shapes, log_names=log_space)
    if tuple(sorted(log_space)) != tuple(state.log_names):
        raise ValueError("resume state does not match log_space")
    if tuple(sorted(shapes)) != state.names or (state.shapes and tuple(shapes[n] for n in state.names) != state.shapes):
        raise ValueError("resume state does not match the statistics returned by fn")
    if state.num_samples != min(state.next_block * BLOCK, num_samples) or state.num_samples > num_samples:
        raise ValueError("resume state ends inside a block: it can only be continued towards the same "
                         "num_samples it was started with (or a run whose sample count is a multiple of "
                         f"{BLOCK})")
    if not state.shapes:
        state = state._replace(shapes=tuple(shapes[n] for n in state.names))
    names = state.names
    layout = state.layout
    log_mask = state.log_mask
    dt = state.sum_hi.dtype
    # the running totals go back to the program as host arrays every batch: always uncommitted arguments, so every
    # batch runs the program compiled for the first (device-resident outputs fed back would compile a second one)
    carry = (np.asarray(state.num_samples, dt), np.asarray(state.sum_hi, dt), np.asarray(state.sum_lo, dt),
             np.asarray(state.m2, dt))
    nonfinite = state.nonfinite.copy()
    next_block = state.next_block
    done = state.num_samples

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=num_samples, initial=done, desc=progress if isinstance(progress, str) else "samples",
                   unit="real", unit_scale=True, leave=False)
    # grow the batch by wall time only where batching cannot change a number: one device (the sharded program's
    # slots are static) and no stopping rule (where a run stops depends on the batch boundaries)
    adaptive = batch_size is None and mesh is None and target_rel_error is None and min_events is None
    max_chunks = max(chunks, MAX_ADAPTIVE_BATCH // (BLOCK * chunk))
    try:
        while next_block < total_blocks:
            nc = min(chunks, -(-(total_blocks - next_block) // chunk))
            t_batch = time.perf_counter()
            *out, bad = _run_batch_on(
                static_fn, layout, log_mask, chunk, slots, mesh, leaves, key,
                jnp.uint32(next_block), jnp.int32(nc),
                jnp.uint32(num_samples // BLOCK), jnp.int32(num_samples % BLOCK), *(jnp.asarray(c) for c in carry),
            )
            carry = tuple(np.asarray(x) for x in out)
            if adaptive and nc == chunks and time.perf_counter() - t_batch < BATCH_SECONDS / 2:
                chunks = min(2 * chunks, max_chunks)
            hi, lo, m2 = carry[1:]
            next_block = min(next_block + nc * chunk, total_blocks)
            new_done = min(next_block * BLOCK, num_samples)
            if bar is not None:
                bar.update(new_done - done)
            done = new_done
            nonfinite += np.asarray(bad, np.int64)
            state = EngineState(names, next_block, done, hi, lo, m2, nonfinite.copy(), state.shapes, state.log_names)
            if nonfinite.any():
                which = [n for n, _, a, b in layout if nonfinite[a:b].any()]
                raise FloatingPointError(f"per-realisation function returned NaN/inf for {which}")
            if checkpoint is not None:
                checkpoint(state)
            if (target_rel_error is not None or min_events is not None) and done >= min_samples:
                est = finalize(state, probabilities=probabilities, confidence=confidence, ci_method=ci_method)
                if _should_stop(est, target_rel_error, min_events, stop_on, num_samples):
                    break
    finally:
        if bar is not None:
            bar.close()
    return finalize(state, probabilities=probabilities, confidence=confidence, ci_method=ci_method)


@_compile.jit(static_argnames=("static_fn", "num_samples", "names", "log_names"))
def _mean_jit(static_fn, leaves, key, num_samples, names, log_names):
    fn, args = merge_dynamic(leaves, static_fn)
    num_blocks = -(-num_samples // BLOCK)
    full, rem = num_samples // BLOCK, num_samples % BLOCK
    lane = jnp.arange(BLOCK)

    def block_sum(b):
        keys = jax.random.split(jax.random.fold_in(key, b.astype(jnp.uint32)), BLOCK)
        out = jax.vmap(lambda k: fn(k, *args))(keys)
        valid = (b < full) | (lane < rem)
        res = {}
        for n in names:
            mask = valid.reshape((BLOCK,) + (1,) * (jnp.ndim(out[n]) - 1))
            if n in log_names:  # log-sum-exp of the block (logs of nonnegative values)
                res[n] = jax.nn.logsumexp(jnp.where(mask, out[n], -jnp.inf), axis=0)
            else:
                res[n] = jnp.sum(jnp.where(mask, out[n], jnp.zeros((), out[n].dtype)), axis=0)
        return res

    def body(carry, b):
        blk = block_sum(b)
        return {n: jnp.logaddexp(carry[n], blk[n]) if n in log_names else carry[n] + blk[n] for n in names}, None

    shapes = jax.eval_shape(block_sum, jnp.int32(0))
    init = {n: jnp.full(v.shape, -jnp.inf if n in log_names else 0, v.dtype) for n, v in shapes.items()}
    total, _ = jax.lax.scan(jax.checkpoint(body), init, jnp.arange(num_blocks, dtype=jnp.int32))
    return {n: t - jnp.log(jnp.asarray(num_samples, t.dtype)) if n in log_names else t / num_samples
            for n, t in total.items()}


def mean(fn, key, num_samples: int, *, args: tuple = (), statistics: Sequence[str] | None = None,
         log_space: Sequence[str] | None = None) -> dict:
    """Differentiable Monte Carlo means: ``{name: mean over num_samples realisations}`` as JAX arrays.

    The realisations are exactly those of :func:`estimate` (block ``b`` uses ``split(fold_in(key, b),
    BLOCK)``), so with the same key the numbers agree with ``estimate(...)[name].mean`` up to the
    rounding of the (here plain) sum. ``jax.grad`` of a result with respect to any float leaf of ``fn``
    (a power, a noise level, an IRS or Eve position, a path-loss exponent) or of ``args`` is the
    pathwise derivative with common random numbers: the average of the per-realisation derivatives,
    unbiased wherever the statistic is differentiable in the parameter almost surely (secrecy rates
    with ``{x}^+``, conditional outage probabilities; not 0/1 indicators, whose pathwise derivative is
    0: differentiate a conditional or smoothed estimator instead). Memory is bounded: the blocks are
    scanned, and the backward pass recomputes each block (``jax.checkpoint``) instead of storing it.
    Log-space statistics (``log_space``, default ``fn.LOG_SPACE``; values are logs of nonnegative
    quantities) give the **log of the mean** of their exponentials, by a streaming log-sum-exp: e.g.
    ``log E[p]`` of a conditional outage probability, finite (with its gradient) far below float32's range.

    >>> import jax, jax.numpy as jnp
    >>> f = lambda key, s: {"y": s * jax.random.exponential(key)}
    >>> float(jax.grad(lambda s: mean(f, jax.random.key(0), 4096, args=(s,))["y"])(2.0)) > 0.9
    True
    """
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise ValueError(f"num_samples must be a positive integer, got {num_samples}")
    args = tuple(args)
    out = jax.eval_shape(lambda k: fn(k, *args), key)
    if not isinstance(out, Mapping) or not out:
        raise TypeError("fn must return a non-empty dict {name: array}")
    names = tuple(sorted(out if statistics is None else statistics))
    missing = [n for n in names if n not in out]
    if missing:
        raise ValueError(f"statistics not returned by fn: {missing}")
    if log_space is None:
        log_space = tuple(n for n in getattr(fn, "LOG_SPACE", ()) if n in out)
    leaves, static_fn = split_dynamic((fn, args))
    return _mean_jit(static_fn, leaves, key, num_samples, names, tuple(n for n in names if n in log_space))


class MemoryEstimate(NamedTuple):
    """Memory one engine step needs on one device (see :func:`memory_estimate`)."""

    bytes: int  # estimated peak bytes per device while one chunk is evaluated
    realisations: int  # realisations evaluated at once per device (one chunk)
    method: str  # "upper bound" (sum of every intermediate, no reuse) or "XLA memory analysis"
    available: int | None  # free bytes per device (None: unknown)
    device: str

    @property
    def fits(self) -> bool:
        return self.available is None or self.bytes <= self.available


def available_memory(devices: int | None = None) -> int | None:
    """Free memory per device in bytes: the allocator's limit minus what is in use on an accelerator;
    on CPU the host's available memory (``MemAvailable``) shared by the ``devices`` (simulated) devices.
    ``IRSJAX_MEMORY_LIMIT`` (bytes, or with a suffix: ``8G``, ``512M``) overrides it. None when unknown."""
    import os

    env = os.environ.get("IRSJAX_MEMORY_LIMIT", "").strip()
    if env:
        return parse_bytes(env)
    dev = jax.local_devices()[0]
    try:
        st = dev.memory_stats() or {}
    except Exception:  # noqa: BLE001 - not every backend reports memory
        st = {}
    if st.get("bytes_limit"):
        return int(st["bytes_limit"]) - int(st.get("bytes_in_use", 0))
    if dev.platform != "cpu":
        return None
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        avail = int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    n = len(jax.devices()) if devices is None else int(devices)
    return avail // max(n, 1)


def parse_bytes(text) -> int:
    """``"8G"``, ``"512M"``, ``"1.5e9"`` -> bytes (powers of 1024 for K/M/G/T).

    >>> parse_bytes("2G"), parse_bytes("1024")
    (2147483648, 1024)
    """
    t = str(text).strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(t[-1:], 1)
    v = float(t[:-1] if mult > 1 else t)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"not a memory size: {text!r}")
    return int(v * mult)


def format_bytes(n) -> str:
    """``1536 -> '1.5 KiB'``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _jaxpr_bytes(jaxpr) -> int:
    """Sum of the sizes of every intermediate of a jaxpr (and its sub-jaxprs): no buffer reuse."""
    total = 0
    for eqn in jaxpr.eqns:
        for v in eqn.outvars:
            aval = getattr(v, "aval", None)
            if hasattr(aval, "shape") and hasattr(aval, "dtype"):
                try:
                    total += int(np.prod(aval.shape, dtype=np.int64)) * np.dtype(aval.dtype).itemsize
                except TypeError:  # key types and other extended dtypes
                    total += int(np.prod(aval.shape, dtype=np.int64)) * 8
        for p in eqn.params.values():
            for sub in (p if isinstance(p, (list, tuple)) else (p,)):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    total += _jaxpr_bytes(inner)
    return total


def memory_estimate(fn, key, *, args: tuple = (), batch_size: int | None = None, devices: int | None = None,
                    compile: bool | None = None, log_space: Sequence[str] | None = None) -> MemoryEstimate:
    """Peak memory per device of one step of :func:`estimate` (one chunk, :func:`chunk_blocks`).

    Memory is bounded by the chunk, not by the sample count or the batch size. The estimate is an
    upper bound (every intermediate of one realisation, times the realisations of a chunk, without
    buffer reuse) when that bound is under half the available memory; otherwise (or with
    ``compile=True``) the engine's batch program is compiled and XLA's memory analysis read
    (temporaries + arguments + outputs), which is what the run will need.

    >>> import jax
    >>> m = memory_estimate(lambda k: {"x": jax.random.normal(k, (4,))}, jax.random.key(0))
    >>> m.realisations >= BLOCK and m.bytes > 0
    True
    """
    mesh = device_mesh(devices)
    ndev = 1 if mesh is None else mesh.devices.size
    args = tuple(jax.tree_util.tree_map(lambda a: jnp.asarray(a) if isinstance(a, (int, float, complex)) and
                                        not isinstance(a, bool) else a, a) for a in args)
    avail = available_memory(ndev)
    dev = str(jax.local_devices()[0])
    leaves, static_fn = split_dynamic((fn, args))
    chunk = _engine_chunk(fn, args, static_fn, leaves, key)
    realisations = chunk * BLOCK
    if compile is not True:
        per_realisation = _realisation_bytes(fn, args, static_fn, leaves, key)
        upper = per_realisation * realisations
        if compile is False or avail is None or upper <= avail // 2:
            return MemoryEstimate(int(upper), realisations, "upper bound", avail, dev)
    shapes = _statistic_shapes(fn, args, static_fn, leaves, key)
    if log_space is None:
        log_space = tuple(n for n in getattr(fn, "LOG_SPACE", ()) if n in shapes)
    state = init_state(shapes, log_names=log_space)
    bs = default_batch_size() if batch_size is None else int(batch_size)
    chunks = max(1, -(-bs // (BLOCK * chunk)))
    slots = -(-chunks // ndev)
    dt = state.sum_hi.dtype
    acc = jnp.zeros(state.sum_hi.shape, dt)
    if mesh is None:
        lowered = _run_batch.lower(static_fn, state.layout, state.log_mask, chunk, leaves, key, jnp.uint32(0),
                                   jnp.int32(1), jnp.uint32(1), jnp.int32(0), jnp.asarray(0, dt), acc, acc, acc)
    else:
        lowered = _device_batch.lower(static_fn, state.layout, state.log_mask, chunk, slots, mesh, dt, leaves, key,
                                      jnp.uint32(0), jnp.int32(1), jnp.uint32(1), jnp.int32(0))
    ma = lowered.compile().memory_analysis()
    if ma is None:
        return MemoryEstimate(0, realisations, "unknown", avail, dev)
    used = (int(ma.temp_size_in_bytes) + int(ma.argument_size_in_bytes) + int(ma.output_size_in_bytes)
            - int(getattr(ma, "alias_size_in_bytes", 0)))
    return MemoryEstimate(used, realisations, "XLA memory analysis", avail, dev)


def variance_reduction(plain: Estimate, improved: Estimate) -> float:
    """Variance-reduction factor ``var(plain) / var(improved)`` per realisation."""
    if improved.variance <= 0:
        return math.inf if plain.variance > 0 else 1.0
    return plain.variance / improved.variance


class SweepPoint(NamedTuple):
    x: float
    estimates: Estimates
    elapsed: float


def sweep(fn, key, values, num_samples, *, make_args: Callable[[Any], tuple], **kwargs) -> list[SweepPoint]:
    """Estimate ``fn`` at every value of a parameter grid (common random numbers).

    The same ``key`` is used at every point, so curves are smooth and schemes
    compared on identical channel draws. ``make_args(x)`` builds ``fn``'s args.

    >>> import jax
    >>> pts = sweep(lambda k, s: {"y": s * jax.random.normal(k)}, jax.random.key(1), [1.0, 2.0], 1000,
    ...             make_args=lambda s: (s,))
    >>> [p.x for p in pts]
    [1.0, 2.0]
    """
    out = []
    for x in values:
        t0 = time.perf_counter()
        est = estimate(fn, key, num_samples, args=make_args(x), **kwargs)
        out.append(SweepPoint(x, est, time.perf_counter() - t0))
    return out

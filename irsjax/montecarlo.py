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
from scipy import stats as _scipy_stats

BLOCK = 256  # realisations per block (the unit of key derivation and reduction)


class Estimate(NamedTuple):
    """One estimated quantity with its uncertainty.

    ``kind`` is ``"mean"`` (normal-theory CI) or ``"probability"`` (binomial CI:
    Wilson by default, or Clopper-Pearson). ``variance`` is the per-realisation
    sample variance, ``std_err = sqrt(variance / num_samples)``.
    """

    mean: float
    std_err: float
    ci_low: float
    ci_high: float
    num_samples: int
    variance: float
    kind: str = "mean"
    events: float = float("nan")

    @property
    def rel_error(self) -> float:
        """Relative standard error ``std_err / |mean|`` (inf when the mean is 0)."""
        return self.std_err / abs(self.mean) if self.mean != 0 else math.inf

    def as_dict(self) -> dict:
        d = self._asdict()
        d["rel_error"] = self.rel_error
        return d


class EngineState(NamedTuple):
    """Resumable accumulator state (host numpy arrays; one entry per statistic)."""

    names: tuple
    next_block: int
    num_samples: int
    sum_hi: np.ndarray
    sum_lo: np.ndarray
    m2: np.ndarray
    nonfinite: np.ndarray

    def to_json(self) -> dict:
        return {
            "names": list(self.names),
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


def _block_stats(fn, names, first_block, blocks, key, full_blocks, remainder, args, dtype):
    """Per-block (count, sum, centred sum of squares) of ``blocks`` blocks from ``first_block``."""
    block_ids = first_block + jnp.arange(blocks, dtype=jnp.uint32)

    def one_block(b):
        keys = jax.random.split(jax.random.fold_in(key, b), BLOCK)
        out = jax.vmap(lambda k: fn(k, *args))(keys)
        return jnp.stack([jnp.asarray(out[nm]).astype(dtype).reshape(BLOCK) for nm in names])

    vals = jax.vmap(one_block)(block_ids)  # (blocks, S, BLOCK)
    # validity mask per realisation (the last batch may overrun the sample count)
    lane = jnp.arange(BLOCK, dtype=jnp.int32)[None, :]
    valid = (block_ids[:, None] < full_blocks) | ((block_ids[:, None] == full_blocks) & (lane < remainder))
    finite = jnp.isfinite(vals)
    bad = jnp.sum(jnp.logical_and(~finite, valid[:, None, :]), axis=(0, 2))
    v = jnp.where(valid[:, None, :] & finite, vals, 0.0)
    n_b = jnp.sum(valid, axis=1).astype(dtype)  # (blocks,)
    s_b = _pairwise_sum(v)  # (blocks, S)
    mean_b = s_b / jnp.where(n_b > 0, n_b, 1.0)[:, None]
    dev = jnp.where(valid[:, None, :], v - mean_b[..., None], 0.0)
    m2_b = _pairwise_sum(dev * dev)
    return n_b, s_b, m2_b, bad


def _fold(carry, blk):
    """Fold one block into the running totals (compensated sum, Chan's M2 update)."""
    n_a, hi, lo, m2 = carry
    nb, sb, m2b = blk
    mean_a = (hi + lo) / jnp.where(n_a > 0, n_a, 1.0)
    mb = sb / jnp.where(nb > 0, nb, 1.0)
    s, e = _two_sum(hi, sb)
    lo2 = lo + e
    hi2, lo2 = _two_sum(s, lo2)
    n = n_a + nb
    delta = mb - mean_a
    m2n = m2 + m2b + delta * delta * n_a * nb / jnp.where(n > 0, n, 1.0)
    keep = nb > 0
    return (jnp.where(keep, n, n_a), jnp.where(keep, hi2, hi), jnp.where(keep, lo2, lo), jnp.where(keep, m2n, m2)), None


@partial(jax.jit, static_argnames=("fn", "names", "blocks", "mesh"))
def _run_batch(fn, names, blocks, mesh, key, first_block, full_blocks, remainder, args, n_done, hi, lo, m2):
    """Evaluate ``blocks`` blocks starting at ``first_block`` and fold them in.

    With a ``mesh`` (axis ``"mc"``), device ``i`` evaluates the contiguous blocks
    ``[first + i*B/D, first + (i+1)*B/D)`` with ``shard_map``; the per-block
    statistics are gathered and folded in block order, so the estimate is
    identical, bit for bit, for any number of devices.
    """
    dtype = hi.dtype
    if mesh is None:
        n_b, s_b, m2_b, bad = _block_stats(fn, names, first_block, blocks, key, full_blocks, remainder, args, dtype)
    else:
        from jax.sharding import PartitionSpec as P

        ndev = mesh.devices.size
        per = blocks // ndev

        def per_device(key, first_block, full_blocks, remainder, args):
            start = first_block + jax.lax.axis_index("mc").astype(jnp.uint32) * jnp.uint32(per)
            n_b, s_b, m2_b, bad = _block_stats(fn, names, start, per, key, full_blocks, remainder, args, dtype)
            return n_b, s_b, m2_b, jax.lax.psum(bad, "mc")

        n_b, s_b, m2_b, bad = jax.shard_map(
            per_device, mesh=mesh, in_specs=(P(), P(), P(), P(), P()),
            out_specs=(P("mc"), P("mc"), P("mc"), P()), check_vma=False,
        )(key, first_block, full_blocks, remainder, args)
    (n_done, hi, lo, m2), _ = jax.lax.scan(_fold, (n_done, hi, lo, m2), (n_b, s_b, m2_b))
    return n_done, hi, lo, m2, bad


def device_mesh(num_devices: int | None = None):
    """A 1-D mesh (axis ``"mc"``) over the first ``num_devices`` devices (all by default); None for one device.

    Under ``jax.distributed.initialize()`` the devices of every host take part.
    """
    devs = jax.devices()
    n = len(devs) if num_devices is None else int(num_devices)
    if n <= 0 or n > len(devs):
        raise ValueError(f"devices must be between 1 and {len(devs)} (the devices present), got {num_devices}")
    if n == 1:
        return None
    return jax.sharding.Mesh(np.array(devs[:n]), ("mc",))


def _accum_dtype():
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def init_state(names: Sequence[str]) -> EngineState:
    """An empty accumulator for the statistics ``names``."""
    names = tuple(sorted(names))
    dt = np.dtype(_accum_dtype())
    z = np.zeros(len(names), dt)
    return EngineState(names, 0, 0, z, z.copy(), z.copy(), np.zeros(len(names), np.int64))


def default_batch_size() -> int:
    """Realisations held in memory at once: 2**15 on CPU, 2**19 on accelerators."""
    return 2**15 if jax.default_backend() == "cpu" else 2**19


def _z(confidence):
    return float(_scipy_stats.norm.ppf(0.5 + confidence / 2))


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
    lo = 0.0 if k <= 0 else float(_scipy_stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k >= n else float(_scipy_stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def finalize(state: EngineState, *, probabilities=(), confidence=0.95, ci_method="wilson") -> Estimates:
    """Turn an accumulator state into ``{name: Estimate}``."""
    out = Estimates()
    n = state.num_samples
    for i, name in enumerate(state.names):
        total = float(np.float64(state.sum_hi[i]) + np.float64(state.sum_lo[i]))
        mean = total / n if n else float("nan")
        var = float(state.m2[i]) / (n - 1) if n > 1 else float("nan")
        var = max(var, 0.0)
        se = math.sqrt(var / n) if n else float("nan")
        if name in probabilities:
            events = total
            lo, hi = (clopper_pearson_interval if ci_method == "clopper-pearson" else wilson_interval)(events, n, confidence)
            out[name] = Estimate(mean, se, lo, hi, n, var, "probability", events)
        else:
            z = _z(confidence)
            out[name] = Estimate(mean, se, mean - z * se, mean + z * se, n, var, "mean")
    out.state = state
    return out


def _should_stop(est: Estimates, target_rel_error, min_events, stop_on):
    names = stop_on if stop_on is not None else list(est)
    ok = True
    if target_rel_error is not None:
        ok &= all(est[n].rel_error <= target_rel_error for n in names)
    if min_events is not None:
        probs = [n for n in names if est[n].kind == "probability"]
        ok &= all(est[n].events >= min_events for n in probs)
    return ok


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
) -> Estimates:
    """Estimate the means of every statistic returned by ``fn(key, *args)``.

    Args:
      fn: per-realisation function returning a dict of real scalars. It must be
        a stable (hashable) function object: it is a static argument of ``jit``,
        so reusing the same ``fn`` with new ``args`` compiles once.
      key: a ``jax.random.key``.
      num_samples: number of realisations (the maximum when a stopping rule is set).
      args: dynamic arguments passed to ``fn`` (arrays; changing their values does not recompile).
      batch_size: realisations in memory at once (rounded up to a multiple of
        ``BLOCK``). Does not change any number.
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
        ``jax.devices()``); the numbers do not depend on it.
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
    blocks = max(1, -(-bs // BLOCK))
    total_blocks = -(-num_samples // BLOCK)
    blocks = min(blocks, total_blocks)  # a small run does not hold a full batch
    blocks = -(-blocks // ndev) * ndev  # a whole number of blocks per device
    if total_blocks >= 2**32:
        raise ValueError(f"num_samples too large ({num_samples}); at most {BLOCK * (2**32 - 1)}")
    args = tuple(jax.tree_util.tree_map(jnp.asarray, a) for a in args)

    # discover the statistic names (and check fn) with an abstract evaluation
    shapes = jax.eval_shape(lambda k: fn(k, *args), key)
    if not isinstance(shapes, Mapping) or not shapes:
        raise TypeError("fn must return a non-empty dict {name: scalar}")
    for nm, s in shapes.items():
        if s.shape != ():
            raise ValueError(f"statistic '{nm}' must be a scalar per realisation, got shape {s.shape}")
    unknown = set(probabilities) - set(shapes)
    if unknown:
        raise ValueError(f"probabilities names not returned by fn: {sorted(unknown)}")
    state = resume if resume is not None else init_state(shapes)
    if tuple(sorted(shapes)) != state.names:
        raise ValueError("resume state does not match the statistics returned by fn")
    if state.num_samples != min(state.next_block * BLOCK, num_samples) or state.num_samples > num_samples:
        raise ValueError("resume state ends inside a block: it can only be continued towards the same "
                         "num_samples it was started with (or a run whose sample count is a multiple of "
                         f"{BLOCK})")
    names = state.names
    dt = state.sum_hi.dtype
    hi, lo, m2 = (jnp.asarray(state.sum_hi, dt), jnp.asarray(state.sum_lo, dt), jnp.asarray(state.m2, dt))
    n_done = jnp.asarray(state.num_samples, dt)
    nonfinite = state.nonfinite.copy()
    next_block = state.next_block
    done = state.num_samples

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=num_samples, initial=done, desc=progress if isinstance(progress, str) else "samples",
                   unit="real", unit_scale=True, leave=False)
    try:
        while next_block < total_blocks:
            nb = min(blocks, total_blocks - next_block)
            # keep one compiled shape: always run `blocks` blocks, mask the overrun
            n_done, hi, lo, m2, bad = _run_batch(
                fn, names, blocks, mesh, key, jnp.uint32(next_block), jnp.uint32(num_samples // BLOCK),
                jnp.int32(num_samples % BLOCK), args, n_done, hi, lo, m2,
            )
            next_block += nb
            new_done = min(next_block * BLOCK, num_samples)
            if bar is not None:
                bar.update(new_done - done)
            done = new_done
            nonfinite += np.asarray(bad, np.int64)
            state = EngineState(names, next_block, done, np.asarray(hi), np.asarray(lo), np.asarray(m2), nonfinite.copy())
            if nonfinite.any():
                which = [n for n, c in zip(names, nonfinite) if c]
                raise FloatingPointError(f"per-realisation function returned NaN/inf for {which}")
            if checkpoint is not None:
                checkpoint(state)
            if (target_rel_error is not None or min_events is not None) and done >= min_samples:
                est = finalize(state, probabilities=probabilities, confidence=confidence, ci_method=ci_method)
                if _should_stop(est, target_rel_error, min_events, stop_on):
                    break
    finally:
        if bar is not None:
            bar.close()
    return finalize(state, probabilities=probabilities, confidence=confidence, ci_method=ci_method)


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

"""Scenario definitions and the sweep runner used by the CLI and notebooks.

A scenario is a frozen :class:`Scenario`: validated parameters (names follow
MODELS.md symbols), a default sweep, and a ``point`` function that computes
every series at one parameter set through :class:`RunContext`. Scenarios live
in their own packages and are found through the ``irsjax.scenarios``
entry-point group, so the core never imports them.

>>> from irsjax.scenario import Param
>>> Param("K", 32, kind=int, minimum=1).coerce("64")
64
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import jax

from irsjax import montecarlo
from irsjax.config import merge_dynamic, split_dynamic
from irsjax.montecarlo import Estimate, EngineState
from irsjax.params import Param, ParameterError, find_param, parse_values, resolve  # noqa: F401 (re-exported)


PRNG_IMPLS = ("threefry", "rbg", "unsafe_rbg")
"""Selectable PRNGs. ``threefry`` (default): counter-based, identical numbers on every backend,
device count and batch size. ``rbg``: faster on GPU/TPU (hardware RNG bits, threefry for key
derivation), same reproducibility guarantees on one backend and jax version, but different numbers from
threefry and possibly across backends/jax versions. ``unsafe_rbg``: fastest; key derivation (split/fold_in)
has no quality guarantees either, so use it for throughput tests, not for published curves."""


@dataclass(frozen=True)
class Panel:
    """A figure panel: y-axis label and scale."""

    ylabel: str
    yscale: str = "linear"


@dataclass(frozen=True)
class Series:
    """A curve: label (results.json key), panel, and whether it is analytical.

    ``bounds = (low, high)`` declares the range of the quantity (a probability: ``(0, 1)``); its
    confidence intervals are clipped to it (a normal-theory interval of a mean near 1 may exceed 1).
    Default ``None``: ``(0, 1)`` when the series shares its panel with binomial-probability series
    (the panel's axis is a probability), unbounded otherwise.
    """

    label: str
    panel: str
    analytical: bool = False
    description: str = ""
    bounds: tuple | None = None


@dataclass
class PointResult:
    """What a scenario's ``point`` returns: series values and per-point extras."""

    values: dict  # label -> Estimate | float
    extras: dict = field(default_factory=dict)  # name -> float (diagnostics, e.g. variance reduction)


@dataclass(frozen=True)
class Scenario:
    """A paper scenario: parameters, sweep, series and the per-point computation.

    ``point(ctx, params) -> PointResult``; ``derive(params, x_name, xs, series)``
    (optional) returns extra results (slopes, crossings) from the finished sweep; a ``derive`` that takes a
    keyword ``paired`` also gets ``derived["paired_differences"]`` of a shared-draw sweep (None otherwise),
    so its significance checks can use the paired differences' standard errors.
    ``presets`` maps a preset name to parameter overrides (e.g. a paper figure).

    ``shared_draws`` names the parameters whose sweep points may be evaluated in one Monte Carlo
    pass over the same draws: those that do not change the law of the channels (powers, noise,
    target rates, thresholds) and index parameters (an iteration or user index whose points all make
    the same ``ctx.estimate`` call and pick one entry of a shaped statistic). For them the runner
    gathers the points' ``ctx.estimate`` calls, evaluates them together (one pass; identical calls
    once) and hands every point its own estimates. A point function must therefore be a
    deterministic function of its parameters up to each ``ctx.estimate`` call.

    ``headline`` names the series a stopping rule (``--target-rel-error``) applies to unless the
    user chooses others (``--stop-on``); default: the first Monte Carlo (non-analytical) series.
    """

    name: str
    description: str
    params: tuple
    sweep: str
    sweep_values: tuple
    series: tuple
    panels: Mapping[str, Panel]
    point: Callable[["RunContext", dict], PointResult]
    default_samples: int = 100_000
    derive: Callable | None = None
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    x_label: str | None = None
    x_scale: str = "linear"
    shared_draws: tuple = ()
    headline: str | None = None

    def param(self, name: str) -> Param:
        return find_param(self.params, name, self.name)

    def headline_label(self) -> str | None:
        """The series a stopping rule applies to by default: ``headline``, else the first Monte Carlo series."""
        if self.headline is not None:
            return self.headline
        return next((s.label for s in self.series if not s.analytical), None)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def help_text(self) -> str:
        lines = [f"{self.name}: {self.description}", "", "parameters (--set NAME=VALUE):"]
        lines += [f"  {p.describe()}" for p in self.params]
        sw = [p.name for p in self.params if p.sweepable]
        lines += ["", f"sweep (--set sweep=NAME): one of {', '.join(sw)}; default {self.sweep} = "
                  f"{', '.join(map(str, self.sweep_values))}",
                  "  values: --set NAME=v1,v2,... or --set NAME=start:stop:step (stop included)"]
        if self.presets:
            lines += ["", "presets (--set preset=NAME):"]
            lines += [f"  {k}: {', '.join(f'{a}={b}' for a, b in v.items())}" for k, v in self.presets.items()]
        lines += ["", "series: " + ", ".join(s.label for s in self.series)]
        return "\n".join(lines)


class _Deferred(Exception):
    """Raised inside a point function by a recording :class:`RunContext` (shared-draw sweeps)."""


class EstimateRequest:
    """One ``ctx.estimate`` call of a point, recorded for a shared-draw pass."""

    def __init__(self, fn, args, key, samples, kwargs):
        self.fn, self.args, self.key, self.samples, self.kwargs = fn, tuple(args), key, int(samples), kwargs
        self.leaves, self.static = split_dynamic((fn, self.args))

    def group_key(self):
        kd = np.asarray(jax.random.key_data(self.key)).tobytes()
        kw = tuple(sorted((k, _freeze(v)) for k, v in self.kwargs.items()))
        return (self.static, kd, str(self.key.dtype), self.samples, kw)


def _freeze(v):
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    return v


class SweepProgress:
    """Progress hooks of :func:`run_sweep` (this base class ignores them; the command line draws an
    overall bar or prints a line every few seconds). ``engine_*`` bracket one Monte Carlo pass (one
    ``ctx.estimate`` call of a point, or of every point of a shared-draw sweep at once)."""

    def start(self, *, points: int, resumed: int, sweep_name: str):
        """The sweep begins: ``points`` in all, ``resumed`` of them finished by an earlier (interrupted) run."""

    def engine_start(self, *, label: str, samples: int, done: int, points: int):
        """A pass over ``points`` sweep points begins (``done`` samples resumed from a checkpoint)."""

    def engine_update(self, done: int, total: int, expected: int | None = None):
        """``done`` of the pass's ``total`` samples are finished (after every batch); ``expected``: with a
        stopping rule, the samples the pass will likely need (projected from the relative errors so far)."""

    def engine_end(self):
        """The pass is finished (or stopped early, or failed)."""

    def point_done(self, index: int, x, elapsed: float, resumed: bool):
        """Point ``index`` (value ``x``) is finished; ``resumed``: it was finished by an earlier run."""

    def warn(self, message: str):
        """A warning (also stored in ``results["warnings"]``)."""


class InsufficientMemoryError(ParameterError):
    """A configuration that does not fit in memory (refused before it runs)."""


class _Tagged(Estimate):
    """A stand-in estimate that remembers which engine statistic it stands for (see :func:`_probe_point`)."""

    def at(self, index):
        r = _Tagged(*Estimate.at(self, index))
        r.tag = self.tag
        return r


class _Run:
    """What the points of one :func:`run_sweep` share: checkpoints, progress, the stopping rule's plan and
    log, and the memory checks (once per program structure)."""

    def __init__(self, *, store=None, reporter=None, engine_progress=False, target_rel_error=None, min_events=None,
                 stop_plan=None, labels_of=None, memory_check=True, memory_hint=""):
        self.store, self.reporter, self.engine_progress = store, reporter or SweepProgress(), engine_progress
        self.target_rel_error, self.min_events = target_rel_error, min_events
        self.stop_plan = stop_plan  # {call index: statistic names} or None (every statistic)
        self.labels_of = labels_of or {}  # {(call index, statistic): [series labels]}
        self.memory_check, self.memory_hint = memory_check, memory_hint
        self._checked = set()
        self.log = []  # one record per (pass, stopping statistic) that did not reach the rule

    @property
    def rule(self) -> bool:
        return self.target_rel_error is not None or self.min_events is not None

    def check_memory(self, fn, args, key, kw, points):
        if not self.memory_check:
            return
        leaves, static = split_dynamic((fn, tuple(args)))
        devices = kw.get("devices")
        if devices is not None and not isinstance(devices, (int, np.integer)):  # a sequence of devices
            devices = tuple(str(d) for d in devices)
        ck = (static, tuple((np.shape(v), np.result_type(v).str) for v in leaves), devices)
        if ck in self._checked:
            return
        self._checked.add(ck)
        m = montecarlo.memory_estimate(fn, key, args=args, batch_size=kw.get("batch_size"), devices=kw.get("devices"),
                                      log_space=kw.get("log_space"))
        if m.fits:
            return
        fmt = montecarlo.format_bytes
        what = f"{m.realisations:,} realisations" + (f" x {points} sweep points" if points > 1 else "")
        fixes = [f"lower the sizes ({self.memory_hint})" if self.memory_hint else "lower the sizes"]
        if points > 1:
            fixes.append("sweep fewer points at once (a shared-draw pass holds every point)")
        if m.realisations > montecarlo.BLOCK:
            fixes.append(f"set IRSJAX_CHUNK_BLOCKS below {m.realisations // montecarlo.BLOCK}")
        raise InsufficientMemoryError(
            f"not enough memory: one engine step ({what}) needs about {fmt(m.bytes)} per device ({m.method}) but "
            f"{fmt(m.available)} is available on {m.device}; {' or '.join(fixes)} (--batch-size does not lower "
            f"it: memory is bounded per engine step; IRSJAX_MEMORY_LIMIT overrides the available memory)")

    def engine(self, fn, key, samples, *, args=(), tag, label, call, xs=None, x=None, kw,
               serves: int | None = None) -> montecarlo.Estimates:
        """One Monte Carlo pass: memory check, resume, checkpoints, progress, stopping log. ``xs``: the sweep
        values along the statistics' leading point axis (a shared-draw pass); else ``x``: the point's value
        (None: every point). ``serves``: the sweep points this pass answers, for the progress display (default:
        ``len(xs)``, or 1; e.g. one pass that serves every point of an iteration-index axis)."""
        store, rep = self.store, self.reporter
        points = 1 if xs is None else len(xs)
        self.check_memory(fn, args, key, kw, points)
        resume = store.engine_state(tag) if store is not None else None

        def checkpoint(st):
            if store is not None:
                store.save_engine_state(tag, st)
            rep.engine_update(st.num_samples, samples, expected=self.expected_samples(st, kw, samples))

        rep.engine_start(label=label, samples=samples, done=resume.num_samples if resume is not None else 0,
                         points=points if serves is None else int(serves))
        try:
            est = montecarlo.estimate(fn, key, samples, args=args, resume=resume, checkpoint=checkpoint,
                                      progress=(label if self.engine_progress else False), **kw)
        finally:
            rep.engine_end()
        if self.rule:
            self._log_stopping(est, kw, samples, call, xs, x)
        return est

    def expected_samples(self, state, kw, samples):
        """With ``--target-rel-error``: the samples the pass will likely need, ``n (r / E)^2`` for the worst
        relative error ``r`` among the stopping statistics after ``n`` samples (at most ``samples``; None
        without the rule or while a statistic has no events)."""
        target = kw.get("target_rel_error")
        n = state.num_samples
        if target is None or n <= 0:
            return None
        est = montecarlo.finalize(state, probabilities=kw.get("probabilities", ()))
        names = kw.get("stop_on") or [k for k in est if not k.endswith("@diff")]
        worst = 0.0
        for name in names:
            if name in est:
                with np.errstate(invalid="ignore"):
                    r = np.asarray(montecarlo.relative_error(est[name]), float)
                worst = max(worst, float(np.max(np.where(np.isnan(r), np.inf, r), initial=0.0)))
        if not math.isfinite(worst):
            return None
        return int(min(samples, max(n, math.ceil(n * (worst / target) ** 2))))

    def _log_stopping(self, est, kw, samples, call, xs, x_single):
        names = kw.get("stop_on") or [n for n in est if not n.endswith("@diff")]
        st = montecarlo.stopping_status(est, target_rel_error=kw.get("target_rel_error"),
                                        min_events=kw.get("min_events"), stop_on=names, num_samples=samples)
        for name, s in st.items():
            e = est[name]
            rel = montecarlo.relative_error(e)
            ev = np.asarray(e.events, float)
            pts = [x_single] if xs is None else list(xs)
            for j, x in enumerate(pts):
                sel = (lambda a: a) if xs is None else (lambda a, j=j: a[j])
                reached, unreach = np.asarray(sel(s["reached"])), np.asarray(sel(s["unreachable"]))
                if bool(np.all(reached)):
                    continue
                r = sel(rel)
                worst = float(np.max(np.where(np.isfinite(r), r, np.inf)))
                rec = {"statistic": name, "series": list(self.labels_of.get((call, name), [])), "call": call,
                       "x": x, "num_samples": int(e.num_samples), "rel_error": worst if math.isfinite(worst) else None,
                       "status": "no events" if bool(np.any(unreach)) else "not reached",
                       "entries_not_reached": int(np.sum(~reached))}
                if e.kind == "probability":
                    rec["events"] = float(np.min(sel(ev)))
                self.log.append(rec)


class RunContext:
    """Handed to a scenario's ``point``: the key, sample budget and engine wiring.

    ``ctx.estimate(fn, args=..., probabilities=...)`` runs the Monte Carlo engine
    with the run's key, sample count, batch size, progress display and
    checkpointing (so an interrupted point resumes from its last batch). In a
    shared-draw sweep the call is recorded and answered from one pass over all
    points (see :attr:`Scenario.shared_draws`).
    """

    def __init__(self, *, key, samples, batch_size=None, progress=False, store=None, point_id="",
                 target_rel_error=None, min_events=None, devices=None, replay=None, record=False, memo=None,
                 run=None, x=None, probe=False):
        self.key = key
        self._memo = {} if memo is None else memo
        self.samples = int(samples)
        self.batch_size = batch_size
        self.progress = progress
        self.store = store
        self.point_id = point_id
        self.target_rel_error = target_rel_error
        self.min_events = min_events
        self.devices = devices
        self._calls = 0
        self._replay = replay
        self._record = record
        self._run = run
        self._x = x
        self._probe = probe
        self.request = None
        self.probed = {}  # probe mode: {call index: statistic names}

    def once(self, tag, compute: Callable):
        """``compute()`` evaluated once per run and shared by every point that asks with the same ``tag``
        (e.g. a diagnostic of one realisation that does not depend on the swept value)."""
        if tag not in self._memo:
            self._memo[tag] = compute()
        return self._memo[tag]

    def _engine_kwargs(self, probabilities, batch_size, kwargs, call=0):
        kwargs = dict(kwargs)
        kwargs.setdefault("target_rel_error", self.target_rel_error)
        kwargs.setdefault("min_events", self.min_events)
        kwargs.setdefault("devices", self.devices)
        kwargs["probabilities"] = tuple(probabilities)
        kwargs["batch_size"] = self.batch_size if self.batch_size is not None else batch_size
        run = self._run
        if run is not None and run.stop_plan is not None and "stop_on" not in kwargs and (
                kwargs["target_rel_error"] is not None or kwargs["min_events"] is not None):
            names = run.stop_plan.get(call)
            if names:
                kwargs["stop_on"] = tuple(names)
        return kwargs

    def _stand_ins(self, call, fn, args, key, kw):
        """Probe mode: estimates of the right names and shapes that remember their statistic."""
        args = tuple(jax.tree_util.tree_map(lambda a: jax.numpy.asarray(a) if isinstance(a, (int, float, complex))
                                            and not isinstance(a, bool) else a, a) for a in args)
        leaves, static = split_dynamic((fn, args))
        shapes = montecarlo._statistic_shapes(fn, args, static, leaves, key)
        self.probed[call] = tuple(sorted(shapes))
        out = montecarlo.Estimates()
        n = self.samples
        for name, sh in shapes.items():
            def full(v, sh=sh):
                return float(v) if sh == () else np.full(sh, float(v))

            prob = name in kw["probabilities"]
            e = _Tagged(full(0.5), full(0.05), full(0.4), full(0.6), n, full(0.25),
                        "probability" if prob else "mean", full(0.5 * n) if prob else float("nan"))
            e.tag = (call, name)
            out[name] = e
        return out

    def estimate(self, fn, *, args=(), probabilities=(), samples=None, key=None, batch_size=None,
                 **kwargs) -> montecarlo.Estimates:
        """Run the engine; a scenario's preferred ``batch_size`` applies unless the user gave ``--batch-size``."""
        call = self._calls
        self._calls += 1
        if self._replay is not None and call < len(self._replay):
            return self._replay[call]
        kw = self._engine_kwargs(probabilities, batch_size, kwargs, call)
        key = self.key if key is None else key
        samples = self.samples if samples is None else samples
        if self._probe:
            return self._stand_ins(call, fn, args, key, kw)
        if self._record:
            self.request = EstimateRequest(fn, args, key, samples, kw)
            raise _Deferred
        tag = f"{self.point_id}#{call}"
        if self._run is not None:
            return self._run.engine(fn, key, samples, args=args, tag=tag, label=self.point_id, call=call,
                                    x=self._x, kw=kw)
        resume = self.store.engine_state(tag) if self.store is not None else None
        checkpoint = (lambda st: self.store.save_engine_state(tag, st)) if self.store is not None else None
        return montecarlo.estimate(fn, key, samples, args=args,
                                   progress=(f"{self.point_id}" if self.progress else False),
                                   resume=resume, checkpoint=checkpoint, **kw)


# --------------------------------------------------------------------------- shared-draw passes
def _leaf_key(v):
    a = np.asarray(v)
    return (type(v).__name__, a.dtype.str, a.shape, a.tobytes())


def _weak(x):
    """``x`` as a weakly typed array (how JAX passes a Python float), so promotion is unchanged."""
    try:
        from jax._src.lax.lax import _convert_element_type

        return _convert_element_type(x, x.dtype, weak_type=True)
    except Exception:  # noqa: BLE001 - private API moved: strong typing only matters for mixed dtypes
        return x


class _PointStack:
    """The points of a shared-draw pass as one per-realisation function.

    Leaves equal at every point stay shared (unbatched: computations that depend only on them and
    on the key, e.g. the channel draws, run once); differing leaves are stacked along a leading
    point axis and the points' functions are ``vmap``-ed over it. Statistics gain that leading axis;
    ``name@diff`` holds the paired differences between consecutive points (same draws).
    """

    def __init__(self, static, diff_idx, weak, shared, stacked, diffs):
        self.static, self.diff_idx, self.weak, self.diffs = static, diff_idx, weak, diffs
        self.shared, self.stacked = shared, stacked

    def __call__(self, key):
        def one(stk):
            stk = [_weak(v) if w else v for v, w in zip(stk, self.weak)]
            it_s, it_d = iter(self.shared), iter(stk)
            leaves = [next(it_d) if i in self.diff_idx else next(it_s) for i in range(len(self.shared) + len(stk))]
            fn, args = merge_dynamic(leaves, self.static)
            return fn(key, *args)

        out = dict(jax.vmap(one)(list(self.stacked)))
        for k in self.diffs:
            out[k + "@diff"] = out[k][1:] - out[k][:-1]
        return out


jax.tree_util.register_pytree_node(
    _PointStack,
    lambda p: ((p.shared, p.stacked), (p.static, p.diff_idx, p.weak, p.diffs)),
    lambda aux, ch: _PointStack(aux[0], aux[1], aux[2], ch[0], ch[1], aux[3]),
)


def _split_point_estimates(est, num_points):
    """``Estimates`` with a leading point axis -> one ``Estimates`` per point, plus the paired differences."""
    per = [montecarlo.Estimates() for _ in range(num_points)]
    diffs = {}
    for name, e in est.items():
        if name.endswith("@diff"):
            diffs[name[:-5]] = e
            continue
        for i in range(num_points):
            per[i][name] = e.at(i)
    for p in per:
        p.state = est.state
    return per, diffs


def _run_shared(requests: dict, run: _Run, tag: str, xs: dict, call: int):
    """Evaluate the recorded requests ``{point index: EstimateRequest}`` of one round; returns
    ``({point index: Estimates}, paired differences by group)``. ``xs``: the sweep value of each point."""
    groups: dict = {}
    for i, rq in requests.items():
        groups.setdefault(rq.group_key(), []).append(i)
    answers, paired = {}, []
    for g, idx in enumerate(groups.values()):
        rqs = [requests[i] for i in idx]
        first = rqs[0]
        keys = [[_leaf_key(v) for v in rq.leaves] for rq in rqs]
        diff_idx = tuple(j for j in range(len(first.leaves)) if len({k[j] for k in keys}) > 1)
        kw = dict(first.kwargs)
        gtag = f"{tag}/{g}"
        label = f"{len(idx)} points, shared draws" if len(idx) > 1 else f"{xs[idx[0]]}"
        if not diff_idx:  # identical calls (e.g. an iteration-index axis): one run serves every point
            est = run.engine(first.fn, first.key, first.samples, args=first.args, tag=gtag, label=label, call=call,
                             xs=None, kw=kw, serves=len(idx))
            for i in idx:
                answers[i] = est
            continue
        shared = [v for j, v in enumerate(first.leaves) if j not in diff_idx]
        weak = tuple(isinstance(first.leaves[j], float) for j in diff_idx)
        stacked = [np.stack([np.asarray(rq.leaves[j]) for rq in rqs]) for j in diff_idx]
        kw.setdefault("log_space", None)
        if kw["log_space"] is None:  # the points' own declaration of their log-space outputs
            out_names = montecarlo._statistic_shapes(first.fn, first.args, first.static, first.leaves, first.key)
            kw["log_space"] = tuple(n for n in getattr(first.fn, "LOG_SPACE", ()) if n in out_names)
        # paired differences of plain statistics (a log-space statistic's differences are not a mean)
        diffs = tuple(sorted(set(montecarlo._statistic_shapes(first.fn, first.args, first.static, first.leaves,
                                                              first.key)) - set(kw["log_space"])))
        fn = _PointStack(first.static, diff_idx, weak, shared, stacked, diffs if len(idx) > 1 else ())
        stop_on = kw.pop("stop_on", None)
        names = None
        if kw.get("target_rel_error") is not None or kw.get("min_events") is not None:
            names = stop_on or list(montecarlo._statistic_shapes(first.fn, first.args, first.static, first.leaves,
                                                                 first.key))
        est = run.engine(fn, first.key, first.samples, tag=gtag, label=label, call=call, xs=[xs[i] for i in idx],
                         kw={**kw, "stop_on": names})
        per, diffs = _split_point_estimates(est, len(idx))
        for i, e in zip(idx, per):
            answers[i] = e
        paired.append((idx, diffs))
    return answers, paired


class PartialStore:
    """Resume state of a run in ``DIR/.irsjax-partial.json``: finished points and engine states.

    Written atomically after every batch (at most every ``interval`` seconds) and
    after every finished point; removed when the run completes.
    """

    FILE = ".irsjax-partial.json"
    written = False  # (class defaults: a subclass that sets up its own state still writes correctly)
    _prepare = None

    def __init__(self, out_dir: str, signature: str, interval: float = 2.0, prepare: Callable | None = None,
                 load: bool = True):
        """``prepare()`` is called before the first write (e.g. to create the directory only when there is
        something to keep: a run that fails before its first batch leaves nothing behind); ``load=False``
        ignores an existing file (it is replaced at the first write)."""
        self.path = os.path.join(out_dir, self.FILE)
        self.signature = signature
        self.interval = interval
        self._prepare = prepare
        self.written = False
        self._last = 0.0
        self.data = {"signature": signature, "points": {}, "engine": {}}
        if load and os.path.exists(self.path):
            try:
                with open(self.path) as f:
                    d = json.load(f)
                if d.get("signature") == signature:
                    self.data = d
            except (OSError, ValueError):
                pass

    @property
    def resumed_points(self) -> int:
        return len(self.data["points"])

    def point(self, pid):
        return self.data["points"].get(pid)

    def save_point(self, pid, payload):
        self.data["points"][pid] = payload
        self.data["engine"] = {k: v for k, v in self.data["engine"].items() if not k.startswith(pid + "#")}
        self._write()

    def engine_state(self, tag):
        d = self.data["engine"].get(tag)
        return EngineState.from_json(d) if d else None

    def save_engine_state(self, tag, state):
        self.data["engine"][tag] = state.to_json()
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._write()

    def _write(self):
        self._last = time.monotonic()
        if not self.written:
            if self._prepare is not None:
                self._prepare()
            else:
                os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            self.written = True
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)

    def flush(self):
        """Write the latest state now (e.g. on interrupt)."""
        self._write()

    def remove(self):
        for p in (self.path, self.path + ".tmp"):
            if os.path.exists(p):
                os.remove(p)


def _encode_value(v):
    if isinstance(v, Estimate):
        d = {"mean": v.mean, "ci_low": v.ci_low, "ci_high": v.ci_high, "std_err": v.std_err,
             "num_samples": v.num_samples, "kind": v.kind}
        if np.ndim(v.log10_mean) == 0 and not math.isnan(v.log10_mean):  # log-space statistic: exact tails
            d.update(log10_mean=v.log10_mean, log10_ci_low=v.log10_ci_low, log10_ci_high=v.log10_ci_high)
        return d
    return {"mean": float(v)}


def signature_of(scenario_name, params, sweep_name, values, seed, samples, extra=()) -> str:
    blob = json.dumps([scenario_name, params, sweep_name, values, seed, samples, list(extra)], sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _encode_point(scenario, res, elapsed):
    missing = [s.label for s in scenario.series if s.label not in res.values]
    if missing:
        raise RuntimeError(f"scenario '{scenario.name}' did not compute series {missing}")
    return {"values": {k: _encode_value(v) for k, v in res.values.items()},
            "extras": {k: float(v) for k, v in res.extras.items()}, "elapsed_s": float(elapsed)}


def _shared_pass(scenario, points: dict, ctx_kw: dict, run: _Run, sweep_name):
    """Evaluate the points ``{index: params}`` with shared draws: rounds of recorded ``ctx.estimate`` calls,
    each round answered by one engine pass per group of compatible calls."""
    replays = {i: [] for i in points}
    pending, results, paired = dict(points), {}, []
    xs = {i: p[sweep_name] for i, p in points.items()}
    t0 = time.perf_counter()
    rnd = 0
    while pending:
        requests = {}
        for i, p in list(pending.items()):
            ctx = RunContext(**ctx_kw, point_id=f"{sweep_name}={p[sweep_name]}", replay=replays[i], record=True)
            try:
                results[i] = scenario.point(ctx, p)
            except _Deferred:
                requests[i] = ctx.request
            else:
                del pending[i]
        if not requests:
            break
        answers, pr = _run_shared(requests, run, f"shared#{rnd}", xs, rnd)
        for i, est in answers.items():
            replays[i].append(est)
        paired += [(rnd, idx, d) for idx, d in pr]
        rnd += 1
    elapsed = (time.perf_counter() - t0) / max(len(points), 1)
    return {i: _encode_point(scenario, r, elapsed) for i, r in results.items()}, paired


def _probe_point(scenario, params: dict, ctx_kw: dict):
    """Run a point's function on stand-in estimates (no Monte Carlo): which engine statistic each series
    label passes through, and the statistics of every ``ctx.estimate`` call.

    Returns ``({label: (call index, statistic)}, {call index: statistic names})``.
    """
    ctx = RunContext(**{k: v for k, v in ctx_kw.items() if k != "run"}, point_id="probe", probe=True)
    res = scenario.point(ctx, params)
    labels = {}
    for label, v in res.values.items():
        tag = getattr(v, "tag", None)
        if tag is not None:
            labels[label] = tag
    return labels, dict(ctx.probed)


def _stop_plan(scenario: Scenario, names, labels: dict, calls: dict):
    """``--stop-on`` names (series labels or engine statistics) -> ``({call: statistics}, {(call, stat): labels})``."""
    plan: dict = {}
    labels_of: dict = {}
    series = {s.label: s for s in scenario.series}
    all_stats = sorted({n for st in calls.values() for n in st})
    for name in names:
        if name in labels:
            hits = [labels[name]]
        else:
            hits = [(c, name) for c, st in calls.items() if name in st]
        if not hits:
            if name in series and series[name].analytical:
                raise ParameterError(f"--stop-on: series '{name}' is analytical (it has no Monte Carlo error to "
                                     f"stop on)")
            if name in series:
                raise ParameterError(f"--stop-on: series '{name}' is not an engine statistic passed through by the "
                                     f"scenario; name engine statistics instead ({', '.join(all_stats)})")
            from irsjax.params import did_you_mean

            mc = [s.label for s in scenario.series if not s.analytical]
            raise ParameterError(f"--stop-on: unknown name '{name}'{did_you_mean(name, mc + all_stats)} "
                                 f"(series: {', '.join(mc)}; engine statistics: {', '.join(all_stats)})")
        for c, stat in hits:
            if stat not in plan.setdefault(c, []):
                plan[c].append(stat)
            if name in series:
                labels_of.setdefault((c, stat), []).append(name)
    for (c, stat), labs in list(labels_of.items()):  # every label passing the statistic through, for the report
        labels_of[(c, stat)] = sorted(set(labs) | {lab for lab, t in labels.items() if t == (c, stat)})
    for c in plan:
        for stat in plan[c]:
            labels_of.setdefault((c, stat), sorted(lab for lab, t in labels.items() if t == (c, stat)))
    return {c: tuple(v) for c, v in plan.items()}, labels_of


def _stopping_summary(run: _Run, stop_on, resolved, target_rel_error, min_events, samples, sweep_name):
    """``results["stopping"]`` and the warnings of a run with a stopping rule."""
    log = list(run.log)
    unreached = [r for r in log if r["status"] != "reached"]
    warnings = []
    by_stat: dict = {}
    for r in unreached:
        by_stat.setdefault((r["statistic"], r["status"], tuple(r["series"])), []).append(r)
    for (stat, status, labs), recs in by_stat.items():
        what = f"{'/'.join(labs)} (statistic {stat})" if labs else f"statistic {stat}"
        xs = [r["x"] for r in recs if r["x"] is not None]
        where = f" at {sweep_name} = {', '.join(map(str, xs))}" if xs else ""
        rule = (f"--target-rel-error {target_rel_error:g}" if target_rel_error is not None else
                f"min_events {min_events}")
        n = max(r["num_samples"] for r in recs)
        if status == "no events":
            warnings.append(f"{rule} cannot be reached for {what}{where}: no events in {n:,} samples, so it stopped "
                            f"there (the target is out of reach within --samples {samples:,} even at the 95% upper "
                            f"bound of the event rate)")
        else:
            rel = [r["rel_error"] for r in recs if r["rel_error"] is not None]
            worst = f"relative error {max(rel):.3g}" if rel else "relative error inf"
            warnings.append(f"{rule} not reached for {what}{where}: {worst} after --samples {samples:,}")
    return {"target_rel_error": target_rel_error, "min_events": min_events,
            "stop_on": list(stop_on) if stop_on else [],
            "statistics": resolved, "reached": not unreached, "unreached": unreached}, warnings


def _encode_paired(paired, values):
    out = []
    for rnd, idx, diffs in paired:
        xs = [values[i] for i in idx]
        out.append({"call": rnd, "between": [[a, b] for a, b in zip(xs[:-1], xs[1:])],
                    "statistics": {k: {"mean": np.atleast_1d(e.mean).tolist(),
                                       "ci_low": np.atleast_1d(e.ci_low).tolist(),
                                       "ci_high": np.atleast_1d(e.ci_high).tolist(),
                                       "std_err": np.atleast_1d(e.std_err).tolist()}
                                   for k, e in diffs.items()}})
    return out


def _clip_bounded(scenario: Scenario, series: dict):
    """Clip the CIs of bounded series (:attr:`Series.bounds`, or a panel of probabilities) to their range."""
    prob_panels = {s.panel for s in scenario.series if series[s.label].get("kind") == "probability"}
    for s in scenario.series:
        b = s.bounds if s.bounds is not None else ((0.0, 1.0) if s.panel in prob_panels else None)
        d = series[s.label]
        if b is None or s.analytical:
            continue
        lo, hi = float(b[0]), float(b[1])
        log_lo = math.log10(lo) if lo > 0 else -math.inf
        log_hi = math.log10(hi) if hi > 0 else -math.inf
        for k, a, z in (("ci_low", lo, hi), ("ci_high", lo, hi), ("log10_ci_low", log_lo, log_hi),
                        ("log10_ci_high", log_lo, log_hi)):
            if k in d:
                d[k] = [None if v is None else (min(max(v, a), z) if np.ndim(v) == 0 else
                                                np.clip(np.asarray(v, float), a, z).tolist()) for v in d[k]]


def run_sweep(scenario: Scenario, params: dict, sweep_name: str, values: Sequence, *, seed: int = 0,
              samples: int | None = None, batch_size: int | None = None, progress: bool | SweepProgress = False,
              store: PartialStore | None = None, target_rel_error=None, min_events=None,
              on_point: Callable | None = None, prng: str = "threefry", devices: int | None = None,
              shared_draws: bool = True, stop_on: Sequence[str] | None = None, memory_check: bool = True) -> dict:
    """Run a scenario over a sweep; returns the results dictionary (results.json contract).

    With ``shared_draws`` (default) and a sweep over one of ``scenario.shared_draws``, every point is
    evaluated in one Monte Carlo pass over the same draws (``results["shared_draws"]`` says so, and
    ``derived["paired_differences"]`` holds the differences between consecutive points with their
    CIs); otherwise point by point (same key at every point: common random numbers either way).

    Stopping rule: with ``target_rel_error`` (or ``min_events``) each Monte Carlo pass stops once the
    statistics named by ``stop_on`` (series labels or engine statistic names; default the scenario's
    headline series, :meth:`Scenario.headline_label`) reach it at every point of the pass, or cannot reach
    it within ``samples`` (no event so far: see :func:`irsjax.montecarlo.stopping_status`). In a
    shared-draw pass the rule therefore applies jointly to all points. Passes that compute none of the
    chosen statistics apply the rule to all of theirs. ``results["stopping"]`` reports what was not
    reached, and ``results["warnings"]`` says so in words.

    ``progress``: ``True`` shows the engine's bar per pass; a :class:`SweepProgress` gets the hooks instead.
    ``memory_check``: refuse (:class:`InsufficientMemoryError`) a pass whose estimated memory per device
    (:func:`irsjax.montecarlo.memory_estimate`) exceeds the available memory, before it runs.
    ``on_point(i, x, payload)`` is called for every point in order; ``payload["resumed"]`` is True for
    points finished by an earlier, interrupted run.
    """
    samples = int(samples if samples is not None else scenario.default_samples)
    if samples <= 0:
        raise ParameterError(f"--samples must be a positive integer, got {samples}")
    if prng not in PRNG_IMPLS:
        raise ParameterError(f"prng must be one of {list(PRNG_IMPLS)}, got {prng!r}")
    key = jax.random.key(int(seed), impl={"threefry": "threefry2x32"}.get(prng, prng))
    t0 = time.perf_counter()
    series: dict[str, dict] = {s.label: {"mean": []} for s in scenario.series}
    extras: dict[str, list] = {}
    reporter = progress if hasattr(progress, "engine_start") else None  # a SweepProgress (or duck-typed one)
    sizes = ", ".join(f"{p.name}={params.get(p.name)}" for p in scenario.params
                      if p.kind is int and p.name != sweep_name)
    if any(p.name == sweep_name and p.kind is int for p in scenario.params):
        sizes = ", ".join(filter(None, [sizes, f"{sweep_name} up to {max(values)}"]))
    run = _Run(store=store, reporter=reporter, engine_progress=(progress is True), target_rel_error=target_rel_error,
               min_events=min_events, memory_check=memory_check, memory_hint=sizes)
    if store is not None:
        run.log = store.data.setdefault("stopping", [])
    ctx_kw = dict(key=key, samples=samples, batch_size=batch_size, progress=False, store=store,
                  target_rel_error=target_rel_error, min_events=min_events, devices=devices, memo={}, run=run)
    pids = [f"{sweep_name}={x}" for x in values]
    cache = {i: (store.point(pid) if store is not None else None) for i, pid in enumerate(pids)}
    resumed = {i for i, c in cache.items() if c is not None}
    use_shared = bool(shared_draws) and sweep_name in scenario.shared_draws and len(values) > 1
    resolved = []
    if run.rule:
        names = list(stop_on) if stop_on else ([scenario.headline_label()] if scenario.headline_label() else [])
        first = next((i for i in range(len(values)) if cache[i] is None), None)
        if first is not None and names:
            labels, calls = _probe_point(scenario, {**params, sweep_name: values[first]}, ctx_kw)
            try:
                run.stop_plan, run.labels_of = _stop_plan(scenario, names, labels, calls)
            except ParameterError:
                if stop_on:
                    raise
                run.stop_plan = None  # the headline is not an engine statistic: the rule applies to every statistic
            if run.stop_plan is not None:
                resolved = [{"call": c, "statistic": st, "series": run.labels_of.get((c, st), [])}
                            for c, sts in sorted(run.stop_plan.items()) for st in sts]
    if reporter is not None:
        reporter.start(points=len(values), resumed=len(resumed), sweep_name=sweep_name)
    paired = []
    if use_shared:
        todo = {i: {**params, sweep_name: x} for i, x in enumerate(values) if cache[i] is None}
        if todo:
            computed, paired = _shared_pass(scenario, todo, ctx_kw, run, sweep_name)
            if store is not None:
                store.data.setdefault("paired", []).extend(_encode_paired(paired, values))
            for i, enc in computed.items():
                cache[i] = enc
                if store is not None:
                    store.save_point(pids[i], enc)
    for i, x in enumerate(values):
        cached = cache[i]
        if cached is None:
            p = dict(params)
            p[sweep_name] = x
            ctx = RunContext(**ctx_kw, point_id=pids[i], x=x)
            tp = time.perf_counter()
            res = scenario.point(ctx, p)
            cached = _encode_point(scenario, res, time.perf_counter() - tp)
            if store is not None:
                store.save_point(pids[i], cached)
        for s in scenario.series:
            enc = cached["values"][s.label]
            for k, v in enc.items():
                if k == "kind":
                    series[s.label]["kind"] = v
                    continue
                series[s.label].setdefault(k, []).append(v)
        for k, v in cached["extras"].items():  # per_point[k][i] belongs to x[i]: None where point i lacks k
            extras.setdefault(k, [None] * i).append(v)
        for v in extras.values():
            v.extend([None] * (i + 1 - len(v)))
        if reporter is not None:
            reporter.point_done(i, x, cached["elapsed_s"], i in resumed)
        if on_point is not None:
            on_point(i, x, {**cached, "resumed": i in resumed})
    for s in scenario.series:
        series[s.label]["panel"] = s.panel
        series[s.label]["analytical"] = s.analytical
        if s.description:
            series[s.label]["description"] = s.description
    _clip_bounded(scenario, series)
    derived = {}
    if extras:
        derived["per_point"] = extras
    pd = store.data.get("paired") if store is not None else _encode_paired(paired, values)
    if pd:
        derived["paired_differences"] = pd
    if scenario.derive is not None:
        extra = {"paired": pd or None} if "paired" in inspect.signature(scenario.derive).parameters else {}
        derived.update(scenario.derive(params, sweep_name, list(values), series, **extra))
    pmeta = scenario.param(sweep_name)
    all_params = dict(params)
    all_params[sweep_name] = list(values)
    out = {
        "scenario": scenario.name,
        "description": scenario.description,
        "params": all_params,
        "units": {p.name: p.unit for p in scenario.params},
        "seed": int(seed),
        "prng": prng,
        "shared_draws": use_shared,
        "samples": samples,
        "x": {"name": sweep_name, "values": list(values), "unit": pmeta.unit,
              "label": (scenario.x_label if sweep_name == scenario.sweep and scenario.x_label else
                        f"{sweep_name}" + (f" [{pmeta.unit}]" if pmeta.unit else "")),
              "scale": scenario.x_scale if sweep_name == scenario.sweep else "linear"},
        "series": series,
        "panels": {k: dataclasses.asdict(v) for k, v in scenario.panels.items()},
        "derived": derived,
        "meta": {"elapsed_s": time.perf_counter() - t0},
    }
    if run.rule:
        out["stopping"], warnings = _stopping_summary(run, stop_on, resolved, target_rel_error, min_events, samples,
                                                      sweep_name)
        out["warnings"] = warnings
        for w in warnings:
            if reporter is not None:
                reporter.warn(w)
    return out

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


PRNG_IMPLS = ("threefry", "rbg", "unsafe_rbg")
"""Selectable PRNGs. ``threefry`` (default): counter-based, identical numbers on every backend,
device count and batch size. ``rbg``: faster on GPU/TPU (hardware RNG bits, threefry for key
derivation), same reproducibility guarantees on one backend and jax version, but different numbers from
threefry and possibly across backends/jax versions. ``unsafe_rbg``: fastest; key derivation (split/fold_in)
has no quality guarantees either, so use it for throughput tests, not for published curves."""


class ParameterError(ValueError):
    """Bad user input; the message names the culprit and fits on one line."""


@dataclass(frozen=True)
class Param:
    """One scenario parameter: name, default, unit, help, type and bounds."""

    name: str
    default: Any
    unit: str = ""
    help: str = ""
    kind: type = float
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple | None = None
    sweepable: bool = True

    def coerce(self, value: Any) -> Any:
        """Convert (from a string or number) and validate one value."""
        name = self.name
        if self.kind is bool:
            if isinstance(value, bool):
                v = value
            elif str(value).lower() in ("1", "true", "yes", "on"):
                v = True
            elif str(value).lower() in ("0", "false", "no", "off"):
                v = False
            else:
                raise ParameterError(f"parameter '{name}' must be true or false, got {value!r}")
        elif self.kind is int:
            try:
                f = float(value)
            except (TypeError, ValueError):
                raise ParameterError(f"parameter '{name}' must be an integer, got {value!r}") from None
            if not math.isfinite(f) or f != int(f):
                raise ParameterError(f"parameter '{name}' must be an integer, got {value!r}")
            v = int(f)
        elif self.kind is float:
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise ParameterError(f"parameter '{name}' must be a number, got {value!r}") from None
            if not math.isfinite(v):
                raise ParameterError(f"parameter '{name}' must be finite, got {value!r}")
        else:
            v = str(value)
        if self.choices is not None and v not in self.choices:
            raise ParameterError(f"parameter '{name}' must be one of {list(self.choices)}, got {value!r}")
        if self.minimum is not None:
            if self.exclusive_minimum and not v > self.minimum:
                raise ParameterError(f"parameter '{name}' must be > {self.minimum}, got {value!r}")
            if not self.exclusive_minimum and not v >= self.minimum:
                raise ParameterError(f"parameter '{name}' must be >= {self.minimum}, got {value!r}")
        if self.maximum is not None and not v <= self.maximum:
            raise ParameterError(f"parameter '{name}' must be <= {self.maximum}, got {value!r}")
        return v

    def describe(self) -> str:
        unit = f" [{self.unit}]" if self.unit else ""
        extra = f" (one of {', '.join(map(str, self.choices))})" if self.choices else ""
        return f"{self.name}{unit} = {self.default}: {self.help}{extra}"


@dataclass(frozen=True)
class Panel:
    """A figure panel: y-axis label and scale."""

    ylabel: str
    yscale: str = "linear"


@dataclass(frozen=True)
class Series:
    """A curve: label (results.json key), panel, and whether it is analytical."""

    label: str
    panel: str
    analytical: bool = False
    description: str = ""


@dataclass
class PointResult:
    """What a scenario's ``point`` returns: series values and per-point extras."""

    values: dict  # label -> Estimate | float
    extras: dict = field(default_factory=dict)  # name -> float (diagnostics, e.g. variance reduction)


@dataclass(frozen=True)
class Scenario:
    """A paper scenario: parameters, sweep, series and the per-point computation.

    ``point(ctx, params) -> PointResult``; ``derive(params, x_name, xs, series)``
    (optional) returns extra results (slopes, crossings) from the finished sweep.
    ``presets`` maps a preset name to parameter overrides (e.g. a paper figure).

    ``shared_draws`` names the parameters whose sweep points may be evaluated in one Monte Carlo
    pass over the same draws: those that do not change the law of the channels (powers, noise,
    target rates, thresholds) and index parameters (an iteration or user index whose points all make
    the same ``ctx.estimate`` call and pick one entry of a shaped statistic). For them the runner
    gathers the points' ``ctx.estimate`` calls, evaluates them together (one pass; identical calls
    once) and hands every point its own estimates. A point function must therefore be a
    deterministic function of its parameters up to each ``ctx.estimate`` call.
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

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params)
        raise ParameterError(f"unknown parameter '{name}' for scenario '{self.name}' (known: {known})")

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


def parse_values(param: Param, text: str) -> list:
    """``"v1,v2"`` or ``"start:stop:step"`` (stop included) -> coerced values."""
    text = str(text).strip()
    if ":" in text and param.kind in (int, float):
        parts = text.split(":")
        if len(parts) != 3:
            raise ParameterError(f"parameter '{param.name}': range must be start:stop:step, got {text!r}")
        try:
            a, b, s = (float(p) for p in parts)
        except ValueError:
            raise ParameterError(f"parameter '{param.name}': range must be numbers start:stop:step, got {text!r}") from None
        if not all(map(math.isfinite, (a, b, s))) or s == 0 or (b - a) / s < 0:
            raise ParameterError(f"parameter '{param.name}': empty or infinite range {text!r}")
        n = int(math.floor((b - a) / s + 1e-9)) + 1
        if n > 100_000:
            raise ParameterError(f"parameter '{param.name}': range {text!r} has too many points ({n})")
        raw = [a + i * s for i in range(n)]
        return [param.coerce(round(v, 12)) for v in raw]
    items = [t for t in text.split(",")]
    if any(t.strip() == "" for t in items):
        raise ParameterError(f"parameter '{param.name}': empty value in {text!r}")
    return [param.coerce(t.strip()) for t in items]


def resolve(scenario: Scenario, overrides: Mapping[str, str]) -> tuple[dict, str, list]:
    """Validate ``--set`` overrides -> (params, sweep name, sweep values)."""
    overrides = dict(overrides)
    params = scenario.defaults()
    preset = overrides.pop("preset", None)
    if preset is not None:
        if preset not in scenario.presets:
            raise ParameterError(f"unknown preset '{preset}' for scenario '{scenario.name}' "
                                 f"(known: {', '.join(scenario.presets) or 'none'})")
        base = {k: str(v) for k, v in scenario.presets[preset].items()}
        base.update(overrides)
        overrides = base
    sweep_name = overrides.pop("sweep", None)
    multi = {}
    for name, text in overrides.items():
        p = scenario.param(name)
        vals = parse_values(p, text)
        if len(vals) == 1 and name != sweep_name:
            params[name] = vals[0]
        else:
            multi[name] = vals
    if sweep_name is None:
        if len(multi) > 1:
            raise ParameterError(f"several parameters have several values ({', '.join(multi)}); choose one with --set sweep=NAME")
        sweep_name = next(iter(multi)) if multi else scenario.sweep
    p = scenario.param(sweep_name)
    if not p.sweepable:
        raise ParameterError(f"parameter '{sweep_name}' cannot be swept")
    for name in multi:
        if name != sweep_name:
            raise ParameterError(f"parameter '{name}' has several values but the sweep is over '{sweep_name}'")
    if sweep_name in multi:
        values = multi[sweep_name]
    elif sweep_name in overrides:
        values = parse_values(p, overrides[sweep_name])
    elif sweep_name == scenario.sweep:
        values = [p.coerce(v) for v in scenario.sweep_values]
    else:
        values = [params[sweep_name]]
    params[sweep_name] = values[0]
    return params, sweep_name, values


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


class RunContext:
    """Handed to a scenario's ``point``: the key, sample budget and engine wiring.

    ``ctx.estimate(fn, args=..., probabilities=...)`` runs the Monte Carlo engine
    with the run's key, sample count, batch size, progress display and
    checkpointing (so an interrupted point resumes from its last batch). In a
    shared-draw sweep the call is recorded and answered from one pass over all
    points (see :attr:`Scenario.shared_draws`).
    """

    def __init__(self, *, key, samples, batch_size=None, progress=False, store=None, point_id="",
                 target_rel_error=None, min_events=None, devices=None, replay=None, record=False, memo=None):
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
        self.request = None

    def once(self, tag, compute: Callable):
        """``compute()`` evaluated once per run and shared by every point that asks with the same ``tag``
        (e.g. a diagnostic of one realisation that does not depend on the swept value)."""
        if tag not in self._memo:
            self._memo[tag] = compute()
        return self._memo[tag]

    def _engine_kwargs(self, probabilities, batch_size, kwargs):
        kwargs = dict(kwargs)
        kwargs.setdefault("target_rel_error", self.target_rel_error)
        kwargs.setdefault("min_events", self.min_events)
        kwargs.setdefault("devices", self.devices)
        kwargs["probabilities"] = tuple(probabilities)
        kwargs["batch_size"] = self.batch_size if self.batch_size is not None else batch_size
        return kwargs

    def estimate(self, fn, *, args=(), probabilities=(), samples=None, key=None, batch_size=None,
                 **kwargs) -> montecarlo.Estimates:
        """Run the engine; a scenario's preferred ``batch_size`` applies unless the user gave ``--batch-size``."""
        call = self._calls
        self._calls += 1
        if self._replay is not None and call < len(self._replay):
            return self._replay[call]
        kw = self._engine_kwargs(probabilities, batch_size, kwargs)
        key = self.key if key is None else key
        samples = self.samples if samples is None else samples
        if self._record:
            self.request = EstimateRequest(fn, args, key, samples, kw)
            raise _Deferred
        tag = f"{self.point_id}#{call}"
        resume = self.store.engine_state(tag) if self.store is not None else None
        checkpoint = (lambda st: self.store.save_engine_state(tag, st)) if self.store is not None else None
        return montecarlo.estimate(fn, key, samples, args=args, progress=(f"{self.point_id}" if self.progress else False),
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


def _run_shared(requests: dict, ctx_args: dict, tag: str, store, progress_label):
    """Evaluate the recorded requests ``{point index: EstimateRequest}`` of one round; returns
    ``({point index: Estimates}, paired differences by group)``."""
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
        resume = store.engine_state(gtag) if store is not None else None
        checkpoint = (lambda st, t=gtag: store.save_engine_state(t, st)) if store is not None else None
        label = progress_label(len(idx)) if progress_label else False
        if not diff_idx:  # identical calls (e.g. an iteration-index axis): one run serves every point
            est = montecarlo.estimate(first.fn, first.key, first.samples, args=first.args, resume=resume,
                                      checkpoint=checkpoint, progress=label, **kw)
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
        est = montecarlo.estimate(fn, first.key, first.samples, resume=resume, checkpoint=checkpoint,
                                  progress=label, stop_on=names, **kw)
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

    def __init__(self, out_dir: str, signature: str, interval: float = 2.0):
        self.path = os.path.join(out_dir, self.FILE)
        self.signature = signature
        self.interval = interval
        self._last = 0.0
        self.data = {"signature": signature, "points": {}, "engine": {}}
        if os.path.exists(self.path):
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
    blob = json.dumps([scenario_name, params, sweep_name, values, seed, samples, list(extra)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _encode_point(scenario, res, elapsed):
    missing = [s.label for s in scenario.series if s.label not in res.values]
    if missing:
        raise RuntimeError(f"scenario '{scenario.name}' did not compute series {missing}")
    return {"values": {k: _encode_value(v) for k, v in res.values.items()},
            "extras": {k: float(v) for k, v in res.extras.items()}, "elapsed_s": float(elapsed)}


def _shared_pass(scenario, points: dict, ctx_kw: dict, store, progress, sweep_name):
    """Evaluate the points ``{index: params}`` with shared draws: rounds of recorded ``ctx.estimate`` calls,
    each round answered by one engine pass per group of compatible calls."""
    replays = {i: [] for i in points}
    pending, results, paired = dict(points), {}, []
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
        label = (lambda n: f"{sweep_name}: {n} points, shared draws") if progress else None
        answers, pr = _run_shared(requests, ctx_kw, f"shared#{rnd}", store, label)
        for i, est in answers.items():
            replays[i].append(est)
        paired += [(rnd, idx, d) for idx, d in pr]
        rnd += 1
    elapsed = (time.perf_counter() - t0) / max(len(points), 1)
    return {i: _encode_point(scenario, r, elapsed) for i, r in results.items()}, paired


def _encode_paired(paired, values):
    out = []
    for rnd, idx, diffs in paired:
        xs = [values[i] for i in idx]
        out.append({"call": rnd, "between": [[a, b] for a, b in zip(xs[:-1], xs[1:])],
                    "statistics": {k: {"mean": np.atleast_1d(e.mean).tolist(), "ci_low": np.atleast_1d(e.ci_low).tolist(),
                                       "ci_high": np.atleast_1d(e.ci_high).tolist(),
                                       "std_err": np.atleast_1d(e.std_err).tolist()}
                                   for k, e in diffs.items()}})
    return out


def run_sweep(scenario: Scenario, params: dict, sweep_name: str, values: Sequence, *, seed: int = 0,
              samples: int | None = None, batch_size: int | None = None, progress: bool = False,
              store: PartialStore | None = None, target_rel_error=None, min_events=None,
              on_point: Callable | None = None, prng: str = "threefry", devices: int | None = None,
              shared_draws: bool = True) -> dict:
    """Run a scenario over a sweep; returns the results dictionary (results.json contract).

    With ``shared_draws`` (default) and a sweep over one of ``scenario.shared_draws``, every point is
    evaluated in one Monte Carlo pass over the same draws (``results["shared_draws"]`` says so, and
    ``derived["paired_differences"]`` holds the differences between consecutive points with their
    CIs); otherwise point by point (same key at every point: common random numbers either way).
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
    ctx_kw = dict(key=key, samples=samples, batch_size=batch_size, progress=progress, store=store,
                  target_rel_error=target_rel_error, min_events=min_events, devices=devices, memo={})
    pids = [f"{sweep_name}={x}" for x in values]
    cache = {i: (store.point(pid) if store is not None else None) for i, pid in enumerate(pids)}
    use_shared = bool(shared_draws) and sweep_name in scenario.shared_draws and len(values) > 1
    paired = []
    if use_shared:
        todo = {i: {**params, sweep_name: x} for i, x in enumerate(values) if cache[i] is None}
        if todo:
            computed, paired = _shared_pass(scenario, todo, ctx_kw, store, progress, sweep_name)
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
            ctx = RunContext(**ctx_kw, point_id=pids[i])
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
        for k, v in cached["extras"].items():
            extras.setdefault(k, []).append(v)
        if on_point is not None:
            on_point(i, x, cached)
    for s in scenario.series:
        series[s.label]["panel"] = s.panel
        series[s.label]["analytical"] = s.analytical
        if s.description:
            series[s.label]["description"] = s.description
    derived = {}
    if extras:
        derived["per_point"] = extras
    pd = store.data.get("paired") if store is not None else _encode_paired(paired, values)
    if pd:
        derived["paired_differences"] = pd
    if scenario.derive is not None:
        derived.update(scenario.derive(params, sweep_name, list(values), series))
    pmeta = scenario.param(sweep_name)
    all_params = dict(params)
    all_params[sweep_name] = list(values)
    return {
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

"""Scenario parameters and their validation, without JAX.

The command line validates every ``--set`` before it imports JAX (a typo costs a fraction of a
second, not the seconds of a JAX import), so the parameter declarations and the rules that resolve
``--set`` overrides into a parameter set and a sweep live here, importable on their own.
:mod:`irsjax.scenario` re-exports them.

>>> Param("K", 32, kind=int, minimum=1).coerce("64")
64
>>> spec = ScenarioSpec("demo", "a demo", (Param("K", 4, kind=int, minimum=1), Param("P_dBm", 0.0)),
...                     sweep="P_dBm", sweep_values=(0.0, 10.0))
>>> resolve(spec, {"K": "8", "P_dBm": "0:20:10"})
({'K': 8, 'P_dBm': 0.0}, 'P_dBm', [0.0, 10.0, 20.0])
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Mapping


class ParameterError(ValueError):
    """Bad user input; the message names the culprit and fits on one line."""


def did_you_mean(name: str, known) -> str:
    """``" (did you mean 'K'?)"`` for a close match of ``name`` among ``known`` (case-insensitive), else ``""``."""
    known = list(known)
    low = {k.lower(): k for k in known}
    if name.lower() in low and low[name.lower()] != name:
        return f" (did you mean '{low[name.lower()]}'?)"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


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

    # JSON form (the CLI's cache of a scenario's declarations; see ScenarioSpec)
    _KINDS = {"float": float, "int": int, "bool": bool, "str": str}

    def to_json(self) -> dict:
        kind = {float: "float", int: "int", bool: "bool"}.get(self.kind, "str")
        return {"name": self.name, "default": self.default, "unit": self.unit, "help": self.help, "kind": kind,
                "minimum": self.minimum, "maximum": self.maximum, "exclusive_minimum": self.exclusive_minimum,
                "choices": None if self.choices is None else list(self.choices), "sweepable": self.sweepable}

    @classmethod
    def from_json(cls, d: Mapping) -> "Param":
        d = dict(d)
        d["kind"] = cls._KINDS[d["kind"]]
        d["choices"] = None if d["choices"] is None else tuple(d["choices"])
        return cls(**d)


def find_param(params, name: str, scenario_name: str) -> Param:
    """The parameter ``name`` among ``params`` (one-line error naming it and the known ones)."""
    for p in params:
        if p.name == name:
            return p
    names = [p.name for p in params]
    raise ParameterError(f"unknown parameter '{name}' for scenario '{scenario_name}'{did_you_mean(name, names)} "
                         f"(known: {', '.join(names)})")


def parse_values(param: Param, text: str) -> list:
    """``"v1,v2"`` or ``"start:stop:step"`` (stop included) -> coerced values."""
    text = str(text).strip()
    if text == "":
        raise ParameterError(f"parameter '{param.name}': empty value")
    if ":" in text and param.kind in (int, float):
        parts = text.split(":")
        if len(parts) != 3:
            raise ParameterError(f"parameter '{param.name}': range must be start:stop:step, got {text!r}")
        try:
            a, b, s = (float(p) for p in parts)
        except ValueError:
            raise ParameterError(f"parameter '{param.name}': range must be numbers start:stop:step, "
                                 f"got {text!r}") from None
        if not all(map(math.isfinite, (a, b, s))) or s == 0 or (b - a) / s < 0:
            raise ParameterError(f"parameter '{param.name}': empty or infinite range {text!r}")
        q = (b - a) / s + 1e-9
        if not q < 100_000:
            raise ParameterError(f"parameter '{param.name}': range {text!r} has too many points "
                                 f"({q + 1:.3g}; at most 100000)")
        n = int(math.floor(q)) + 1
        raw = [a + i * s for i in range(n)]
        return [param.coerce(round(v, 12)) for v in raw]
    items = [t for t in text.split(",")]
    if any(t.strip() == "" for t in items):
        raise ParameterError(f"parameter '{param.name}': empty value in {text!r}")
    return [param.coerce(t.strip()) for t in items]


def resolve(scenario, overrides: Mapping[str, str]) -> tuple[dict, str, list]:
    """Validate ``--set`` overrides -> (params, sweep name, sweep values).

    ``scenario`` is a :class:`irsjax.scenario.Scenario` or a :class:`ScenarioSpec` (anything with
    ``name``, ``presets``, ``sweep``, ``sweep_values``, ``defaults()`` and ``param(name)``).
    """
    overrides = dict(overrides)
    params = scenario.defaults()
    preset = overrides.pop("preset", None)
    if preset is not None:
        if preset not in scenario.presets:
            known = list(scenario.presets)
            raise ParameterError(f"unknown preset '{preset}' for scenario '{scenario.name}'"
                                 f"{did_you_mean(preset, known)} "
                                 f"(known: {', '.join(known) or 'none'})")
        base = {k: str(v) for k, v in scenario.presets[preset].items()}
        base.update(overrides)
        overrides = base
    sweep_name = overrides.pop("sweep", None)
    if sweep_name is not None and not str(sweep_name).strip():
        raise ParameterError("parameter 'sweep': empty value (give the name of the swept parameter)")
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
            raise ParameterError(f"several parameters have several values ({', '.join(multi)}); "
                                 f"choose one with --set sweep=NAME")
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


@dataclass(frozen=True)
class ScenarioSpec:
    """What the command line needs to know of a scenario to validate a run without importing it:
    parameters, sweep, presets, series labels and defaults (a :class:`irsjax.scenario.Scenario`
    without its code). ``ScenarioSpec.from_scenario(s)`` extracts it; ``to_json``/``from_json``
    store it (the CLI caches it per installed scenario version)."""

    name: str
    description: str
    params: tuple
    sweep: str
    sweep_values: tuple
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    series: tuple = ()  # ((label, analytical), ...)
    default_samples: int = 100_000
    headline: str | None = None
    help: str = ""

    def param(self, name: str) -> Param:
        return find_param(self.params, name, self.name)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    @property
    def labels(self) -> tuple:
        return tuple(label for label, _ in self.series)

    @classmethod
    def from_scenario(cls, s) -> "ScenarioSpec":
        headline = s.headline_label() if hasattr(s, "headline_label") else None
        return cls(s.name, s.description, tuple(s.params), s.sweep, tuple(s.sweep_values),
                   {k: {a: str(b) for a, b in v.items()} for k, v in s.presets.items()},
                   tuple((x.label, bool(x.analytical)) for x in s.series), int(s.default_samples), headline,
                   s.help_text())

    def to_json(self) -> dict:
        return {"name": self.name, "description": self.description, "params": [p.to_json() for p in self.params],
                "sweep": self.sweep, "sweep_values": list(self.sweep_values),
                "presets": {k: dict(v) for k, v in self.presets.items()},
                "series": [list(s) for s in self.series], "default_samples": self.default_samples,
                "headline": self.headline, "help": self.help}

    @classmethod
    def from_json(cls, d: Mapping) -> "ScenarioSpec":
        return cls(d["name"], d["description"], tuple(Param.from_json(p) for p in d["params"]), d["sweep"],
                   tuple(d["sweep_values"]), {k: dict(v) for k, v in d["presets"].items()},
                   tuple((str(a), bool(b)) for a, b in d["series"]), int(d["default_samples"]), d["headline"],
                   d["help"])

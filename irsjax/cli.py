"""The ``irsjax`` command line.

    irsjax list
    irsjax run NAME [--set KEY=VALUE ...] [--samples N] [--seed S] [--out DIR] [options]
    irsjax run NAME --help      (the scenario's parameters, presets, series)
    irsjax run --help           (every option and the installed scenarios)
    irsjax plot DIR

Scenarios are discovered through the ``irsjax.scenarios`` entry-point group. Every argument is checked
before JAX is imported (a scenario's declarations are cached, see :func:`scenario_spec`), so a typo costs
a fraction of a second. Errors in user input exit with status 2 and one line naming the culprit; other
failures exit with status 1 and one line (``--debug`` shows the traceback); an interrupted run exits
with 130 and resumes when the same command is run again.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import signal
import sys
import threading
import time
from importlib.metadata import entry_points

from irsjax.params import ScenarioSpec, did_you_mean, resolve

EXIT_USAGE = 2
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
MAX_SAMPLES = 256 * (2**32 - 1)  # the engine's limit: fewer than 2**32 blocks of 256 realisations
MAX_SEED = 2**32 - 1  # JAX keys keep 32 bits of an integer seed without --x64 (2**32 would repeat seed 0)
MAX_SEED_X64 = 2**63 - 1
PROGRESS_INTERVAL_S = 5.0  # a status line this often when stderr is not a terminal


class CliError(Exception):
    """A one-line user-facing error."""


# --------------------------------------------------------------------------- scenarios and their declarations
def discover() -> dict:
    """``{name: entry point}`` for every installed scenario."""
    eps = entry_points(group="irsjax.scenarios")
    return {ep.name: ep for ep in sorted(eps, key=lambda e: e.name)}


def _entry_point(name: str):
    eps = discover()
    if name not in eps:
        raise CliError(f"unknown scenario '{name}'{did_you_mean(name, eps)} (available: {', '.join(eps) or 'none'}; "
                       f"see 'irsjax list')")
    return eps[name]


def load_scenario(name: str):
    """Import the scenario ``name`` (this imports JAX).

    irsjax installs its ``optim`` and ``scenarios`` folders as top-level packages (the layout of the
    design card). Another installed package of the same name would shadow them: that is reported here
    in one line, with the fix (a virtual environment of its own for irsjax), instead of a traceback.
    """
    ep = _entry_point(name)
    try:
        return ep.load()
    except (ImportError, AttributeError) as e:
        top = ep.value.split(":")[0].split(".")[0]
        if top in ("scenarios", "optim"):
            import importlib.util

            spec = importlib.util.find_spec(top)
            where = getattr(spec, "origin", None) or list(getattr(spec, "submodule_search_locations", None) or [])
            raise CliError(f"scenario '{name}' cannot be loaded from the package '{top}' at {where} ({e}): another "
                           f"installed package named '{top}' may shadow irsjax's; install irsjax in a virtual "
                           "environment of its own") from None
        raise


def _cache_base() -> str:
    return os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")


def _spec_cache_dir() -> str | None:
    v = os.environ.get("IRSJAX_SCENARIO_CACHE")
    if v is not None and v.strip().lower() in ("", "off", "none", "0", "false"):
        return None
    return v or os.path.join(_cache_base(), "irsjax", "scenarios")


def _spec_key(ep):
    """``(file name, key)`` of the cached declarations of an entry point: one file per scenario and install
    location; the key changes whenever the scenario's package changes (its files' sizes and times, its
    version)."""
    import importlib.util

    from irsjax import __version__

    top = ep.value.split(":")[0].split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None, None
    if spec is None:
        return None, None
    files = []
    roots = list(spec.submodule_search_locations or [])
    if not roots and spec.origin:
        files.append(spec.origin)
    for root in roots:
        for d, dirs, names in os.walk(root):
            dirs[:] = sorted(x for x in dirs if not x.startswith((".", "__pycache__")))
            files += [os.path.join(d, n) for n in sorted(names) if n.endswith(".py")]
    stamps = []
    for f in files:
        try:
            st = os.stat(f)
        except OSError:
            continue
        stamps.append([f, st.st_size, st.st_mtime_ns])
    dist = getattr(ep, "dist", None)
    where = hashlib.sha256(json.dumps([ep.name, ep.value, roots or files]).encode()).hexdigest()[:12]
    blob = json.dumps([1, __version__, ep.name, ep.value, getattr(dist, "name", None),
                       getattr(dist, "version", None), stamps])
    return f"{ep.name}-{where}.json", hashlib.sha256(blob.encode()).hexdigest()


def _cached_spec(ep):
    """``(spec or None, path, key)`` from the declarations cache."""
    d = _spec_cache_dir()
    if d is None:
        return None, None, None
    fname, key = _spec_key(ep)
    if key is None:
        return None, None, None
    path = os.path.join(d, fname)
    try:
        with open(path) as f:
            data = json.load(f)
        if data.get("key") == key:
            return ScenarioSpec.from_json(data["spec"]), path, key
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None, path, key


def scenario_spec(name: str) -> ScenarioSpec:
    """The declarations of scenario ``name`` (parameters, presets, series, help) without importing it when
    they are cached (``$XDG_CACHE_HOME/irsjax/scenarios``, keyed by the scenario package's files;
    ``IRSJAX_SCENARIO_CACHE`` sets the directory, ``off`` disables it); otherwise the scenario is loaded and
    its declarations cached."""
    ep = _entry_point(name)
    spec, path, key = _cached_spec(ep)
    if spec is not None:
        return spec
    spec = ScenarioSpec.from_scenario(load_scenario(name))
    if path is not None:
        try:
            data = {"key": key, "spec": spec.to_json()}
            text = json.dumps(data)
            ScenarioSpec.from_json(json.loads(text)["spec"])  # (declarations JSON cannot hold are not cached)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, path)
        except (OSError, TypeError, ValueError):
            pass
    return spec


# --------------------------------------------------------------------------- argument parsing
class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        m = re.match(r"argument ([^:]+): (.*)$", message)
        if m and m.group(2).startswith(m.group(1).split("/")[-1]):  # "argument --seed: --seed must be ..."
            message = m.group(2)
        raise CliError(message)


def _number(text, name):
    """An integer given as ``1000``, ``1e3`` or ``1_000`` (exact for large integers)."""
    t = str(text).strip()
    try:
        return int(t)
    except ValueError:
        pass
    try:
        f = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
    if not math.isfinite(f) or f != int(f):
        raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}")
    return int(f)


def _positive_int(name, maximum=None):
    def conv(text):
        try:
            v = _number(text, name)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {text!r}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {text!r}")
        if maximum is not None and v > maximum:
            raise argparse.ArgumentTypeError(f"{name} must be at most {maximum:,}, got {text!r}")
        return v
    return conv


def _seed(text):
    try:
        v = _number(text, "--seed")
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"--seed must be a non-negative integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"--seed must be a non-negative integer, got {text!r}")
    if v > MAX_SEED_X64:
        raise argparse.ArgumentTypeError(f"--seed must be at most {MAX_SEED} ({MAX_SEED_X64} with --x64), got {text}")
    return v


def _rel_error(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--target-rel-error must be a number > 0, got {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"--target-rel-error must be a finite number > 0, got {text!r}")
    return v


def _names(text):
    names = [t.strip() for t in str(text).split(",")]
    if not names or any(not t for t in names):
        raise argparse.ArgumentTypeError(f"--stop-on expects NAME[,NAME...], got {text!r}")
    return names


RUN_EPILOG = """\
Defaults: --samples is the scenario's default number of realisations per sweep point ('irsjax run NAME
--help' shows it: 200,000 for the Monte Carlo scenarios, 110 channel draws for the max-min optimisation
ones); --seed 0; --out runs/NAME.
A run replaces the previous result in --out only when it has finished: results.json, results.csv and
figure.png always belong to one complete run. An interrupted run (Ctrl-C, SIGTERM) keeps its finished
work; run the same command again to resume it.
"""


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="irsjax", description="IRS physical-layer security: Monte Carlo, analysis and phase design "
                                           "in JAX.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND", title="commands")
    sub.add_parser("list", help="list the installed scenarios")
    r = sub.add_parser("run", help="run a scenario sweep", add_help=False,
                       usage="irsjax run NAME [--set KEY=VALUE ...] [options]",
                       description="Run a scenario's sweep and write results.json, results.csv and figure.png.",
                       epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("name", nargs="?", metavar="NAME", help="scenario (see 'irsjax list')")
    r.add_argument("-h", "--help", action="store_true",
                   help="with NAME: the scenario's parameters, presets and series; without: this help")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="parameter value, list v1,v2 or range start:stop:step; sweep=NAME chooses the swept "
                        "parameter, preset=NAME a paper figure")
    r.add_argument("--samples", type=_positive_int("--samples", MAX_SAMPLES), default=None, metavar="N",
                   help="realisations per sweep point (default: the scenario's, e.g. 200000; 1e6 is accepted); "
                        "the maximum when a stopping rule is set")
    r.add_argument("--seed", type=_seed, default=0, metavar="S",
                   help=f"base seed, 0..{MAX_SEED} (0..{MAX_SEED_X64} with --x64; default 0)")
    r.add_argument("--out", default=None, metavar="DIR", help="output directory (default runs/NAME)")
    r.add_argument("--batch-size", type=_positive_int("--batch-size", MAX_SAMPLES), default=None, metavar="B",
                   help="realisations per engine call, between progress updates and checkpoints (does not change "
                        "results; memory is bounded per engine step, not by B)")
    r.add_argument("--target-rel-error", type=_rel_error, default=None, metavar="E",
                   help="stop each Monte Carlo pass once the --stop-on statistics reach this relative standard "
                        "error at every point (or cannot: no events; see results.json 'stopping')")
    r.add_argument("--stop-on", type=_names, default=None, metavar="NAME[,NAME]",
                   help="series labels (as in results.json) or engine statistics the stopping rule applies to "
                        "(default: the scenario's headline series, shown by 'irsjax run NAME --help')")
    r.add_argument("--x64", action="store_true", help="float64 everywhere")
    r.add_argument("--no-plot", action="store_true", help="do not write figure.png")
    r.add_argument("--fresh", action="store_true", help="ignore a partial (interrupted) run in the output directory")
    r.add_argument("--prng", default="threefry", choices=["threefry", "rbg", "unsafe_rbg"],
                   help="PRNG implementation (threefry, default: reproducible everywhere; rbg/unsafe_rbg: faster "
                        "on GPU)")
    r.add_argument("--devices", type=_positive_int("--devices"), default=None, metavar="N",
                   help="shard Monte Carlo over this many devices (default: all; numbers do not depend on it)")
    r.add_argument("--distributed", action="store_true",
                   help="call jax.distributed.initialize() first (multi-host runs; one process per host)")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="an overall progress bar (point i/n, samples, ETA); default when stderr is a terminal. "
                        "Otherwise a status line every few seconds")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress display (warnings and errors still go to stderr)")
    r.add_argument("--compile-cache", default=None, metavar="DIR",
                   help="persistent XLA compilation cache (default: $IRSJAX_COMPILE_CACHE or "
                        "~/.cache/irsjax/jax; 'off' disables it): a repeated command does not compile again, nor "
                        "trace the engine's program (kept in DIR/irsjax-programs)")
    r.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    pl = sub.add_parser("plot", help="redraw figure.png from results.json")
    pl.add_argument("dir", metavar="DIR")
    pl.add_argument("--format", default="png", choices=("png", "pdf", "svg"),
                    help="png (DIR/figure.png, default) or a vector figure DIR/figure.pdf / DIR/figure.svg")
    rp = sub.add_parser("reproduce", help="every figure of a paper and its claims report")
    rp.add_argument("paper", metavar="PAPER", help="000..004, a scenario name, or 'all'")
    rp.add_argument("--out", default="reproduce", help="output directory (default: reproduce)")
    rp.add_argument("--quick", action="store_true", help="a few minutes a paper (fewer samples and points)")
    rp.add_argument("--seed", type=_seed, default=0)
    rp.add_argument("--report-only", action="store_true",
                    help="run nothing: write REPORT.md from the finished presets (the others are 'not run')")
    p.run_parser = r
    p.option_strings = sorted({o for sp in (p, r, pl, rp) for a in sp._actions for o in a.option_strings})  # noqa: SLF001
    return p


def _parse_args(argv):
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        bad = unknown[0]
        hint = did_you_mean(bad.split("=")[0], parser.option_strings) if bad.startswith("-") else ""
        raise CliError(f"unrecognized argument{'s' if len(unknown) > 1 else ''}: {' '.join(unknown)}{hint}")
    return parser, args


def _parse_sets(items):
    out = {}
    for it in items:
        if "=" not in it:
            raise CliError(f"--set expects KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        k = k.strip()
        if not k:
            raise CliError(f"--set expects KEY=VALUE, got {it!r}")
        if k in out:
            raise CliError(f"parameter '{k}' given twice")
        out[k] = v
    return out


def compile_cache_dir(option=None):
    """The persistent compilation cache directory (None when disabled)."""
    v = option if option is not None else os.environ.get("IRSJAX_COMPILE_CACHE")
    if v is None:
        v = os.path.join(_cache_base(), "irsjax", "jax")
    return None if str(v).strip().lower() in ("", "off", "none", "0", "false") else v


def enable_compile_cache(path):
    """Turn on JAX's persistent compilation cache in ``path`` (every compilation is cached)."""
    import jax

    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise CliError(f"--compile-cache: cannot create '{path}' ({e.strerror or e})") from None
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _check_cache_path(path):
    p = os.path.abspath(path)
    while not os.path.lexists(p):
        p = os.path.dirname(p)
    if not os.path.isdir(p):
        raise CliError(f"--compile-cache: '{path}' cannot be a directory ('{p}' is a file)")


# --------------------------------------------------------------------------- progress
class CliProgress:
    """The sweep's progress on stderr: an overall bar on a terminal (``mode="bar"``), a status line every
    ``interval`` seconds otherwise (``"lines"``), or nothing but warnings (``"quiet"``).

    Points finished by an earlier, interrupted run are counted, never reprinted.
    """

    def __init__(self, mode: str = "lines", *, stream=None, interval: float = PROGRESS_INTERVAL_S):
        self.mode, self.stream, self.interval = mode, stream or sys.stderr, float(interval)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = None
        self._bar = None
        self.points = self.resumed = self.finished = 0
        self.sweep_name = ""
        self.t0 = time.monotonic()
        self._last_line = self.t0
        self._pass = None  # [label, samples, done, points, number, expected samples (stopping rule) or None]
        self._passes = 0
        self._shared = False  # a pass evaluated several points at once (a shared-draw sweep)
        self._announced = False
        self._calls_per_point = 1
        self._calls_in_point = 0

    # -- SweepProgress hooks
    def start(self, *, points, resumed, sweep_name):
        with self._lock:
            self.points, self.resumed, self.sweep_name = points, resumed, sweep_name
            self.t0 = self._last_line = time.monotonic()
            self._start_ticker()  # after the checks: a point's work before its first pass (an optimiser) counts too
            if self.mode == "bar":
                from tqdm.auto import tqdm

                self._bar = tqdm(total=1000, file=self.stream, leave=False, dynamic_ncols=True,
                                 bar_format="{desc}: {percentage:3.0f}%|{bar}|")
                self._refresh()

    def engine_start(self, *, label, samples, done, points):
        with self._lock:
            self._start_ticker()
            self._passes += 1
            self._shared = self._shared or points > 1
            self._pass = [label, samples, done, points, self._passes, None]
            self._refresh()

    def engine_update(self, done, total, expected=None):
        _Interrupt.check()  # after every batch (its checkpoint is saved): stop here if a signal was swallowed
        with self._lock:
            if self._pass is not None:
                self._pass[2], self._pass[1], self._pass[5] = done, total, expected
            self._refresh()

    def engine_end(self):
        with self._lock:
            if self._pass is not None:
                self._calls_in_point += 1
                self._pass = None

    def point_done(self, index, x, elapsed, resumed):
        _Interrupt.check()
        if resumed:
            return
        with self._lock:
            self.finished += 1
            if self.finished == 1:
                self._calls_per_point = max(1, self._calls_in_point)
            self._calls_in_point = 0
            if not self._shared:
                self._say(f"  {self.sweep_name} = {x}: done ({elapsed:.1f} s)")
            elif not self._announced:
                self._announced = True
                todo = self.points - self.resumed
                self._say(f"  {self.sweep_name}: {todo} point(s) done together (shared draws, "
                          f"{_fmt_s(time.monotonic() - self.t0)})")
            self._refresh()

    def warn(self, message):
        with self._lock:
            self._say(f"irsjax: warning: {message}", force=True)

    def close(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None

    def _start_ticker(self):
        if self.mode != "quiet" and self._thread is None:
            self._thread = threading.Thread(target=self._tick, name="irsjax-progress", daemon=True)
            self._thread.start()

    # -- drawing
    def fraction(self) -> float:
        """Overall fraction of this run's work done (points finished by an earlier run excluded)."""
        todo = max(self.points - self.resumed, 1)
        part = 0.0
        if self._pass is not None:
            label, samples, done, pts, _, expected = self._pass
            need = expected if expected else samples  # a stopping rule's projection, else the sample budget
            frac = min(done / need, 1.0) if need else 0.0
            calls = max(self._calls_per_point, self._calls_in_point + 1)
            part = (self._calls_in_point + frac) / calls * (pts if pts > 1 else 1)
        return min((self.finished + part) / todo, 1.0)

    def status(self) -> str:
        now = time.monotonic()
        el = now - self.t0
        f = self.fraction()
        todo = self.points - self.resumed
        pts = f"{self.sweep_name}: {self.finished}/{todo} points"
        pts += f" ({self.resumed} resumed)" if self.resumed else ""
        parts = [pts]
        if self._pass is not None:
            label, samples, done, p, num, expected = self._pass
            what = f"{p} points at once" if p > 1 else f"{label}"
            parts.append(f"pass {num} ({what}): " + (f"{done:,}/{samples:,} samples" if done else
                                                     "compiling / first batch") + self._projection())
        parts.append(f"{_fmt_s(el)} elapsed")
        if f > 0.01 and el > 1:
            parts.append(f"ETA {_fmt_s(el / f - el)}")
        return ", ".join(parts)

    def _projection(self) -> str:
        expected = self._pass[5] if self._pass is not None else None
        if not expected or expected >= self._pass[1] or expected <= self._pass[2]:
            return ""
        return f" (the stopping rule needs about {expected:,})"

    def _refresh(self):
        if self._bar is not None:
            todo = self.points - self.resumed
            self._bar.set_description_str(f"{self.sweep_name} {self.finished}/{todo}", refresh=False)
            el = time.monotonic() - self.t0
            f = self.fraction()
            eta = f", ETA {_fmt_s(el / f - el)}" if f > 0.01 and el > 1 else ""
            extra = ""
            if self._pass is not None:
                extra = (f"pass {self._pass[4]}: {self._pass[2]:,}/{self._pass[1]:,} samples{self._projection()}, "
                         if self._pass[2] else f"pass {self._pass[4]}: compiling, ")
            text = f"{extra}{_fmt_s(el)}{eta}".replace("{", "{{").replace("}", "}}")
            self._bar.bar_format = "{desc}: {percentage:3.0f}%|{bar}| " + text
            self._bar.n = int(1000 * f)
            self._bar.refresh()

    def _say(self, line, force=False):
        if self.mode == "quiet" and not force:
            return
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)
        self._last_line = time.monotonic()

    def _tick(self):
        step = 1.0 if self.mode == "bar" else min(1.0, self.interval / 4)
        while not self._stop.wait(step):
            with self._lock:
                if self.mode == "bar":
                    self._refresh()
                elif time.monotonic() - self._last_line >= self.interval:
                    self._say(f"irsjax: {self.status()}")


def _fmt_s(s) -> str:
    s = max(float(s), 0.0)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


# --------------------------------------------------------------------------- commands
def cmd_list(args) -> int:
    eps = discover()
    width = max((len(n) for n in eps), default=0)
    for name in eps:
        try:
            desc = scenario_spec(name).description
        except Exception as e:  # noqa: BLE001 - a broken third-party scenario must not break the list
            desc = f"(failed to load: {type(e).__name__}: {e})"
        print(f"{name.ljust(width)}  {desc}")
    return 0


def _run_help(parser) -> str:
    lines = [parser.run_parser.format_help().rstrip(), "", "scenarios:"]
    eps = discover()
    width = max((len(n) for n in eps), default=0)
    for name in eps:
        spec = _cached_spec(eps[name])[0]  # descriptions only where cached: help never imports JAX
        lines.append(f"  {name.ljust(width)}  {spec.description if spec else ''}".rstrip())
    return "\n".join(lines)


def _scenario_help(spec: ScenarioSpec) -> str:
    head = spec.headline or "(none)"
    return "\n".join([spec.help, "", f"samples per point (--samples): {spec.default_samples:,} by default",
                      f"headline series (--target-rel-error applies to it unless --stop-on says otherwise): {head}",
                      "options: 'irsjax run --help'"])


_MEMORY_SIZE = re.compile(r"\s*(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?\s*([kmgt]i?)?b?\s*", re.I)


def _check_environment():
    """The environment variables that size the engine (read later, inside the run)."""
    v = os.environ.get("IRSJAX_CHUNK_BLOCKS", "").strip()
    if v and not (v.isdigit() and int(v) > 0):
        raise CliError(f"environment variable IRSJAX_CHUNK_BLOCKS must be a positive integer, got {v!r}")
    v = os.environ.get("IRSJAX_MEMORY_LIMIT", "").strip()
    if v and not _MEMORY_SIZE.fullmatch(v):
        raise CliError(f"environment variable IRSJAX_MEMORY_LIMIT must be a memory size (bytes, or e.g. 16G, "
                       f"512M), got {v!r}")


def _out_of_memory(e: BaseException) -> bool:
    text = str(e)
    return isinstance(e, MemoryError) or "RESOURCE_EXHAUSTED" in text or "Out of memory" in text


def _validate_run(args, spec: ScenarioSpec) -> dict:
    """Every check that needs neither JAX nor the scenario's code. Returns the run's settings."""
    _check_environment()
    overrides = _parse_sets(args.set)
    params, sweep_name, values = resolve(spec, overrides)
    limit = MAX_SEED_X64 if args.x64 else MAX_SEED
    if args.seed > limit:
        raise CliError(f"--seed must be at most {limit}" + ("" if args.x64 else
                       f" without --x64 (JAX keys keep 32 bits of the seed: {args.seed} would repeat seed "
                       f"{args.seed % 2**32})") + f", got {args.seed}")
    if args.stop_on is not None and args.target_rel_error is None:
        raise CliError("--stop-on needs --target-rel-error (it says which statistics the rule applies to)")
    analytical = {lab for lab, a in spec.series if a}
    for name in args.stop_on or ():
        if name in analytical:
            raise CliError(f"--stop-on: series '{name}' is analytical (it has no Monte Carlo error to stop on)")
    out = args.out if args.out is not None else os.path.join("runs", spec.name)
    from irsjax.results import OutputDir, OutputError

    try:
        OutputDir.validate(out)
    except OutputError as e:
        raise CliError(str(e)) from None
    if args.compile_cache is not None and compile_cache_dir(args.compile_cache) is not None:
        _check_cache_path(args.compile_cache)
    samples = args.samples if args.samples is not None else spec.default_samples
    return {"overrides": overrides, "params": params, "sweep": sweep_name, "values": values, "out": out,
            "samples": samples}


def cmd_run(args, parser) -> int:
    if args.name is None:
        if args.help:
            print(_run_help(parser))
            return 0
        raise CliError(f"run: missing the scenario NAME (available: {', '.join(discover()) or 'none'}; "
                       f"'irsjax run NAME --help' shows its parameters)")
    spec = scenario_spec(args.name)
    if args.help:
        print(_scenario_help(spec))
        return 0
    cfg = _validate_run(args, spec)
    # ---- everything above ran without JAX; from here on JAX is imported
    cache = compile_cache_dir(args.compile_cache)
    if cache is not None:
        enable_compile_cache(cache)
    import jax

    if args.distributed:
        jax.distributed.initialize()
    if args.x64:
        jax.config.update("jax_enable_x64", True)
    scenario = load_scenario(args.name)
    from irsjax import results as R
    from irsjax import scenario as S

    params, sweep_name, values = S.resolve(scenario, cfg["overrides"])
    ndev = len(jax.devices())
    if args.devices is not None and args.devices > ndev:
        raise CliError(f"--devices must be between 1 and {ndev} (the devices present), got {args.devices}")
    out, samples = cfg["out"], cfg["samples"]
    sig = S.signature_of(scenario.name, params, sweep_name, values, args.seed, samples,
                         extra=(args.x64, args.target_rel_error, args.prng)
                         + ((tuple(args.stop_on),) if args.stop_on else ()))
    outdir = R.OutputDir(out)
    store = S.PartialStore(out, sig, prepare=outdir.prepare, load=not args.fresh)
    had_partial = bool(store.data["points"] or store.data["engine"])
    resumed = store.resumed_points
    progress_on = sys.stderr.isatty() if args.progress is None else args.progress
    mode = "bar" if progress_on else ("quiet" if args.progress is False else "lines")
    reporter = CliProgress(mode, interval=PROGRESS_INTERVAL_S)
    if store.resumed_points or store.data["engine"]:
        print(f"resuming: {store.resumed_points} finished point(s) found in {out}"
              + (" and the checkpoint of the pass in progress" if store.data["engine"] else ""), file=sys.stderr)
    t0 = time.perf_counter()
    try:
        res = S.run_sweep(scenario, params, sweep_name, values, seed=args.seed, samples=samples,
                          batch_size=args.batch_size, progress=reporter, store=store,
                          target_rel_error=args.target_rel_error, stop_on=args.stop_on, prng=args.prng,
                          devices=args.devices)
        meta = R.environment_meta()
        meta["elapsed_s"] = time.perf_counter() - t0
        meta["batch_size"] = args.batch_size
        meta["resumed_points"] = resumed
        meta["run_id"] = R.new_run_id()
        res["meta"] = {**res.get("meta", {}), **meta}
        reporter.close()
        _Interrupt.check()
        paths = outdir.commit(res, plot=not args.no_plot)
        store.remove()
    except KeyboardInterrupt:
        reporter.close()
        if store.data["points"] or store.data["engine"]:
            store.flush()  # keep the last completed batch
        else:
            outdir.abandon()
        raise
    except BaseException:
        reporter.close()
        keep = [store.path] if (had_partial or store.data["points"]) and os.path.exists(store.path) else []
        if not keep:
            store.remove()
        outdir.abandon(keep=keep)
        raise
    finally:
        outdir.release()
    print(f"wrote {', '.join(paths.values())} in {meta['elapsed_s']:.1f} s")
    return 0


def cmd_plot(args) -> int:
    from irsjax import results as R

    try:
        R.load_results(args.dir)
    except (OSError, ValueError) as e:
        raise CliError(f"cannot read results from '{args.dir}': {getattr(e, 'strerror', None) or e}") from None
    d = args.dir if os.path.isdir(args.dir) else os.path.dirname(args.dir) or "."
    if args.format == "png":
        path = R.plot_to_dir(d)
    else:
        from irsjax import figures

        path = os.path.join(d, f"figure.{args.format}")
        R._atomic_write(path, figures.figure_bytes(R.load_results(d), args.format))  # noqa: SLF001
    print(f"wrote {path}")
    return 0


def cmd_reproduce(args) -> int:
    from irsjax import reproduce as RP

    try:
        RP.paper_ids(args.paper)
    except ValueError as e:
        raise CliError(str(e)) from None
    reports = RP.reproduce(args.paper, args.out, quick=args.quick, seed=args.seed, report_only=args.report_only)
    for pid, rep in reports.items():
        counts = {}
        for c in rep["claims"]:
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
        failed = [r["run"] for r in rep["runs"] if str(r.get("status", "")).startswith("failed")]
        print(f"paper {pid}: {os.path.join(args.out, pid, 'REPORT.md')} — "
              + ", ".join(f"{n} {v}" for v, n in counts.items()) + (f"; failed runs: {failed}" if failed else ""))
    return 0


class _Interrupt:
    """SIGINT/SIGTERM: raise KeyboardInterrupt now, and again at the next checkpoint if the first one was
    swallowed (a signal that lands in a garbage-collection callback is ignored by Python)."""

    requested = False

    @classmethod
    def handler(cls, signum, frame):
        cls.requested = True
        raise KeyboardInterrupt

    @classmethod
    def check(cls):
        if cls.requested:
            raise KeyboardInterrupt


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    _Interrupt.requested = False
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[sig] = signal.signal(sig, _Interrupt.handler)
        except (ValueError, OSError):  # not the main thread
            pass
    try:
        return _main(argv, debug)
    finally:
        for sig, h in previous.items():
            signal.signal(sig, h)


def _main(argv, debug) -> int:
    try:
        parser, args = _parse_args(argv)
        if args.command == "list":
            return cmd_list(args)
        if args.command == "run":
            return cmd_run(args, parser)
        if args.command == "plot":
            return cmd_plot(args)
        if args.command == "reproduce":
            return cmd_reproduce(args)
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # stdout closed early (irsjax run --help | head): stop quietly, like other tools
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_ERROR
    except SystemExit as e:  # --help of the top-level parser
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        print("irsjax: interrupted; finished work is kept in the output directory — run the same command to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except (CliError, ValueError, TypeError, FloatingPointError, OverflowError, argparse.ArgumentTypeError) as e:
        if debug:
            raise
        msg = " ".join(str(e).split("\n")[0].split()) if str(e) else type(e).__name__
        print(f"irsjax: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:  # noqa: BLE001 - never a traceback for users
        if debug:
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        if _out_of_memory(e):  # the estimate before each pass missed it: still one line, with the fix
            print(f"irsjax: error: out of memory during the run ({type(e).__name__}: {msg[:200]}); lower the sizes "
                  f"or sweep fewer points at once (memory is bounded per engine step: --batch-size does not change "
                  f"it; on an accelerator IRSJAX_CHUNK_BLOCKS sets the step's size)", file=sys.stderr)
            return EXIT_USAGE
        print(f"irsjax: error: {type(e).__name__}: {msg} (rerun with --debug for details)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

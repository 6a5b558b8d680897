"""The ``irsjax`` command line.

    irsjax list
    irsjax run NAME [--set KEY=VALUE ...] [--samples N] [--seed S] [--out DIR]
                    [--batch-size B] [--x64] [--no-plot] [--progress/--no-progress]
    irsjax run NAME --help
    irsjax plot DIR

Scenarios are discovered through the ``irsjax.scenarios`` entry-point group.
Errors in user input exit with status 2 and one line naming the culprit.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from importlib.metadata import entry_points

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A one-line user-facing error."""


def discover() -> dict:
    """``{name: entry point}`` for every installed scenario."""
    eps = entry_points(group="irsjax.scenarios")
    return {ep.name: ep for ep in sorted(eps, key=lambda e: e.name)}


def load_scenario(name: str):
    eps = discover()
    if name not in eps:
        raise CliError(f"unknown scenario '{name}' (available: {', '.join(eps) or 'none'}; see 'irsjax list')")
    return eps[name].load()


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise CliError(message)


def _positive_int(name):
    def conv(text):
        try:
            f = float(text)
            v = int(f)
        except (TypeError, ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {text!r}") from None
        if f != v or v <= 0:
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {text!r}")
        return v
    return conv


def _nonneg_int(name):
    def conv(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a non-negative integer, got {text!r}") from None
        if v < 0:
            raise argparse.ArgumentTypeError(f"{name} must be a non-negative integer, got {text!r}")
        return v
    return conv


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="irsjax", description="IRS physical-layer security: Monte Carlo, analysis and phase design in JAX.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    sub.add_parser("list", help="list scenarios")
    r = sub.add_parser("run", help="run a scenario sweep", add_help=False)
    r.add_argument("name")
    r.add_argument("-h", "--help", action="store_true", help="show the scenario's parameters")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="parameter value, list v1,v2 or range start:stop:step; sweep=NAME chooses the swept parameter")
    r.add_argument("--samples", type=_positive_int("--samples"), default=None, help="realisations per sweep point")
    r.add_argument("--seed", type=_nonneg_int("--seed"), default=0)
    r.add_argument("--out", default=None, help="output directory (default runs/NAME)")
    r.add_argument("--batch-size", type=_positive_int("--batch-size"), default=None,
                   help="realisations in memory at once (does not change results)")
    r.add_argument("--x64", action="store_true", help="float64 everywhere")
    r.add_argument("--no-plot", action="store_true", help="do not write figure.png")
    r.add_argument("--target-rel-error", type=float, default=None, help="stop each point early at this relative error")
    r.add_argument("--fresh", action="store_true", help="ignore a partial run in the output directory")
    r.add_argument("--prng", default="threefry", choices=["threefry", "rbg", "unsafe_rbg"],
                   help="PRNG implementation (threefry: reproducible everywhere; rbg/unsafe_rbg: faster on GPU)")
    r.add_argument("--devices", type=_positive_int("--devices"), default=None,
                   help="shard Monte Carlo over this many devices (default: all; numbers do not depend on it)")
    r.add_argument("--distributed", action="store_true",
                   help="call jax.distributed.initialize() first (multi-host runs; one process per host)")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None)
    g.add_argument("--no-progress", dest="progress", action="store_false")
    r.add_argument("--compile-cache", default=None, metavar="DIR",
                   help="persistent XLA compilation cache (default: $IRSJAX_COMPILE_CACHE or "
                        "~/.cache/irsjax/jax; 'off' disables it): a repeated command does not compile again")
    r.add_argument("--debug", action="store_true", help="show tracebacks")
    pl = sub.add_parser("plot", help="redraw figure.png from results.json")
    pl.add_argument("dir")
    return p


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


def _check_out_dir(path):
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".irsjax-write-test")
        with open(probe, "w") as f:
            f.write("x")
        os.remove(probe)
    except OSError as e:
        raise CliError(f"output directory '{path}' is not writable ({e.strerror or e})") from None


def cmd_list(args) -> int:
    eps = discover()
    width = max((len(n) for n in eps), default=0)
    for name, ep in eps.items():
        try:
            desc = ep.load().description
        except Exception as e:  # a broken third-party scenario must not break the list
            desc = f"(failed to load: {type(e).__name__}: {e})"
        print(f"{name.ljust(width)}  {desc}")
    return 0


def compile_cache_dir(option=None):
    """The persistent compilation cache directory (None when disabled)."""
    v = option if option is not None else os.environ.get("IRSJAX_COMPILE_CACHE")
    if v is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        v = os.path.join(base, "irsjax", "jax")
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


def cmd_run(args) -> int:
    cache = compile_cache_dir(args.compile_cache)
    if cache is not None:
        enable_compile_cache(cache)
    if args.distributed:
        import jax

        jax.distributed.initialize()
    if args.x64:
        import jax

        jax.config.update("jax_enable_x64", True)
    scenario = load_scenario(args.name)
    if args.help:
        print(scenario.help_text())
        return 0
    from irsjax import results as R
    from irsjax import scenario as S

    overrides = _parse_sets(args.set)
    params, sweep_name, values = S.resolve(scenario, overrides)
    out = args.out or os.path.join("runs", scenario.name)
    _check_out_dir(out)
    samples = args.samples if args.samples is not None else scenario.default_samples
    if args.target_rel_error is not None and not (args.target_rel_error > 0):
        raise CliError(f"--target-rel-error must be > 0, got {args.target_rel_error}")
    sig = S.signature_of(scenario.name, params, sweep_name, values, args.seed, samples,
                         extra=(args.x64, args.target_rel_error, args.prng))
    store = S.PartialStore(out, sig)
    if args.fresh:
        store.remove()
        store = S.PartialStore(out, sig)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    # a stale complete result must not be mistaken for this run's
    stale = os.path.join(out, "results.json")
    if os.path.exists(stale):
        os.remove(stale)
    resumed = store.resumed_points
    if resumed:
        print(f"resuming: {store.resumed_points} finished point(s) found in {out}", file=sys.stderr)
    t0 = time.perf_counter()

    def on_point(i, x, cached):
        print(f"  {sweep_name} = {x}: done ({cached['elapsed_s']:.1f} s)", file=sys.stderr)

    try:
        res = S.run_sweep(scenario, params, sweep_name, values, seed=args.seed, samples=samples,
                          batch_size=args.batch_size, progress=progress, store=store,
                          target_rel_error=args.target_rel_error, on_point=on_point, prng=args.prng,
                          devices=args.devices)
    except KeyboardInterrupt:
        store.flush()  # keep the last completed batch
        raise
    meta = R.environment_meta()
    meta["elapsed_s"] = time.perf_counter() - t0
    meta["batch_size"] = args.batch_size
    meta["resumed_points"] = resumed
    res["meta"] = {**res.get("meta", {}), **meta}
    paths = R.write_results(res, out, plot=not args.no_plot)
    store.remove()
    print(f"wrote {', '.join(paths.values())} in {meta['elapsed_s']:.1f} s")
    return 0


def cmd_plot(args) -> int:
    from irsjax import results as R

    try:
        res = R.load_results(args.dir)
    except (OSError, ValueError) as e:
        raise CliError(f"cannot read results from '{args.dir}': {e}") from None
    path = os.path.join(args.dir if os.path.isdir(args.dir) else os.path.dirname(args.dir), "figure.png")
    R.plot_results(res, path)
    print(f"wrote {path}")
    return 0


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        signal.signal(signal.SIGTERM, _sigterm)
    except (ValueError, OSError):  # not the main thread
        pass
    try:
        args = build_parser().parse_args(argv)
        if args.command == "list":
            return cmd_list(args)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "plot":
            return cmd_plot(args)
        build_parser().print_help()
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("irsjax: interrupted; finished work is kept in the output directory — run the same command to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except (CliError, ValueError, TypeError, FloatingPointError, argparse.ArgumentTypeError) as e:
        if debug:
            raise
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"irsjax: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:  # noqa: BLE001 - never a traceback for users
        if debug:
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"irsjax: error: {type(e).__name__}: {msg} (rerun with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

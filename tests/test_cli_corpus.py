"""The bad-input corpus: every case exits with status 2 and exactly one stderr line naming the culprit, no
traceback, nothing on stdout, a previous result in --out untouched and no directory created.

Cases marked ``pre_jax`` fail before JAX is imported: checked in a fresh interpreter (one subprocess for all).
"""
import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap

import pytest

from irsjax import cli
from irsjax.results import OutputDir

SCENARIOS = ("wiretap", "ris-scheduling", "lv-two-way", "maxmin-two-way")
W = ["run", "wiretap"]
R = ["run", "ris-scheduling"]
T = ["--target-rel-error", "0.01"]

# (case id, argv, culprit in the message, fails before JAX is imported)
CASES = [
    # scenario and command names
    ("unknown-scenario", ["run", "nosuch"], "unknown scenario 'nosuch'", True),
    ("scenario-typo", ["run", "wiretp"], "did you mean 'wiretap'", True),
    ("missing-scenario", ["run"], "missing the scenario NAME", True),
    ("unknown-command", ["frobnicate"], "invalid choice: 'frobnicate'", True),
    # parameter names
    ("unknown-param", W + ["--set", "bogus=1"], "unknown parameter 'bogus'", True),
    ("param-case-typo", W + ["--set", "k=3"], "did you mean 'K'", True),
    ("param-typo", W + ["--set", "P_dbm=3"], "did you mean 'P_dBm'", True),
    ("param-other-scenario", ["run", "lv-two-way", "--set", "bogus=1"], "unknown parameter 'bogus'", True),
    # parameter values
    ("K-zero", W + ["--set", "K=0"], "'K' must be >= 1", True),
    ("K-negative", W + ["--set", "K=-3"], "'K' must be >= 1", True),
    ("K-fraction", W + ["--set", "K=2.5"], "'K' must be an integer", True),
    ("K-word", W + ["--set", "K=abc"], "'K' must be an integer", True),
    ("K-huge", W + ["--set", "K=1e9"], "'K' must be <= 4096", True),
    ("K-nan", W + ["--set", "K=nan"], "'K' must be an integer", True),
    ("K-bool", W + ["--set", "K=true"], "'K' must be an integer", True),
    ("P-nan", W + ["--set", "P_dBm=nan"], "'P_dBm' must be finite", True),
    ("P-inf", W + ["--set", "P_dBm=inf"], "'P_dBm' must be finite", True),
    ("P-minus-inf", W + ["--set", "P_dBm=-inf"], "'P_dBm' must be finite", True),
    ("P-overflow", W + ["--set", "P_dBm=1e400"], "'P_dBm' must be finite", True),
    ("P-huge", W + ["--set", "P_dBm=1e300"], "'P_dBm' must be <= 100", True),
    ("P-empty", W + ["--set", "P_dBm="], "'P_dBm': empty value", True),
    ("P-hex", W + ["--set", "P_dBm=0x10"], "'P_dBm' must be a number", True),
    ("R-zero", W + ["--set", "R_s=0"], "'R_s' must be > 0", True),
    ("R-negative", W + ["--set", "R_s=-1"], "'R_s' must be > 0", True),
    ("noise-word", W + ["--set", "noise_dBm=x"], "'noise_dBm' must be a number", True),
    ("maxmin-L-negative", ["run", "maxmin-two-way", "--set", "L=-5"], "'L' must be >=", True),
    # --set syntax, sweeps and ranges
    ("set-no-value", W + ["--set", "K"], "--set expects KEY=VALUE", True),
    ("set-no-key", W + ["--set", "=3"], "--set expects KEY=VALUE", True),
    ("set-twice", W + ["--set", "K=4", "--set", "K=8"], "parameter 'K' given twice", True),
    ("sweep-unknown", W + ["--set", "sweep=nosuch"], "unknown parameter 'nosuch'", True),
    ("sweep-empty", W + ["--set", "sweep="], "parameter 'sweep': empty value", True),
    ("range-empty", W + ["--set", "P_dBm=10:0:5"], "'P_dBm': empty or infinite range", True),
    ("range-two-parts", W + ["--set", "P_dBm=0:10"], "'P_dBm': range must be start:stop:step", True),
    ("range-zero-step", W + ["--set", "P_dBm=0:10:0"], "'P_dBm': empty or infinite range", True),
    ("range-too-many", W + ["--set", "P_dBm=0:1e9:1e-3"], "'P_dBm': range '0:1e9:1e-3' has too many points", True),
    ("range-words", W + ["--set", "P_dBm=a:b:c"], "'P_dBm': range must be numbers", True),
    ("list-hole", W + ["--set", "P_dBm=1,,2"], "'P_dBm': empty value", True),
    ("two-swept", W + ["--set", "K=4,8", "--set", "P_dBm=1,2"], "several parameters have several values", True),
    ("sweep-conflict", W + ["--set", "sweep=K", "--set", "P_dBm=1,2"], "'P_dBm' has several values", True),
    # presets and scenario-specific parameters
    ("preset-none", W + ["--set", "preset=fig2"], "unknown preset 'fig2'", True),
    ("preset-typo", R + ["--set", "preset=fig9"], "unknown preset 'fig9'", True),
    ("choice", R + ["--set", "links=bogus"], "'links' must be one of", True),
    ("not-sweepable", R + ["--set", "sweep=links"], "'links' cannot be swept", True),
    ("q-terms", R + ["--set", "q_terms=99"], "'q_terms' must be <= 12", True),
    ("issue-oom-command", R + ["--set", "K=4096", "--set", "N=1000", "--batch-size", "2000000"],
     "'K' must be <= 32", True),
    # --samples
    ("samples-zero", W + ["--samples", "0"], "--samples must be a positive integer", True),
    ("samples-negative", W + ["--samples", "-5"], "--samples must be a positive integer", True),
    ("samples-fraction", W + ["--samples", "1.5"], "--samples must be a positive integer", True),
    ("samples-word", W + ["--samples", "abc"], "--samples must be a positive integer", True),
    ("samples-huge", W + ["--samples", "1e30"], "--samples must be at most", True),
    ("samples-nan", W + ["--samples", "nan"], "--samples must be a positive integer", True),
    ("samples-inf", W + ["--samples", "inf"], "--samples must be a positive integer", True),
    ("samples-missing", W + ["--samples"], "--samples: expected one argument", True),
    # --seed
    ("seed-negative", W + ["--seed", "-1"], "--seed must be a non-negative integer", True),
    ("seed-overflow", W + ["--seed", "1180591620717411303424"], "--seed must be at most", True),
    ("seed-word", W + ["--seed", "abc"], "--seed must be a non-negative integer", True),
    ("seed-fraction", W + ["--seed", "1.5"], "--seed must be a non-negative integer", True),
    ("seed-33-bits", W + ["--seed", "4294967296"], "--seed must be at most 4294967295", True),
    # --batch-size, --devices, --prng
    ("batch-zero", W + ["--batch-size", "0"], "--batch-size must be a positive integer", True),
    ("batch-negative", W + ["--batch-size", "-1"], "--batch-size must be a positive integer", True),
    ("batch-word", W + ["--batch-size", "abc"], "--batch-size must be a positive integer", True),
    ("batch-huge", W + ["--batch-size", "1e30"], "--batch-size must be at most", True),
    ("devices-zero", W + ["--devices", "0"], "--devices must be a positive integer", True),
    ("devices-word", W + ["--devices", "abc"], "--devices must be a positive integer", True),
    ("devices-too-many", W + ["--devices", "99"], "--devices must be between 1 and", False),
    ("prng", W + ["--prng", "bogus"], "--prng: invalid choice: 'bogus'", True),
    # stopping rule
    ("target-zero", W + ["--target-rel-error", "0"], "--target-rel-error must be a finite number > 0", True),
    ("target-negative", W + ["--target-rel-error", "-1"], "--target-rel-error must be a finite number > 0", True),
    ("target-nan", W + ["--target-rel-error", "nan"], "--target-rel-error must be a finite number > 0", True),
    ("target-inf", W + ["--target-rel-error", "inf"], "--target-rel-error must be a finite number > 0", True),
    ("target-word", W + ["--target-rel-error", "abc"], "--target-rel-error must be a number > 0", True),
    ("stop-on-alone", W + ["--stop-on", "sop_aligned"], "--stop-on needs --target-rel-error", True),
    ("stop-on-empty", W + T + ["--stop-on", ""], "--stop-on expects NAME", True),
    ("stop-on-hole", W + T + ["--stop-on", "sop_aligned,"], "--stop-on expects NAME", True),
    ("stop-on-analytical", W + T + ["--stop-on", "sop_random_analysis"], "series 'sop_random_analysis' is analytical",
     True),
    ("stop-on-unknown", W + T + ["--stop-on", "nosuch"], "--stop-on: unknown name 'nosuch'", False),
    ("stop-on-typo", W + T + ["--stop-on", "sop_alinged"], "did you mean 'sop_aligned'", False),
    # flags
    ("flag-typo", W + ["--smaples", "100"], "did you mean '--samples'", True),
    ("extra-argument", W + ["extra"], "unrecognized argument: extra", True),
    ("compile-cache-under-file", W + ["--compile-cache", "{file}/sub"], "--compile-cache", True),
    # output directories (these cases name their own --out)
    ("out-empty", W + ["--out", ""], "--out must name a directory", True),
    ("out-is-file", W + ["--out", "{file}"], "output directory", True),
    ("out-under-file", W + ["--out", "{file}/sub"], "is not writable", True),
    ("out-read-only-fs", W + ["--out", "/proc/irsjax-corpus/out"], "is not writable", True),
    ("out-results-json-is-dir", W + ["--out", "{dirty}"], "'results.json' in it is a directory", True),
    ("out-locked", W + ["--out", "{locked}"], "is being written by another irsjax run", True),
    # memory: refused before it runs, with the estimate and the fix
    ("out-of-memory", W + ["--set", "K=4096", "--samples", "512"], "not enough memory", False),
    # environment variables that size the engine (ENV below)
    ("env-chunk-blocks", W, "IRSJAX_CHUNK_BLOCKS must be a positive integer", True),
    ("env-memory-limit", W, "IRSJAX_MEMORY_LIMIT must be a memory size", True),
    # plot
    ("plot-missing", ["plot", "{tmp}/nosuch"], "cannot read results from", True),
    ("plot-empty-dir", ["plot", "{tmp}"], "cannot read results from", True),
]
assert len(CASES) >= 51 and len({c[0] for c in CASES}) == len(CASES)
ENV = {"out-of-memory": {"IRSJAX_MEMORY_LIMIT": "256K"}, "env-chunk-blocks": {"IRSJAX_CHUNK_BLOCKS": "0"},
       "env-memory-limit": {"IRSJAX_MEMORY_LIMIT": "lots"}}


def snapshot(root):
    """Everything under ``root``: names, kinds, link targets, sizes, contents and modification times."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in sorted(dirs + files):
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", st.st_mode)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", st.st_mode, st.st_size, st.st_mtime_ns, hashlib.sha256(f.read()).hexdigest())
    return out


@pytest.fixture(scope="module")
def corpus_env(tmp_path_factory):
    """A previous complete result, the helper paths of the cases, and a warm cache of scenario declarations."""
    root = tmp_path_factory.mktemp("corpus")
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
    mp.setenv("IRSJAX_COMPILE_CACHE", "off")
    keep = root / "keep"
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["run", "wiretap", "--set", "P_dBm=0,10", "--set", "K=4", "--samples", "512",
                         "--no-progress", "--out", str(keep)])
    assert code == 0 and (keep / "results.json").exists() and (keep / "figure.png").exists()
    for name in SCENARIOS:
        cli.scenario_spec(name)  # cached declarations: the subprocess check then never imports JAX
    (root / "file").write_text("a file, not a directory")
    (root / "dirty" / "results.json").mkdir(parents=True)
    (root / "plots").mkdir()
    locked = OutputDir(str(root / "locked"))
    locked.prepare()  # holds the lock (another "run") while the cases run
    paths = {"file": str(root / "file"), "dirty": str(root / "dirty"), "locked": str(root / "locked"),
             "tmp": str(root / "plots")}
    yield {"root": root, "keep": keep, "paths": paths}
    locked.release()
    mp.undo()


def _argv(case_argv, paths):
    return [a.format(**paths) for a in case_argv]


def _check(code, out, err, culprit):
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert len(lines) == 1, err
    assert lines[0].startswith("irsjax: error:") and culprit in lines[0], lines[0]
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, corpus_env, capsys, monkeypatch):
    cid, argv, culprit, _ = case
    paths, root, keep = corpus_env["paths"], corpus_env["root"], corpus_env["keep"]
    argv = _argv(argv, paths)
    for k, v in ENV.get(cid, {}).items():
        monkeypatch.setenv(k, v)
    own_out = "--out" in argv or argv[0] != "run" or len(argv) < 2
    before = snapshot(root)
    targets = [None] if own_out else [str(keep), str(root / "new" / "sub")]
    for out in targets:
        args = argv if out is None else argv + ["--out", out]
        code = cli.main(args)
        o, e = capsys.readouterr()
        _check(code, o, e, culprit)
    assert snapshot(root) == before  # the previous result untouched, no directory left behind
    assert not (root / "new").exists()


def test_issue_data_loss_case_keeps_the_result(corpus_env, capsys):
    """The issue's sequence: a complete result, then the same command with --devices 99."""
    keep = corpus_env["keep"]
    before = snapshot(keep)
    code = cli.main(["run", "wiretap", "--set", "P_dBm=0,10", "--set", "K=4", "--samples", "512", "--no-progress",
                     "--devices", "99", "--out", str(keep)])
    _, err = capsys.readouterr()
    assert code == 2 and "--devices" in err
    assert snapshot(keep) == before
    assert json.loads((keep / "results.json").read_text())["samples"] == 512


def test_pre_jax_cases_never_import_jax(corpus_env):
    """All cases that can fail without JAX do, in a fresh interpreter (a typo costs no JAX import)."""
    cases = [(c[0], _argv(c[1], corpus_env["paths"]), c[2], ENV.get(c[0], {})) for c in CASES if c[3]]
    code = textwrap.dedent("""
        import contextlib, io, json, os, sys, time
        from irsjax import cli
        res = []
        for cid, argv, culprit, env in json.loads(sys.argv[1]):
            if argv[0] == "run" and len(argv) > 1 and "--out" not in argv:
                argv = argv + ["--out", sys.argv[2]]
            err = io.StringIO()
            saved = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            t = time.perf_counter()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                rc = cli.main(argv)
            for k, v in saved.items():
                if v is None:
                    del os.environ[k]
                else:
                    os.environ[k] = v
            res.append([cid, rc, err.getvalue(), time.perf_counter() - t])
        print(json.dumps({"results": res, "jax": "jax" in sys.modules, "numpy_loaded": "numpy" in sys.modules}))
    """)
    env = dict(os.environ, XDG_CACHE_HOME=str(corpus_env["root"] / "cache"))
    r = subprocess.run([sys.executable, "-c", code, json.dumps(cases), str(corpus_env["root"] / "new2")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(r.stdout.strip().splitlines()[-1])
    assert not d["jax"], "a pre-JAX case imported jax"
    by_id = {c[0]: c for c in cases}
    for cid, rc, err, _ in d["results"]:
        _check(rc, "", err, by_id[cid][2])
    assert not (corpus_env["root"] / "new2").exists()

"""Whole-process cost of ``irsjax run lv-two-way`` vs the plain NumPy reference, side by side in one run.

    python bench/whole_process.py                       # 2e6 realisations at P = 20 dBm (a few minutes)
    python bench/whole_process.py --samples 200000      # shorter

Each configuration is a fresh Python process (interpreter start, imports, compilation, the run, writing the
results), timed by wall clock and by the child's CPU time (user + system, ``getrusage``: on a machine shared
with other jobs the CPU time is the comparable number). Configurations, interleaved in one run:

* ``numpy``: ``bench/numpy_reference.lv_two_way`` on the same number of realisations (chunks of 4096),
* ``irsjax cold``: ``irsjax run lv-two-way --set P_dBm=20 --samples N`` with an empty persistent compilation cache,
* ``irsjax warm``: the same command again (the cache holds every program: no XLA compilation),
* ``fixed cold`` / ``fixed warm``: the same with 4096 realisations (the fixed costs: imports, compilation, the
  Theorem 1 bound over its topologies, writing results),
* ``import``: ``python -c "import irsjax, scenarios.lv_two_way"``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

NUMPY_SNIPPET = """
import sys, numpy as np
sys.path.insert(0, {here!r})
from numpy_reference import lv_two_way
rng, n, done, acc = np.random.default_rng(0), {n}, 0, {{}}
while done < n:
    m = min(4096, n - done)
    for k, v in lv_two_way(rng, m, K=32, N=10, P_dBm=20.0).items():
        acc[k] = acc.get(k, 0.0) + float(v.sum())
    done += m
print({{k: v / n for k, v in acc.items()}})
"""


def timed(cmd, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2_000_000)
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS_whole_process.json"))
    a = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="irsjax-whole-")
    cache = os.path.join(work, "cache")
    env = dict(os.environ, IRSJAX_COMPILE_CACHE=cache)
    env.pop("XLA_FLAGS", None)
    irs = [sys.executable, "-m", "irsjax.cli", "run", "lv-two-way", "--set", "P_dBm=20", "--no-plot",
           "--no-progress", "--fresh", "--compile-cache", cache]
    runs = [
        ("import", [sys.executable, "-c", "import irsjax, scenarios.lv_two_way"]),
        ("fixed cold", irs + ["--samples", "4096", "--out", os.path.join(work, "f1")]),
        ("fixed warm", irs + ["--samples", "4096", "--out", os.path.join(work, "f2")]),
        ("numpy", [sys.executable, "-c", NUMPY_SNIPPET.format(here=HERE, n=a.samples)]),
        ("irsjax warm", irs + ["--samples", str(a.samples), "--out", os.path.join(work, "r1")]),
    ]
    res = {}
    shutil.rmtree(cache, ignore_errors=True)
    for name, cmd in runs:
        res[name] = timed(cmd, env)
        print(f"{name:12s} wall {res[name]['wall_s']:7.1f} s  cpu {res[name]['cpu_s']:7.1f} s", flush=True)
    shutil.rmtree(cache, ignore_errors=True)  # a cold full run last
    res["irsjax cold"] = timed(irs + ["--samples", str(a.samples), "--out", os.path.join(work, "r2")], env)
    print(f"{'irsjax cold':12s} wall {res['irsjax cold']['wall_s']:7.1f} s  cpu {res['irsjax cold']['cpu_s']:7.1f} s")
    for k in ("irsjax cold", "irsjax warm"):
        res[k]["cpu_ratio_numpy_over_irsjax"] = res["numpy"]["cpu_s"] / res[k]["cpu_s"]
    out = {"samples": a.samples, "command": "python bench/whole_process.py " + " ".join(argv or sys.argv[1:]),
           "cpu_count": os.cpu_count(), "load_average": os.getloadavg(), "runs": res}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

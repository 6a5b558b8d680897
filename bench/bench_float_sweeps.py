"""Per-point cost of float sweeps: one compile per structure, whatever float is swept.

    python bench/bench_float_sweeps.py          # -> bench/RESULTS_float_sweeps.md

Each row is a fresh Python process (no in-memory jit cache, persistent compilation cache off) that
runs a 4-point ``wiretap`` sweep (K = 32, 20 000 realisations per point) through
``irsjax.scenario.run_sweep`` exactly as ``irsjax run`` calls it, **point by point**
(``shared_draws=False``: one engine run per point, so a recompilation per point would show) and with
shared draws (the CLI default). Reported: wall and CPU seconds of the sweep call (imports excluded) and
per point. Before the pytree configs, a sweep over ``R_s`` recompiled at every point (2.3-3.7 s per
point against 0.2 s for ``P_dBm``). The machine may be shared: CPU time is the steadier number.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SWEEPS = {
    "P_dBm": ("0,10,20,30", {}),
    "R_s": ("0.5,1,2,4", {"P_dBm": "20"}),
    "noise_dBm": ("-90,-85,-80,-75", {"P_dBm": "20"}),
}
CHILD = r"""
import json, sys, time
from irsjax import scenario as S
from irsjax.cli import load_scenario
name, values, fixed, shared = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "1"
sc = load_scenario("wiretap")
params, sw, vals = S.resolve(sc, {**fixed, "K": "32", name: values})
t0, c0 = time.perf_counter(), time.process_time()
S.run_sweep(sc, params, sw, vals, seed=1, samples=20_000, shared_draws=shared)
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "points": len(vals)}))
"""


def main() -> None:
    env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": "", "JAX_ENABLE_COMPILATION_CACHE": "false"}
    rows = []
    for shared in (False, True):
        for name, (values, fixed) in SWEEPS.items():
            out = subprocess.run([sys.executable, "-c", CHILD, name, values, json.dumps(fixed), "1" if shared else "0"],
                                 capture_output=True, text=True, env=env, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((name, shared, r))
            print(name, "shared" if shared else "per-point", r, flush=True)
    lines = ["# Float sweeps: per-point cost (bench/bench_float_sweeps.py)", "",
             f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
             f"{os.cpu_count()} CPUs; wiretap K = 32, 4 points x 20 000 realisations, fresh process per row, "
             "persistent compilation cache off.", "",
             "| swept float | mode | wall s | CPU s | wall s / point | CPU s / point | CPU ratio to P_dBm |",
             "|---|---|---|---|---|---|---|"]
    for name, shared, r in rows:
        ref = next(x for n, s, x in rows if n == "P_dBm" and s == shared)
        mode = "shared draws" if shared else "point by point"
        lines.append(f"| {name} | {mode} | {r['wall']:.2f} | {r['cpu']:.2f} | "
                     f"{r['wall'] / r['points']:.2f} | {r['cpu'] / r['points']:.2f} | {r['cpu'] / ref['cpu']:.2f} |")
    with open(os.path.join(HERE, "RESULTS_float_sweeps.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

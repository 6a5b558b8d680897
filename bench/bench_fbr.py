"""Per topology: time and min FBR secrecy rate of the gradient design, the JAX SCA (Algorithm 1) and the cvxpy
SCA (Algorithm 1 with every convex step solved by Clarabel), side by side on the same topologies and starts.

    python bench/bench_fbr.py --topologies 8 --seed 120427          # -> bench/RESULTS_fbr.md
    python bench/bench_fbr.py --topologies 3 --no-cvx --out /tmp/fbr.md

Max-min, perfect CSI, LBR then FBR warm-started, MODELS.md 4(e) defaults (M = K = 4, N = 16), the scenario's
default design options. JAX times are per topology after compilation (one jitted function per method, compile
time reported separately); the cvxpy time is the wall time of its Algorithm 1 (``optim.cvx_fbr.sca_design``,
``--sca-outer`` iterations per stage, the paper's 1e-3 stop). ``--sca-outer-long`` also runs the JAX SCA with
that many iterations per stage, to show whether SCA's shortfall is the iteration cap or a local optimum; the
"W only" column keeps the starting phases (no theta steps), to show what the theta steps add.
"""
import argparse
import datetime
import json
import os
import platform
import time

import numpy as np
import jax

from irsjax.systems import downlink_fbr as dl
from optim import cvx_fbr, fbr_design as fd

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--topologies", type=int, default=5)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--sca-outer", type=int, default=10)
    ap.add_argument("--sca-outer-long", type=int, default=50, help="0: skip the long JAX SCA run")
    ap.add_argument("--no-cvx", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS_fbr.md"))
    a = ap.parse_args()
    cfg = dl.FBRDownlinkConfig()
    t_start = time.perf_counter()

    @jax.jit
    def setup(key):
        k1, k2 = jax.random.split(key)
        prob = dl.problem(dl.sample(k1, cfg), cfg)
        W0, th0 = fd.initial_point(k2, prob)
        return prob, W0, th0

    methods = {
        "gradient": jax.jit(lambda p, W, th, k: fd.design(k, p, W, th, method="gradient").value[1]),
        f"sca_jax ({a.sca_outer} it.)": jax.jit(
            lambda p, W, th, k: fd.design(k, p, W, th, method="sca", num_outer=a.sca_outer).value[1]),
    }
    methods[f"sca_jax, W only ({a.sca_outer} it.)"] = jax.jit(  # theta kept at the start: what the theta steps add
        lambda p, W, th, k: fd.design(k, p, W, th, method="sca", num_outer=a.sca_outer,
                                      optimize_theta=False).value[1])
    if a.sca_outer_long:
        methods[f"sca_jax ({a.sca_outer_long} it.)"] = jax.jit(
            lambda p, W, th, k: fd.design(k, p, W, th, method="sca", num_outer=a.sca_outer_long).value[1])
    cvx_name = f"sca_cvxpy ({a.sca_outer} it.)"
    use_cvx = not a.no_cvx and cvx_fbr.available()
    rows, compile_s = [], {}
    for i in range(a.topologies):
        key = jax.random.fold_in(jax.random.key(a.seed), i)
        prob, W0, th0 = jax.block_until_ready(setup(key))
        row = {}
        for name, fn in methods.items():
            if name not in compile_s:
                t0 = time.perf_counter()
                jax.block_until_ready(fn(prob, W0, th0, key))
                compile_s[name] = time.perf_counter() - t0
            t0 = time.perf_counter()
            v = float(jax.block_until_ready(fn(prob, W0, th0, key)))
            row[name] = (v, time.perf_counter() - t0)
        if use_cvx:
            P = [np.asarray(x) for x in prob]
            t0 = time.perf_counter()
            res = cvx_fbr.sca_design(P[0], P[1], np.asarray(W0), np.asarray(th0), float(P[3]), float(P[4]),
                                     num_outer=a.sca_outer)
            row[cvx_name] = (float(res.value), time.perf_counter() - t0)
        rows.append(row)
        print(f"topology {i}: " + "  ".join(f"{k} {v:.3f} bit ({t:.2f} s)" for k, (v, t) in row.items()), flush=True)
    print("first call (compile + run): " + ", ".join(f"{k} {v:.1f} s" for k, v in compile_s.items()))

    names = list(rows[0])
    summary = {}
    for k in names:
        v = np.array([r[k][0] for r in rows])
        t = np.array([r[k][1] for r in rows])
        summary[k] = {"mean_min_sr": float(v.mean()), "sd_min_sr": float(v.std(ddof=1)) if len(v) > 1 else None,
                      "median_s": float(np.median(t)), "compile_s": compile_s.get(k)}
        print(f"{k:22s} mean min SR {v.mean():.3f} bit/s/Hz, median time {np.median(t):.3f} s per topology")
    g = np.array([r["gradient"][0] for r in rows])
    lines = ["# FBR max-min design: gradient vs JAX SCA vs cvxpy SCA, per topology", "",
             f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by "
             f"`python bench/bench_fbr.py --topologies {a.topologies} --seed {a.seed} --sca-outer {a.sca_outer} "
             f"--sca-outer-long {a.sca_outer_long}{' --no-cvx' if a.no_cvx else ''}` in "
             f"{time.perf_counter() - t_start:.0f} s.", "",
             f"* machine: {platform.machine()}, {os.cpu_count()} CPU cores; backend {jax.default_backend()}; "
             f"jax {jax.__version__}, numpy {np.__version__}",
             "* MODELS.md 4(e) defaults (M = K = 4, N = 16, 134 dB P/sigma^2 scale), perfect CSI, max-min, LBR then "
             "FBR warm-started; every method from the same single start (RZF + random phases; the scenario's "
             "default design uses 2 starts)",
             "* min SR = min_k FBR secrecy rate of the final design (bit/s/Hz, un-clipped); time = wall seconds per "
             "topology after compilation (cvxpy: its whole Algorithm 1)", "",
             "| topology | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for i, r in enumerate(rows):
        lines.append(f"| {i} | " + " | ".join(f"{r[k][0]:.3f} bit, {r[k][1]:.3g} s" for k in names) + " |")
    lines += ["", "| method | mean min SR | min SR / gradient's (mean, worst) | median s per topology | compile s |",
              "|---|---|---|---|---|"]
    for k in names:
        v = np.array([r[k][0] for r in rows])
        ratio = v / np.where(g != 0, g, np.nan)
        lines.append(f"| {k} | {v.mean():.3f} | {np.nanmean(ratio):.3f}, {np.nanmin(ratio):.3f} | "
                     f"{summary[k]['median_s']:.3g} | "
                     f"{'' if compile_s.get(k) is None else f'{compile_s[k]:.1f}'} |")
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump({"seed": a.seed, "topologies": a.topologies, "sca_outer": a.sca_outer,
                   "sca_outer_long": a.sca_outer_long, "rows": rows, "summary": summary,
                   "versions": {"jax": jax.__version__, "numpy": np.__version__}}, f, indent=1)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()

"""Per topology: time and min FBR secrecy rate of the gradient design, the JAX SCA (Algorithm 1) and the cvxpy
SCA (Algorithm 1 with every convex step solved by Clarabel), side by side on the same topologies and starts.

    python bench/bench_fbr.py --topologies 5 --seed 123

Max-min, perfect CSI, LBR then FBR warm-started, MODELS.md 4(e) defaults (M = K = 4, N = 16). JAX times are
per topology after compilation (one jitted function per method, compile time reported separately); the cvxpy
time is the wall time of its Algorithm 1 (``optim.cvx_fbr.sca_design``).
"""
import argparse
import time

import numpy as np
import jax

from irsjax.systems import downlink_fbr as dl
from optim import cvx_fbr, fbr_design as fd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--topologies", type=int, default=5)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--sca-outer", type=int, default=10)
    ap.add_argument("--no-cvx", action="store_true")
    a = ap.parse_args()
    cfg = dl.FBRDownlinkConfig()

    @jax.jit
    def setup(key):
        k1, k2 = jax.random.split(key)
        prob = dl.problem(dl.sample(k1, cfg), cfg)
        W0, th0 = fd.initial_point(k2, prob)
        return prob, W0, th0

    grad = jax.jit(lambda p, W, th, k: fd.design(k, p, W, th, method="gradient").value[1])
    sca = jax.jit(lambda p, W, th, k: fd.design(k, p, W, th, method="sca", num_outer=a.sca_outer).value[1])
    rows = []
    compile_s = {}
    for i in range(a.topologies):
        key = jax.random.fold_in(jax.random.key(a.seed), i)
        prob, W0, th0 = jax.block_until_ready(setup(key))
        row = {}
        for name, fn in (("gradient", grad), ("sca_jax", sca)):
            if name not in compile_s:
                t0 = time.perf_counter()
                jax.block_until_ready(fn(prob, W0, th0, key))
                compile_s[name] = time.perf_counter() - t0
            t0 = time.perf_counter()
            v = float(jax.block_until_ready(fn(prob, W0, th0, key)))
            row[name] = (v, time.perf_counter() - t0)
        if not a.no_cvx and cvx_fbr.available():
            P = [np.asarray(x) for x in prob]
            t0 = time.perf_counter()
            res = cvx_fbr.sca_design(P[0], P[1], np.asarray(W0), np.asarray(th0), float(P[3]), float(P[4]),
                                     num_outer=a.sca_outer)
            row["sca_cvxpy"] = (float(res.value), time.perf_counter() - t0)
        rows.append(row)
        print(f"topology {i}: " + "  ".join(f"{k} {v:.3f} bit ({t:.2f} s)" for k, (v, t) in row.items()), flush=True)
    print("first call (compile + run): " + ", ".join(f"{k} {v:.1f} s" for k, v in compile_s.items()))
    for k in rows[0]:
        v = np.array([r[k][0] for r in rows])
        t = np.array([r[k][1] for r in rows])
        print(f"{k:10s} mean min SR {v.mean():.3f} bit/s/Hz, median time {np.median(t):.2f} s per topology")


if __name__ == "__main__":
    main()

"""Uplink phase step (P7 of MODELS.md 3(c)): gradient vs JAX Dinkelbach-SDR vs cvxpy + Clarabel, side by side.

    .venv/bin/python bench/bench_uplink.py                      # N = 16, 32, 64; 16 instances, cvxpy on 3 per N
    .venv/bin/python bench/bench_uplink.py --N 64 --num 8 --cvx-num 2
    .venv/bin/python bench/bench_uplink.py --cvx-num 3,3,1  # per N: cvxpy at N = 64 takes ~30+ min an instance
    .venv/bin/python bench/bench_uplink.py --fig3b              # also time the whole fig3b preset (200 topologies)

For every N the same realisations (K = 4 users, M = 4, N_E = 2, MODELS.md 3(e) geometry, seed 12345: not used
for tuning) are drawn; the receivers are fixed at their MMSE values at random phases ``v0`` and the phases are
optimised for ``max min_k x_k(v; W)`` (the phase step of Algorithm 2) by

* the gradient method (``scenarios.uplink_design.gradient_design``: 4 annealing paths of Riemannian CG on
  the soft-min, relative temperatures 0.3 -> 0.1 -> ... -> 3e-5 -> 0; all instances in one vmapped,
  jit-compiled call; time per instance = warm wall time / instances),
* the JAX Dinkelbach-SDR surrogate (``optim.minmax_ratio.minmax_ratio_sdr``: Burer-Monteiro per P10 +
  Gaussian randomisation, I_G = 100; batched the same way),
* cvxpy + Clarabel (``optim.cvx_minmax_ratio``: generalised Dinkelbach with every P10 solved by Clarabel,
  then Gaussian randomisation, I_G = 100; one instance at a time, wall time of the whole phase step),

interleaved (JAX timings before and after the cvxpy loop; the smaller is reported). Objective reached:
``min_k x_k(v; W)`` of the returned phases, as a ratio to cvxpy's (on the instances cvxpy solved) and to
Clarabel's relaxed optimum (an upper bound for every unit-modulus point). Writes ``bench/RESULTS_uplink.md``.
Goal: gradient >= 1000x faster than cvxpy at N = 64 with an objective within 1e-3 of it or better.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

import optim
from irsjax.systems import uplink as sysm
from optim import cvx_minmax_ratio as ref
from optim import minmax_ratio
from scenarios import uplink_design as ud

SEED = 12345
GOAL_SPEEDUP, GOAL_TOL = 1000.0, 1e-3


def setup(key, cfg):
    k1, k2, k3 = jax.random.split(key, 3)
    ch = sysm.sample(k1, cfg)
    data = ud.problem_data(cfg, ch)
    v0 = optim.manifold.random_point(k2, (cfg.N,), dtype=ch.G.dtype)
    W = ud.mmse(v0, data)
    Q = sysm.cascade_coefficients(ch, W)
    wn = jnp.sum(jnp.abs(W) ** 2, axis=-1)
    return k3, v0, W, Q, wn, data


def make_runs(cfg):
    def grad(key):
        k, v0, W, _, _, data = setup(key, cfg)
        r = ud.gradient_design(k, v0, ud.fixed_receiver_objective, (W, data))
        return jnp.min(ud.fixed_receiver_x(r.phases, W, data))

    def sdr(key):
        k, v0, W, Q, wn, data = setup(key, cfg)
        c, off = ud.ratio_coefficients(data, False)
        v, _, res = minmax_ratio.minmax_ratio_sdr(ud.ratio_terms, k, v0, args=(Q, wn, c, off, data))
        return jnp.min(ud.fixed_receiver_x(v, W, data)), res.value

    def start(key):
        _, v0, W, Q, wn, data = setup(key, cfg)
        A, B = ud.lifted_matrices(Q, wn, data)
        return v0, jnp.min(ud.fixed_receiver_x(v0, W, data)), A, B

    return jax.jit(jax.vmap(grad)), jax.jit(jax.vmap(sdr)), jax.jit(start)


def timed(f, *a):
    t0 = time.perf_counter()
    out = jax.block_until_ready(f(*a))
    return out, time.perf_counter() - t0


def bench_N(N, num, cvx_num):
    cfg = sysm.UplinkConfig(K=4, M=4, N=N, N_E=2)
    keys = jax.random.split(jax.random.fold_in(jax.random.key(SEED), N), num)
    grad, sdr, start = make_runs(cfg)
    g, _ = timed(grad, keys)  # compile + first run
    s, _ = timed(sdr, keys)
    _, tg1 = timed(grad, keys)
    _, ts1 = timed(sdr, keys)
    cv = []
    for i in range(cvx_num):
        v0, x0, A, B = start(keys[i])
        t0 = time.perf_counter()
        _, val, rc = ref.minmax_ratio_sdr(np.asarray(A, np.complex128), np.asarray(B, np.complex128), np.asarray(v0))
        cv.append((val, rc.value, time.perf_counter() - t0, rc.solve_time_s, len(rc.gaps), float(x0),
                   ",".join(sorted(set(rc.statuses)))))
        print(f"N={N} cvxpy instance {i}: value {val:.6g}, relaxed {rc.value:.6g}, {cv[-1][2]:.1f} s", flush=True)
    _, tg2 = timed(grad, keys)
    _, ts2 = timed(sdr, keys)
    g = np.asarray(g, float)
    s_val, s_rel = (np.asarray(a, float) for a in s)
    statuses = sorted({st for c in cv for st in c[6].split(",")})
    cv = np.array([c[:6] for c in cv], float) if cv else np.zeros((0, 6))
    row = {"N": N, "num": num, "cvx_num": cvx_num,
           "t_grad": min(tg1, tg2) / num, "t_sdr": min(ts1, ts2) / num,
           "t_cvx": float(cv[:, 2].mean()) if cvx_num else float("nan"),
           "t_clarabel": float(cv[:, 3].mean()) if cvx_num else float("nan"),
           "p10_solves": float(cv[:, 4].mean()) if cvx_num else float("nan"),
           "grad_vs_sdr_mean": float(np.mean(g / s_val - 1)), "grad_vs_sdr_worst": float(np.min(g / s_val - 1))}
    if cvx_num:
        gc, sc = g[:cvx_num], s_val[:cvx_num]
        row.update({
            "grad_vs_cvx": (gc / cv[:, 0] - 1).tolist(), "sdr_vs_cvx": (sc / cv[:, 0] - 1).tolist(),
            "grad_vs_bound": (gc / cv[:, 1] - 1).tolist(),
            "sdr_relaxed_vs_bound": (s_rel[:cvx_num] / cv[:, 1] - 1).tolist(),
            "cvx_vs_bound": (cv[:, 0] / cv[:, 1] - 1).tolist(), "start": cv[:, 5].tolist(),
            "cvx_value": cv[:, 0].tolist()})
        row["speedup"] = row["t_cvx"] / row["t_grad"]
        row["goal"] = bool(row["speedup"] >= GOAL_SPEEDUP and min(row["grad_vs_cvx"]) >= -GOAL_TOL)
    row["clarabel_statuses"] = statuses
    return row


def bench_fig3b(samples):
    from irsjax.scenario import resolve, run_sweep
    from scenarios.uplink_sop import SCENARIO

    params, name, values = resolve(SCENARIO, {"preset": "fig3b"})
    times = []

    def on_point(i, x, cached):
        times.append((x, cached["elapsed_s"]))

    t0 = time.perf_counter()
    res = run_sweep(SCENARIO, params, name, values, seed=0, samples=samples, on_point=on_point)
    return time.perf_counter() - t0, times, res


def fmt_pct(xs):
    return "; ".join(f"{x:+.2e}" for x in xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", default="16,32,64")
    ap.add_argument("--num", type=int, default=16)
    ap.add_argument("--cvx-num", default="3", help="cvxpy instances: one count, or one per N (comma-separated)")
    ap.add_argument("--fig3b", action="store_true")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS_uplink.md"))
    a = ap.parse_args()
    rows = []
    Ns = [int(x) for x in a.N.split(",")]
    cvx = [int(x) for x in a.cvx_num.split(",")]
    if len(cvx) == 1:
        cvx = cvx * len(Ns)
    if len(cvx) != len(Ns):
        ap.error(f"--cvx-num: give one count or one per N ({len(Ns)}), got {a.cvx_num!r}")
    for N, c in zip(Ns, cvx):
        r = bench_N(N, a.num, c)
        rows.append(r)
        print(r, flush=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    lines = ["# Uplink phase step: gradient vs JAX Dinkelbach-SDR vs cvxpy + Clarabel", "",
             "P7 of MODELS.md 3(c) (receivers fixed at MMSE at random phases; maximise min_k x_k over the phases), "
             "K = 4, M = 4, N_E = 2, MODELS.md 3(e) geometry, seed 12345 (fresh, not used for tuning). "
             "Objective = min_k x_k(v; W); ratios are value / reference - 1 (positive = better).", "",
             "| N | instances (cvxpy) | t grad / inst | t JAX SDR / inst | t cvxpy / inst (Clarabel only) | "
             "P10 solves | speed-up grad vs cvxpy | grad vs cvxpy (per instance) | JAX SDR vs cvxpy | "
             "grad vs Clarabel bound | grad vs JAX SDR (mean / worst, all) | goal |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["cvx_num"]:
            lines.append(
                f"| {r['N']} | {r['num']} ({r['cvx_num']}) | {1000 * r['t_grad']:.1f} ms | "
                f"{1000 * r['t_sdr']:.1f} ms | "
                f"{r['t_cvx']:.1f} s ({r['t_clarabel']:.1f} s) | {r['p10_solves']:.1f} | {r['speedup']:.0f}x | "
                f"{fmt_pct(r['grad_vs_cvx'])} | {fmt_pct(r['sdr_vs_cvx'])} | {fmt_pct(r['grad_vs_bound'])} | "
                f"{r['grad_vs_sdr_mean']:+.2e} / {r['grad_vs_sdr_worst']:+.2e} | {'met' if r['goal'] else 'NOT met'} |")
        else:
            lines.append(f"| {r['N']} | {r['num']} (0) | {1000 * r['t_grad']:.1f} ms | {1000 * r['t_sdr']:.1f} ms | "
                         f"- | - | - | - | - | - | {r['grad_vs_sdr_mean']:+.2e} / {r['grad_vs_sdr_worst']:+.2e} | - |")
    lines += ["", f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores visible, jax {jax.__version__} "
              f"({jax.default_backend()}), load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
              "(shared with other jobs: absolute times are inflated, ratios measured in the same run).",
              "Clarabel statuses: " + "; ".join(f"N={r['N']}: {'/'.join(r['clarabel_statuses'])}" for r in rows
                                                 if r["cvx_num"]) + ".",
              f"Command: `python bench/bench_uplink.py --N {a.N} --num {a.num} --cvx-num {a.cvx_num}"
              + (" --fig3b" if a.fig3b else "") + "`."]
    if a.fig3b:
        total, times, res = bench_fig3b(a.samples)
        lines += ["", f"## Whole fig3b preset ({a.samples} topologies per point, N = 16..128)", "",
                  f"Total {total:.0f} s; per point: " + ", ".join(f"N={x}: {t:.0f} s" for x, t in times)]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

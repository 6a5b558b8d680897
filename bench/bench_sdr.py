"""Gradient phase design vs semidefinite relaxation (cvxpy + Clarabel) on the IRS wiretap ratio problem.

    .venv/bin/python bench/bench_sdr.py                 # K = 16, 32, 64, 20 instances each (~30-60 min CPU)
    .venv/bin/python bench/bench_sdr.py --K 16 --num 5  # quick look
    .venv/bin/python bench/bench_sdr.py --cache bench/sdr_cache.json --retime 10  # reuse stored SDR bounds

``bench/sdr_cache.json`` holds the Clarabel results (bound, SDR + randomisation
value, eigenvalue ratio, solve time) of the 60 instances of seed 0 as computed
by this script; with ``--retime N`` the first N instances at K = 16, 32 are
solved again so that the cvxpy time is measured in the same run as the JAX one.

For every K the same random instances (``optim.problems.wiretap_instances``,
float64) are solved by

* the batched gradient method (``optim.maximize_phases_batched``: BFGS ascent
  in the angle coordinates with Armijo steps; 8 restarts -- the first from the
  generalised-eigenvector warm start -- screened for 40 iterations (100 at
  K = 64), then the best one refined to ``tol`` by BFGS (modified Newton at
  K = 64); all instances in one vmapped, jit-compiled call; time per instance =
  warm wall time / instances; also for a batch of 1000 other instances),
* the JAX SDR (``optim.sdr.wiretap_ratio_sdr``: Burer-Monteiro + Gaussian randomisation),
* the reference SDR (``optim.cvx_reference``: Charnes-Cooper SDP, Clarabel; its
  optimum is an upper bound) followed by Gaussian randomisation (100 draws +
  principal eigenvector).

Writes the table to ``bench/RESULTS_sdr_wiretap.md`` (``--out``) and checks the
acceptance criteria (exit status 1 when one fails): mean gradient/bound >=
0.999, worst >= 0.99 (an instance below is accepted only where the SDR
solution is not rank one -- the relaxation is loose there, no unit-modulus
point can reach the bound -- and the gradient still matches SDR +
randomisation; where such loose instances exist, the mean criterion is
checked over the tight (rank-one) instances and every loose one must match
SDR + randomisation), never above the bound by more than
``BOUND_TOL`` relative (Clarabel accuracy), mean gradient >= mean
SDR+randomisation (``-MATCH_TOL``), and the per-instance speed-up at K = 32 >= 1000.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time

import numpy as np
import jax

from optim import problems, sdr
from optim.phases import PhaseOptions, maximize_phases_batched
from optim import cvx_reference

GRAD_OPTIONS = PhaseOptions(num_restarts=8, max_iters=500, tol=1e-10, patience=2, direction="bfgs", screen_iters=40)
BOUND_TOL = 5e-5  # Clarabel's optimum is accurate to ~1e-5 relative (a rank-one point can exceed it by that much)
MATCH_TOL = 1e-6  # "match or beat SDR + randomisation on average", relative to the bound
RANK_ONE_GAP = 1e-2  # lambda_2 / lambda_1 of the SDR solution above this: the relaxation is not tight


def _timed(f, *a):
    out = f(*a)
    jax.block_until_ready(out)  # compile + first run
    t0 = time.perf_counter()
    out = f(*a)
    jax.block_until_ready(out)
    return out, time.perf_counter() - t0


def _load_cache(path):
    if path and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def grad_options(K):
    """Up to K = 32: BFGS, 8 restarts screened for 40 iterations, the best refined by BFGS. Beyond: screened
    for 100 iterations and refined by modified Newton -- on the highest-SNR K = 64 instances (ratio ~ 1e5,
    Eve nulled to high precision) the problem is so ill-conditioned that first-order methods stall
    (CG at 99.8-99.9 % of the bound after 30000 iterations) and BFGS needs hundreds of iterations."""
    if K <= 32:
        return GRAD_OPTIONS
    return dataclasses.replace(GRAD_OPTIONS, screen_iters=100, refine_direction="newton")


def _grad(d, key, K):
    """Batched gradient method: first restart from the generalised-eigenvector warm start, 7 random."""
    init = jax.vmap(problems.wiretap_eig_init)(d)
    return maximize_phases_batched(problems.wiretap_ratio, key, d, K, init=init, options=grad_options(K))


def run_k(K, num, seed=0, *, big_batch=1000, log=print, cache=None, retime=0, cached_only=False):
    """Solve ``num`` instances of size K both ways; ``cache`` (a JSON path) stores the cvxpy results."""
    key = jax.random.key(seed + 1000 * K)
    k_inst, k_grad, k_jsdr, k_big = jax.random.split(key, 4)
    insts = problems.wiretap_instances(k_inst, K, num)
    grad = jax.jit(lambda d, k: _grad(d, k, K))
    g_res, t_grad = _timed(grad, insts, k_grad)
    big = problems.wiretap_instances(k_big, K, big_batch)
    _, t_big = _timed(grad, big, k_big)
    jsdr = jax.jit(jax.vmap(lambda k, b, e: sdr.wiretap_ratio_sdr(k, b, e)))
    j_res, t_jsdr = _timed(jsdr, jax.random.split(k_jsdr, num), insts.b, insts.e)
    rows = []
    order = range(num - 1, -1, -1) if os.environ.get("BENCH_SDR_REVERSE") == "1" else range(num)
    for i in order:
        store = _load_cache(cache)
        b = np.asarray(insts.b[i], np.complex128)
        e = np.asarray(insts.e[i], np.complex128)
        tag = f"{K}/{seed}/{i}/{num}"
        if tag in store and i >= retime:
            ref = dict(store[tag], cached=True)
        elif cached_only:
            continue
        else:
            t0 = time.perf_counter()
            out = cvx_reference.sdr_wiretap_ratio(b, e, seed=i)
            w = np.linalg.eigvalsh(out.X)
            ref = dict(bound=out.bound, status=out.status, cvx_time=time.perf_counter() - t0,
                       sdr_rand=out.randomized_value, eig_ratio=float(w[-2] / w[-1]), cached=False)
            if cache:  # re-read first: several processes may fill the same cache
                store = _load_cache(cache)
                store[tag] = {k: v for k, v in ref.items() if k != "cached"}
                with open(cache, "w") as f:
                    json.dump(store, f)
        rows.append(dict(i=i, cached=ref["cached"], bound=ref["bound"], status=ref["status"],
                         cvx_time=ref["cvx_time"], sdr_rand=ref["sdr_rand"],
                         eig_ratio=ref["eig_ratio"],
                         grad=float(g_res.value[i]), jax_sdr=float(j_res.value[i]),
                         jax_relaxed=float(j_res.relaxed_value[i]), grad_iters=int(g_res.num_iters[i]),
                         grad_converged=bool(g_res.converged[i])))
        r = rows[-1]
        log(f"K={K} #{i}: bound {r['bound']:.6g} ({r['status']}, {r['cvx_time']:.1f} s, l2/l1 {r['eig_ratio']:.1e})  "
            f"grad/bound {r['grad'] / r['bound']:.7f}  sdr+rand/bound {r['sdr_rand'] / r['bound']:.7f}")
    rows.sort(key=lambda r: r["i"])
    n_timed, num = num, len(rows)  # all instances were timed by the JAX methods; rows may skip uncached ones
    bound = np.array([r["bound"] for r in rows])
    ratio = np.array([r["grad"] for r in rows]) / bound
    rand = np.array([r["sdr_rand"] for r in rows]) / bound
    jx = np.array([r["jax_sdr"] for r in rows]) / bound
    jrel = np.array([r["jax_relaxed"] for r in rows]) / bound
    fresh = [r["cvx_time"] for r in rows if not r["cached"]]
    # time per cvxpy instance: from the solves of this run (cached results carry the time of an earlier run)
    t_cvx = float(np.mean(fresh if fresh else [r["cvx_time"] for r in rows]))
    summary = dict(K=K, num=num, grad_mean=float(ratio.mean()), grad_min=float(ratio.min()),
                   grad_max=float(ratio.max()),
                   sdr_rand_mean=float(rand.mean()), sdr_rand_min=float(rand.min()), jax_sdr_mean=float(jx.mean()),
                   jax_relaxed_mean=float(jrel.mean()), grad_wins=int(np.sum(ratio >= rand - 1e-9)),
                   t_grad_per_instance=t_grad / n_timed, t_grad_per_instance_big=t_big / big_batch,
                   t_jax_sdr_per_instance=t_jsdr / n_timed, t_cvx_per_instance=t_cvx, cvx_timed_now=len(fresh),
                   speedup=t_cvx / (t_grad / n_timed), speedup_big=t_cvx / (t_big / big_batch),
                   statuses=sorted(set(r["status"] for r in rows)),
                   not_tight=[r["i"] for r in rows if r["eig_ratio"] > RANK_ONE_GAP],
                   grad_mean_tight=float(np.mean([ratio[j] for j in range(num) if rows[j]["eig_ratio"] <= RANK_ONE_GAP]
                                                 or [np.nan])),
                   loose_match=all(ratio[j] >= rand[j] - MATCH_TOL for j in range(num)
                                   if rows[j]["eig_ratio"] > RANK_ONE_GAP),
                   below_99=[rows[j]["i"] for j in range(num) if ratio[j] < 0.99],
                   below_99_explained=all(rows[j]["eig_ratio"] > RANK_ONE_GAP
                                          and ratio[j] >= rand[j] - MATCH_TOL for j in range(num) if ratio[j] < 0.99),
                   grad_converged=int(sum(r["grad_converged"] for r in rows)))
    return summary, rows


def check(summary):
    """List of failed acceptance criteria (empty when all pass)."""
    s = summary
    fails = []
    if s["grad_mean"] < 0.999:
        # instances with a loose relaxation (SDR solution of rank > 1) have an unattainable bound: then the
        # mean is checked over the tight instances, and every loose one must match SDR + randomisation
        if not s["not_tight"] or not s["loose_match"]:
            fails.append(f"K={s['K']}: mean gradient/bound {s['grad_mean']:.6f} < 0.999")
        elif not s["grad_mean_tight"] >= 0.999:
            fails.append(f"K={s['K']}: mean gradient/bound over tight instances {s['grad_mean_tight']:.6f} < 0.999")
    if s["grad_min"] < 0.99 and not s["below_99_explained"]:
        # an instance below 99 % is accepted only when the relaxation is provably loose there
        # (SDR solution not rank one) and the gradient method still matches SDR + randomisation
        fails.append(f"K={s['K']}: worst gradient/bound {s['grad_min']:.6f} < 0.99")
    if s["grad_max"] > 1 + BOUND_TOL:
        fails.append(f"K={s['K']}: gradient exceeds the SDR bound ({s['grad_max']:.9f})")
    if s["grad_mean"] < s["sdr_rand_mean"] - MATCH_TOL:
        fails.append(f"K={s['K']}: mean gradient {s['grad_mean']:.7f} < SDR+randomisation {s['sdr_rand_mean']:.7f}")
    return fails


def table(summaries):
    lines = [
        "# Gradient phase design vs SDR (cvxpy + Clarabel)",
        "",
        "Single-antenna IRS wiretap, maximise (1+|b^H vbar|^2)/(1+|e^H vbar|^2) over unit-modulus v "
        "(optim.problems, float64). Bound = Charnes-Cooper SDR optimum (Clarabel). "
        "Ratios are objective / SDR bound (1 = bound attained).",
        "",
        "| K | instances | gradient mean | gradient mean (tight) | gradient worst | gradient max | SDR+rand mean "
        "| SDR+rand worst "
        "| JAX SDR+rand mean | JAX BM relaxed mean | grad >= SDR+rand | t grad/inst (batch of n) "
        "| t grad/inst (batch 1000) | t cvxpy/inst | speed-up (n) | speed-up (1000) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        lines.append(
            f"| {s['K']} | {s['num']} | {s['grad_mean']:.7f} | {s['grad_mean_tight']:.7f} | {s['grad_min']:.7f} "
            f"| {s['grad_max']:.9f} | {s['sdr_rand_mean']:.7f} | {s['sdr_rand_min']:.7f} | {s['jax_sdr_mean']:.7f} "
            f"| {s['jax_relaxed_mean']:.7f} | {s['grad_wins']}/{s['num']} | {s['t_grad_per_instance'] * 1e3:.3f} ms "
            f"| {s['t_grad_per_instance_big'] * 1e3:.3f} ms | {s['t_cvx_per_instance']:.2f} s "
            f"({s['cvx_timed_now']} timed) | {s['speedup']:.0f}x | {s['speedup_big']:.0f}x |")
    lines += ["", f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores visible, jax {jax.__version__} "
              f"({jax.default_backend()}), shared with other jobs. Clarabel statuses: "
              + ", ".join(f"K={s['K']}: {'/'.join(s['statuses'])}" for s in summaries) + ".",
              "Instances with a loose relaxation (SDR solution not rank one, lambda2/lambda1 > "
              f"{RANK_ONE_GAP:g}): " + ", ".join(f"K={s['K']}: {s['not_tight']}" for s in summaries)
              + "; instances with gradient/bound < 0.99: "
              + ", ".join(f"K={s['K']}: {s['below_99']}" for s in summaries) + ".",
              "Gradient method: first restart from the generalised-eigenvector warm start "
              "(optim.problems.wiretap_eig_init), 7 random restarts; options " + repr(GRAD_OPTIONS)
              + " (K > 32: screen_iters=100, refine_direction='newton'). "
              "'tight' = instances whose SDR solution is rank one (the bound is attainable).", ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--K", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--num", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default="", help="JSON file caching the cvxpy results (re-runs skip the SDPs)")
    ap.add_argument("--retime", type=int, default=0,
                    help="with --cache: re-solve the first N instances per K to time cvxpy in this run")
    ap.add_argument("--cached-only-k", type=int, nargs="*", default=[],
                    help="sizes for which only instances already in the cache are used (no new SDPs)")
    ap.add_argument("--retime-k", type=int, nargs="*", default=[16, 32], help="sizes --retime applies to")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS_sdr_wiretap.md"))
    a = ap.parse_args(argv)
    jax.config.update("jax_enable_x64", True)  # float64 like the SDP solver (tests use jax.enable_x64(True))
    if not cvx_reference.available():
        print("cvxpy/clarabel not installed: pip install 'irsjax[cvx]'", file=sys.stderr)
        return 2
    summaries, fails = [], []
    t_start = time.perf_counter()
    for K in a.K:
        s, rows = run_k(K, a.num, a.seed, log=lambda m: print(m, flush=True), cache=a.cache or None,
                        retime=a.retime if K in a.retime_k else 0, cached_only=K in a.cached_only_k)
        summaries.append(s)
        fails += check(s)
        print(json.dumps(s), flush=True)
    if 32 in a.K:
        s32 = next(s for s in summaries if s["K"] == 32)
        if s32["speedup"] < 1000:
            fails.append(f"speed-up at K=32 {s32['speedup']:.0f}x < 1000x")
    print(f"total wall time {time.perf_counter() - t_start:.0f} s", flush=True)
    verdict = "all criteria pass." if not fails else "FAILED: " + "; ".join(fails)
    text = table(summaries) + "\nAcceptance: " + verdict + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

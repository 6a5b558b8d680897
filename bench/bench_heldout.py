"""Default phase design on held-out instance families vs the SDR (cvxpy + Clarabel) and SDR + randomisation.

    .venv/bin/python bench/bench_heldout.py --seed S --out bench/RESULTS_sdr.md   # full table (S: a fresh seed)
    .venv/bin/python bench/bench_heldout.py --seed S --K 16 --num 4 --families wiretap-iid  # quick look

For every family of :mod:`optim.families` and every K, ``--num`` instances are drawn from ``--seed``
(float64) and solved by ``optim.maximize_phases_batched`` with its **default** options (all instances in
one vmapped, jit-compiled call, after a compile call on other instances of the same shape). Time per instance =
warm wall time / instances, the median of ``--repeats`` calls on the same instances (one wall-clock sample on a
shared 2-core machine varies by up to ~40 % from call to call: 2.35 to 3.36 ms an instance for identical calls);
the table also shows the slowest of those calls, and the JSON every sample. Per instance:

* ``optim.certify``: rigorous SDR-dual upper bound at the found point; "certified" = gap <= 1e-9 relative;
* for K <= ``--cvx-max-K`` (max-min families: K <= 16): the SDR optimum by Clarabel (one
  Charnes-Cooper SDP for a single ratio, bisection over feasibility SDPs for max-min ratios, one SDP
  for quadratics), the SDR solution's eigenvalue ratio lambda2/lambda1 and Gaussian randomisation
  (100 draws + principal direction, ``optim.sdr.gaussian_randomization``). The bound used is
  min(SDR optimum, certificate) (both are upper bounds).
  An instance is *tight* when a unit-modulus point is known to reach the bound (the certificate proves
  ours optimal, or ours or SDR + randomisation is within 1e-6 of it) or the solution of a single SDP is
  rank one (lambda2/lambda1 < 1e-4); otherwise *loose*.

Values are in the objective's linear units: the ratio ``(1 + |num^H x|^2) / (1 + |den^H x|^2)`` (min over
ratios) for ratio families, ``x^H C x`` for quadratic ones; "ratio" = value / bound.

Criteria (issue 11): over tight instances mean ratio >= 0.99999 and worst >= 0.999; on every loose instance
the default is >= SDR + randomisation (to 1e-9 relative); at K = 32 time per instance >= 1000x below
cvxpy's. Beyond ``--cvx-max-K`` only the certificate is available: the table shows value / certificate
bound (a lower bound on value / SDR optimum) and the certified share.

Seeds: the defaults were designed on ``optim.families.TUNING_SEED`` and the seeds listed in
``bench/RESULTS.md``; report on a seed never used before.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

from optim import certificates, cvx_reference, families, sdr  # noqa: E402
from optim.phases import maximize_phases_batched  # noqa: E402

RANK_ONE_GAP = 1e-4  # lambda2/lambda1 of a single SDP's solution below this: rank one (Clarabel accuracy ~1e-8)
REACH_TOL = 1e-6
CVX_MAX_K_MAXMIN = 16  # max-min SDRs need ~20 bisection SDPs each (K = 32: ~80 s per instance here)
TIGHT_MEAN, TIGHT_WORST, MATCH_TOL, SPEEDUP = 0.99999, 0.999, 1e-9, 1000.0


def _c128(insts):
    return jax.tree_util.tree_map(lambda x: x.astype(jnp.complex128), insts)


def _linear(fam, x):
    return 2.0 ** np.asarray(x) if fam.kind == "ratio" else np.asarray(x)


def solve_default(fam, key, insts, K):
    """Default options, batched (blocks until done)."""
    out = maximize_phases_batched(fam.objective, key, insts, K)
    jax.block_until_ready(out.value)
    return out


def cvx_sdr(fam, inst, cert_bound_lin, value_lin):
    """SDR optimum (linear units), relaxed matrix, seconds, number of SDPs."""
    t0 = time.perf_counter()
    if isinstance(inst, families.QuadraticInstance):
        out = cvx_reference.sdr_quadratic(np.asarray(inst.C))
        bound, X, nsdp = out.bound, out.X, 1
    elif inst.num.shape[0] == 1:
        out = cvx_reference.sdr_wiretap_ratio(np.asarray(inst.num[0]), np.asarray(inst.den[0]))
        bound, X, nsdp = out.bound, out.X, 1
    else:
        A, B = families.ratio_matrices(inst)
        # bracket: the found point's ratio is attainable (<= SDR optimum), the certificate bounds the SDR
        # (a warm start from our solution: cvxpy's max-min time is a lower bound on a cold bisection's)
        out = cvx_reference.sdr_max_min_ratio(np.asarray(A), np.asarray(B), lo=float(value_lin) * (1 - 1e-7),
                                              hi=float(cert_bound_lin) * (1 + 1e-7), rtol=1e-7)
        bound, X, nsdp = out.bound, out.X, out.num_sdps
    return float(bound), np.asarray(X), time.perf_counter() - t0, nsdp


def run(fam, K, num, seed, *, cvx_max_K, repeats=5, log=print):
    if fam.name.startswith("maxmin"):
        cvx_max_K = min(cvx_max_K, CVX_MAX_K_MAXMIN)
    key = jax.random.key(seed)
    k_inst, k_solve, k_warm, k_gr = jax.random.split(key, 4)
    # the instance key depends on (family, K) so that families do not share draws
    k_inst = jax.random.fold_in(jax.random.fold_in(k_inst, K), sum(map(ord, fam.name)))
    insts = _c128(families.sample(fam, k_inst, K, num))
    warm = _c128(families.sample(fam, k_warm, K, num))
    solve_default(fam, k_solve, warm, K)  # compile
    samples = []
    for _ in range(repeats):  # the same call each time: the results are identical, only the wall time varies
        t0 = time.perf_counter()
        res = solve_default(fam, k_solve, insts, K)
        samples.append((time.perf_counter() - t0) / num)
    certs = jax.vmap(certificates.certify)(insts, res.phases)
    value = _linear(fam, certs.value)
    cbound = _linear(fam, certs.bound)
    certified = np.asarray(certs.optimal)
    use_cvx = K <= cvx_max_K and cvx_reference.available()
    rows = []
    for i in range(num):
        row = dict(i=i, value=float(value[i]), cert_bound=float(cbound[i]), certified=bool(certified[i]))
        if use_cvx:
            inst = jax.tree_util.tree_map(lambda x: x[i], insts)
            b, X, dt, nsdp = cvx_sdr(fam, inst, cbound[i], value[i])
            w = np.linalg.eigvalsh((X + X.conj().T) / 2)[::-1]
            U = sdr.factor(jnp.asarray(X))
            homog = X.shape[0] == K + 1
            _, gr = sdr.gaussian_randomization(jax.random.fold_in(k_gr, i), U, fam.value, num_draws=100,
                                               homogeneous=homog, args=(inst,))
            row.update(sdr_bound=b, cvx_time=dt, num_sdps=nsdp, eig_ratio=float(w[1] / w[0]),
                       sdr_rand=float(_linear(fam, gr)))
            row["bound"] = min(b, row["cert_bound"])
            # tight: a unit-modulus point reaches the bound (the certificate at ours, or SDR + randomisation),
            # or the solution of a single SDP is rank one (bisection solutions of max-min SDRs are feasibility
            # points, not optima, so their rank says nothing)
            reached = max(row["value"], row["sdr_rand"]) >= row["bound"] * (1 - REACH_TOL)
            rank_one = nsdp == 1 and row["eig_ratio"] < RANK_ONE_GAP
            row["tight"] = bool(certified[i] or reached or rank_one)
        else:
            row["bound"] = row["cert_bound"]
            row["tight"] = True if certified[i] else None  # without the SDR optimum: unknown unless certified
        row["ratio"] = row["value"] / row["bound"]
        rows.append(row)
    s = summarise(fam, K, rows, samples)
    log(json.dumps({k: v for k, v in s.items() if k != "rows"}))
    return s


def summarise(fam, K, rows, samples):
    """One cell's summary; ``samples``: the timed calls' seconds per instance (``t_grad``: their median)."""
    r = np.array([x["ratio"] for x in rows])
    has_sdr = "sdr_bound" in rows[0]
    tight = [x for x in rows if x.get("tight")]
    loose = [x for x in rows if x.get("tight") is False and has_sdr]
    samples = [float(x) for x in samples]
    s = dict(family=fam.name, kind=fam.kind, K=K, num=len(rows), has_sdr=has_sdr, t_grad=float(np.median(samples)),
             t_grad_samples=samples, t_grad_max=max(samples),
             mean=float(r.mean()), worst=float(r.min()), certified=float(np.mean([x["certified"] for x in rows])),
             rows=rows)
    if has_sdr:
        s["num_tight"] = len(tight)
        s["tight_mean"] = float(np.mean([x["ratio"] for x in tight])) if tight else None
        s["tight_worst"] = float(np.min([x["ratio"] for x in tight])) if tight else None
        s["num_loose"] = len(loose)
        s["loose_beats_rand"] = sum(x["value"] >= x["sdr_rand"] * (1 - MATCH_TOL) for x in loose)
        s["beats_rand"] = sum(x["value"] >= x["sdr_rand"] * (1 - MATCH_TOL) for x in rows)
        s["rand_mean"] = float(np.mean([x["sdr_rand"] / x["bound"] for x in rows]))
        s["t_cvx"] = float(np.mean([x["cvx_time"] for x in rows]))
        s["sdps"] = float(np.mean([x["num_sdps"] for x in rows]))
    return s


def check(summaries):
    fails = []
    for s in summaries:
        tag = f"{s['family']} K={s['K']}"
        if s["has_sdr"]:
            if s["num_tight"] and s["tight_mean"] < TIGHT_MEAN:
                fails.append(f"{tag}: tight mean {s['tight_mean']:.7f} < {TIGHT_MEAN}")
            if s["num_tight"] and s["tight_worst"] < TIGHT_WORST:
                fails.append(f"{tag}: tight worst {s['tight_worst']:.7f} < {TIGHT_WORST}")
            if s["loose_beats_rand"] < s["num_loose"]:
                below = s["num_loose"] - s["loose_beats_rand"]
                fails.append(f"{tag}: below SDR+randomisation on {below} loose instances")
    return fails


def _f(x, fmt):
    return "-" if x is None else format(x, fmt)


def table(summaries, args):
    lines = ["# Default phase design on held-out families vs SDR (cvxpy + Clarabel)", "",
             f"Generated by `bench/bench_heldout.py --seed {args.seed} --num {args.num} --K {args.K} "
             f"--cvx-max-K {args.cvx_max_K} --large-K {args.large_K} --large-families {args.large_families} "
             f"--repeats {args.repeats}` "
             "(float64). `optim.maximize_phases_batched` with **default options**. "
             f"t grad/inst: median (slowest) of {args.repeats} identical warm calls on the batch. "
             "Ratio = value / bound in the objective's linear units (ratio families: the ratio "
             "(1+|num^H x|^2)/(1+|den^H x|^2), min over ratios; quadratic: x^H C x); bound = min(SDR optimum, "
             "certificate) where cvxpy ran, else the certificate (`optim.certify`, a lower bound on value / SDR "
             "optimum). tight = a unit-modulus point reaches the bound (certified, or ours / SDR + randomisation "
             "within 1e-6) or a single SDP's solution is rank one (lambda2/lambda1 < 1e-4). "
             "rand = SDR + Gaussian randomisation (100 draws + principal direction).", "",
             "| family | K | n | mean | worst | certified | tight | tight mean | tight worst | loose >= rand | "
             "all >= rand | rand/bound mean | t grad/inst (slowest) | t cvxpy/inst (SDPs) | speed-up |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        sp = s["t_cvx"] / s["t_grad"] if s["has_sdr"] else None
        lines.append(
            f"| {s['family']} | {s['K']} | {s['num']} | {s['mean']:.7f} | {s['worst']:.7f} | {s['certified']:.2f} | "
            f"{s.get('num_tight', '-')} | {_f(s.get('tight_mean'), '.7f')} | {_f(s.get('tight_worst'), '.7f')} | "
            + (f"{s['loose_beats_rand']}/{s['num_loose']} | {s['beats_rand']}/{s['num']} | {s['rand_mean']:.5f} | "
               if s["has_sdr"] else "- | - | - | ")
            + f"{1e3 * s['t_grad']:.2f} ({1e3 * s['t_grad_max']:.2f}) ms | "
            + (f"{s['t_cvx']:.2f} s ({s['sdps']:.1f}) | {sp:.0f}x |" if s["has_sdr"] else "- | - |"))
    fails = check(summaries)
    k32 = [s for s in summaries if s["K"] == 32 and s["has_sdr"]]
    if k32:
        sp32 = [s["t_cvx"] / s["t_grad"] for s in k32]
        sp32_slow = [s["t_cvx"] / s["t_grad_max"] for s in k32]
        lines += ["", f"Speed-up at K = 32 (cvxpy time / default time per instance, batch of {args.num}, median of "
                  f"{args.repeats} calls): {min(sp32):.0f}x to {max(sp32):.0f}x (target >= {SPEEDUP:.0f}x: "
                  + ("met" if min(sp32) >= SPEEDUP else "NOT met")
                  + f"); on the slowest of the calls: {min(sp32_slow):.0f}x to {max(sp32_slow):.0f}x."]
    lines += ["", f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores visible, jax {jax.__version__} "
              f"({jax.default_backend()}).", "",
              "Acceptance (tight: mean >= 0.99999, worst >= 0.999; loose: >= SDR + randomisation): "
              + ("all criteria pass." if not fails else "FAILED: " + "; ".join(fails))]
    return "\n".join(lines) + "\n", fails


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--num", type=int, default=16)
    p.add_argument("--K", default="16,32,64,128,256")
    p.add_argument("--cvx-max-K", type=int, default=32)
    p.add_argument("--families", default="all")
    p.add_argument("--large-K", default="512,1024", help="sizes run for --large-families only (certificate only)")
    p.add_argument("--large-families", default="wiretap-iid")
    p.add_argument("--repeats", type=int, default=5, help="timed warm calls per family and K (median reported)")
    p.add_argument("--out", default=None, help="markdown table (default: print only)")
    p.add_argument("--json", default=None, help="per-instance rows")
    args = p.parse_args(argv)
    if args.seed == families.TUNING_SEED:
        sys.exit("--seed: the tuning seed; report on a fresh one")
    if args.repeats < 1:
        sys.exit(f"--repeats must be >= 1, got {args.repeats}")
    names = list(families.FAMILIES) if args.families == "all" else args.families.split(",")
    for name in names + args.large_families.split(","):
        if name not in families.FAMILIES:
            sys.exit(f"--families: unknown family {name!r} (known: {', '.join(families.FAMILIES)})")
    jobs = [(name, int(K)) for K in args.K.split(",") for name in names]
    if args.large_K:
        jobs += [(name, int(K)) for K in args.large_K.split(",") for name in args.large_families.split(",")]
    summaries = []
    for name, K in jobs:
        summaries.append(run(families.FAMILIES[name], K, args.num, args.seed, cvx_max_K=args.cvx_max_K,
                             repeats=args.repeats))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(dict(args=vars(args), summaries=summaries), f, indent=1)
    text, fails = table(summaries, args)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

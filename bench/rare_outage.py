"""Rare-outage estimators of ris-scheduling (full model) against references, with fresh seeds -> RESULTS_rare_outage.md.

    python bench/rare_outage.py [SEED]         # about 15 minutes of CPU on 2 cores

Per case: the reference (exact conditional SS estimator, or plain Monte Carlo of the outage indicator), then the
estimators of :class:`SchedulingImportance`:

* ``total`` -- the eavesdroppers' total power integrated out (``powers="total"``), uniform joint direction, no CE
  (the estimator before per-eavesdropper powers);
* ``each`` -- every eavesdropper's power integrated out (exact staircase), uniform directions, no CE;
* ``each+aligned`` -- as ``each`` with the aligned direction proposal, no CE;
* ``default`` -- what ``irsjax run ris-scheduling --set is_samples=...`` runs: ``each+aligned`` and the CE-fitted
  proposal for the channels ``(h, g)`` (3 pilot rounds of 10^4).

Relative errors, variance reduction per realisation against plain MC (p(1-p)/Var), and the realisations each needs
for 5 % relative error (including the pilot). CPU seconds by ``time.process_time`` (shared machine).
"""
from __future__ import annotations

import json
import os
import sys
import time

import jax

from irsjax import importance, montecarlo
from irsjax.systems.scheduling import SchedulingImportance, SchedulingSystem

HERE = os.path.dirname(os.path.abspath(__file__))
ESTIMATORS = {  # name: (powers, directions, CE pilot)
    "total": ("total", "uniform", False),
    "each": ("each", "uniform", False),
    "each+aligned": ("each", "aligned", False),
    "default": ("auto", "aligned", True),
}
CASES = [  # (scheme, N, K, L, rho_dB, reference, reference realisations, {estimator: realisations})
    ("SS", 64, 4, 2, 120.0, "exact conditional", 2**17, {"total": 2**14, "default": 2**14}),
    ("OS", 16, 4, 2, 120.0, "plain", 2**21, {"total": 2**16, "each": 2**16, "each+aligned": 2**16,
                                           "default": 2**16}),
    ("OS", 28, 4, 2, 120.0, None, 0, {"total": 2**16, "each+aligned": 2**20, "default": 2**20}),
    ("OS", 32, 4, 2, 120.0, None, 0, {"total": 2**16, "each": 2**20, "each+aligned": 2**20, "default": 2**20}),
]


def row(scheme, N, K, L, rho, ref_kind, n_ref, estimators, seed):
    cfg = SchedulingSystem(N=N, K=K, L=L, rho_dB=rho, noma=False)
    out = {"case": f"{scheme} N={N} K={K} L={L} rho={rho:g} dB", "estimators": list(estimators)}
    if ref_kind == "exact conditional":
        t = time.process_time()
        ref = montecarlo.estimate(SchedulingSystem(N=N, K=K, L=L, rho_dB=rho, conditional_only=True),
                                  jax.random.key(seed), n_ref)["log_cond_SS"]
        out["reference"] = {"kind": ref_kind, "n": n_ref, "mean": ref.mean, "rel_error": ref.rel_error,
                            "cpu_s": time.process_time() - t}
    elif ref_kind == "plain":
        t = time.process_time()
        ref = montecarlo.estimate(cfg, jax.random.key(seed), n_ref, probabilities=(f"out_{scheme}",))[f"out_{scheme}"]
        out["reference"] = {"kind": ref_kind, "n": n_ref, "mean": ref.mean, "rel_error": ref.rel_error,
                            "cpu_s": time.process_time() - t}
    for i, (name, n) in enumerate(estimators.items()):
        powers, directions, ce = ESTIMATORS[name]
        m = SchedulingImportance(cfg, scheme=scheme, powers=powers, directions=directions)
        t = time.process_time()
        pilot = 0
        if ce:
            fit = importance.fit(m, jax.random.key(seed + 1), level=1.0, samples=10_000, rounds=3)
            m, pilot = fit.model, fit.samples
        res = importance.estimate(m, jax.random.key(seed + 2 + i), n, level=1.0)
        p = res.estimate.mean
        out[name] = {"n": n, "pilot": pilot, "mean": p, "ci": [res.estimate.ci_low, res.estimate.ci_high],
                     "rel_error": res.rel_error, "variance_reduction": res.variance_reduction, "ess": res.ess,
                     "mean_weight": res.mean_weight.mean, "mean_weight_std_err": res.mean_weight.std_err,
                     "samples_to_5pct": importance.importance_samples_for(res, 0.05) + pilot,
                     "plain_samples_to_5pct": importance.plain_samples_for(p, 0.05), "cpu_s": time.process_time() - t}
        print(out["case"], name, out[name], flush=True)
    return out


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 2026
    rows = [row(*c, seed=seed + 10 * i) for i, c in enumerate(CASES)]
    with open(os.path.join(HERE, "RESULTS_rare_outage.json"), "w") as f:
        json.dump({"seed": seed, "jax": jax.__version__, "rows": rows}, f, indent=1)
    lines = ["# Rare outages in the full ris-scheduling model", "",
             f"`python bench/rare_outage.py {seed}` (seed not used while developing); CPU seconds on a shared 2-core "
             "machine. Estimators: see the script's docstring (`default` = what the scenario runs).", "",
             "| case | reference | estimator | realisations (+pilot) | estimate [95 % CI] | rel. error | mean weight | "
             "VR per realisation | realisations for 5 % (plain MC) | CPU s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ref = r.get("reference")
        rs = f"{ref['mean']:.3g} ± {100 * ref['rel_error']:.1f} % ({ref['kind']}, {ref['n']:,})" if ref else "none"
        for name in r["estimators"]:
            e = r[name]
            lines.append(f"| {r['case']} | {rs} | {name} | {e['n']:,} (+{e['pilot']:,}) | {e['mean']:.3g} "
                         f"[{e['ci'][0]:.3g}, {e['ci'][1]:.3g}] | {100 * e['rel_error']:.1f} % | "
                         f"{e['mean_weight']:.3f} ± {e['mean_weight_std_err']:.3f} | "
                         f"{e['variance_reduction']:.3g} | {e['samples_to_5pct']:.3g} "
                         f"({e['plain_samples_to_5pct']:.3g}) | {e['cpu_s']:.0f} |")
    with open(os.path.join(HERE, "RESULTS_rare_outage.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

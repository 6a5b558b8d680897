"""Evidence that the SDR bound is out of reach on the bench's loose instances (SDR solution of rank > 1).

    .venv/bin/python bench/sdr_loose_instances.py          # ~3 min on 2 CPU cores

For each instance of ``bench/bench_sdr.py`` (seed 0) whose Clarabel solution
is not rank one (``bench/sdr_cache.json``: lambda2/lambda1 > 0.01):

* 256 restarts of the gradient method (BFGS, screened for 150 iterations, best
  refined by modified Newton): the best unit-modulus value found, and quantiles
  over the restarts, as fractions of the Clarabel bound;
* the JAX Burer-Monteiro relaxation (rank 12, 20000 iterations) of the same
  SDP: a feasible point of the relaxation, so its value is a lower bound on the
  SDP optimum -- when it reaches Clarabel's bound, the bound is confirmed
  independently and the gap to the best rank-one point is a true relaxation gap.
"""
from __future__ import annotations

import json
import os

import numpy as np
import jax

from optim import problems, sdr
from optim.phases import PhaseOptions, maximize_phases_batched

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    jax.config.update("jax_enable_x64", True)
    cache = json.load(open(os.path.join(HERE, "sdr_cache.json")))
    opts = PhaseOptions(num_restarts=256, max_iters=300, tol=1e-10, patience=2, direction="bfgs", screen_iters=150,
                        refine_direction="newton")
    bm = PhaseOptions(method="oblique", num_restarts=4, max_iters=20000, tol=1e-12, patience=5)
    for K in (16, 32, 64):
        k_inst = jax.random.split(jax.random.key(1000 * K), 4)[0]
        insts = problems.wiretap_instances(k_inst, K, 20)
        loose = [i for i in range(20) if cache[f"{K}/0/{i}/20"]["eig_ratio"] > 1e-2]
        for i in loose:
            ref = cache[f"{K}/0/{i}/20"]
            one = jax.tree_util.tree_map(lambda a: a[i:i + 1], insts)
            res = maximize_phases_batched(problems.wiretap_ratio, jax.random.key(123 + i), one, K, options=opts)
            q = np.quantile(np.asarray(res.restart_values[0]) / ref["bound"], [0.5, 0.9, 1.0])
            r = sdr.wiretap_ratio_sdr(jax.random.key(i), insts.b[i], insts.e[i], rank=12, options=bm)
            print(f"K={K} #{i}: lambda2/lambda1 {ref['eig_ratio']:.3f}  "
                              f"best of 256 restarts {float(res.value[0]) / ref['bound']:.7f} "
                  f"(median {q[0]:.5f}, 90% {q[1]:.5f})  SDR+rand {ref['sdr_rand'] / ref['bound']:.7f}  "
                  f"JAX BM relaxation {float(r.relaxed_value) / ref['bound']:.7f}", flush=True)


if __name__ == "__main__":
    main()

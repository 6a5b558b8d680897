"""FP power control from P_min / P_max / random starts against the exhaustive grid optimum (maxmin-two-way C1).

Gap ``max(R_grid - R_FP, 0) / |R_grid|`` (the shortfall; FP may end above the grid's best point) of the min
secrecy rate after ``fp_iters`` FP iterations, on realisations
of ``scenarios.maxmin_fp_convergence`` (random IRS phases, two pairs, ``grid_points^4`` grid):

    python bench/bench_fp.py --num 100 --L 40 --grid 50 --seed 777
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import jax
import jax.numpy as jnp

from irsjax.systems.maxmin_two_way import MaxminTwoWayConfig
from irsjax.units import LN2
from optim import fp as fp_mod
from scenarios.maxmin_fp_convergence import FPConvergence


def gaps(num, L, grid, seed, fp_iters=25, inits=("pmin", "pmax", "random"), fp_inner=None, defaults=True):
    """``{init: (gap array (num,), final R, grid R)}`` for realisations ``split(key(seed), num)``: plain FP
    from the start (the Fig. 3 trace) and, as ``"init, defaults"``, ``power_control`` with its defaults."""
    out = {}
    keys = jax.random.split(jax.random.key(seed), num)
    for init in inits:
        kw = {} if fp_inner is None else {"fp_inner": fp_inner}
        exp = FPConvergence(MaxminTwoWayConfig(L=L), fp_iters=fp_iters, grid_points=grid, init=init, **kw)
        pos = jnp.asarray(exp.system.positions())
        tr = jax.jit(jax.vmap(lambda k: exp.trace(k, pos, 2)))(keys)
        v, ref = np.asarray(tr.value[:, -1]), np.asarray(tr.ref_value)
        out[init] = (np.maximum(ref - v, 0) / np.abs(ref), v, ref)
        if defaults:  # optim.fp.power_control with its default options (multistart) from the same start
            def default_run(k, p0, exp=exp, pos=pos):
                s = exp.system_for(2)
                ratios = s.fp_ratios(exp.gains(k, pos, 2))
                return fp_mod.power_control(ratios, p0, s.p_min, s.p_max, offsets=jnp.asarray(s.FP_OFFSETS),
                                            num_iters=fp_iters).value / LN2

            vd = np.asarray(jax.jit(jax.vmap(default_run))(keys, tr.powers[:, 0]))
            out[f"{init}, defaults"] = (np.maximum(ref - vd, 0) / np.abs(ref), vd, ref)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--num", type=int, default=100)
    ap.add_argument("--L", type=int, default=40)
    ap.add_argument("--grid", type=int, default=50)
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--fp-iters", type=int, default=25)
    a = ap.parse_args(argv)
    t = time.perf_counter()
    res = gaps(a.num, a.L, a.grid, a.seed, a.fp_iters)
    print(f"maxmin-two-way C1, L = {a.L}, {a.num} realisations (seed {a.seed}), {a.fp_iters} FP iterations, "
          f"{a.grid}^4 grid ({time.perf_counter() - t:.0f} s)")
    print("| start | mean gap | max gap | share gap < 1e-2 | share gap < 1e-3 |")
    print("|---|---|---|---|---|")
    for init, (g, _, _) in res.items():
        print(f"| {init} | {g.mean():.4%} | {g.max():.4%} | {np.mean(g < 1e-2):.0%} | {np.mean(g < 1e-3):.0%} |")


if __name__ == "__main__":
    main()

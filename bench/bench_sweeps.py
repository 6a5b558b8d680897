"""Power sweeps on shared draws: irsjax's one-pass sweep vs NumPy written the same way, in one run.

    python bench/bench_sweeps.py            # -> bench/RESULTS_sweeps.md
    python bench/bench_sweeps.py --quick    # fewer realisations

For the 11-point power sweeps of ``wiretap`` (K = 32, -10..40 dBm) and ``lv-two-way`` (K = 32, N = 10,
0..50 dBm), the same number of realisations per point on every side:

* **irsjax, shared draws**: ``irsjax.scenario.run_sweep`` as ``irsjax run`` calls it (one Monte Carlo
  pass evaluates every power on the same draws; CIs, paired differences, everything the CLI writes
  except the files);
* **irsjax, shared draws, --prng rbg**: the same with the ``rbg`` PRNG (XLA's RngBitGenerator) instead of the
  default threefry (``irsjax run --prng rbg``; other numbers, same law);
* **irsjax, point by point**: the same with ``shared_draws=False`` (one engine run per power);
* **NumPy, shared draws** (the comyx way: draw the channels once, evaluate every power on them by
  broadcasting; only means, no CIs), written from ``bench/numpy_reference.py``'s models;
* **NumPy, point by point**: the reference redrawn per power.

The lv-two-way rows include the scenario's Theorem 1 bound (float64 quadrature on 300 topologies per point,
both methods) on the irsjax side. Two NumPy rows: the Monte Carlo rates only (compare the irsjax row "Monte
Carlo only", ``--set topologies=1``: the bound on one topology), and the Monte Carlo rates plus the same bound
(``numpy_reference.lv_two_way_bound``: NumPy + scipy, the same quadrature rules; the like-for-like reference of
the irsjax rows that compute the bound).
Timings exclude compilation (each irsjax configuration is run once
at a small size first) and are best of ``--repeat``.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import jax  # noqa: E402

import irsjax  # noqa: E402
from irsjax import scenario as S  # noqa: E402
from irsjax.cli import load_scenario  # noqa: E402
from numpy_reference import lv_two_way, lv_two_way_bound, wiretap  # noqa: E402

WIRETAP_P = np.arange(-10.0, 41.0, 5.0)
LV_P = np.arange(0.0, 51.0, 5.0)


def _best(f, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


# --------------------------------------------------------------------------- NumPy wiretap (MODELS.md 0.5)
def numpy_wiretap(rng, n, P_dBm, K=32, R_s=1.0, chunk=2**14):
    """Means of (ASR aligned, ASR random, SOP aligned, SOP random) for every power in ``P_dBm`` (one
    channel draw per realisation shared by all powers: broadcasting over the power axis)."""
    acc = np.zeros((4, len(P_dBm)))
    done = 0
    while done < n:
        m = min(chunk, n - done)
        out = wiretap(rng, m, K=K, P_dBm=np.asarray(P_dBm, float), R_s=R_s)
        for i, k in enumerate(("sr_aligned", "sr_random", "out_aligned", "out_random")):
            acc[i] += out[k].sum(axis=1)
        done += m
    return acc / n


def numpy_lv_shared(rng, n, P_dBm, chunk=2**12, **kw):
    """lv-two-way sum rates for every power on shared draws: the reference model with the power as a
    broadcast axis (channels and drops drawn once per realisation, every power evaluated on them)."""
    acc = np.zeros((3, len(P_dBm)))
    done = 0
    while done < n:
        m = min(chunk, n - done)
        out = lv_two_way(rng, m, P_dBm=np.asarray(P_dBm), **kw)
        for i, k in enumerate(("proposed", "random_scheduling", "one_way_jamming")):
            acc[i] += out[k].sum(axis=1)
        done += m
    return acc / n


def numpy_lv_shared_with_bound(rng, n, P_dBm, topologies=300, **kw):
    """:func:`numpy_lv_shared` plus the Theorem 1 bound over ``topologies`` drops (both methods), what the
    scenario computes per point: ``numpy_reference.lv_two_way_bound`` (NumPy + scipy, the same quadrature)."""
    return numpy_lv_shared(rng, n, P_dBm, **kw), lv_two_way_bound(rng, topologies, P_dBm=P_dBm, **kw)


def numpy_lv_per_point(rng, n, P_dBm, chunk=2**12, **kw):
    acc = np.zeros((3, len(P_dBm)))
    for j, p in enumerate(P_dBm):
        done = 0
        while done < n:
            m = min(chunk, n - done)
            out = lv_two_way(rng, m, P_dBm=float(p), **kw)
            for i, k in enumerate(("proposed", "random_scheduling", "one_way_jamming")):
                acc[i, j] += out[k].sum()
            done += m
    return acc / n


def numpy_wiretap_per_point(rng, n, P_dBm, **kw):
    return np.concatenate([numpy_wiretap(rng, n, [p], **kw) for p in P_dBm], axis=1)


# --------------------------------------------------------------------------- irsjax
def irsjax_sweep(name, overrides, n, shared, prng="threefry"):
    sc = load_scenario(name)
    params, sweep, values = S.resolve(sc, overrides)
    return S.run_sweep(sc, params, sweep, values, seed=0, samples=n, shared_draws=shared, prng=prng)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--scale", type=int, default=1,
                    help="multiply the realisations per point (other than 1: no point-by-point rows)")
    ap.add_argument("--out", default=None, help="default bench/RESULTS_sweeps.md (--scale S: RESULTS_sweeps_xS.md)")
    a = ap.parse_args(argv)
    a.out = a.out or os.path.join(HERE, "RESULTS_sweeps.md" if a.scale == 1 else f"RESULTS_sweeps_x{a.scale}.md")
    n_w = a.scale * (50_000 if a.quick else 200_000)
    n_lv = a.scale * (20_000 if a.quick else 100_000)
    t_start = time.time()
    rows = []
    wt = {"P_dBm": ",".join(f"{p:g}" for p in WIRETAP_P), "K": "32"}
    lv = {"P_dBm": ",".join(f"{p:g}" for p in LV_P), "K": "32", "N": "10"}
    lv_mc = dict(lv, topologies="1")  # what the NumPy side computes: the bound on one topology only (~1 ms)
    for shared in (True, False):  # compile once per configuration, outside the timings
        irsjax_sweep("wiretap", wt, 2048, shared)
        irsjax_sweep("lv-two-way", lv, 2048, shared)
    irsjax_sweep("wiretap", wt, 2048, True, "rbg")
    irsjax_sweep("lv-two-way", lv, 2048, True, "rbg")
    irsjax_sweep("lv-two-way", lv_mc, 2048, True)
    res = {}
    for label, f in (
        ("wiretap | irsjax, shared draws (run_sweep)", lambda: irsjax_sweep("wiretap", wt, n_w, True)),
        ("wiretap | irsjax, shared draws, --prng rbg", lambda: irsjax_sweep("wiretap", wt, n_w, True, "rbg")),
        ("wiretap | irsjax, point by point", lambda: irsjax_sweep("wiretap", wt, n_w, False)),
        ("wiretap | NumPy, shared draws (comyx way)", lambda: numpy_wiretap(np.random.default_rng(0), n_w, WIRETAP_P)),
        ("wiretap | NumPy, point by point", lambda: numpy_wiretap_per_point(np.random.default_rng(0), n_w, WIRETAP_P)),
        ("lv-two-way | irsjax, shared draws (run_sweep)", lambda: irsjax_sweep("lv-two-way", lv, n_lv, True)),
        ("lv-two-way | irsjax, shared draws, --prng rbg",
         lambda: irsjax_sweep("lv-two-way", lv, n_lv, True, "rbg")),
        ("lv-two-way | irsjax, shared draws, Monte Carlo only (topologies=1)",
         lambda: irsjax_sweep("lv-two-way", lv_mc, n_lv, True)),
        ("lv-two-way | irsjax, point by point", lambda: irsjax_sweep("lv-two-way", lv, n_lv, False)),
        ("lv-two-way | NumPy, shared draws, with the Theorem 1 bound (300 topologies)",
         lambda: numpy_lv_shared_with_bound(np.random.default_rng(0), n_lv, LV_P)),
        ("lv-two-way | NumPy, shared draws", lambda: numpy_lv_shared(np.random.default_rng(0), n_lv, LV_P)),
        ("lv-two-way | NumPy, point by point", lambda: numpy_lv_per_point(np.random.default_rng(0), n_lv, LV_P)),
    ):
        if a.scale != 1 and "point by point" in label:
            continue  # minutes per row at 10x: the shared-draw rows are the comparison asked for
        res[label] = _best(f, a.repeat)
        print(f"{label}: {res[label]:.2f} s", flush=True)
    bound_ref = "lv-two-way | NumPy, shared draws, with the Theorem 1 bound (300 topologies)"
    for model, n in (("wiretap", n_w), ("lv-two-way", n_lv)):
        ref = res[f"{model} | NumPy, shared draws" + (" (comyx way)" if model == "wiretap" else "")]
        for label, t in res.items():
            if label.startswith(model + " |"):
                # like for like: rows that compute the bound against the NumPy row that computes it too
                with_bound = model == "lv-two-way" and "Monte Carlo only" not in label and (
                    "NumPy" not in label or label == bound_ref)
                r = res[bound_ref] / t if with_bound else ref / t
                rows.append((model, label.split(" | ")[1], n, t, ref / t, r))
    lines = [
        "# Power sweeps on shared draws", "",
        f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC} by `python bench/bench_sweeps.py"
        f"{' --quick' if a.quick else ''}{f' --scale {a.scale}' if a.scale != 1 else ''}` "
        f"in {time.time() - t_start:.0f} s; best of {a.repeat}.", "",
        f"* machine: {platform.machine()}, {os.cpu_count()} CPU cores; backend {jax.default_backend()}; "
        f"irsjax {irsjax.__version__}, jax {jax.__version__}, numpy {np.__version__}",
        f"* 11 powers per sweep; realisations per point: wiretap {n_w:,}, lv-two-way {n_lv:,} (every side)",
        "* speed-up = time of the NumPy shared-draw sweep (Monte Carlo means only) / time of the row; "
        "like for like = the same against the NumPy row that computes what the row computes (lv-two-way rows "
        "with the Theorem 1 bound against NumPy with the bound, in NumPy + scipy with the same quadrature rules)",
        "* irsjax rows are the whole `run_sweep` (CIs, paired differences; lv-two-way also the Theorem 1 bound "
        "over 300 topologies per point, both methods)",
        "", "| model | implementation | realisations/point | seconds (whole sweep) | speed-up vs NumPy shared "
        "| like for like |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {m} | {impl} | {n:,} | {t:.2f} | {r:.2f}x | {q:.2f}x |" for m, impl, n, t, r, q in rows]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Side-by-side benchmarks: irsjax vs a plain vectorised NumPy reference, in one run.

    python bench/run_bench.py                 # full table (CPU: a few minutes) -> bench/RESULTS.md
    python bench/run_bench.py --quick         # smaller sample counts

Realisations per second of the ``wiretap`` (MODELS.md 0.5), ``lv-two-way`` (MODELS.md 1) and
``ris-scheduling`` (MODELS.md 5)
kernels for K (IRS elements) in {16, 32, 64, 256} and several irsjax batch sizes. Both sides compute
the same model on the same number of realisations; the NumPy side processes chunks of ``numpy_chunk``
realisations (larger chunks run out of cache/memory). Timings exclude JIT compilation (one warm-up call
of the same shapes) and include everything else (random numbers, metrics, accumulation).
Sampling algorithms differ: NumPy uses PCG64 + ziggurat normals; irsjax lv-two-way uses a
threefry-seeded pcg4d hash stream (``rng="pcg"``, default) or threefry (``rng="threefry"``), and so do
wiretap and ris-scheduling (both rows each). The phase-design table (gradient method vs cvxpy SDR) is produced by
``bench/bench_sdr.py`` and merged below when its results file exists.
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
import jaxlib  # noqa: E402

import irsjax  # noqa: E402
from irsjax import montecarlo  # noqa: E402
from numpy_reference import lv_two_way, ris_scheduling_sop, wiretap  # noqa: E402


def _time(f, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_numpy(kernel, n, chunk, repeat=1, **kw):
    rng = np.random.default_rng(0)

    def run():
        done = 0
        acc = 0.0
        while done < n:
            m = min(chunk, n - done)
            out = kernel(rng, m, **kw)
            acc += sum(float(v.sum()) for v in out.values())
            done += m
        return acc

    return _time(run, repeat)


def bench_irsjax(fn, n, batch, args, repeat=1):
    key = jax.random.key(0)
    first = min(n, batch or montecarlo.default_batch_size())
    montecarlo.estimate(fn, key, first, args=args, batch_size=batch)  # compile
    return _time(lambda: montecarlo.estimate(fn, key, n, args=args, batch_size=batch), repeat)


def kernel_rows(name, sizes, n, batches, chunk, numpy_kernel, numpy_kw, make_fn, prngs=("pcg", "threefry"),
                repeat=1):
    """Rows of one kernel: for every size, NumPy once, then irsjax for every PRNG and batch size.
    ``numpy_kw(size)`` gives the NumPy reference's keywords, ``make_fn(size, rng)`` the irsjax function."""
    rows = []
    for size in sizes:
        t_np = bench_numpy(numpy_kernel, n, chunk, repeat, **numpy_kw(size))
        for rng in prngs:
            for b in batches:
                t = bench_irsjax(make_fn(size, rng), n, b, (), repeat)
                rows.append((name, size, f"irsjax ({rng})", b, n, t, n / t, t_np / t))
        rows.append((name, size, "numpy", chunk, n, t_np, n / t_np, 1.0))
    return rows


def wiretap_rows(Ks, n, batches, chunk, prngs=("pcg", "threefry"), repeat=1):
    from irsjax.systems.wiretap import WiretapConfig

    return kernel_rows("wiretap", Ks, n, batches, chunk, wiretap, lambda K: dict(K=K, P_dBm=10.0),
                       lambda K, rng: WiretapConfig(K=K, P_dBm=10.0, rng=rng), prngs, repeat)


def lv_rows(Ks, n, batches, chunk, prngs=("pcg", "threefry"), repeat=1):
    from irsjax.systems.two_way import TwoWayConfig

    return kernel_rows("lv-two-way", Ks, n, batches, chunk, lv_two_way, lambda K: dict(K=K, N=10, P_dBm=30.0),
                       lambda K, rng: TwoWayConfig(K=K, N=10, P_dBm=30.0, rng=rng), prngs, repeat)


def sched_rows(Ns, n, batches, chunk, prngs=("pcg", "threefry"), repeat=1):
    from irsjax.systems.scheduling import SchedulingSystem

    return kernel_rows("ris-scheduling", Ns, n, batches, chunk, ris_scheduling_sop,
                       lambda N: dict(N=N, K=4, L=2, rho_dB=100.0),
                       lambda N, rng: SchedulingSystem(N=N, K=4, L=2, rho_dB=100.0, noma=False, rng=rng),
                       prngs, repeat)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--sizes", default="16,32,64,256")
    ap.add_argument("--prngs", default="pcg,threefry", help="irsjax PRNGs to time (comma-separated)")
    ap.add_argument("--repeat", type=int, default=1, help="best of this many timed runs, on both sides")
    ap.add_argument("--log2-samples", type=int, default=None, help="realisations per measurement: 2^this "
                    "(default 2^16 with --quick, else 2^18)")
    a = ap.parse_args(argv)
    repeat, prngs = max(1, a.repeat), tuple(a.prngs.split(","))
    Ks = [int(k) for k in a.sizes.split(",")]
    n = 2 ** (a.log2_samples or (16 if a.quick else 18))
    batches = [2**15, None] if a.quick else [2**12, 2**14, 2**16, None]  # None: the engine's default (adaptive)
    chunk = 2**12
    t0 = time.time()
    rows = wiretap_rows(Ks, n, batches, chunk, prngs, repeat) + lv_rows(Ks, n, batches, chunk, prngs, repeat)
    try:
        rows += sched_rows(Ks, n, batches, chunk, prngs, repeat)
    except (ImportError, AttributeError) as e:  # the scheduling kernel is optional for this script
        print(f"ris-scheduling skipped: {e}", file=sys.stderr)
    backend = jax.default_backend()
    lines = [
        "# irsjax benchmarks", "",
        f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC} by `python bench/run_bench.py"
        f"{' --quick' if a.quick else ''}{f' --log2-samples {a.log2_samples}' if a.log2_samples else ''}"
        f"{f' --repeat {repeat}' if repeat > 1 else ''}"
        f"{f' --prngs {a.prngs}' if a.prngs != 'pcg,threefry' else ''}` in {time.time() - t0:.0f} s"
        f"{f'; best of {repeat} timed runs on both sides' if repeat > 1 else ''}.", "",
        f"* machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}",
        f"* backend: {backend} ({', '.join(str(d) for d in jax.devices())})",
        f"* versions: irsjax {irsjax.__version__}, jax {jax.__version__}, jaxlib {jaxlib.__version__}, "
                f"numpy {np.__version__}, "
        f"python {platform.python_version()}",
        f"* realisations per measurement: {n:,} (same count on both sides); NumPy chunk {chunk:,}",
        "* speed-up = NumPy time / irsjax time for the same kernel, K and sample count; timings exclude compilation",
        "* batch \"default\": no `batch_size` given, as users call it (one device: the engine starts at 32,768 "
        "realisations a call and doubles the batch while a call takes under 0.125 s)",
        "* wiretap: P = 10 dBm, aligned and random phases (irsjax also the conditional SOP); "
        "lv-two-way: Fig. 1 point (N = 10 pairs, P = 30 dBm), all three schemes; ris-scheduling: N RIS elements "
        "(column K), 4 users, 2 eavesdroppers, rho = 100 dB (NumPy: SS and OS only; irsjax also SE, ME and the "
        "conditional estimators)",
        "", "| kernel | K | implementation | batch | realisations | seconds | realisations/s | speed-up vs NumPy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        batch = "default" if r[3] is None else f"{r[3]:,}"
        lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {batch} | {r[4]:,} | {r[5]:.3f} | {r[6]:,.0f} | {r[7]:.1f}x |")
    sdr = os.path.join(HERE, "RESULTS_sdr.md")
    if os.path.exists(sdr):
        lines += ["", "## Phase design: gradient method vs cvxpy SDR", "", open(sdr).read().strip()]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""One-call accelerator check: device, big Monte Carlo runs, determinism, throughput -> bench/RESULTS_gpu.{json,md}.

    pip install -e ".[cuda]"          # on the GPU machine (once)
    python bench/gpu_check.py         # < 5 minutes on one H100/H200
    python bench/gpu_check.py --tiny  # seconds, on CPU: the same code path (the test suite runs it)

1. Device: backend, devices, device kind and memory, versions (and ``nvidia-smi`` when present).
2. Determinism on the device: the same estimate with two batch sizes (chunked vs one chunk) and twice with
   the same key must be bit-identical (the engine's guarantee; a realisation never depends on the batch).
3. Throughput (realisations/s, compilation excluded: one warm-up call of the same program, then a timed
   call with ``block_until_ready`` semantics, i.e. the estimate is on the host) of wiretap, lv-two-way (each
   PRNG: pcg, threefry) and ris-scheduling (both PRNGs) for K = 32, 256, 1024 RIS elements.
4. Big runs: ``--big`` (default 1e9) realisations of wiretap (K = 32) and lv-two-way (K = 32, pcg), capped
   at ``--big-seconds`` of estimated run time each (the cap and the realisations actually run are recorded).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _device_info():
    import jax
    import jaxlib

    devs = jax.devices()
    info = {"backend": jax.default_backend(), "devices": [str(d) for d in devs],
            "device_kind": devs[0].device_kind, "device_count": len(devs), "jax": jax.__version__,
            "jaxlib": jaxlib.__version__, "python": platform.python_version(), "host": platform.platform(),
            "cpu_count": os.cpu_count()}
    try:
        stats = devs[0].memory_stats() or {}
        info["memory_bytes_limit"] = int(stats.get("bytes_limit", 0))
    except Exception:  # noqa: BLE001 - not every backend reports memory
        pass
    if shutil.which("nvidia-smi"):
        try:
            info["nvidia_smi"] = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                                                 "--format=csv,noheader"], capture_output=True, text=True,
                                                timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return info


def _systems(K):
    from irsjax.systems.scheduling import SchedulingSystem
    from irsjax.systems.two_way import TwoWayConfig
    from irsjax.systems.wiretap import WiretapConfig

    return {
        "wiretap (pcg)": WiretapConfig(K=K, P_dBm=0.0, rng="pcg"),
        "wiretap (threefry)": WiretapConfig(K=K, P_dBm=0.0, rng="threefry"),
        "lv-two-way (pcg)": TwoWayConfig(K=K, N=10, P_dBm=30.0, rng="pcg"),
        "lv-two-way (threefry)": TwoWayConfig(K=K, N=10, P_dBm=30.0, rng="threefry"),
        "ris-scheduling (pcg)": SchedulingSystem(N=K, K=4, L=2, rho_dB=100.0, noma=False, rng="pcg"),
        "ris-scheduling (threefry)": SchedulingSystem(N=K, K=4, L=2, rho_dB=100.0, noma=False, rng="threefry"),
    }


def _timed(fn, n, batch, key):
    from irsjax import montecarlo

    montecarlo.estimate(fn, key, min(n, batch), batch_size=batch)  # compile (the trip count is traced)
    t0 = time.perf_counter()
    est = montecarlo.estimate(fn, key, n, batch_size=batch)  # means are host numbers: the device is done
    return time.perf_counter() - t0, est


def _same(a, b):
    return all(np.array_equal(np.asarray(a[k].mean), np.asarray(b[k].mean)) and
               np.array_equal(np.asarray(a[k].variance), np.asarray(b[k].variance)) for k in a)


def determinism(n, batch):
    """Chunked (batch) vs one chunk (n) and a repeat with the same key: bit-identical means and variances."""
    import jax
    from irsjax import montecarlo
    from irsjax.systems.wiretap import WiretapConfig

    fn, key = WiretapConfig(K=32, P_dBm=0.0), jax.random.key(7)
    chunked = montecarlo.estimate(fn, key, n, batch_size=batch)
    whole = montecarlo.estimate(fn, key, n, batch_size=n)
    again = montecarlo.estimate(fn, key, n, batch_size=batch)
    other = montecarlo.estimate(fn, jax.random.key(8), n, batch_size=batch)
    return {"realisations": n, "batch": batch, "chunked_equals_unchunked": _same(chunked, whole),
            "same_key_equal": _same(chunked, again), "other_key_differs": not _same(chunked, other)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="seconds on a CPU: small sizes, same code path")
    ap.add_argument("--sizes", default=None, help="RIS sizes K (default 32,256,1024; tiny: 8)")
    ap.add_argument("--samples", type=float, default=None, help="realisations per throughput run (default 2^24)")
    ap.add_argument("--batch", type=int, default=None, help="engine batch size (default 2^20; tiny 2^10)")
    ap.add_argument("--big", type=float, default=1e9, help="realisations of the big runs")
    ap.add_argument("--big-seconds", type=float, default=60.0, help="cap on each big run's estimated time")
    ap.add_argument("--out-dir", default=HERE)
    a = ap.parse_args(argv)
    import jax

    tiny = a.tiny
    Ks = [int(k) for k in (a.sizes or ("8" if tiny else "32,256,1024")).split(",")]
    n = int(a.samples or (2**12 if tiny else 2**24))
    batch = int(a.batch or (2**10 if tiny else 2**20))
    big = int(2**14 if tiny else a.big)
    t_start = time.perf_counter()
    report = {"generated": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
              "command": "python bench/gpu_check.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "tiny": tiny, "device": _device_info()}
    print(json.dumps(report["device"], indent=1), flush=True)
    report["determinism"] = determinism(min(n, 2**20), max(batch // 4, 256))
    print("determinism", report["determinism"], flush=True)
    rows = []
    for K in Ks:
        for name, fn in _systems(K).items():
            secs, _ = _timed(fn, n, batch, jax.random.key(1))
            rows.append({"kernel": name, "K": K, "realisations": n, "batch": batch, "seconds": secs,
                         "per_second": n / secs})
            print(f"{name:28s} K={K:5d} {n / secs:14,.0f} realisations/s", flush=True)
    report["throughput"] = rows
    bigs = []
    for name in ("wiretap (pcg)", "lv-two-way (pcg)"):
        fn = _systems(32)[name]
        rate = next(r["per_second"] for r in rows if r["kernel"] == name and r["K"] == 32) if 32 in Ks else None
        want = big
        if rate is not None and not tiny:
            want = min(big, int(rate * a.big_seconds) // batch * batch or batch)
        secs, est = _timed(fn, want, batch, jax.random.key(2))
        stats = {k: {"mean": float(np.ravel(v.mean)[0]), "std_err": float(np.ravel(v.std_err)[0])}
                 for k, v in est.items()}
        bigs.append({"kernel": name, "K": 32, "requested": big, "realisations": want, "seconds": secs,
                     "per_second": want / secs, "statistics": stats})
        print(f"big {name}: {want:,} realisations in {secs:.1f} s ({want / secs:,.0f}/s)", flush=True)
    report["big_runs"] = bigs
    report["total_seconds"] = time.perf_counter() - t_start
    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "RESULTS_gpu.json"), "w") as f:
        json.dump(report, f, indent=1)
    d, det = report["device"], report["determinism"]
    lines = ["# irsjax accelerator check", "",
             f"Generated {report['generated']} by `{report['command']}` in {report['total_seconds']:.0f} s"
             + (" (**tiny mode: not a measurement**)" if tiny else "") + ".", "",
             f"* backend: {d['backend']}, {d['device_count']} x {d['device_kind']}; jax {d['jax']}, "
             f"jaxlib {d['jaxlib']}",
             f"* determinism ({det['realisations']:,} wiretap realisations): chunked == unchunked: "
             f"{det['chunked_equals_unchunked']}, same key twice equal: {det['same_key_equal']}, "
             f"another key differs: {det['other_key_differs']}",
             "* throughput: compilation excluded (warm-up call first), estimate on the host at the end", "",
             "| kernel | K | realisations | batch | seconds | realisations/s |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['kernel']} | {r['K']} | {r['realisations']:,} | {r['batch']:,} | {r['seconds']:.3f} | "
              f"{r['per_second']:,.0f} |" for r in rows]
    lines += ["", "| big run | K | requested | run | seconds | realisations/s |", "|---|---|---|---|---|---|"]
    lines += [f"| {b['kernel']} | {b['K']} | {b['requested']:,} | {b['realisations']:,} | {b['seconds']:.1f} | "
              f"{b['per_second']:,.0f} |" for b in bigs]
    with open(os.path.join(a.out_dir, "RESULTS_gpu.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return report


if __name__ == "__main__":
    main()

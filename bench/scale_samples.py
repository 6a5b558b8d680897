"""Scale in samples: one ``irsjax run`` of 1e9 wiretap realisations (K = 32) on this machine, with its memory
traced -> bench/RESULTS_scale.{json,md}.

    python bench/scale_samples.py                      # 1e9 realisations, the CLI as a user calls it
    python bench/scale_samples.py --samples 1e7        # a quicker look
    python bench/scale_samples.py --samples 2e5 --out-dir /tmp/x   # seconds (the test suite runs this)

The run is ``irsjax run wiretap --set P_dBm=P --samples N`` in a child process (default options: pcg
stream, threefry keys, float32, the engine's default batch). The parent reads the child's resident memory
(``VmRSS``) every ``--every`` seconds: "flat memory" means the resident set after the first tenth of the
run does not grow with the number of realisations done. Reported: wall time (compilation included),
realisations per second, the memory trace summary and the run's estimates with their CIs.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXE = os.path.join(os.path.dirname(sys.executable), "irsjax")


def _rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def run(samples, P_dBm, out, every):
    cmd = [EXE, "run", "wiretap", "--set", f"P_dBm={P_dBm:g}", "--samples", str(int(samples)), "--out", out,
           "--no-plot", "--fresh", "--compile-cache", "off"]
    trace = []
    t0 = time.perf_counter()
    with open(os.path.join(out, "stderr.log"), "w") as err:
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        while child.poll() is None:
            rss = _rss_mib(child.pid)
            if rss is not None:
                trace.append((round(time.perf_counter() - t0, 2), round(rss, 1)))
            time.sleep(every)
    wall = time.perf_counter() - t0
    if child.returncode != 0:
        with open(os.path.join(out, "stderr.log")) as f:
            sys.exit(f"scale_samples: irsjax run failed ({child.returncode}): {f.read()[-2000:]}")
    with open(os.path.join(out, "results.json")) as f:
        res = json.load(f)
    return cmd, wall, trace, res


def summarise(trace, wall, every):
    """Resident memory after the first tenth of the run: first, last and max (MiB), and the growth."""
    late = [r for t, r in trace if t >= 0.1 * wall] or [r for _, r in trace]
    return {"readings": len(trace), "every_s": every, "peak_mib": max(r for _, r in trace) if trace else None,
            "after_first_tenth": {"first_mib": late[0], "last_mib": late[-1], "max_mib": max(late),
                                  "min_mib": min(late), "growth_mib": late[-1] - late[0]} if late else None}


def write(report, out_dir):
    """``RESULTS_scale.{json,md}`` from a report (``--report-only`` rewrites them from the JSON)."""
    from irsjax.analysis.wiretap import sop_random_phases
    from irsjax.systems.wiretap import WiretapConfig

    gb, ge = WiretapConfig(K=32, P_dBm=report["P_dBm"]).mean_snrs()
    exact = float(sop_random_phases(gb, ge, 1.0))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "RESULTS_scale.json"), "w") as f:
        json.dump(report, f, indent=1)
    mem, n, wall, series = report["memory"], report["realisations"], report["wall_seconds"], report["series"]
    late = mem["after_first_tenth"] or {}
    nan = float("nan")
    lines = ["# Scale in samples: wiretap realisations on this machine", "",
             f"Generated {report['generated']} by `{report['script']}`.", "",
             f"* run: `{report['command']}`",
             f"* machine: {report['machine']['platform']}, {report['machine']['cpus']} CPU cores, backend "
             f"{report['machine']['backend']}, jax {report['machine']['jax']}",
             f"* **{n:,} realisations in {wall:,.0f} s** (wall, compilation and writing included): "
             f"{n / wall:,.0f} realisations/s",
             f"* resident memory (read every {mem['every_s']:g} s, {mem['readings']} readings): peak "
             f"{mem['peak_mib']:.0f} MiB; after the first tenth of the run from {late.get('first_mib', nan):.0f} "
             f"to {late.get('last_mib', nan):.0f} MiB (min {late.get('min_mib', nan):.0f}, max "
             f"{late.get('max_mib', nan):.0f})"]
    if "sop_random" in series:
        e = series["sop_random"]
        lines.append(f"* check: random-phase SOP {e['mean']:.7g} ± {e['std_err']:.2g} vs the exact closed form "
                     f"{exact:.7g} ({(e['mean'] - exact) / e['std_err']:+.2f} standard errors)")
    lines += ["", "| series | mean | std. error | 95 % CI |", "|---|---|---|---|"]
    for name, e in series.items():
        lines.append(f"| {name} | {e['mean']:.6g} | {e['std_err']:.3g} | "
                     f"[{e.get('ci_low', nan):.6g}, {e.get('ci_high', nan):.6g}] |")
    with open(os.path.join(out_dir, "RESULTS_scale.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=float, default=1e9)
    ap.add_argument("--P-dBm", type=float, default=10.0, dest="P_dBm")
    ap.add_argument("--every", type=float, default=2.0, help="seconds between memory readings")
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--report-only", action="store_true", help="rewrite the .md from RESULTS_scale.json")
    a = ap.parse_args(argv)
    if a.report_only:
        with open(os.path.join(a.out_dir, "RESULTS_scale.json")) as f:
            report = json.load(f)
        print("\n".join(write(report, a.out_dir)))
        return report
    with tempfile.TemporaryDirectory() as tmp:
        cmd, wall, trace, res = run(a.samples, a.P_dBm, tmp, a.every)
    mem = summarise(trace, wall, a.every)
    n = int(a.samples)
    series = {}
    for name, s in res["series"].items():
        if s.get("std_err") is None:
            continue
        series[name] = {k: s[k][0] for k in ("mean", "std_err", "ci_low", "ci_high") if k in s}
        if "num_samples" in s:
            series[name]["num_samples"] = s["num_samples"][0]
    import jax

    args = sys.argv[1:] if argv is None else list(argv)
    report = {"generated": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
              "script": " ".join(["python bench/scale_samples.py"] + args),
              "command": " ".join(["irsjax"] + cmd[1:]), "P_dBm": a.P_dBm, "realisations": n,
              "wall_seconds": wall, "per_second": n / wall, "memory": mem, "trace": trace, "series": series,
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "jax": jax.__version__,
                          "backend": jax.default_backend()}}
    print("\n".join(write(report, a.out_dir)))
    return report


if __name__ == "__main__":
    main()

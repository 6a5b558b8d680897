"""Cold vs warm start of the CLI with the persistent compilation cache.

    python bench/bench_compile_cache.py     # -> bench/RESULTS_compile_cache.md

Each command runs as a user would type it, twice, against a fresh cache directory
(``--compile-cache DIR``): the first run compiles and fills the cache (cold), the second one reads it
(warm). A third run with ``--compile-cache off`` shows the cost without the cache. Reported: wall
seconds and CPU seconds (user + system of the child) of the whole process, imports included.
"""
from __future__ import annotations

import datetime
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXE = [sys.executable, "-m", "irsjax"]
COMMANDS = {
    "irsjax run wiretap": ["run", "wiretap"],
    "irsjax run lv-two-way --set P_dBm=20 --samples 100000": ["run", "lv-two-way", "--set", "P_dBm=20",
                                                               "--samples", "100000"],
}


def _timed(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    rows = []
    for label, args in COMMANDS.items():
        tmp = tempfile.mkdtemp()
        try:
            common = args + ["--no-plot", "--no-progress", "--out", os.path.join(tmp, "out")]
            cache = ["--compile-cache", os.path.join(tmp, "cache")]
            for mode, extra in (("off", ["--compile-cache", "off"]), ("cold", cache), ("warm", cache)):
                wall, cpu = _timed(EXE + common + extra)
                rows.append((label, mode, wall, cpu))
                print(label, mode, f"{wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    lines = ["# Persistent compilation cache: cold vs warm CLI runs (bench/bench_compile_cache.py)", "",
             f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
             f"{os.cpu_count()} CPUs (shared machine: CPU time is the steadier number).", "",
             "| command | cache | wall s | CPU s |", "|---|---|---|---|"]
    lines += [f"| `{label}` | {mode} | {wall:.1f} | {cpu:.1f} |" for label, mode, wall, cpu in rows]
    with open(os.path.join(HERE, "RESULTS_compile_cache.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Local multi-process launcher: ``python -m irsjax.launch -n 2 -- irsjax run wiretap ...``.

Starts ``n`` processes of the command on this machine, as one JAX distributed run: each gets
``JAX_COORDINATOR_ADDRESS=127.0.0.1:PORT`` (a free port), ``JAX_NUM_PROCESSES=n`` and its
``JAX_PROCESS_ID``, and ``--cpu-devices`` simulated CPU devices (``XLA_FLAGS``). An ``irsjax`` command
runs through :func:`irsjax.distributed.cli_main` (which starts the runtime; only process 0 writes
results); any other command (``python my_script.py``) must call :func:`irsjax.distributed.initialize`
itself. Output lines are prefixed with ``[rank]``; if one process fails the others are stopped, and
the exit status is the first failure's (0 if all succeed).

On a cluster use the scheduler instead (one process per host or per GPU), e.g. SLURM:
``srun -N 4 --ntasks-per-node=1 irsjax run ... --distributed`` (JAX reads SLURM's environment).

>>> from irsjax.launch import worker_env
>>> env = worker_env({}, rank=1, num_processes=2, port=1234, cpu_devices=2)
>>> env["JAX_PROCESS_ID"], env["JAX_COORDINATOR_ADDRESS"], env["XLA_FLAGS"]
('1', '127.0.0.1:1234', '--xla_force_host_platform_device_count=2')
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import threading
import time

__all__ = ["free_port", "worker_env", "worker_command", "launch", "main"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def worker_env(base: dict, *, rank: int, num_processes: int, port: int, cpu_devices: int | None = None,
               host: str = "127.0.0.1") -> dict:
    """The environment of process ``rank``: coordinator, process count and id, CPU device count."""
    env = dict(base)
    env["JAX_COORDINATOR_ADDRESS"] = f"{host}:{port}"
    env["JAX_NUM_PROCESSES"] = str(num_processes)
    env["JAX_PROCESS_ID"] = str(rank)
    if cpu_devices is not None:
        flags = re.sub(r"--xla_force_host_platform_device_count=\S+", "", env.get("XLA_FLAGS", "")).strip()
        env["XLA_FLAGS"] = (flags + f" --xla_force_host_platform_device_count={int(cpu_devices)}").strip()
    return env


def worker_command(cmd: list) -> list:
    """``irsjax ...`` -> ``python -m irsjax.distributed ...``; ``x.py ...`` -> ``python x.py ...``; others unchanged."""
    if not cmd:
        raise ValueError("no command given (python -m irsjax.launch -n N -- COMMAND ...)")
    if os.path.basename(cmd[0]) == "irsjax":
        return [sys.executable, "-m", "irsjax.distributed", *cmd[1:]]
    if cmd[0].endswith(".py"):
        return [sys.executable, *cmd]
    return list(cmd)


def _pump(stream, prefix, sink):
    for line in iter(stream.readline, ""):
        sink.write(prefix + line)
        sink.flush()
    stream.close()


def launch(cmd: list, num_processes: int, *, cpu_devices: int | None = 1, port: int | None = None,
           timeout_s: float | None = None, env: dict | None = None, stdout=None, stderr=None) -> int:
    """Run ``cmd`` as ``num_processes`` processes of one distributed run; the exit status (0: all succeeded)."""
    if num_processes < 1:
        raise ValueError(f"-n must be a positive integer, got {num_processes}")
    port = free_port() if port is None else int(port)
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    full = worker_command(list(cmd))
    base = dict(os.environ if env is None else env)
    procs, pumps = [], []
    for rank in range(num_processes):
        p = subprocess.Popen(full, env=worker_env(base, rank=rank, num_processes=num_processes, port=port,
                                                  cpu_devices=cpu_devices),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        procs.append(p)
        for stream, sink in ((p.stdout, stdout), (p.stderr, stderr)):
            t = threading.Thread(target=_pump, args=(stream, f"[{rank}] ", sink), daemon=True)
            t.start()
            pumps.append(t)
    t0 = time.monotonic()
    status = 0
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [c for c in codes if c not in (None, 0)]
            if failed and status == 0:
                status = failed[0]
                _stop(procs)
            if all(c is not None for c in codes):
                break
            if timeout_s is not None and time.monotonic() - t0 > timeout_s:
                stderr.write(f"irsjax.launch: timed out after {timeout_s:g} s; stopping the processes\n")
                _stop(procs)
                status = status or 124
                break
            time.sleep(0.05)
    except KeyboardInterrupt:
        _stop(procs)
        status = 130
    for p in procs:
        p.wait()
    for t in pumps:
        t.join(timeout=5)
    return status


def _stop(procs, grace_s: float = 10.0):
    """Terminate the processes this launcher started (SIGTERM, then SIGKILL after ``grace_s``)."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    t0 = time.monotonic()
    for p in procs:
        try:
            p.wait(timeout=max(grace_s - (time.monotonic() - t0), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        i = argv.index("--")
        own, cmd = argv[:i], argv[i + 1:]
    else:
        own, cmd = argv, []
    ap = argparse.ArgumentParser(prog="python -m irsjax.launch",
                                 description="Run a command as N processes of one JAX distributed run on this machine.")
    ap.add_argument("-n", "--num-processes", type=int, required=True)
    ap.add_argument("--cpu-devices", type=int, default=1, help="simulated CPU devices per process (default 1)")
    ap.add_argument("--port", type=int, default=None, help="coordinator port (default: a free one)")
    ap.add_argument("--timeout", type=float, default=None, help="stop every process after this many seconds")
    a = ap.parse_args(own)
    if not cmd:
        ap.error("no command: python -m irsjax.launch -n N -- COMMAND ...")
    if a.num_processes < 1:
        ap.error(f"-n must be a positive integer, got {a.num_processes}")
    return launch(cmd, a.num_processes, cpu_devices=a.cpu_devices, port=a.port, timeout_s=a.timeout)


if __name__ == "__main__":
    sys.exit(main())

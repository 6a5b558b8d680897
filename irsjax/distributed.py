"""Several processes (hosts) in one run: JAX's distributed runtime, wired for irsjax.

Every process runs the same program; JAX's mesh then spans the devices of every process and the
Monte Carlo engine shards each batch over all of them. The estimates are those of one process, bit
for bit (the engine's numbers depend on the key and sample count only). One process, the *primary*
(process 0), writes results; the others compute and stay silent.

Start the processes with the local launcher (``python -m irsjax.launch -n 2 -- irsjax run ...``), with
``srun`` under SLURM or ``mpirun`` under Open MPI (JAX reads those environments), or by hand with the
environment variables

* ``JAX_COORDINATOR_ADDRESS`` ``host:port`` of process 0 (read by JAX itself),
* ``JAX_NUM_PROCESSES`` the number of processes, ``JAX_PROCESS_ID`` this process's index (read by
  :func:`initialize`).

>>> from irsjax import distributed
>>> distributed.is_primary(), distributed.process_count()   # a plain single-process run
(True, 1)
>>> distributed.broadcast_json({"a": 1})                     # one process: the identity
{'a': 1}
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from typing import Any, Sequence

import numpy as np

__all__ = [
    "initialize", "is_initialized", "process_index", "process_count", "is_primary", "barrier",
    "broadcast_json", "allgather_json", "partial_store", "MemoryStore", "assign_points", "run_sweep_by_point",
    "cli_main",
]

ENV_NUM_PROCESSES = "JAX_NUM_PROCESSES"
ENV_PROCESS_ID = "JAX_PROCESS_ID"
ENV_COORDINATOR = "JAX_COORDINATOR_ADDRESS"


def is_initialized() -> bool:
    """Has JAX's distributed runtime been started in this process?"""
    import jax

    try:
        return bool(jax.distributed.is_initialized())
    except AttributeError:  # older jax
        from jax._src import distributed as _d

        return _d.global_state.client is not None


def _env_int(name):
    v = os.environ.get(name)
    if v is None or v.strip() == "":
        return None
    try:
        return int(v)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {v!r}") from None


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, timeout_s: int = 300) -> tuple[int, int]:
    """Start JAX's distributed runtime (once; later calls do nothing) and return ``(process_index,
    process_count)``.

    Arguments left ``None`` come from ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES`` and
    ``JAX_PROCESS_ID``; if none of them is set, JAX detects SLURM, Open MPI and cloud TPU environments
    itself. On CPUs the cross-process collectives use gloo (TCP). Must run before anything else touches
    JAX's backend (``jax.devices()``, any computation).
    """
    import jax

    if is_initialized():
        return jax.process_index(), jax.process_count()
    coordinator_address = coordinator_address or os.environ.get(ENV_COORDINATOR) or None
    num_processes = num_processes if num_processes is not None else _env_int(ENV_NUM_PROCESSES)
    process_id = process_id if process_id is not None else _env_int(ENV_PROCESS_ID)
    given = [v is not None for v in (num_processes, process_id)]
    if any(given) and not all(given):
        raise ValueError(f"set both {ENV_NUM_PROCESSES} and {ENV_PROCESS_ID} (or neither, under SLURM/Open MPI)")
    if num_processes is not None and not (num_processes >= 1 and 0 <= process_id < num_processes):
        raise ValueError(f"process id must be in [0, {num_processes}), got {process_id}")
    if num_processes is not None and coordinator_address is None:
        raise ValueError(f"{ENV_COORDINATOR} (host:port of process 0) is not set")
    try:  # CPU collectives across processes (gloo is the default in recent jax, absent in old ones)
        if jax.config.jax_cpu_collectives_implementation in (None, "none"):
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except AttributeError:
        pass
    kw = dict(initialization_timeout=int(timeout_s))
    if num_processes is not None:
        kw.update(coordinator_address=coordinator_address, num_processes=num_processes, process_id=process_id)
    elif coordinator_address is not None:
        kw.update(coordinator_address=coordinator_address)
    jax.distributed.initialize(**kw)
    return jax.process_index(), jax.process_count()


def process_index() -> int:
    """This process's index (0 without a distributed runtime)."""
    import jax

    return int(jax.process_index())


def process_count() -> int:
    """Number of processes in the run (1 without a distributed runtime)."""
    import jax

    return int(jax.process_count())


def is_primary() -> bool:
    """True in the one process that writes results (process 0; always True in a single-process run)."""
    return process_index() == 0


def barrier(name: str) -> None:
    """Wait until every process reaches the barrier ``name`` (nothing to do with one process)."""
    if process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def _to_bytes(obj) -> np.ndarray:
    return np.frombuffer(json.dumps(obj, sort_keys=True).encode(), np.uint8)


def broadcast_json(obj: Any) -> Any:
    """The primary's ``obj`` (any JSON-serialisable value) in every process; every process must call it."""
    if process_count() == 1:
        return obj
    from jax.experimental import multihost_utils as mh

    data = _to_bytes(obj) if is_primary() else np.zeros(0, np.uint8)
    n = int(mh.broadcast_one_to_all(np.asarray([data.size], np.int32))[0])
    buf = np.zeros(n, np.int32)
    buf[:data.size] = data
    out = np.asarray(mh.broadcast_one_to_all(buf)).astype(np.uint8)
    return json.loads(out.tobytes().decode())


def allgather_json(obj: Any) -> list:
    """Every process's ``obj`` (JSON-serialisable), in process order, in every process."""
    if process_count() == 1:
        return [obj]
    from jax.experimental import multihost_utils as mh

    data = _to_bytes(obj)
    sizes = np.asarray(mh.process_allgather(np.asarray([data.size], np.int32))).reshape(-1)
    buf = np.zeros(int(sizes.max()), np.int32)
    buf[:data.size] = data
    rows = np.asarray(mh.process_allgather(buf)).reshape(len(sizes), -1)
    return [json.loads(r[:s].astype(np.uint8).tobytes().decode()) for r, s in zip(rows, sizes)]


# --------------------------------------------------------------------------- resume state
def _partial_store_class():
    from irsjax.scenario import PartialStore

    class SharedPartialStore(PartialStore):
        """A :class:`irsjax.scenario.PartialStore` that only the primary writes or removes; the others
        hold the primary's resume state (broadcast at creation), so every process resumes identically."""

        def __init__(self, out_dir, signature, data, writer):
            self.path = os.path.join(out_dir, self.FILE)
            self.signature = signature
            self.interval = 2.0
            self._last = 0.0
            self.data = data
            self.writer = writer

        def _write(self):
            if self.writer:
                super()._write()

        def remove(self):
            if self.writer:
                super().remove()

    return SharedPartialStore


def partial_store(out_dir: str, signature: str, *, fresh: bool = False):
    """The resume store of a run in ``out_dir`` shared by every process: the primary reads it (after
    removing it with ``fresh``) and broadcasts its content; only the primary ever writes it. With one
    process it is an ordinary :class:`irsjax.scenario.PartialStore`. Every process must call it."""
    from irsjax.scenario import PartialStore

    if process_count() == 1:
        st = PartialStore(out_dir, signature)
        if fresh:
            st.remove()
            st = PartialStore(out_dir, signature)
        return st
    data = None
    if is_primary():
        st = PartialStore(out_dir, signature)
        if fresh:
            st.remove()
            st = PartialStore(out_dir, signature)
        data = st.data
    data = broadcast_json(data)
    return _partial_store_class()(out_dir, signature, data, is_primary())


class MemoryStore:
    """An in-memory resume store (the interface :func:`irsjax.scenario.run_sweep` uses): finished
    points given up front are returned instead of recomputed; nothing touches the disk."""

    def __init__(self, points: dict | None = None):
        self.data = {"points": dict(points or {}), "engine": {}}

    @property
    def resumed_points(self) -> int:
        return len(self.data["points"])

    def point(self, pid):
        return self.data["points"].get(pid)

    def save_point(self, pid, payload):
        self.data["points"][pid] = payload

    def engine_state(self, tag):
        return None

    def save_engine_state(self, tag, state):
        pass

    def flush(self):
        pass

    def remove(self):
        pass


# --------------------------------------------------------------------------- sweeps spread by point
def assign_points(num_points: int, num_processes: int, index: int) -> list[int]:
    """Indices of the sweep points process ``index`` computes: round robin (point ``i`` to process
    ``i mod P``), so neighbouring points, often of similar cost, land on different processes.

    >>> assign_points(5, 2, 0), assign_points(5, 2, 1)
    ([0, 2, 4], [1, 3])
    """
    return list(range(index, num_points, num_processes))


def run_sweep_by_point(scenario, params: dict, sweep_name: str, values: Sequence, *, on_point=None,
                       **kwargs) -> dict:
    """:func:`irsjax.scenario.run_sweep` with the sweep points spread over the processes.

    Each process computes its points (:func:`assign_points`) on its own devices, with the run's key, so
    every point is the number a single-process run gives; the encoded points are gathered and every
    process assembles the same results dictionary (derived results included), which only the primary
    should write. Suits sweeps of many small points whose parameter changes the structure (``N``,
    ``K``: a compile per point, which this also spreads). A sweep over a shared-draws parameter is one
    pass over all points anyway: it runs as :func:`~irsjax.scenario.run_sweep`, sharded by samples.
    ``kwargs`` as for ``run_sweep`` (``devices`` is this process's local devices here).
    """
    import jax

    from irsjax.scenario import run_sweep

    shared = kwargs.get("shared_draws", True) and sweep_name in scenario.shared_draws and len(values) > 1
    if process_count() == 1 or shared:
        return run_sweep(scenario, params, sweep_name, values, on_point=on_point, **kwargs)
    kwargs = dict(kwargs)
    kwargs.pop("devices", None)
    outer = kwargs.pop("store", None)
    mine = assign_points(len(values), process_count(), process_index())
    local = MemoryStore()
    if outer is not None:  # points finished by an earlier (interrupted) run
        for x in values:
            pid = f"{sweep_name}={x}"
            if outer.point(pid) is not None:
                local.save_point(pid, outer.point(pid))
    if mine:
        run_sweep(scenario, params, sweep_name, [values[i] for i in mine], store=local,
                  devices=jax.local_devices(), **kwargs)
    gathered = {}
    for pts in allgather_json(local.data["points"]):
        gathered.update(pts)
    if outer is not None:
        for pid, enc in gathered.items():
            if outer.point(pid) is None:
                outer.save_point(pid, enc)
    return run_sweep(scenario, params, sweep_name, values, store=MemoryStore(gathered), on_point=on_point,
                     **kwargs)


# --------------------------------------------------------------------------- the CLI under a launcher
def _option(argv, name):
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def _replace_option(argv, name, value):
    out, skip = [], False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a == name and i + 1 < len(argv):
            skip = True
            continue
        if a.startswith(name + "="):
            continue
        out.append(a)
    return out + [name, value]


def cli_main(argv: Sequence[str] | None = None) -> int:
    """``python -m irsjax.distributed run NAME ...``: the ``irsjax`` command in one process of a
    distributed run (what :mod:`irsjax.launch` starts for an ``irsjax`` command).

    Starts the distributed runtime from the environment, then runs the CLI. Until the CLI itself writes
    from the primary only, the other processes are given a private scratch output directory (with a
    read-only copy of the primary's resume state, so every process resumes the same points), no figure
    and no output; they still take part in every computation.
    """
    from irsjax import cli

    argv = list(sys.argv[1:] if argv is None else argv)
    initialize()
    argv = [a for a in argv if a != "--distributed"]
    if getattr(cli, "DISTRIBUTED_AWARE", False) or not argv or argv[0] != "run" or is_primary():
        barrier("irsjax-cli-start")
        if getattr(cli, "DISTRIBUTED_AWARE", False):
            argv.append("--distributed")
        return cli.main(argv)
    # a secondary process of an `irsjax run`: same computation, private outputs
    name = argv[1] if len(argv) > 1 else ""
    out = _option(argv, "--out") or os.path.join("runs", name)
    scratch = tempfile.mkdtemp(prefix=f"irsjax-p{process_index()}-")
    try:
        src = os.path.join(out, ".irsjax-partial.json")
        if "--fresh" not in argv and os.path.exists(src):
            shutil.copy(src, os.path.join(scratch, ".irsjax-partial.json"))
        barrier("irsjax-cli-start")
        argv = _replace_option(argv, "--out", scratch) + ["--no-plot", "--no-progress"]
        with contextlib.redirect_stdout(io.StringIO()):
            return cli.main(argv)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(cli_main())

"""Multi-process runs for real: JAX's distributed runtime with 2 (and 4) CPU processes on localhost,
started by irsjax.launch. The numbers must be those of one process, bit for bit, and only process 0 writes."""
import json
import math
import os
import subprocess
import sys

import jax
import pytest

from irsjax import distributed as D
from irsjax import launch
from irsjax import montecarlo as mc
from irsjax import scenario as S
from irsjax.systems.wiretap import WiretapConfig

HERE = os.path.dirname(__file__)


def _launch(n, cmd, timeout=420, cwd=None):
    r = subprocess.run([sys.executable, "-m", "irsjax.launch", "-n", str(n), "--timeout", str(timeout - 20), "--",
                        *cmd], capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    return r


def _same(a, b):
    """Equal, NaN == NaN (JSON numbers of results)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _run_driver(tmp_path, n, ks, with_estimate):
    out, rep = tmp_path / "out", tmp_path / "rep"
    out.mkdir()
    rep.mkdir()
    (out / ".irsjax-partial.json").write_text(json.dumps({"signature": "sig", "points": {"x": {"v": 7}},
                                                          "engine": {}}))
    _launch(n, ["python", os.path.join(HERE, "_distributed_driver.py"), str(out), str(rep), ks]
            + (["estimate"] if with_estimate else []))
    procs = [json.loads((rep / f"proc-{i}.json").read_text()) for i in range(n)]
    # the references, computed here in one process (2 simulated devices)
    ref_est = {}
    if with_estimate:
        est = mc.estimate(WiretapConfig(K=8, P_dBm=0.0), jax.random.key(3), 20_000, batch_size=4096,
                          probabilities=("out_random",))
        ref_est = {k: [float(v.mean).hex(), float(v.variance).hex()] for k, v in est.items()}
    from scenarios.wiretap import SCENARIO

    params, sweep, values = S.resolve(SCENARIO, {"K": ks, "P_dBm": "10"})
    ref = S.run_sweep(SCENARIO, params, sweep, values, seed=1, samples=3000)
    for p in procs:
        assert p["nproc"] == n and p["devices"] == n and p["local"] == 1
        assert p["estimate"] == ref_est  # bit for bit (hex of the float64 accumulations)
        assert p["seen"] == {"v": 7}  # the primary's resume state reached every process
        assert p["writer"] == (p["rank"] == 0)
        assert _same(p["series"], ref["series"]) and _same(p["derived"], ref["derived"])
    assert sorted(i for p in procs for i in p["mine"]) == list(range(len(values)))  # each point by one process
    assert all(p["mine"] for p in procs[:len(values)])
    # only the primary wrote: results.json, and its own save_point in the shared resume file
    assert sorted(set(os.listdir(out)) - {".irsjax-results"}) == [".irsjax-partial.json", "results.csv", "results.json"]
    part = json.loads((out / ".irsjax-partial.json").read_text())
    assert part["points"]["y"] == {"from": 0}
    res = json.loads((out / "results.json").read_text())
    assert _same(res["series"], ref["series"])


@pytest.mark.slow  # the default suite keeps the 2-process CLI test below (the user's path); this and the
# 4-process test cover the sweep spread by point and the shared resume state
def test_two_processes_sweep_by_point_shared_resume_state_and_primary_writes(tmp_path):
    _run_driver(tmp_path, 2, "2,3", with_estimate=False)


@pytest.mark.slow
def test_four_processes_estimate_sweep_by_point_and_primary_writes(tmp_path):
    _run_driver(tmp_path, 4, "2,3,4,5,6", with_estimate=True)


def test_cli_under_launcher_gives_single_process_numbers(tmp_path):
    args = ["run", "wiretap", "--set", "P_dBm=0,10", "--set", "K=8", "--samples", "20000", "--no-plot",
            "--no-progress", "--compile-cache", "off"]
    r = _launch(2, ["irsjax", *args, "--out", str(tmp_path / "two")])
    from scenarios.wiretap import SCENARIO

    params, sweep, values = S.resolve(SCENARIO, {"P_dBm": "0,10", "K": "8"})
    a = S.run_sweep(SCENARIO, params, sweep, values, seed=0, samples=20000)  # one process, here
    b = json.loads((tmp_path / "two" / "results.json").read_text())
    assert _same(a["series"], b["series"]) and _same(a["derived"], b["derived"])
    assert sorted(set(os.listdir(tmp_path / "two")) - {".irsjax-results"}) == ["results.csv", "results.json"]
    wrote = [ln for ln in r.stdout.splitlines() if "wrote" in ln]
    assert len(wrote) == 1 and wrote[0].startswith("[0] ")  # process 1 computed, wrote nothing


def test_single_process_helpers(tmp_path):
    assert D.is_primary() and D.process_count() == 1 and D.process_index() == 0
    assert D.allgather_json({"a": [1, 2]}) == [{"a": [1, 2]}]
    st = D.partial_store(str(tmp_path), "s")
    st.save_point("p", {"v": 1})
    assert json.loads((tmp_path / ".irsjax-partial.json").read_text())["points"]["p"] == {"v": 1}
    assert D.assign_points(7, 3, 2) == [2, 5]


def test_initialize_rejects_half_given_environment(monkeypatch):
    monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
    monkeypatch.delenv("JAX_PROCESS_ID", raising=False)
    if D.is_initialized():
        pytest.skip("runtime already started in this process")
    with pytest.raises(ValueError, match="JAX_PROCESS_ID"):
        D.initialize()


def test_launcher_env_and_command():
    env = launch.worker_env({"XLA_FLAGS": "--xla_force_host_platform_device_count=2 --foo"}, rank=3,
                            num_processes=4, port=5, cpu_devices=1)
    assert env["XLA_FLAGS"] == "--foo --xla_force_host_platform_device_count=1"
    assert env["JAX_NUM_PROCESSES"] == "4" and env["JAX_PROCESS_ID"] == "3"
    assert launch.worker_command(["irsjax", "run", "x"])[1:] == ["-m", "irsjax.distributed", "run", "x"]
    assert launch.worker_command(["a.py", "1"]) == [sys.executable, "a.py", "1"]
    with pytest.raises(ValueError, match="no command"):
        launch.worker_command([])


def test_launcher_stops_the_others_when_one_fails(tmp_path):
    code = ("import os, sys, time\n"
            "if os.environ['JAX_PROCESS_ID'] == '1': sys.exit(3)\n"
            "time.sleep(60)\n")
    (tmp_path / "w.py").write_text(code)
    r = subprocess.run([sys.executable, "-m", "irsjax.launch", "-n", "2", "--", str(tmp_path / "w.py")],
                       capture_output=True, text=True, timeout=40)
    assert r.returncode == 3


def test_mesh_refuses_an_empty_device_list():
    with pytest.raises(ValueError, match="empty"):
        mc.device_mesh([])
    assert mc.device_mesh(jax.local_devices()[:1]) is None

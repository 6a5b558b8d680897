"""The CLI contract: list, run, --help, results files, and one-line errors."""
import json
import os
import subprocess
import sys

import pytest

from irsjax import cli
from irsjax.scenario import PartialStore

TINY = ["--samples", "2000", "--no-plot", "--no-progress"]


def run_cli(args, capsys):
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_scenario(capsys):
    code, out, _ = run_cli(["list"], capsys)
    assert code == 0
    names = [line.split()[0] for line in out.strip().splitlines()]
    assert "wiretap" in names
    assert all("failed to load" not in line for line in out.splitlines()), out


def test_run_help_lists_parameters(capsys):
    code, out, _ = run_cli(["run", "wiretap", "--help"], capsys)
    assert code == 0
    for name in ("K [elements] = 32", "P_dBm", "R_s", "noise_dBm", "dBm", "sop_random_analysis"):
        assert name in out


def test_run_writes_contract_files(tmp_path, capsys):
    out_dir = tmp_path / "wt"
    code, out, err = run_cli(["run", "wiretap", "--set", "P_dBm=0:10:5", "--set", "K=16", "--out", str(out_dir),
                              "--samples", "3000", "--no-progress", "--seed", "5"], capsys)
    assert code == 0, err
    r = json.loads((out_dir / "results.json").read_text())
    assert r["scenario"] == "wiretap" and r["seed"] == 5 and r["samples"] == 3000
    assert r["x"] == {**r["x"], "name": "P_dBm", "values": [0.0, 5.0, 10.0]}
    assert r["params"]["K"] == 16 and r["params"]["R_s"] == 1.0 and r["params"]["noise_dBm"] == -90.0
    labels = {"asr_aligned", "asr_random", "sop_aligned", "sop_random", "sop_random_analysis",
              "sop_aligned_conditional"}
    assert labels <= set(r["series"])
    for lab in labels - {"sop_random_analysis"}:
        s = r["series"][lab]
        assert len(s["mean"]) == len(s["ci_low"]) == len(s["ci_high"]) == 3
        assert all(lo <= m <= hi for lo, m, hi in zip(s["ci_low"], s["mean"], s["ci_high"]))
    assert "ci_low" not in r["series"]["sop_random_analysis"]
    vr = r["derived"]["per_point"]["variance_reduction_sop_aligned"]
    assert len(vr) == 3
    for k in ("irsjax_version", "jax_version", "backend", "device_count", "elapsed_s"):
        assert k in r["meta"]
    csv = (out_dir / "results.csv").read_text().splitlines()
    assert csv[0].startswith("scenario,x_name,x,series,mean,ci_low,ci_high")
    assert len(csv) == 1 + 3 * len(r["series"])
    assert (out_dir / "figure.png").stat().st_size > 1000
    assert not (out_dir / PartialStore.FILE).exists()
    # the figure can be redrawn from results.json alone
    os.remove(out_dir / "figure.png")
    code, _, _ = run_cli(["plot", str(out_dir)], capsys)
    assert code == 0 and (out_dir / "figure.png").exists()


def test_sweep_over_k_and_seed_reproducibility(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    for d, bs in ((a, "512"), (b, "4096")):
        code, _, err = run_cli(["run", "wiretap", "--set", "sweep=K", "--set", "K=4,8", "--set", "P_dBm=10",
                                "--out", str(d), "--batch-size", bs] + TINY, capsys)
        assert code == 0, err
    ra, rb = (json.loads((d / "results.json").read_text()) for d in (a, b))
    assert ra["x"]["values"] == [4, 8]
    assert ra["series"] == rb["series"]  # batch size never changes numbers


@pytest.mark.parametrize("args, culprit", [
    (["run", "nosuch"], "unknown scenario 'nosuch'"),
    (["run", "wiretap", "--set", "bogus=1"], "unknown parameter 'bogus'"),
    (["run", "wiretap", "--set", "K=0"], "'K' must be >= 1"),
    (["run", "wiretap", "--set", "K=-3"], "'K' must be >= 1"),
    (["run", "wiretap", "--set", "K=2.5"], "'K' must be an integer"),
    (["run", "wiretap", "--set", "K=abc"], "'K' must be an integer"),
    (["run", "wiretap", "--set", "P_dBm=nan"], "'P_dBm' must be finite"),
    (["run", "wiretap", "--set", "P_dBm=inf"], "'P_dBm' must be finite"),
    (["run", "wiretap", "--set", "R_s=0"], "'R_s' must be > 0"),
    (["run", "wiretap", "--set", "noise_dBm=x"], "'noise_dBm' must be a number"),
    (["run", "wiretap", "--set", "K"], "KEY=VALUE"),
    (["run", "wiretap", "--set", "sweep=nosuch"], "unknown parameter 'nosuch'"),
    (["run", "wiretap", "--set", "P_dBm=10:0:5"], "empty or infinite range"),
    (["run", "wiretap", "--samples", "0"], "--samples must be a positive integer"),
    (["run", "wiretap", "--samples", "-5"], "--samples must be a positive integer"),
    (["run", "wiretap", "--batch-size", "0"], "--batch-size must be a positive integer"),
    (["run", "wiretap", "--seed", "-1"], "--seed must be a non-negative integer"),
    (["run", "wiretap", "--set", "K=4,8", "--set", "P_dBm=1,2"], "several parameters"),
])
def test_bad_input_one_line_error(args, culprit, capsys, tmp_path):
    add_out = args[0] == "run" and len(args) > 1
    code, out, err = run_cli(args + ["--out", str(tmp_path / "o")] if add_out else args, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("irsjax: error:") and culprit in lines[0], lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "o" / "results.json").exists()


def test_unwritable_out_dir(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    code, _, err = run_cli(["run", "wiretap", "--out", str(blocker / "sub")] + TINY, capsys)
    assert code == 2
    assert err.count("\n") == 1 and "output directory" in err and "not writable" in err


def test_interrupted_run_resumes_without_losing_points(tmp_path, capsys, monkeypatch):
    out_dir = tmp_path / "r"

    real_point = None
    import scenarios.wiretap as W

    calls = {"n": 0}
    real_point = W.SCENARIO.point

    def flaky(ctx, params):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_point(ctx, params)

    import dataclasses
    monkeypatch.setattr(cli, "load_scenario", lambda name: dataclasses.replace(W.SCENARIO, point=flaky))
    # a sweep over K runs point by point (K changes the channels' law: no shared draws), so points finish one by one
    sweep = ["--set", "sweep=K", "--set", "K=2:10:2", "--set", "P_dBm=10"]
    args = ["run", "wiretap", *sweep, "--out", str(out_dir)] + TINY
    code, _, err = run_cli(args, capsys)
    assert code == 130 and "resume" in err
    assert not (out_dir / "results.json").exists()
    partial = json.loads((out_dir / PartialStore.FILE).read_text())
    assert len(partial["points"]) == 2
    code, _, err = run_cli(args, capsys)
    assert code == 0 and "resuming: 2 finished point(s)" in err
    assert calls["n"] == 3 + 3  # only the 3 unfinished points were computed again
    resumed = json.loads((out_dir / "results.json").read_text())
    monkeypatch.setattr(cli, "load_scenario", lambda name: W.SCENARIO)
    fresh_dir = tmp_path / "fresh"
    code, _, _ = run_cli(["run", "wiretap", *sweep, "--out", str(fresh_dir)] + TINY, capsys)
    fresh = json.loads((fresh_dir / "results.json").read_text())
    assert resumed["series"] == fresh["series"]


def test_console_script_end_to_end(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "irsjax")
    r = subprocess.run([exe, "run", "wiretap", "--set", "K=0", "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "'K'" in r.stderr
    r = subprocess.run([exe, "run", "wiretap", "--samples", "1000", "--set", "P_dBm=10", "--out", str(tmp_path / "ok"),
                        "--no-plot"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "ok" / "results.json").exists()


def test_failure_inside_a_run_keeps_the_previous_result_and_finished_points(tmp_path, capsys, monkeypatch):
    """An error raised after the run has written checkpoints (here: in the second point) exits 1 with one line;
    the previous complete result stays as it was, the finished point is kept, and the rerun resumes from it."""
    import dataclasses

    import scenarios.wiretap as W

    out = tmp_path / "r"
    sweep = ["--set", "sweep=K", "--set", "K=2:6:2", "--set", "P_dBm=10"]
    assert cli.main(["run", "wiretap", *sweep, "--out", str(out)] + TINY) == 0  # a finished result
    capsys.readouterr()
    before = {n: (out / n).read_bytes() for n in ("results.json", "results.csv")}
    real_point, calls = W.SCENARIO.point, {"n": 0}

    def broken(ctx, params):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("device lost")
        return real_point(ctx, params)

    monkeypatch.setattr(cli, "load_scenario", lambda name: dataclasses.replace(W.SCENARIO, point=broken))
    args = ["run", "wiretap", *sweep, "--seed", "1", "--out", str(out)] + TINY
    code, _, err = run_cli(args, capsys)
    assert code == 1 and err.count("\n") == 1 and "RuntimeError: device lost" in err and "Traceback" not in err
    assert {n: (out / n).read_bytes() for n in before} == before
    assert len(json.loads((out / PartialStore.FILE).read_text())["points"]) == 1
    monkeypatch.setattr(cli, "load_scenario", lambda name: W.SCENARIO)
    code, _, err = run_cli(args, capsys)
    assert code == 0 and "resuming: 1 finished point(s)" in err
    assert json.loads((out / "results.json").read_text())["seed"] == 1 and not (out / PartialStore.FILE).exists()


def test_out_of_memory_inside_a_run_is_one_line_with_the_fix(tmp_path, capsys, monkeypatch):
    """Where the estimate before a pass misses, XLA's RESOURCE_EXHAUSTED still becomes one line with the fix."""
    import dataclasses

    import scenarios.wiretap as W

    def oom(ctx, params):
        raise RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 71468255805440 bytes.\nmore")

    monkeypatch.setattr(cli, "load_scenario", lambda name: dataclasses.replace(W.SCENARIO, point=oom))
    code, out, err = run_cli(["run", "wiretap", "--out", str(tmp_path / "o")] + TINY, capsys)
    assert code == 2 and err.count("\n") == 1 and out == ""
    assert "out of memory during the run" in err and "--batch-size does not change it" in err
    assert "71468255805440 bytes" in err and not (tmp_path / "o").exists()


def test_help_into_a_closed_pipe_is_quiet():
    """``irsjax run --help | head -1``: no error message when the reader stops early."""
    p = subprocess.Popen([sys.executable, "-m", "irsjax", "run", "--help"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.close()  # before the command writes (it starts in a fraction of a second)
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    assert err == "" and p.returncode in (0, 1)


def test_partial_store_subclass_with_its_own_state_writes(tmp_path):
    """A resume store that sets up its state itself (e.g. one shared by the processes of a distributed run)
    still writes: the first write creates the directory."""
    class Shared(PartialStore):
        def __init__(self, out_dir, signature, data):
            self.path = os.path.join(out_dir, self.FILE)
            self.signature, self.interval, self._last, self.data = signature, 2.0, 0.0, data

    st = Shared(str(tmp_path / "d"), "s", {"signature": "s", "points": {}, "engine": {}})
    st.save_point("p", {"v": 1})
    assert json.loads((tmp_path / "d" / PartialStore.FILE).read_text())["points"] == {"p": {"v": 1}}


def test_shadowed_scenarios_package_is_one_line(monkeypatch):
    """A foreign top-level 'scenarios' package (name clash) gives one line with the fix, not a traceback."""
    import types

    from irsjax import cli

    monkeypatch.setitem(sys.modules, "scenarios.wiretap", types.ModuleType("scenarios.wiretap"))
    with pytest.raises(cli.CliError, match="shadow irsjax's; install irsjax in a virtual environment"):
        cli.load_scenario("wiretap")

"""Progress on stderr: an overall display of the sweep (point i/n, the pass in progress, ETA), status lines when
stderr is not a terminal, and points finished by an earlier, interrupted run counted but never reprinted."""
import dataclasses
import io
import json
import re
import time

from irsjax import cli

SWEEP = ["--set", "sweep=K", "--set", "K=2:6:2", "--set", "P_dBm=10"]  # point by point: three passes


def test_lines_without_a_terminal_and_resumed_points_not_reprinted(tmp_path, capsys, monkeypatch):
    import scenarios.wiretap as W

    real_point = W.SCENARIO.point
    calls = {"n": 0}

    def slow(ctx, params):  # slow enough for status lines; the third point is interrupted
        calls["n"] += 1
        time.sleep(0.4)
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_point(ctx, params)

    monkeypatch.setattr(cli, "PROGRESS_INTERVAL_S", 0.1)
    monkeypatch.setattr(cli, "load_scenario", lambda name: dataclasses.replace(W.SCENARIO, point=slow))
    out = tmp_path / "o"
    args = ["run", "wiretap", *SWEEP, "--samples", "2000", "--no-plot", "--out", str(out)]  # capsys: no terminal
    assert cli.main(args) == 130
    _, err = capsys.readouterr()
    assert re.search(r"^  K = 2: done \(\d+\.\d s\)$", err, re.M) and re.search(r"^  K = 4: done", err, re.M)
    status = [ln for ln in err.splitlines() if ln.startswith("irsjax: K: ")]
    assert status and all(" points" in ln and " elapsed" in ln for ln in status), err
    # a line printed while a pass runs names it (whether one lands inside a pass depends on the machine's speed)
    assert all(re.search(r"pass [12] \(K=[24]\)", ln) for ln in status if "pass" in ln), status

    assert cli.main(args) == 0
    _, err = capsys.readouterr()
    assert "resuming: 2 finished point(s)" in err
    assert "K = 2: done" not in err and "K = 4: done" not in err  # resumed points are not reprinted
    assert re.search(r"^  K = 6: done", err, re.M)
    status = [ln for ln in err.splitlines() if ln.startswith("irsjax: K: ")]
    assert status and all("/1 points (2 resumed)" in ln for ln in status), status
    assert json.loads((out / "results.json").read_text())["meta"]["resumed_points"] == 2

    assert cli.main([*args[:-1], str(tmp_path / "quiet"), "--no-progress"]) == 0
    _, err = capsys.readouterr()
    assert err == ""  # --no-progress: only warnings and errors


def test_overall_bar_counts_points_and_passes():
    stream = io.StringIO()
    p = cli.CliProgress("bar", stream=stream, interval=0.1)
    try:
        p.start(points=4, resumed=1, sweep_name="K")
        p.engine_start(label="K=4", samples=1000, done=0, points=1)
        assert "compiling / first batch" in p.status()
        p.engine_update(500, 1000)
        assert abs(p.fraction() - 0.5 / 3) < 1e-9  # half of the first of three points still to do
        assert p.status().startswith("K: 0/3 points (1 resumed), pass 1 (K=4): 500/1,000 samples")
        p.engine_update(500, 10**6, expected=1000)  # a stopping rule projects 1000 samples: the ETA follows it
        assert abs(p.fraction() - 0.5 / 3) < 1e-9
        assert "500/1,000,000 samples (the stopping rule needs about 1,000)" in p.status()
        p.engine_update(1000, 1000)
        p.engine_end()
        p.point_done(1, 4, 1.5, resumed=False)
        p.point_done(0, 2, 9.9, resumed=True)  # counted by start(), not reprinted
        assert abs(p.fraction() - 1 / 3) < 1e-9
        p.warn("something")
    finally:
        p.close()
    text = stream.getvalue()
    assert "K 1/3" in text and "K = 4: done (1.5 s)" in text and "K = 2" not in text
    assert "irsjax: warning: something" in text


def test_a_pass_that_serves_every_point_counts_for_all_of_them():
    """A shared-draw sweep whose points make identical engine calls (an iteration-index axis, e.g. uplink-sop
    fig2) runs one pass for all points: the progress must count it for all of them (the ETA said 18 h for a
    run that took 1.5 h when it counted the pass for one point of 31)."""
    from irsjax.scenario import Panel, Param, PointResult, Scenario, Series, SweepProgress, run_sweep

    seen = []

    class Rec(SweepProgress):
        def engine_start(self, *, label, samples, done, points):
            seen.append((label, points))

    def point(ctx, params):
        est = ctx.estimate(_normal)  # the same call at every 'i'
        return PointResult(values={"a": est["x"]})

    sc = Scenario(name="demo-iter", description="d", params=(Param("i", 0, kind=int, minimum=0, maximum=9),),
                  sweep="i", sweep_values=(0, 1, 2), series=(Series("a", "p"),), panels={"p": Panel("x")},
                  point=point, shared_draws=("i",))
    res = run_sweep(sc, {"i": 0}, "i", [0, 1, 2], samples=256, progress=Rec())
    assert res["series"]["a"]["mean"][0] == res["series"]["a"]["mean"][2]
    assert seen and all(p == 3 for _, p in seen), seen
    p = cli.CliProgress("lines", stream=io.StringIO(), interval=10)
    try:
        p.start(points=3, resumed=0, sweep_name="i")
        p.engine_start(label="3 points, shared draws", samples=256, done=0, points=3)
        p.engine_update(128, 256)
        assert abs(p.fraction() - 0.5) < 1e-9  # half of the one pass that finishes all three points
    finally:
        p.close()


def _normal(key):
    import jax

    return {"x": jax.random.normal(key)}

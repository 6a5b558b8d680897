"""A finished result is never lost or mixed: the result directory under kill -9 at any moment.

* Every step of the commit protocol: a forked writer is killed (``os._exit``) before its k-th file-system
  operation, for every k, starting from each kind of previous state; after each kill the directory shows
  either the previous complete result or the new one (results.json, results.csv and figure.png of one run).
* Real runs of ``irsjax run`` killed with SIGKILL at random moments over an existing result.
"""
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from irsjax import results as R

EXE = os.path.join(os.path.dirname(sys.executable), "irsjax")


def fake_results(run_id, value):
    return {"scenario": "demo", "description": "d", "params": {"P": [0.0, 1.0]}, "units": {"P": ""}, "seed": 0,
            "samples": 10, "x": {"name": "P", "values": [0.0, 1.0], "unit": "", "label": "P", "scale": "linear"},
            "series": {"s": {"mean": [value, value + 1], "ci_low": [value - 1, value],
                             "ci_high": [value + 1, value + 2],
                             "std_err": [0.1, 0.1], "num_samples": [10, 10], "kind": "mean", "panel": "p",
                             "analytical": False}},
            "panels": {"p": {"ylabel": "y", "yscale": "linear"}}, "derived": {}, "meta": {"run_id": run_id}}


def png_run_id(path):
    from PIL import Image

    with Image.open(path) as im:
        return im.info.get(R.RUN_ID_KEY)


def check_consistent(out, allowed_ids, fake_png=False, user_files=("notes.txt",)):
    """The result in ``out`` is complete and of one run (one of ``allowed_ids``, None: no result); returns its id."""
    js = os.path.join(out, "results.json")
    if not os.path.exists(js):
        assert None in allowed_ids, f"no result in {out}"
        return None
    with open(js) as f:
        res = json.load(f)
    rid = res["meta"]["run_id"]
    assert rid in allowed_ids, (rid, allowed_ids)
    with open(os.path.join(out, "results.csv"), newline="") as f:
        assert f.read() == R.results_csv(res), "results.csv is not the CSV of results.json"
    fig = os.path.join(out, "figure.png")
    if os.path.exists(fig):
        if fake_png:
            with open(fig, "rb") as f:
                assert f.read() == f"fig {rid}".encode()
        else:
            assert png_run_id(fig) == rid
    visible = sorted(e for e in os.listdir(out) if not e.startswith(".") and e not in user_files)
    assert set(visible) <= set(R.RESULT_FILES), visible
    return rid


# ------------------------------------------------------------------ every step of the commit protocol
KILL_SCRIPT = textwrap.dedent("""
    import json, os, shutil, sys
    from irsjax import results as R
    R.figure_png = lambda res: f"fig {res['meta']['run_id']}".encode()
    spec = json.loads(sys.argv[1])
    out, template = spec["out"], spec["template"]
    def restore():
        shutil.rmtree(out, ignore_errors=True)
        if template is not None:
            shutil.copytree(template, out, symlinks=True)
    names = ["replace", "rename", "symlink", "link", "remove", "unlink", "mkdir", "rmdir", "open", "fsync",
             "ftruncate", "write"]
    real = {n: getattr(os, n) for n in names}
    real_rmtree, real_copy2 = shutil.rmtree, shutil.copy2
    reports = []
    k = 1
    while True:
        restore()
        pid = os.fork()
        if pid == 0:
            count = [0]
            def wrap(fn):
                def w(*a, **kw):
                    count[0] += 1
                    if count[0] == k:
                        os._exit(137)
                    return fn(*a, **kw)
                return w
            for n in names:
                setattr(os, n, wrap(real[n]))
            shutil.rmtree, shutil.copy2 = wrap(real_rmtree), wrap(real_copy2)
            try:
                R.write_results(json.loads(spec["new"]), out, plot=spec["plot"])
            except BaseException as e:
                real["write"](2, repr(e).encode())
                os._exit(3)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        reports.append([k, code])
        snap = os.path.join(os.path.dirname(out), "snap-%d" % k)
        if os.path.exists(out):
            shutil.copytree(out, snap, symlinks=True)
        else:
            os.mkdir(snap)
        if code == 0:
            break
        assert code == 137, code
        k += 1
    print(json.dumps(reports))
""")


def _template(tmp, kind):
    """A previous state of the output directory: None (absent), empty, a result (links), a result written as
    plain files by an older irsjax, or a result without a figure."""
    t = tmp / f"template-{kind}"
    if kind == "absent":
        return None
    t.mkdir()
    if kind == "empty":
        return str(t)
    old = fake_results("old-run", 1.0)
    if kind == "plain":  # the layout of irsjax before this change: plain files
        (t / "results.csv").write_text(R.results_csv(old))
        (t / "figure.png").write_bytes(b"fig old-run")
        (t / "results.json").write_text(json.dumps(old))
        (t / "notes.txt").write_text("the user's own file")
        return str(t)
    import irsjax.results as RR

    saved = RR.figure_png
    RR.figure_png = lambda res: f"fig {res['meta']['run_id']}".encode()
    try:
        R.write_results(old, str(t), plot=(kind != "no-figure"))
    finally:
        RR.figure_png = saved
    return str(t)


@pytest.mark.parametrize("kind, plot", [("absent", True), ("empty", True), ("result", True), ("result", False),
                                        ("plain", True), ("no-figure", True)])
def test_kill_at_every_step_of_the_commit(tmp_path, kind, plot):
    template = _template(tmp_path, kind)
    out = tmp_path / "snaps" / "out"
    out.parent.mkdir()
    new = fake_results("new-run", 5.0)
    spec = {"out": str(out), "template": template, "new": json.dumps(new), "plot": plot}
    r = subprocess.run([sys.executable, "-c", KILL_SCRIPT, json.dumps(spec)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    reports = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(reports) > 8  # the protocol has many steps; each was interrupted once
    old_ids = {None} if kind in ("absent", "empty") else {"old-run"}
    seen = []
    for k, code in reports:
        snap = tmp_path / "snaps" / f"snap-{k}"
        rid = check_consistent(str(snap), old_ids | {"new-run"}, fake_png=True)
        seen.append(rid)
        if rid == "new-run":
            assert os.path.exists(snap / "figure.png") == plot
        elif rid == "old-run":
            assert os.path.exists(snap / "figure.png") == (kind != "no-figure")
        if kind == "plain":
            assert (snap / "notes.txt").read_text() == "the user's own file"
    assert seen[-1] == "new-run" and seen[0] in old_ids
    # once the new result shows, it stays (the switch happens once)
    first_new = seen.index("new-run")
    assert all(s == "new-run" for s in seen[first_new:])
    # after the final (complete) commit nothing of the old result or of the protocol is left
    final = tmp_path / "snaps" / f"snap-{reports[-1][0]}"
    state = sorted(os.listdir(final / R.STATE_DIR))
    assert state == sorted(["current", "lock", "new-run"]), state


def test_files_have_the_usual_mode(tmp_path):
    old = os.umask(0o022)
    try:
        paths = R.write_results(fake_results("m1", 1.0), str(tmp_path / "o"), plot=True)
    finally:
        os.umask(old)
    for p in paths.values():
        assert (os.stat(p).st_mode & 0o777) == 0o644, (p, oct(os.stat(p).st_mode))
    old = os.umask(0o077)
    try:
        paths = R.write_results(fake_results("m2", 1.0), str(tmp_path / "o2"), plot=False)
    finally:
        os.umask(old)
    assert all((os.stat(p).st_mode & 0o777) == 0o600 for p in paths.values())


def test_plain_files_without_symlinks(tmp_path, monkeypatch):
    monkeypatch.setattr(R.OutputDir, "_links_supported", lambda self: False)
    out = tmp_path / "o"
    R.write_results(fake_results("p1", 1.0), str(out), plot=True)
    assert not os.path.islink(out / "results.json") and png_run_id(out / "figure.png") == "p1"
    R.write_results(fake_results("p2", 2.0), str(out), plot=False)
    assert check_consistent(str(out), {"p2"}) == "p2" and not (out / "figure.png").exists()


def test_two_runs_cannot_write_one_directory(tmp_path):
    a, b = R.OutputDir(str(tmp_path / "o")), R.OutputDir(str(tmp_path / "o"))
    a.prepare()
    with pytest.raises(R.OutputError, match="being written by another irsjax run"):
        b.prepare()
    with pytest.raises(R.OutputError, match="being written by another irsjax run"):
        R.OutputDir.validate(str(tmp_path / "o"))
    a.release()
    b.prepare()
    b.release()


def test_abandon_removes_only_what_the_run_created(tmp_path):
    o = R.OutputDir(str(tmp_path / "a" / "b" / "out"))
    o.prepare()
    assert (tmp_path / "a" / "b" / "out" / R.STATE_DIR / "lock").exists()
    o.abandon()
    assert not (tmp_path / "a").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    o = R.OutputDir(str(tmp_path / "mine"))
    o.prepare()
    o.abandon()
    assert sorted(os.listdir(tmp_path / "mine")) == ["notes.txt"]


def test_plot_redraws_into_the_current_result(tmp_path):
    out = tmp_path / "o"
    R.write_results(fake_results("f1", 1.0), str(out), plot=False)
    assert not (out / "figure.png").exists()
    R.plot_to_dir(str(out))
    assert png_run_id(out / "figure.png") == "f1" and os.path.islink(out / "figure.png")
    check_consistent(str(out), {"f1"})


# ------------------------------------------------------------------ real runs killed with SIGKILL
ARGS = ["run", "wiretap", "--set", "P_dBm=0,10", "--set", "K=4", "--no-progress"]


def _run(out, samples, env, plot=True):
    extra = [] if plot else ["--no-plot"]
    return subprocess.Popen([EXE, *ARGS, "--samples", str(samples), "--out", str(out)] + extra,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _result_id(out):
    return json.loads((out / "results.json").read_text())["meta"]["run_id"]


def _kill_runs(tmp_path, moments, monkeypatch):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    out = tmp_path / "out"
    R.write_results(fake_results("previous-run", 1.0), str(out), plot=True)  # a finished result
    ids = {"previous-run"}
    rng = random.Random(17)
    duration = None
    for i, moment in enumerate(moments):
        t0 = time.monotonic()
        samples = 2048 * (i + 2)  # a different count for every run: a result tells which run wrote it
        p = _run(out, samples, env)
        if moment == "commit":  # the moment the new result's directory is being written
            state = out / R.STATE_DIR
            deadline = time.monotonic() + 600
            while p.poll() is None and time.monotonic() < deadline:
                if any(e.startswith(".tmp-") for e in os.listdir(state)):
                    break
                time.sleep(0.001)
            duration = duration or time.monotonic() - t0
        else:
            time.sleep(rng.uniform(0.1, (duration or 20.0) * 1.1))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        # the killed run may have committed before the signal landed (runs take about a second once compiled):
        # then the result in place is its own (a new id with this run's sample count), complete and consistent
        # (check_consistent checks the CSV and figure); any other id is a lost or foreign result
        own = set()
        if (out / "results.json").exists():
            res = json.loads((out / "results.json").read_text())
            if res["meta"]["run_id"] not in ids and res["samples"] == samples:
                own = {res["meta"]["run_id"]}
        rid = check_consistent(str(out), ids | {None} | own)
        assert rid is not None  # a previous complete result is never lost
        ids.add(rid)
    # a later run (here in-process) cleans up whatever the kills left
    from irsjax import cli

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert cli.main([*ARGS, "--samples", "1024", "--no-plot", "--out", str(out)]) == 0
    check_consistent(str(out), {_result_id(out)})
    assert not (out / "figure.png").exists()
    assert sorted(os.listdir(out / R.STATE_DIR)) == sorted(["current", "lock", _result_id(out)])


def test_sigkill_during_a_real_run(tmp_path, monkeypatch):
    _kill_runs(tmp_path, ["commit"], monkeypatch)


@pytest.mark.slow
def test_sigkill_during_real_runs_at_random_moments(tmp_path, monkeypatch):
    _kill_runs(tmp_path, ["commit"] + ["random"] * 12 + ["commit"] * 2, monkeypatch)


@pytest.mark.parametrize("fmt", ["png", "via-plot"])
def test_figure_is_not_clipped_at_the_edges(tmp_path, fmt):
    """A panel with its legend below (many series) must keep its y label inside the saved image: the image
    borders are blank (seen: 'minimum secrecy rate' cut to 'inimum secrecy rate' at the left edge)."""
    import matplotlib.image as mpimg
    import numpy as np

    from irsjax import cli

    series = {f"s{i}": {"mean": [0.1 * i, 0.2 * i], "ci_low": [0.0, 0.0], "ci_high": [0.3 * i, 0.4 * i],
                        "description": f"a long human name of series number {i} for the legend below", "panel": "p"}
              for i in range(8)}
    res = {"scenario": "demo", "seed": 0, "samples": 10, "x": {"name": "L", "values": [0, 40], "label": "L"},
           "panels": {"p": {"ylabel": "minimum secrecy rate [bit/s/Hz]"}}, "series": series}
    R.write_results(res, str(tmp_path), plot=True)
    if fmt == "via-plot":
        assert cli.main(["plot", str(tmp_path)]) == 0
    img = mpimg.imread(str(tmp_path / "figure.png"))[..., :3]
    for edge in (img[:, :2], img[:, -2:], img[:2], img[-2:]):
        assert np.all(edge > 0.95), "something is drawn at the image border"

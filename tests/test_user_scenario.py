"""A user scenario in its own package (docs/examples/irs_outage_scenario): built, installed, found through
the irsjax.scenarios entry point and run by the CLI; its Monte Carlo agrees with its exact law."""
import json
import os
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "docs", "examples", "irs_outage_scenario")
EXE = os.path.join(os.path.dirname(sys.executable), "irsjax")


def test_user_scenario_package_installs_and_runs(tmp_path):
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                        "--no-index", "--target", str(site), EXAMPLE], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    env = dict(os.environ, PYTHONPATH=str(site) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([EXE, "list"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and "irs-outage" in r.stdout
    out = tmp_path / "run"
    r = subprocess.run([EXE, "run", "irs-outage", "--set", "snr_dB=-15,-5", "--samples", "40000", "--no-plot",
                        "--out", str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((out / "results.json").read_text())
    assert res["scenario"] == "irs-outage" and res["shared_draws"] is True
    mc, exact = res["series"]["outage_mc"], res["series"]["outage_exact"]["mean"]
    for lo, hi, p in zip(mc["ci_low"], mc["ci_high"], exact):
        assert lo - 0.003 <= p <= hi + 0.003  # 95 % Wilson interval (+ slack: two points)
    r = subprocess.run([EXE, "run", "irs-outage", "--set", "K=-1", "--out", str(tmp_path / "bad")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2 and "K" in r.stderr and r.stderr.count("\n") == 1

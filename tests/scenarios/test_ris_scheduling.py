"""``irsjax run ris-scheduling`` (scenarios/ris_scheduling.py): registration, presets, a tiny
sweep through the real runner and the critical number of RIS elements N* vs DF relaying."""
import json
import math

import pytest
import jax

from irsjax import cli, montecarlo, scenario as sc
from irsjax.analysis import scheduling as an
from irsjax.testing import count_compilations
from scenarios import ris_scheduling as rs

S = rs.SCENARIO


def test_registered_and_help(capsys):
    assert cli.load_scenario("ris-scheduling") is S
    text = S.help_text()
    for name in ("N", "K", "L", "rho_dB", "f_GHz", "R_th", "x_E", "links", "fig2", "fig4", "fig5"):
        assert name in text
    labels = {s.label for s in S.series}
    for lab in ("SS_mc", "SS_analysis", "SS_high_snr", "OS_mc", "NOMA_mc", "R_DL", "R_NDL", "SS_mc_indep",
                "SS_cond", "OS_analysis", "ME_mc", "SE_mc", "SS_ni"):
        assert lab in labels


def test_presets_and_validation():
    p, x, v = sc.resolve(S, {"preset": "fig2"})
    assert x == "rho_dB" and v[0] == 60.0 and v[-1] == 160.0 and (p["N"], p["K"], p["L"]) == (16, 4, 3)
    p, x, v = sc.resolve(S, {"preset": "fig3"})
    assert (p["N"], p["K"], p["L"]) == (32, 4, 2)
    p, x, v = sc.resolve(S, {"preset": "fig4", "f_GHz": "28"})
    assert x == "N" and v[0] == 2 and v[-1] == 256 and p["rho_dB"] == 100.0 and p["f_GHz"] == 28.0
    p, x, v = sc.resolve(S, {"preset": "fig5"})
    assert x == "x_E" and v[0] == 0.0 and v[-1] == 100.0 and p["N"] == 32 and p["rho_dB"] == 120.0
    p, x, v = sc.resolve(S, {"sweep": "N", "N": "8,16"})
    assert x == "N" and v == [8, 16]
    with pytest.raises(sc.ParameterError, match="K"):
        sc.resolve(S, {"K": "0"})
    with pytest.raises(sc.ParameterError, match="links"):
        sc.resolve(S, {"links": "shared"})
    with pytest.raises(sc.ParameterError, match="y_E"):
        sc.resolve(S, {"y_E": "0"})


def _close(a, b, rel=1e-6):
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= rel * max(abs(a), abs(b))


def test_sweeps_through_the_runner_compile_once_per_structure():
    """A float sweep (rho_dB, then x_E) compiles nothing after its first point; the shared-draw run (one pass
    over all points) compiles one program per structure (full-model system, relay), gives the per-point
    numbers, and compiles nothing for new values. 2^15 samples: the engine's programs are those of the
    system tests (same structures, same batch layout), compiled once per process."""
    params, x, values = sc.resolve(S, {"N": "16", "K": "4", "L": "2", "links": "full", "rho_dB": "100,130,160"})
    after_point = []
    with count_compilations() as c:
        res = sc.run_sweep(S, params, x, values, seed=3, samples=2**15, shared_draws=False,
                           on_point=lambda i, xv, cached: after_point.append(c.count))
    assert not res["shared_draws"] and after_point[1:] == after_point[:1] * 2, after_point
    json.dumps(res, allow_nan=True)  # serialisable
    ser = res["series"]
    assert set(ser) == {s.label for s in S.series}
    m = lambda k: ser[k]["mean"]
    # independent-links series are absent (NaN) with links=full
    assert all(math.isnan(v) for v in m("SS_mc_indep"))
    for i in range(3):
        assert m("OS_mc")[i] <= m("SS_mc")[i] <= m("ME_mc")[i] + 0.02
        assert m("OS_analysis")[i] <= m("SS_analysis")[i] <= m("ME_analysis")[i]
        assert abs(m("SS_analysis")[i] / m("SS_ni")[i] - 1) < 0.03
    assert m("SS_analysis")[2] < m("SS_analysis")[1] < m("SS_analysis")[0]
    # saturation level: rho-independent, and the 160 dB analysis sits on it
    assert m("SS_high_snr")[0] == m("SS_high_snr")[2]
    assert m("SS_analysis")[2] == pytest.approx(m("SS_high_snr")[2], rel=0.02)
    assert m("R_DL")[0] < m("R_NDL")[0] and abs(m("R_DL_mc")[0] - m("R_DL")[0]) < 0.03
    ratios = res["derived"]["ratios"]
    assert len(ratios["SS_mc/analysis"]) == 3 and ratios["SS_mc/analysis"][2] > 0
    assert res["derived"]["per_point"]["vr_SS_cond"][2] > 1.0

    # a sweep over a position: the same programs, no compilation at all
    p2, x2, v2 = sc.resolve(S, {"N": "16", "K": "4", "L": "2", "links": "full", "sweep": "x_E", "x_E": "10,40,70"})
    with count_compilations() as c:
        res_e = sc.run_sweep(S, p2, x2, v2, seed=3, samples=2**15, shared_draws=False)
    assert c.count == 0
    e_ss = res_e["series"]["SS_cond"]["mean"]
    assert e_ss[0] > e_ss[1] > e_ss[2]  # Fig. 5: the SOP falls as the eavesdroppers move away from the RIS

    # shared draws: one pass over the three points, one compilation per structure, the per-point numbers
    cache = getattr(montecarlo._run_batch, "_cache_size", lambda: 0)
    before = cache()
    with count_compilations() as c:
        shared = sc.run_sweep(S, params, x, values, seed=3, samples=2**15)
    # sharded engine: the devices' program, the fold program, and JAX's own staging of the host running totals
    # onto the devices (jit(stage), one per feature count; the totals go back as host arrays since fd3e123)
    per_pass = 1 if jax.device_count() == 1 else 3
    assert shared["shared_draws"] and c.count <= 2 * per_pass, c.count
    assert cache() - before in (0, 2)  # (0 where the cache size is not exposed)
    for lab, v in ser.items():
        for f in ("mean", "ci_low", "ci_high"):
            if f in v:
                assert all(_close(a, b) for a, b in zip(v[f], shared["series"][lab][f])), (lab, f)
    assert "paired_differences" in shared["derived"]
    with count_compilations() as c:
        sc.run_sweep(S, params, x, [105.0, 135.0, 165.0], seed=3, samples=2**15)
    assert c.count == 0


def test_critical_elements_vs_relay_at_three_frequencies():
    params, _, _ = sc.resolve(S, {"preset": "fig4"})
    params["N"] = 64
    tab = rs.critical_n_table(params)
    n = {f: tab[f"{f:g}GHz"] for f in (2.4, 5.0, 28.0)}
    dl = [n[f]["N_star_SS_vs_R_DL"] for f in (2.4, 5.0, 28.0)]
    # paper (Remark 11): ~53 elements beat R-DL at 2.4 GHz; MODELS.md: ~52 with the [D] defaults
    assert abs(dl[0] - rs.PAPER_N_STAR) <= 5
    assert dl[0] < dl[1] < dl[2]  # N* grows with frequency
    for f in (2.4, 5.0, 28.0):
        r = n[f]
        assert r["N_star_SS_vs_R_NDL"] < r["N_star_SS_vs_R_DL"]  # R-NDL is beaten with fewer elements
        assert r["N_star_OS_vs_R_DL"] <= r["N_star_SS_vs_R_DL"]
        assert r["R_DL"] < r["R_NDL"]
    # integer confirmation: the analytical SS SOP crosses R-DL between N_int - 1 and N_int
    ni = n[2.4]["N_star_int_SS_vs_R_DL"]
    with jax.enable_x64(True):
        su, se = rs.geometry(params).cascade_snr(params["rho_dB"])
        f = lambda k: float(an.sop_ss(float(k), 4, 2, su, se, 1.0))
        assert f(ni) <= n[2.4]["R_DL"] < f(ni - 1)

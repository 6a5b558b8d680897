"""irsjax reproduce: runs every preset through `irsjax run`, reuses finished presets, writes the claims report."""
import json
import os
from types import SimpleNamespace

import pytest

from irsjax import reproduce as RP


def _fake_results(preset, samples, seed):
    p = [0.5, 0.9, 0.99]
    return {"scenario": "lv-two-way", "seed": seed, "samples": samples, "x": {"name": "P_dBm", "values": [0, 25, 50]},
            "series": {"p_secure_s1": {"mean": p, "ci_low": p, "ci_high": [0.6, 0.95, 0.995]}},
            "derived": {"orderings": {"proposed_increasing": True, "no_baseline_significantly_above": True,
                                      "random_above_one_way_at": [30.0], "bound_below_proposed": True},
                        "bound_gap": {"absolute": [0.1, 0.2, 0.05], "std_err": [0.01] * 3,
                                      "relative": [0.5, 0.1, 0.01]},
                        "scaling": {"slope_per_doubling_of_K_at_largest_K": 3.7}}}


def test_reproduce_runs_presets_reuses_them_and_reports(tmp_path):
    calls = []
    scenario = SimpleNamespace(presets={"fig1": {}}, default_samples=1000)

    def run(argv):
        calls.append(argv)
        out = argv[argv.index("--out") + 1]
        preset = [a for a in argv if a.startswith("preset=")][0].split("=")[1]
        os.makedirs(out, exist_ok=True)
        res = _fake_results(preset, int(argv[argv.index("--samples") + 1]), int(argv[argv.index("--seed") + 1]))
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(res, f)
        return 0

    rep = RP.reproduce("lv-two-way", str(tmp_path), quick=True, run=run, load_scenario=lambda n: scenario)["000"]
    assert len(calls) == len(RP.PAPERS["000"].runs)
    assert all("--no-progress" in a and "preset=" in " ".join(a) for a in calls)
    verdicts = {c["id"]: c["verdict"] for c in rep["claims"]}
    assert verdicts["F1"] == RP.HOLDS and verdicts["Remark 3"] == RP.HOLDS and verdicts["F2"] == RP.PARTLY
    assert "3.70 bit per doubling" in next(c["ours"] for c in rep["claims"] if c["id"] == "F2")
    md = (tmp_path / "000" / "REPORT.md").read_text()
    assert "| F1 bound |" in md and "**holds**" in md
    assert json.loads((tmp_path / "000" / "report.json").read_text())["paper"] == "000"
    # a second call reuses every finished preset
    RP.reproduce("000", str(tmp_path), quick=True, run=run, load_scenario=lambda n: scenario)
    assert len(calls) == len(RP.PAPERS["000"].runs)
    # --report-only runs nothing: presets with other settings are 'not run', their claims 'not evaluated'
    rep = RP.reproduce("000", str(tmp_path), seed=7, run=run, load_scenario=lambda n: scenario, report_only=True)["000"]
    assert len(calls) == len(RP.PAPERS["000"].runs)
    assert all(r["status"] == "not run (--report-only)" for r in rep["runs"])
    assert {c["verdict"] for c in rep["claims"]} == {RP.NOT_EVALUATED}


def test_reproduce_reports_failures_and_missing_scenarios(tmp_path):
    def missing(name):
        raise KeyError(name)

    rep = RP.reproduce("002", str(tmp_path), quick=True, run=lambda argv: 1, load_scenario=missing)["002"]
    assert "not available" in rep["runs"][0]["status"]
    assert rep["claims"] and all(c["verdict"] == RP.NOT_EVALUATED for c in rep["claims"])
    with pytest.raises(ValueError, match="unknown paper 'nope'"):
        RP.paper_ids("nope")


def test_cli_plot_formats_and_reproduce_errors(tmp_path, capsys):
    from irsjax import cli
    from irsjax import results as R

    res = {"scenario": "demo", "seed": 0, "samples": 10, "x": {"name": "P", "values": [0, 10], "label": "P [dBm]"},
           "panels": {"p": {"ylabel": "probability", "yscale": "log"}},
           "series": {"sop": {"mean": [0.5, 0.0], "ci_low": [0.4, 0.0], "ci_high": [0.6, 0.3],
                              "kind": "probability", "panel": "p", "analytical": False}}}
    R.write_results(res, str(tmp_path), plot=False)
    for fmt, magic in (("pdf", b"%PDF"), ("svg", b"<?xml")):
        assert cli.main(["plot", str(tmp_path), "--format", fmt]) == 0
        assert (tmp_path / f"figure.{fmt}").read_bytes().startswith(magic)
    assert cli.main(["reproduce", "nope"]) == 2
    assert "unknown paper 'nope'" in capsys.readouterr().err


def test_paper_003_claims_come_from_the_scenario_checks_with_numbers():
    """Paper 003's report: the paper's words, our numbers with CIs, and holds / partly / does not hold from the
    fbr-maxmin derive() entries; a missing run is 'not evaluated', never hidden."""
    def res(x, series, claims):
        return {"x": {"values": x}, "series": series, "derived": {"claims": claims}}

    pts = {"mean": [2.0, 3.0], "ci_low": [1.9, 2.9], "ci_high": [2.1, 3.1]}
    runs = {
        "fbr-maxmin/fig8": res([0.02, 1.0], {"mm_fbr": pts, "gap_lbr_fbr_mm": pts},
                               {"F8": {"holds": True, "significant": True, "why": ""}}),
        "fbr-maxmin/fig3": res([1, 2], {}, {
            "F3_lbr": {"holds": False, "why": "balanced", "ours": {"relative_spread_optimised": 0.001,
                                                                   "relative_spread_random": 0.002}},
            "F3_fbr": {"holds": True, "significant": False, "ours": {"relative_spread_optimised": 0.001,
                                                                      "relative_spread_random": 0.25}}}),
    }
    claims = {c.id: c.check(runs) for c in RP.PAPERS["003"].claims}
    ours, verdict, why = claims["F8"]
    assert verdict == RP.HOLDS and "0.02: 2 [1.9, 2.1]" in ours and "holds at 95 %" in why
    ours, verdict, why = claims["F3"]
    assert verdict == RP.PARTLY and "25.00%" in ours and "does not hold (balanced)" in why and "not significant" in why
    assert claims["F7"][1] == RP.NOT_EVALUATED and "not run" in claims["F7"][2]
    assert {c.id for c in RP.PAPERS["003"].claims} >= {"F2", "F3", "F4", "F5", "F6", "F7", "F8", "Theorems 1-2"}


COMMITTED_002 = os.path.join(os.path.dirname(__file__), "..", "scenarios", "results", "reproduce", "002")


def test_paper_002_claims_from_the_committed_paper_scale_runs(tmp_path):
    """Paper 002's written-out claims on the committed 200-topology runs (reused, not re-run): the verdicts the
    write-up reports, and a claim that stops holding when a check flips."""
    import copy
    import shutil

    from irsjax import results as R

    runs = {f"uplink-sop/{p}": R.load_results(os.path.join(COMMITTED_002, "uplink-sop", p))
            for p in ("fig2", "fig3a", "fig3b", "fig3c")}
    got = {c.id: c.check(runs) for c in RP.PAPERS["002"].claims}
    assert {k: v[1] for k, v in got.items()} == {
        "(3.7)": RP.HOLDS, "F2 drop": RP.PARTLY, "F2 gap": RP.HOLDS, "F2 N": RP.HOLDS, "F3a": RP.HOLDS,
        "F3b/F3c": RP.HOLDS}
    assert "fails at N = 32" in got["F2 drop"][2] and "-0.064 vs -0.271" in got["F3b/F3c"][0]
    flipped = copy.deepcopy(runs)
    g = flipped["uplink-sop/fig2"]["derived"]["claims"]["F2"]["gap_mmsop_minus_gap_mmsinr"]
    g["sdr_b"]["significant"] = False
    assert RP.PAPERS["002"].claims[2].check(flipped)[1] == RP.PARTLY
    assert RP.PAPERS["002"].claims[5].check({})[1] == RP.NOT_EVALUATED
    # the reproduce command reuses them (same seed and sample count): nothing is run
    shutil.copytree(COMMITTED_002, tmp_path / "002")

    def run(argv):
        raise AssertionError(f"ran {argv}")

    rep = RP.reproduce("002", str(tmp_path), seed=1, run=run, load_scenario=lambda n: SimpleNamespace(
        presets={}, default_samples=200))["002"]
    assert all(r["status"] == "reused" and r["run_id"] for r in rep["runs"])
    table = lambda text: text.split("## Runs")[0]  # the runs list names the output folder
    assert table((tmp_path / "002" / "REPORT.md").read_text()) == table(open(os.path.join(COMMITTED_002,
                                                                                          "REPORT.md")).read())


def test_paper_004_n_star_claim_reads_every_frequency():
    row = lambda n: {"N_star_int_SS_vs_R_DL": n, "N_star_int_SS_vs_R_NDL": n - 2}
    runs = lambda d: {"ris-scheduling/fig4": {"derived": {"N_star": d}}}
    check = next(c for c in RP.PAPERS["004"].claims if c.id == "F4").check
    ours, verdict, _ = check(runs({"5GHz": row(231), "2.4GHz": row(52), "28GHz": row(7516),
                                   "paper_N_star_SS_vs_R_DL_2.4GHz": 53}))
    assert verdict == RP.HOLDS and ours.startswith("smallest N whose analytical SS SOP is below R-DL's: 2.4GHz 52, "
                                                   "5GHz 231, 28GHz 7516 (paper: ~53")
    assert check(runs({"2.4GHz": row(80), "5GHz": row(231), "paper_N_star_SS_vs_R_DL_2.4GHz": 53}))[1] == RP.PARTLY
    assert check(runs({"2.4GHz": row(300), "5GHz": row(231), "paper_N_star_SS_vs_R_DL_2.4GHz": 53}))[1] == RP.FAILS
    assert check({})[1] == RP.NOT_EVALUATED


def test_paper_001_gains_judge_the_papers_algorithm_and_report_ours():
    def run(alg1, ours, paper):
        return {"derived": {"gains_vs_random_fp": {"paper_at_L40": paper,
                                                   "at_last_x": {"sdr_sca": alg1, "proposed_gradient": ours}}}}

    check = next(c for c in RP.PAPERS["001"].claims if c.id == "F5 gains").check
    ours, verdict, why = check({"maxmin-two-way/fig5_C4": run(3.14, 6.38, 3.59)})
    assert verdict == RP.HOLDS and "Algorithm 1 +314 %, gradient AO +638 % (paper +359 %)" in ours
    assert "C1, C2, C3 not run" in ours and "Algorithm 1" in why
    runs = {f"maxmin-two-way/fig5_{c}": run(a, 2 * a, p) for c, a, p in
            (("C1", 2.0, 2.11), ("C2", 0.5, 0.22), ("C3", 0.9, 0.92), ("C4", 3.1, 3.59))}
    ours, verdict, _ = check(runs)
    assert verdict == RP.PARTLY and "C2: Algorithm 1 +50 %" in ours and "outside +/-30 %" in ours
    assert "not run" not in ours
    assert check({})[1] == RP.NOT_EVALUATED


def _check(paper, cid):
    return next(c for c in RP.PAPERS[paper].claims if c.id == cid).check


def test_paper_001_order_baselines_fp_and_convergence_claims():
    def fig5(grad, rfp=(1.0, 1.0), noirs=(1.0, 1.0), se=0.01):
        s = lambda m: {"mean": list(m), "std_err": [se] * len(m)}
        return {"series": {"proposed_gradient": s(grad), "random_fp": s(rfp), "no_irs_fp": s(noirs),
                           "random_pmax": s((0.5, 0.5)), "random_pmin": s((0.5, 0.51))}}

    paper_like = {"C1": (1.7, 5.0), "C2": (1.7, 2.3), "C3": (0.3, 0.65), "C4": (0.3, 1.7)}
    runs = {f"maxmin-two-way/fig5_{c}": fig5(g) for c, g in paper_like.items()}
    ours, verdict, _ = _check("001", "F5 order")(runs)
    assert verdict == RP.HOLDS and "C1 1.700 -> 5.000" in ours and "every part holds" in ours
    runs["maxmin-two-way/fig5_C2"] = fig5((1.7, 5.1))  # C2 above C1 and growing as fast
    ours, verdict, _ = _check("001", "F5 order")(runs)
    assert verdict == RP.PARTLY and "not: C1 highest; C1 fastest-growing; C2 nearly flat" in ours
    assert _check("001", "F5 order")({})[1] == RP.NOT_EVALUATED

    ours, verdict, _ = _check("001", "F5 baselines")(runs)
    assert verdict == RP.HOLDS and "C4 random_pmax vs random_pmin: largest |diff| 0.010" in ours
    runs["maxmin-two-way/fig5_C3"] = fig5((0.3, 0.65), rfp=(0.3, 0.6), noirs=(0.3, 0.3))
    assert _check("001", "F5 baselines")(runs)[1] == RP.PARTLY

    def fig3(share, shape):
        return {"maxmin-fp-convergence/fig3": {"derived": {
            "per_point": {"share_final_ratio_dev_below_0.05_N2": [share] * 2,
                          "share_final_shape_dev_below_0.05_N2": [shape] * 2},
            "fig3b": {"realisation": 0, "fp_power_ratio": [1, 0.36, 0.92, 0.03], "fp_msr": 0.722,
                      "grid_power_ratio": [0.03, 1, 0.05, 0.88], "grid_msr": 0.836}}}}

    ours, verdict, _ = _check("001", "F3b")(fig3(0.38, 0.82))
    assert verdict == RP.PARTLY and ours.startswith("N = 2: 38 % of realisations") and "grid (0.03, 1.00" in ours
    assert _check("001", "F3b")(fig3(0.95, 0.99))[1] == RP.HOLDS
    assert _check("001", "F3b")(fig3(0.2, 0.3))[1] == RP.FAILS
    assert _check("001", "F3b")({})[1] == RP.NOT_EVALUATED

    def conv(sca4, alg1_4):
        pp = {f"sca_frac_{k}": [v / 10 ** (k - 4) for v in sca4] for k in range(1, 9)}
        pp.update({"sdr_ao_frac_4": list(alg1_4), "ao_frac_4": [v / 2 for v in alg1_4]})
        return {"maxmin-two-way/convergence": {"x": {"values": [10, 20, 30, 40]}, "derived": {"per_point": pp}}}

    ours, verdict, _ = _check("001", "F4a")(conv((3e-4, 1.2e-3, 4.6e-3, 7.4e-3), (1e-4,) * 4))
    assert verdict == RP.HOLDS and "L=10 3.0e-04" in ours and "first sub-iteration below 1e-3: L=10: 4, L=20: 5" in ours
    assert _check("001", "F4a")(conv((3e-4, 5e-3, 4.6e-3, 7.4e-3), (1e-4,) * 4))[1] == RP.PARTLY
    assert _check("001", "F4a")(conv((3e-3, 2e-3, 1e-3, 5e-4), (1e-4,) * 4))[1] == RP.FAILS
    ours, verdict, _ = _check("001", "F4b")(conv((1e-3,) * 4, (3.5e-4, 2.2e-3, 9.4e-3, 2.2e-2)))
    assert verdict == RP.PARTLY and "Algorithm 1: L=10 3.5e-04" in ours and "gradient AO: L=10 1.7e-04" in ours
    assert _check("001", "F4b")(conv((1e-3,) * 4, (1e-4,) * 4))[1] == RP.HOLDS
    assert _check("001", "F4a")({})[1] == RP.NOT_EVALUATED and _check("001", "F4b")({})[1] == RP.NOT_EVALUATED


def test_paper_001_f3a_needs_both_pair_counts():
    def fig3(n1_first, n2_gaps, share=0.9):
        return {"maxmin-fp-convergence/fig3": {"derived": {
            "fig3a": {"N1": {"first_iteration_mean_gap_below": {"0.01": 1, "0.001": n1_first}},
                      "N2": {"mean_gap_at": {str(i): g for i, g in zip((1, 5, 10, 30), n2_gaps)}}},
            "per_point": {"share_final_gap_below_0.01_N2": [share, share]}}}}

    check = _check("001", "F3a")
    ours, verdict, _ = check(fig3(1, (0.17, 0.028, 0.011, 0.0105)))
    assert verdict == RP.PARTLY and "N = 2: mean gap 0.170 (i = 1)" in ours and "0.011 (i = 30)" in ours
    assert "90 % of realisations end within 1e-2" in ours
    assert check(fig3(1, (0.17, 0.02, 0.008, 0.004)))[1] == RP.HOLDS
    assert check(fig3(None, (0.17, 0.1, 0.08, 0.05)))[1] == RP.FAILS
    assert check({})[1] == RP.NOT_EVALUATED

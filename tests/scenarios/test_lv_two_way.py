"""The lv-two-way scenario (MODELS.md section 1): presets, sweep contract, orderings, derived slopes."""
import json

import numpy as np
import pytest

from irsjax import cli
from irsjax import scenario as S
from scenarios.lv_two_way import SCENARIO

MAIN = ("proposed", "random_scheduling", "one_way_jamming")


def test_presets_resolve_to_the_paper_figures():
    want = {"fig1": ("P_dBm", [float(v) for v in range(0, 51, 5)], {"K": 32, "N": 10}),
            "fig2": ("K", [8, 16, 32, 64, 128, 256], {"P_dBm": 20.0, "N": 6}),
            "fig3": ("N", [1, 2, 4, 8, 16, 32, 50], {"P_dBm": 20.0, "K": 32}),
            "fig2_40dBm": ("K", [8, 16, 32, 64, 128, 256], {"P_dBm": 40.0, "N": 6}),
            "fig3_40dBm": ("N", [1, 2, 4, 8, 16, 32, 50], {"P_dBm": 40.0, "K": 32})}
    for name, (sweep, values, fixed) in want.items():
        params, sw, vals = S.resolve(SCENARIO, {"preset": name})
        assert sw == sweep and vals == values, name
        for k, v in fixed.items():
            assert params[k] == v, (name, k)
        assert params["sigma0_dBm"] == -70.0 and params["sigmal_dBm"] == -40.0 and params["alpha"] == 4.0
        assert params["M"] == 20
        assert (params["irs_x"], params["eve_y"], params["b_x"], params["radius"]) == (15, 20, 30, 5)
    labels = {s.label for s in SCENARIO.series}
    assert {"proposed", "random_scheduling", "one_way_jamming", "lower_bound", "lower_bound_paper"} <= labels
    with pytest.raises(S.ParameterError, match="rng"):
        S.resolve(SCENARIO, {"rng": "mt19937"})


def test_small_power_sweep_via_cli_orderings_bound_and_derived(tmp_path):
    out = tmp_path / "run"
    rc = cli.main(["run", "lv-two-way", "--set", "P_dBm=20,35,50", "--set", "topologies=40", "--set", "K=16",
                   "--set", "N=4", "--samples", "30000", "--seed", "1", "--no-plot", "--out", str(out)])
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert res["x"]["name"] == "P_dBm" and res["x"]["values"] == [20.0, 35.0, 50.0]
    s = {k: np.asarray(v["mean"]) for k, v in res["series"].items()}
    assert set(s) >= {"proposed", "random_scheduling", "one_way_jamming", "lower_bound", "lower_bound_paper",
                      "proposed_s1", "proposed_s2", "p_sic"}
    assert res["series"]["lower_bound"]["analytical"] and "ci_low" in res["series"]["proposed"]
    np.testing.assert_allclose(s["proposed"], s["proposed_s1"] + s["proposed_s2"], rtol=1e-6)
    assert np.all(np.diff(s["proposed"]) > 0)
    assert np.all(s["proposed"][1:] > s["random_scheduling"][1:]) and np.all(s["proposed"] > s["one_way_jamming"])
    assert s["random_scheduling"][-1] > s["one_way_jamming"][-1]  # from ~30 dBm on
    assert np.all(s["lower_bound"] <= s["proposed"])
    gap = s["proposed"] - s["lower_bound"]
    assert gap[-1] < gap[1] and gap[-1] / s["proposed"][-1] < 0.05  # relative gap shrinks with P
    assert np.all(np.diff(s["p_sic"]) < 0)  # Remark 3: Eve's SIC fails more often as P grows
    d = res["derived"]
    assert d["scaling"]["abscissa"] == "log2 P"
    last = d["scaling"]["slopes"]["proposed"]["last_segment"]
    assert 1.5 < last < 2.2  # sum ASR -> 2 bits per doubling of P (two signals, log P each)
    assert d["orderings"]["bound_below_proposed"] and d["orderings"]["proposed_increasing"]
    assert len(d["per_point"]["gap_proposed_minus_bound"]) == 3


def test_derive_slopes_for_k_and_n_sweeps():
    def series(y):
        y = np.asarray(y, float)
        return {"mean": y.tolist(), "ci_low": (y - 0.01).tolist(), "ci_high": (y + 0.01).tolist()}

    ks = [8, 16, 32, 64]
    prop = 4 * np.log2(ks) - 10  # exactly 4 bits per doubling
    ser = {k: series(prop - off) for k, off in (("proposed", 0), ("random_scheduling", 0.5), ("one_way_jamming", 3),
                                                ("lower_bound", 1), ("lower_bound_paper", 2), ("proposed_s1", 5),
                                                ("proposed_s2", 5))}
    d = SCENARIO.derive({}, "K", ks, ser)
    assert d["scaling"]["abscissa"] == "log2 K"
    assert d["scaling"]["reference"] == {"paper_2logK": 2.0, "model_high_snr": 4.0}
    assert d["scaling"]["slope_per_doubling_of_K_at_largest_K"] == pytest.approx(4.0)
    assert d["scaling"]["slopes"]["proposed"]["least_squares_all"] == pytest.approx(4.0)
    assert d["orderings"]["proposed_ge_random_where_nonzero"] and d["orderings"]["random_above_one_way_at"] == ks
    ns = [1, 2, 4, 16]
    y = 0.5 * np.log2(np.log2(np.maximum(ns, 2))) + 3
    ser = {k: series(y - off) for k, off in (("proposed", 0), ("random_scheduling", 0.1), ("one_way_jamming", 1),
                                            ("lower_bound", 1), ("lower_bound_paper", 2), ("proposed_s1", 2),
                                            ("proposed_s2", 2))}
    d = SCENARIO.derive({}, "N", ns, ser)
    assert d["scaling"]["abscissa"] == "log2 log2 N"
    assert d["scaling"]["slopes"]["proposed"]["last_segment"] == pytest.approx(0.5)  # N = 1 is left out of the fit
    assert not d["orderings"]["proposed_increasing"]  # y(1) == y(2)


def test_theorem1_ingredients_match_monte_carlo_on_a_fixed_topology():
    """radius = 0 (one topology): E log2(1+gamma_n*), E log2(1+gamma_e1), E log2(1+gamma_e2) by MC
    against Q_M (Lemma 1), Q_E1 (1.11) and J1 + J2 (1.12)-(1.13) (CLT for Eve's cascade)."""
    params, sw, vals = S.resolve(SCENARIO, {"P_dBm": "25,40", "radius": "0", "K": "32", "N": "4"})
    res = S.run_sweep(SCENARIO, params, sw, vals, seed=3, samples=40_000)
    per = res["derived"]["per_point"]
    for mc_name, th_name in (("mc_rate_legit_bits", "bound_rate_legit_bits"),
                             ("mc_rate_eve1_bits", "bound_rate_eve1_bits"),
                             ("mc_rate_eve2_bits", "bound_rate_eve2_bits")):
        np.testing.assert_allclose(per[mc_name], per[th_name], rtol=0.02, atol=0.005, err_msg=mc_name)


def test_cli_help_lists_presets(capsys):
    assert cli.main(["run", "lv-two-way", "--help"]) == 0
    text = capsys.readouterr().out
    for p in ("fig1", "fig2", "fig3", "fig2_40dBm", "fig3_40dBm", "lower_bound_paper"):
        assert p in text


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["fig1", "fig2", "fig3", "fig2_40dBm", "fig3_40dBm"])
def test_paper_figures_claims(preset):
    """MODELS.md 1(f) on the full presets (100k realisations per point, 1000 topologies for the bound)."""
    params, sw, vals = S.resolve(SCENARIO, {"preset": preset, "topologies": "1000"})
    res = S.run_sweep(SCENARIO, params, sw, vals, seed=0, samples=100_000)
    print(preset, json.dumps({k: res["series"][k]["mean"] for k in MAIN + ("lower_bound", "lower_bound_paper")}),
          json.dumps(res["derived"].get("scaling", {})), json.dumps(res["derived"]["orderings"]))
    s = {k: np.asarray(v["mean"]) for k, v in res["series"].items()}
    se = {k: np.asarray(v.get("std_err", np.zeros_like(v["mean"]))) for k, v in res["series"].items()}
    xs = np.asarray(vals, float)
    prop, rnd, ow, lb = s["proposed"], s["random_scheduling"], s["one_way_jamming"], s["lower_bound"]
    real = prop > 0.01  # "where rates are non-zero"
    strict = real & (xs >= 2) if sw == "N" else real  # N = 1: random scheduling is the proposed scheme
    assert np.all(prop[real] >= rnd[real]) and np.all(prop[strict] > rnd[strict])
    assert np.all(prop[real] + 3 * se["proposed"][real] >= ow[real])
    # no baseline significantly above the proposed scheme anywhere
    assert np.all(prop + 4 * np.hypot(se["proposed"], se["one_way_jamming"]) >= ow)
    assert np.all(lb <= prop + 3 * np.hypot(se["proposed"], se["lower_bound"]))
    if sw == "P_dBm":
        assert np.all(np.diff(prop) > 0) and np.all(np.diff(rnd) > 0) and np.all(np.diff(ow) > 0)
        assert np.all(rnd[xs >= 30] > ow[xs >= 30]) and np.all(rnd[xs <= 20] < ow[xs <= 20])
        assert np.all(lb[xs <= 20] == 0)
        gap = prop - lb
        gse = np.asarray(res["derived"]["per_point"]["gap_std_err"])
        assert 0.3 < gap[xs == 40][0] < 0.8 and gap[xs == 50][0] < 0.05 + 3 * gse[xs == 50][0]
        assert gap[xs == 50][0] < gap[xs == 45][0] < gap[xs == 40][0]
    elif sw == "K":
        assert np.all(np.diff(prop) > 0)
        sl = res["derived"]["scaling"]["slope_per_doubling_of_K_at_largest_K"]
        assert 1.0 < sl < 4.2
    else:  # N
        assert np.all(np.diff(prop[xs >= 2]) > -2 * se["proposed"][xs >= 2][1:])  # increasing (slowly)
        assert prop[-1] > prop[0]
        assert np.ptp(rnd) < 6 * se["random_scheduling"].max() + 0.02 * rnd.mean()  # flat in N

"""maxmin-fp-convergence (Fig. 3 of MODELS.md section 2): FP trace vs corner / grid references, CLI preset."""
import json

import numpy as np
import pytest
import jax
import jax.numpy as jnp

from irsjax import cli
from irsjax.systems.maxmin_two_way import MaxminTwoWayConfig
from optim import fp as fp_mod
from scenarios.maxmin_fp_convergence import LN2, FPConvergence, pair_subset

ITERS = 6


@pytest.fixture(scope="module")
def setup():
    exp = FPConvergence(MaxminTwoWayConfig(L=8), fp_iters=ITERS, fp_inner=20, grid_points=50, init="random")
    pos = jnp.asarray(exp.system.positions())
    keys = jax.random.split(jax.random.key(3), 3)
    tr = {n: jax.jit(jax.vmap(lambda k, n=n: exp.trace(k, pos, n)))(keys) for n in (1, 2)}
    return exp, pos, keys, jax.tree_util.tree_map(np.asarray, tr)


def test_fp_is_monotone_and_within_box(setup):
    exp, _, _, tr = setup
    for n, t in tr.items():
        assert t.value.shape == (3, ITERS + 1) and t.powers.shape == (3, ITERS + 1, 2 * n)
        assert np.all(np.isfinite(t.value)) and np.all(np.isfinite(t.ref_value))
        tol = 1e-5 * np.abs(t.value[:, :-1]) + 1e-6
        assert np.all(np.diff(t.value, axis=1) >= -tol), n  # MM: non-decreasing per sub-iteration
        assert np.all(t.powers >= float(exp.system.p_min) * (1 - 1e-6))
        assert np.all(t.powers <= float(exp.system.p_max) * (1 + 1e-6))


def test_references_bound_fp_and_corners(setup):
    exp, pos, keys, tr = setup
    # N = 1: the 4-corner optimum is an upper bound of every FP iterate
    t1 = tr[1]
    assert np.all(t1.value <= t1.ref_value[:, None] + 1e-5 * np.abs(t1.ref_value[:, None]))
    # N = 2: grid >= every FP iterate up to the grid's resolution, and >= every corner
    t2 = tr[2]
    assert np.all(t2.value <= t2.ref_value[:, None] + 0.02 * np.abs(t2.ref_value[:, None]))
    s = exp.system

    def corners(k):
        ch, v = exp.channels(k, pos)
        G = s.gains(ch, v)
        obj = lambda p: fp_mod.log_ratio_objective(s.fp_ratios(G), jnp.asarray(s.FP_OFFSETS), p)
        return fp_mod.corner_search(obj, s.p_min, s.p_max, 4)[1] / LN2

    vc = np.asarray(jax.jit(jax.vmap(corners))(keys))
    assert np.all(t2.ref_value >= vc - 1e-5 * np.abs(t2.ref_value))


def test_corner_is_optimal_for_one_pair(setup):
    """N = 1: the best corner equals a fine 150 x 150 grid optimum (per-coordinate monotonicity)."""
    exp, pos, keys, tr = setup
    s = exp.system_for(1)

    @jax.jit
    def fine(k):
        ch, v = exp.channels(k, pos)
        G = s.gains(pair_subset(ch, 1, 2), v)
        obj = lambda p: fp_mod.log_ratio_objective(s.fp_ratios(G), jnp.asarray(s.FP_OFFSETS), p)
        return fp_mod.grid_search(obj, s.p_min, s.p_max, 2, points=150, chunk=150)[1] / LN2

    for k, ref in zip(keys, tr[1].ref_value):
        assert float(fine(k)) == pytest.approx(float(ref), rel=1e-5, abs=1e-6)


def test_trace_equals_power_control_history(setup):
    """The sub-iteration trace (power_control one step at a time) is power_control's own history."""
    exp, pos, keys, tr = setup
    s = exp.system_for(1)

    def direct(k, p0):
        ch, v = exp.channels(k, pos)
        ratios = s.fp_ratios(s.gains(pair_subset(ch, 1, 2), v))
        return fp_mod.power_control(ratios, p0, s.p_min, s.p_max, offsets=jnp.asarray(s.FP_OFFSETS),
                                    num_iters=ITERS, inner_steps=exp.fp_inner, multistart=False)

    res = jax.jit(jax.vmap(direct))(keys, jnp.asarray(tr[1].powers[:, 0]))
    np.testing.assert_allclose(tr[1].value, np.asarray(res.history) / LN2, rtol=1e-5)
    np.testing.assert_allclose(tr[1].powers[:, -1], np.asarray(res.p), rtol=1e-5)


def test_pairs_must_be_one_or_two(setup):
    exp, pos, keys, _ = setup
    with pytest.raises(ValueError, match="pairs must be 1 or 2"):
        exp.trace(keys[0], pos, 3)
    with pytest.raises(ValueError, match="init must be one of"):
        FPConvergence(exp.system, init="zero")


SMALL = ["--set", "preset=fig3", "--set", "fp_iters=3", "--set", "iteration=1:3:1", "--set", "grid_points=6",
         "--set", "L=4", "--set", "fp_inner=10", "--set", "init=mid", "--samples", "4", "--no-progress"]


def test_cli_preset_writes_fig3_results(tmp_path, capsys):
    out = tmp_path / "fig3"
    code = cli.main(["run", "maxmin-fp-convergence", "--out", str(out)] + SMALL)
    _, err = capsys.readouterr()
    assert code == 0, err
    r = json.loads((out / "results.json").read_text())
    assert r["x"]["name"] == "iteration" and r["x"]["values"] == [1, 2, 3] and r["samples"] == 4
    for lab in ("gap_N1", "gap_N2", "frac_N1", "frac_N2", "fig3b_fp_A1", "fig3b_grid_B2"):
        assert len(r["series"][lab]["mean"]) == 3 and all(m is not None for m in r["series"][lab]["mean"]), lab
    a = r["derived"]["fig3a"]
    for n in ("N1", "N2"):
        assert set(a[n]["first_iteration_mean_gap_below"]) == {"0.01", "0.001"}
        assert set(a[n]["mean_gap_at"]) == {"1", "3"} and set(a[n]["mean_frac_increase_at"]) == {"1", "3"}
        assert a[n]["mean_msr_ref"] >= a[n]["mean_msr_fp_last"] - 0.05 * abs(a[n]["mean_msr_ref"])
    b = r["derived"]["fig3b"]
    assert len(b["fp_power_ratio"]) == len(b["grid_power_ratio"]) == 4
    assert all(1e-3 / 10**1.5 - 1e-6 <= x <= 1 + 1e-6 for x in b["fp_power_ratio"] + b["grid_power_ratio"])
    pp = r["derived"]["per_point"]
    assert "share_final_gap_below_0.01_N2" in pp and "share_final_ratio_dev_below_0.05_N2" in pp
    assert 0 <= pp["mean_final_ratio_dev_N2"][0] <= 1
    assert (out / "figure.png").stat().st_size > 1000 and (out / "results.csv").exists()


@pytest.mark.parametrize("sets, culprit", [
    (["iteration=5", "fp_iters=3"], "parameter 'iteration' (5) must be <= fp_iters (3)"),
    (["grid_points=101"], "'grid_points' must be <= 100"),
    (["init=zero"], "'init' must be one of"),
    (["Pmin_dBm=20", "Pmax_dBm=10"], "'Pmin_dBm'"),
])
def test_bad_input_one_line_error(sets, culprit, tmp_path, capsys):
    args = ["run", "maxmin-fp-convergence", "--out", str(tmp_path / "o"), "--no-plot", "--samples", "2"]
    code = cli.main(args + [x for s in sets for x in ("--set", s)])
    _, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("irsjax: error:") and culprit in lines[0], err
    assert not (tmp_path / "o" / "results.json").exists()

"""Stopping rules that stop (--target-rel-error, --stop-on, the headline series, unreachable targets),
bounded confidence intervals, and the memory estimate that refuses a pass before it runs."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irsjax import montecarlo as mc
from irsjax.montecarlo import Estimate, Estimates, stopping_status
from irsjax.scenario import (InsufficientMemoryError, Panel, Param, ParameterError, PartialStore, PointResult,
                             Scenario, Series, SweepProgress, run_sweep)


# ------------------------------------------------------------------ the rule itself
def _est(mean, var, n, kind="mean", events=float("nan")):
    se = (var / n) ** 0.5
    return Estimate(mean, se, mean - 2 * se, mean + 2 * se, n, var, kind, events)


def test_no_events_is_unreachable_only_past_the_bound():
    N, e = 10**8, 0.01
    limit = mc._NO_EVENT_BOUND * (1 + N * e * e)  # 29963 samples without an event
    for n, expect in ((int(limit) - 500, False), (int(limit) + 500, True)):
        st = stopping_status(Estimates(z=_est(0.0, 0.0, n, "probability", 0.0)), target_rel_error=e, num_samples=N)
        assert bool(st["z"]["unreachable"]) is expect and not bool(st["z"]["reached"])
    # a statistic with any nonzero realisation is never declared unreachable; neither is one without a budget
    st = stopping_status(Estimates(z=_est(1e-9, 1e-12, 10**6)), target_rel_error=e, num_samples=N)
    assert not bool(st["z"]["unreachable"])
    st = stopping_status(Estimates(z=_est(0.0, 0.0, 10**6)), target_rel_error=e)
    assert not bool(st["z"]["unreachable"])


def test_min_events_rule_and_shaped_statistics():
    ev = np.array([0.0, 50.0])
    est = Estimates(p=Estimate(ev / 10**5, np.array([0.0, 1e-5]), ev * 0, ev, 10**5, ev / 10**5, "probability", ev))
    st = stopping_status(est, min_events=10, num_samples=2 * 10**5)
    assert st["p"]["reached"].tolist() == [False, True]
    assert st["p"]["unreachable"].tolist() == [True, False]  # 0 events in 1e5: rate < 3e-5, < 6 events in 2e5
    st = stopping_status(est, min_events=10, num_samples=10**6)
    assert st["p"]["unreachable"].tolist() == [False, False]  # up to 30 events in 1e6: still possible


def _two_stats(key):
    k1, k2 = jax.random.split(key)
    return {"x": 1.0 + 0.1 * jax.random.normal(k1), "z": (jax.random.uniform(k2) < 0.0).astype(jnp.float32)}


def test_engine_stops_when_a_statistic_has_no_events():
    est = mc.estimate(_two_stats, jax.random.key(0), 10**8, batch_size=4096, probabilities=("z",),
                      target_rel_error=0.01)
    assert est["z"].num_samples < 40_000  # stopped once z's target is out of reach; x was reached long before
    st = stopping_status(est, target_rel_error=0.01, num_samples=10**8)
    assert bool(st["x"]["reached"]) and bool(st["z"]["unreachable"])


# ------------------------------------------------------------------ --stop-on through run_sweep
def _fn(key, s):
    k1, k2 = jax.random.split(key)
    u = jax.random.uniform(k2)
    return {"x": 1.0 + 0.1 * jax.random.normal(k1), "z": (u < s).astype(jnp.float32),
            "near_one": (u > 1e-3).astype(jnp.float32)}


def _point(ctx, params):
    est = ctx.estimate(_fn, args=(float(params["s"]),), probabilities=("z",))
    return PointResult(values={"a": est["x"], "b": est["z"], "one": est["near_one"], "exact": float(params["s"])})


def _scenario(shared=True, **kw):
    return Scenario(
        name="demo-stop", description="d", params=(Param("s", 0.5, minimum=0.0, maximum=1.0),), sweep="s",
        sweep_values=(0.0, 0.5), series=(Series("a", "p1"), Series("b", "p2"), Series("one", "p2"),
                                         Series("exact", "p2", analytical=True)),
        panels={"p1": Panel("x"), "p2": Panel("probability")}, point=_point,
        shared_draws=("s",) if shared else (), **kw)


@pytest.mark.parametrize("shared", [True, False])
def test_headline_is_the_default_and_stops_early(shared):
    res = run_sweep(_scenario(shared), {"s": 0.0}, "s", [0.0, 0.5], samples=10**7, batch_size=4096,
                    target_rel_error=0.01)
    assert res["shared_draws"] is shared
    st = res["stopping"]
    assert st["statistics"] == [{"call": 0, "statistic": "x", "series": ["a"]}]
    assert st["reached"] and not st["unreached"] and res["warnings"] == []
    assert max(res["series"]["a"]["num_samples"]) < 20_000  # x reaches 1% at once; z (0 events at s=0) is ignored


@pytest.mark.parametrize("shared", [True, False])
def test_stop_on_a_series_without_events_stops_and_warns(shared):
    warned = []

    class Rec(SweepProgress):
        def warn(self, message):
            warned.append(message)

    res = run_sweep(_scenario(shared), {"s": 0.0}, "s", [0.0, 0.5], samples=10**8, batch_size=4096,
                    target_rel_error=0.01, stop_on=["b"], progress=Rec())
    n = res["series"]["b"]["num_samples"]
    assert max(n) < 100_000  # s=0: no events, out of reach within 1e8 -> stopped; s=0.5 reached
    st = res["stopping"]
    assert not st["reached"] and [u["x"] for u in st["unreached"]] == [0.0]
    u = st["unreached"][0]
    assert u["status"] == "no events" and u["statistic"] == "z" and u["series"] == ["b"] and u["events"] == 0.0
    assert len(res["warnings"]) == 1 and "cannot be reached for b" in res["warnings"][0] and "s = 0.0" in warned[0]


def test_stop_on_accepts_engine_statistics_and_rejects_others():
    sc = _scenario()
    res = run_sweep(sc, {"s": 0.5}, "s", [0.5], samples=10**6, batch_size=4096, target_rel_error=0.05,
                    stop_on=["z"])
    assert res["stopping"]["statistics"] == [{"call": 0, "statistic": "z", "series": ["b"]}]
    with pytest.raises(ParameterError, match="unknown name 'bb'.*did you mean 'b'"):
        run_sweep(sc, {"s": 0.5}, "s", [0.5], samples=1000, target_rel_error=0.05, stop_on=["bb"])
    with pytest.raises(ParameterError, match="'exact' is analytical"):
        run_sweep(sc, {"s": 0.5}, "s", [0.5], samples=1000, target_rel_error=0.05, stop_on=["exact"])


def test_progress_gets_the_projected_sample_count(monkeypatch):
    monkeypatch.setenv("IRSJAX_CHUNK_BLOCKS", "1")  # batches of 1024 (a light function's step is 4096)
    seen = []

    class Rec(SweepProgress):
        def engine_update(self, done, total, expected=None):
            seen.append((done, total, expected))

    res = run_sweep(_scenario(shared=False), {"s": 0.5}, "s", [0.5], samples=10**7, batch_size=1024,
                    target_rel_error=0.002, progress=Rec())  # x: rel. error 0.1 / sqrt(n): about 2,500 samples
    n = res["series"]["a"]["num_samples"][0]
    assert 1000 < n < 10_000 and seen[-1][0] == n and all(t == 10**7 for _, t, _ in seen)
    assert all(e is not None and e < 10**6 for _, _, e in seen)
    assert 0.5 * n <= seen[-2][2] <= 2 * n  # the projection before the last batch is close to what was needed


def test_budget_exhausted_is_reported():
    res = run_sweep(_scenario(), {"s": 0.5}, "s", [0.5], samples=4096, target_rel_error=1e-4, stop_on=["a"])
    u = res["stopping"]["unreached"]
    assert len(u) == 1 and u[0]["status"] == "not reached" and u[0]["rel_error"] > 1e-4
    assert "not reached for a" in res["warnings"][0]


def test_resumed_points_are_reported_as_resumed(tmp_path):
    calls = []

    class Rec(SweepProgress):
        def point_done(self, index, x, elapsed, resumed):
            calls.append((index, resumed))

    sc = _scenario(shared=False)
    store = PartialStore(str(tmp_path), "sig")
    run_sweep(sc, {"s": 0.0}, "s", [0.0, 0.5], samples=512, store=store)
    store2 = PartialStore(str(tmp_path), "sig")
    del store2.data["points"]["s=0.5"]
    run_sweep(sc, {"s": 0.0}, "s", [0.0, 0.5], samples=512, store=store2, progress=Rec())
    assert calls == [(0, True), (1, False)]


# ------------------------------------------------------------------ bounded intervals
def test_ci_of_a_probability_panel_is_clipped_to_the_unit_interval():
    res = run_sweep(_scenario(shared=False), {"s": 0.0}, "s", [0.0], samples=1000)
    one = res["series"]["one"]  # a 0/1 statistic estimated as a plain mean (normal-theory CI), p ~ 0.999
    assert one["kind"] == "mean" and one["mean"][0] > 0.99
    assert one["ci_high"][0] == 1.0  # 0.999 + 1.96 * 0.001 would exceed 1; the panel holds probabilities
    assert res["series"]["a"]["ci_high"][0] > 1.0  # the unbounded panel is left alone


def test_declared_bounds_clip():
    sc = _scenario(shared=False)
    series = (Series("a", "p1", bounds=(0.0, 1.0)),) + sc.series[1:]
    res = run_sweep(Scenario(**{**sc.__dict__, "series": series}), {"s": 0.0}, "s", [0.0], samples=1000)
    assert res["series"]["a"]["ci_high"][0] <= 1.0 and res["series"]["a"]["mean"][0] > 0.9
    e = Estimate(0.999, 0.001, 0.997, 1.001, 100, 1e-4).clipped()
    assert (e.ci_low, e.ci_high) == (0.997, 1.0)


def test_wiretap_conditional_sop_ci_stays_in_the_unit_interval():
    import scenarios.wiretap as W
    from irsjax.scenario import resolve

    params, sw, vals = resolve(W.SCENARIO, {"P_dBm": "-40,-30", "K": "4"})
    res = run_sweep(W.SCENARIO, params, sw, vals, samples=2048)
    s = res["series"]["sop_aligned_conditional"]
    assert all(0.0 <= lo <= hi <= 1.0 for lo, hi in zip(s["ci_low"], s["ci_high"]))
    assert max(s["mean"]) > 0.99


# ------------------------------------------------------------------ memory
def test_memory_estimate_bound_and_analysis(monkeypatch):
    f = lambda key: {"x": jnp.sum(jax.random.normal(key, (64, 64)) ** 2)}
    m = mc.memory_estimate(f, jax.random.key(0))
    # a light function: several blocks a step on a CPU (chunk_blocks of its per-realisation bytes)
    assert m.method == "upper bound" and m.realisations == mc.chunk_blocks(m.bytes // m.realisations) * mc.BLOCK
    assert m.bytes >= 64 * 64 * 4 * m.realisations and m.fits
    monkeypatch.setenv("IRSJAX_MEMORY_LIMIT", "64K")
    m2 = mc.memory_estimate(f, jax.random.key(0))
    assert m2.method == "XLA memory analysis" and m2.available == 65536 and not m2.fits
    assert 64 * 64 * 4 <= m2.bytes <= m.bytes  # XLA reuses buffers: below the no-reuse bound


def test_run_sweep_refuses_a_pass_that_does_not_fit(monkeypatch):
    monkeypatch.setenv("IRSJAX_MEMORY_LIMIT", "1K")
    with pytest.raises(InsufficientMemoryError, match=r"not enough memory: one engine step \([\d,]+ realisations x 2 "
                                                      r"sweep points\) needs about .* per device"):
        run_sweep(_scenario(), {"s": 0.0}, "s", [0.0, 0.5], samples=512)
    monkeypatch.setenv("IRSJAX_MEMORY_LIMIT", "1T")
    assert run_sweep(_scenario(), {"s": 0.0}, "s", [0.0, 0.5], samples=512)["samples"] == 512


@pytest.mark.slow
def test_cli_refuses_a_real_out_of_memory_configuration(tmp_path, capsys):
    """ris-scheduling at its largest sizes needs tens of GiB per engine step (on CPU: 26 GiB measured)."""
    from irsjax import cli

    free = mc.available_memory()
    code = cli.main(["run", "ris-scheduling", "--set", "N=4096", "--set", "K=32", "--set", "L=32", "--set",
                     "links=independent", "--samples", "1000", "--no-progress", "--out", str(tmp_path / "o")])
    _, err = capsys.readouterr()
    if free is not None and free > 64 * 2**30:
        pytest.skip("this machine has the memory")
    assert code == 2 and err.count("\n") == 1 and "not enough memory" in err and "N=4096" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("shared", [True, False])
def test_derive_with_a_paired_keyword_gets_the_paired_differences(shared):
    """A scenario's derive that takes ``paired`` receives derived["paired_differences"] (None point by point);
    one without it is called as before (the public derive(params, x_name, xs, series) contract)."""
    got = {}

    def derive(params, x_name, xs, series, paired=None):
        got["paired"] = paired
        return {"n_pairs": 0 if paired is None else len(paired[0]["between"])}

    res = run_sweep(_scenario(shared, derive=derive), {"s": 0.0}, "s", [0.0, 0.5], samples=4096)
    if shared:
        assert got["paired"] == res["derived"]["paired_differences"] and res["derived"]["n_pairs"] == 1
        assert "x" in got["paired"][0]["statistics"]
    else:
        assert got["paired"] is None and res["derived"]["n_pairs"] == 0
    old = run_sweep(_scenario(shared, derive=lambda p, n, xs, s: {"ok": len(xs)}), {"s": 0.0}, "s", [0.0, 0.5],
                    samples=4096)
    assert old["derived"]["ok"] == 2


# ------------------------------------------------------------------ derived.per_point
def test_per_point_extras_stay_aligned_with_x_when_a_point_lacks_one():
    """An extra that only some points report (maxmin-two-way's phase traces do not exist at L = 0) is None at the
    others, so derived.per_point[k][i] always belongs to x[i]."""
    def point(ctx, params):
        s = float(params["s"])
        extras = {"always": s} if s == 0.0 else {"always": s, "later": 10 * s}
        return PointResult(values={"a": 1.0, "b": 0.5, "one": 1.0, "exact": s}, extras=extras)

    sc = _scenario(shared=False)
    res = run_sweep(Scenario(**{**sc.__dict__, "point": point}), {"s": 0.0}, "s", [0.0, 0.5, 0.0, 0.25],
                    samples=16)
    pp = res["derived"]["per_point"]
    assert pp["always"] == [0.0, 0.5, 0.0, 0.25]
    assert pp["later"] == [None, 5.0, None, 2.5]

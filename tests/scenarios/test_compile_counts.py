"""One compilation per structure: a sweep over any float parameter compiles nothing after its first point."""
import pytest

from irsjax import scenario as S
from irsjax.cli import load_scenario
from irsjax.testing import count_compilations

# (scenario, fixed overrides, float parameter, first value, further values)
CASES = [
    ("wiretap", {"K": "8"}, "R_s", "1", ["0.5", "2.5"]),
    ("wiretap", {"K": "8"}, "noise_dBm", "-90", ["-80", "-95.5"]),
    ("lv-two-way", {"K": "8", "N": "3", "topologies": "4"}, "alpha", "4", ["3.5", "3"]),
    ("lv-two-way", {"K": "8", "N": "3", "topologies": "4"}, "eve_y", "20", ["10", "30"]),
    ("maxmin-two-way", {"L": "4", "sdr": "false", "outer_iters": "1", "fp_iters": "3", "phase_iters": "5"},
     "kappa", "8", ["2", "0.5"]),
    ("maxmin-fp-convergence", {"L": "4", "fp_iters": "3", "grid_points": "3", "iteration": "2"},
     "Pmax_dBm", "15", ["12", "18"]),
]


def _run(sc, overrides, name, values, shared):
    params, sweep, vals = S.resolve(sc, {**overrides, name: ",".join(values), "sweep": name})
    return S.run_sweep(sc, params, sweep, vals, seed=0, samples=256, shared_draws=shared)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_float_sweep_compiles_once(case):
    name, overrides, param, first, more = case
    sc = load_scenario(name)
    _run(sc, overrides, param, [first], False)  # the first point compiles
    with count_compilations() as c:
        res = _run(sc, overrides, param, more, False)
    assert c.count == 0, f"{name}: a sweep over {param} recompiled {c.count} times"
    assert len(res["x"]["values"]) == len(more)

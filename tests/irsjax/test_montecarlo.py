import json
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irsjax import montecarlo as mc


@dataclass(frozen=True)
class ExpFn:
    """x ~ Exp(scale); indicator x > 1."""

    def __call__(self, key, scale):
        x = jax.random.exponential(key) * scale
        return {"x": x, "p": (x > 1.0).astype(x.dtype)}


FN = ExpFn()


def run(n=20_000, **kw):
    return mc.estimate(FN, jax.random.key(0), n, args=(1.0,), probabilities=("p",), **kw)


def test_estimates_are_right():
    est = run(100_000)
    assert est["x"].mean == pytest.approx(1.0, abs=4 * est["x"].std_err)
    assert est["x"].variance == pytest.approx(1.0, rel=0.03)
    assert est["p"].kind == "probability"
    assert est["p"].ci_low <= math.exp(-1) <= est["p"].ci_high
    assert est["x"].ci_low <= 1.0 <= est["x"].ci_high
    assert est["p"].events == pytest.approx(est["p"].mean * 100_000)
    assert est["x"].rel_error == pytest.approx(est["x"].std_err / est["x"].mean)


@pytest.mark.parametrize("bs", [256, 1000, 5 * 256, 2**14])
def test_batch_size_invariance_bitwise(bs):
    ref = run(10_007, batch_size=2**15)
    got = run(10_007, batch_size=bs)
    for k in ref:
        assert got[k] == ref[k]  # every field identical, bit for bit


def test_chunked_equals_unchunked_and_matches_direct_vmap():
    n = 4096
    chunked = run(n, batch_size=256)
    whole = run(n, batch_size=n)
    assert chunked["x"] == whole["x"]
    # the same realisations as a plain vmap over the documented key derivation
    key = jax.random.key(0)
    keys = jnp.concatenate([jax.random.split(jax.random.fold_in(key, b), mc.BLOCK) for b in range(n // mc.BLOCK)])
    xs = np.asarray(jax.vmap(lambda k: FN(k, 1.0)["x"])(keys), np.float64)
    assert whole["x"].mean == pytest.approx(xs.mean(), rel=1e-6)
    assert whole["x"].variance == pytest.approx(xs.var(ddof=1), rel=1e-4)


def test_same_key_same_numbers_other_key_other_numbers():
    a, b = run(5000), run(5000)
    assert a["x"] == b["x"]
    c = mc.estimate(FN, jax.random.key(1), 5000, args=(1.0,), probabilities=("p",))
    assert c["x"].mean != a["x"].mean


def test_resume_gives_identical_numbers():
    ref = run(30_000, batch_size=1024)
    saved = []

    class Stop(Exception):
        pass

    def checkpoint(state):
        saved.append(state)
        if len(saved) == 7:
            raise Stop

    with pytest.raises(Stop):
        run(30_000, batch_size=2048, checkpoint=checkpoint)
    state = mc.EngineState.from_json(json.loads(json.dumps(saved[-1].to_json())))
    assert 0 < state.num_samples < 30_000
    resumed = run(30_000, batch_size=4096, resume=state)
    assert resumed["x"] == ref["x"] and resumed["p"] == ref["p"]


def test_streaming_accumulation_has_no_precision_loss():
    @dataclass(frozen=True)
    class Const:
        def __call__(self, key):
            return {"c": jnp.float32(0.1)}

    n = 2**25 + 3  # beyond float32's 2^24 integer range: a naive float32 sum would stall
    est = mc.estimate(Const(), jax.random.key(0), n, batch_size=2**20)
    assert est["c"].mean == pytest.approx(float(np.float32(0.1)), rel=1e-12)
    assert est["c"].variance == pytest.approx(0.0, abs=1e-12)


def test_stopping_rules():
    est = run(10_000_000, target_rel_error=0.02, batch_size=4096)
    assert est["x"].num_samples < 10_000_000
    assert est["x"].rel_error <= 0.02 and est["p"].rel_error <= 0.02
    est2 = run(10_000_000, min_events=500, stop_on=("p",), batch_size=1024)
    assert est2["p"].events >= 500
    assert est2["p"].num_samples < 3000


def test_confidence_intervals_binomial():
    lo, hi = mc.wilson_interval(0, 1000)
    assert lo == 0.0 and 0 < hi < 0.005
    lo, hi = mc.clopper_pearson_interval(0, 1000)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 1000), rel=1e-6)
    est = run(20_000, ci_method="clopper-pearson")
    assert est["p"].ci_low < est["p"].mean < est["p"].ci_high


def test_coverage_of_intervals():
    # ~95% of independent 95% intervals contain the truth
    hits_mean = hits_p = 0
    for s in range(40):
        e = mc.estimate(FN, jax.random.key(100 + s), 2000, args=(1.0,), probabilities=("p",))
        hits_mean += e["x"].ci_low <= 1.0 <= e["x"].ci_high
        hits_p += e["p"].ci_low <= math.exp(-1) <= e["p"].ci_high
    assert hits_mean >= 32 and hits_p >= 32


def test_bad_input_and_nan_detection():
    with pytest.raises(ValueError, match="num_samples"):
        run(0)
    with pytest.raises(ValueError, match="batch_size"):
        run(10, batch_size=-1)
    with pytest.raises(ValueError, match="probabilities"):
        mc.estimate(FN, jax.random.key(0), 10, args=(1.0,), probabilities=("nope",))

    @dataclass(frozen=True)
    class Bad:
        def __call__(self, key):
            return {"y": jnp.log(jax.random.uniform(key) - 0.5)}

    with pytest.raises(FloatingPointError, match="'y'"):
        mc.estimate(Bad(), jax.random.key(0), 2000)

    @dataclass(frozen=True)
    class Vec:
        def __call__(self, key):
            return {"v": jnp.zeros(3)}

    with pytest.raises(ValueError, match="scalar"):
        mc.estimate(Vec(), jax.random.key(0), 10)


def test_sweep_uses_common_random_numbers():
    pts = mc.sweep(FN, jax.random.key(3), [1.0, 2.0], 4096, make_args=lambda s: (s,))
    assert [p.x for p in pts] == [1.0, 2.0]
    # x scales linearly with the same draws
    assert pts[1].estimates["x"].mean == pytest.approx(2 * pts[0].estimates["x"].mean, rel=1e-6)


def test_variance_reduction_factor():
    a = mc.Estimate(0.1, 0, 0, 0, 10, 0.09, "probability")
    b = mc.Estimate(0.1, 0, 0, 0, 10, 0.0009)
    assert mc.variance_reduction(a, b) == pytest.approx(100.0)

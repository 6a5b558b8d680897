import json
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irsjax import montecarlo as mc
from irsjax.testing import count_compilations


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


def test_default_batch_grows_for_light_kernels_without_changing_a_number():
    n = 2**20 + 7
    seen = []
    grown = run(n, devices=1, checkpoint=lambda st: seen.append(st.num_samples))  # one device (the suite has 2)
    steps = np.diff([0] + seen)
    assert steps[0] == mc.default_batch_size() and steps.max() >= 4 * steps[0]  # a light kernel's batch doubles
    assert len(seen) < n // mc.default_batch_size()
    fixed = run(n, batch_size=2**15, devices=2)
    for k in fixed:
        assert grown[k] == fixed[k]  # bit for bit
    # a stopping rule keeps the batch fixed: where the run stops must not depend on timing
    seen.clear()
    run(n, devices=1, target_rel_error=1e-9, checkpoint=lambda st: seen.append(st.num_samples))
    assert set(np.diff([0] + seen)[:-1]) == {mc.default_batch_size()}


def test_engine_step_is_sized_by_the_functions_bytes(monkeypatch):
    monkeypatch.delenv("IRSJAX_CHUNK_BLOCKS", raising=False)
    if jax.default_backend() == "cpu":
        sizes = [mc.chunk_blocks(b) for b in (None, 1, 40_000, 100_000, 300_000, 800_000, 10**9)]
        assert sizes == [1, 16, 16, 8, 4, 1, 1]
        for b in (1_000, 60_000, 200_000, 2_000_000):  # the most blocks whose bytes fit, a power of two
            c = mc.chunk_blocks(b)
            assert c & (c - 1) == 0 and (c == 1 or c * b <= mc.CPU_STEP_BYTES)
            assert c == 16 or 2 * c * b > mc.CPU_STEP_BYTES
    monkeypatch.setenv("IRSJAX_CHUNK_BLOCKS", "3")
    assert mc.chunk_blocks(40_000) == 3  # the environment wins


def test_wiretap_numbers_do_not_depend_on_the_engine_step(monkeypatch):
    """The step only changes how many blocks one loop iteration evaluates: same draws, same fold order. XLA
    compiles the kernel for another shape, and on this suite's CPUs that changes no bit (checked here for the
    wiretap kernel, the goldens for every scenario)."""
    from irsjax.systems.wiretap import WiretapConfig

    cfg = WiretapConfig(K=16, P_dBm=10.0)
    got = {}
    for step in ("1", "4", "16"):
        monkeypatch.setenv("IRSJAX_CHUNK_BLOCKS", step)
        got[step] = mc.estimate(cfg, jax.random.key(4), 9_000)
    for step in ("4", "16"):
        for k in got["1"]:
            assert got[step][k] == got["1"][k]


def test_per_realisation_bytes_are_traced_once_per_structure(monkeypatch):
    monkeypatch.delenv("IRSJAX_CHUNK_BLOCKS", raising=False)
    traces = []

    def fn(key, scale):
        traces.append(1)
        return {"x": jax.random.normal(key) * scale}

    mc.memory_estimate(fn, jax.random.key(0), args=(jnp.float32(1.0),))
    n = len(traces)
    mc.memory_estimate(fn, jax.random.key(0), args=(jnp.float32(2.0),))  # a new value, same structure
    assert len(traces) == n


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
    # enough batches to stop inside the run whatever the engine step (up to 16 blocks a step, 2 devices)
    ref = run(300_000, batch_size=1024)
    saved = []

    class Stop(Exception):
        pass

    def checkpoint(state):
        saved.append(state)
        if len(saved) == 7:
            raise Stop

    with pytest.raises(Stop):
        run(300_000, batch_size=2048, checkpoint=checkpoint)
    state = mc.EngineState.from_json(json.loads(json.dumps(saved[-1].to_json())))
    assert 0 < state.num_samples < 300_000
    resumed = run(300_000, batch_size=4096, resume=state)
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


def test_stopping_rules(monkeypatch):
    monkeypatch.setenv("IRSJAX_CHUNK_BLOCKS", "1")  # stop within 256 realisations a device of the need
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
    class Cplx:
        def __call__(self, key):
            return {"z": jnp.zeros(3, jnp.complex64)}

    with pytest.raises(TypeError, match="'z' must be real"):
        mc.estimate(Cplx(), jax.random.key(0), 10)


def test_sweep_uses_common_random_numbers():
    pts = mc.sweep(FN, jax.random.key(3), [1.0, 2.0], 4096, make_args=lambda s: (s,))
    assert [p.x for p in pts] == [1.0, 2.0]
    # x scales linearly with the same draws
    assert pts[1].estimates["x"].mean == pytest.approx(2 * pts[0].estimates["x"].mean, rel=1e-6)


def test_variance_reduction_factor():
    a = mc.Estimate(0.1, 0, 0, 0, 10, 0.09, "probability")
    b = mc.Estimate(0.1, 0, 0, 0, 10, 0.0009)
    assert mc.variance_reduction(a, b) == pytest.approx(100.0)


# --------------------------------------------------------------------------- statistics of any shape
def vec_fn(key, scale):
    """A per-user vector, an iteration trace (matrix) and a scalar from one draw."""
    x = jax.random.exponential(key, (3,)) * scale
    trace = jnp.cumsum(jnp.outer(x, jnp.arange(1.0, 5.0)), axis=1)  # (3, 4)
    return {"users": x, "trace": trace, "hit": (x > 1.0).astype(x.dtype), "s": jnp.sum(x)}


def test_vector_statistics_elementwise_cis_and_shapes():
    est = mc.estimate(vec_fn, jax.random.key(5), 20_000, args=(jnp.array([1.0, 2.0, 3.0]),), probabilities=("hit",))
    assert est["users"].shape == (3,) and est["trace"].shape == (3, 4) and est["s"].shape == ()
    np.testing.assert_allclose(est["users"].mean, [1.0, 2.0, 3.0], rtol=0.05)
    assert np.all(est["users"].ci_low < est["users"].mean) and np.all(est["users"].mean < est["users"].ci_high)
    np.testing.assert_allclose(est["hit"].mean, np.exp(-1.0 / np.array([1.0, 2.0, 3.0])), atol=0.02)
    assert est["hit"].kind == "probability" and np.all(est["hit"].events == est["hit"].mean * 20_000)
    # the scalar statistic is the sum of the vector's entries (same draws)
    assert est["s"].mean == pytest.approx(float(np.sum(est["users"].mean)), rel=1e-5)
    one = est["users"].at(2)
    assert isinstance(one.mean, float) and one.mean == est["users"].mean[2]
    assert np.all(np.isfinite(est["users"].rel_error))


def test_vector_statistics_bit_identical_for_any_batch_size_and_resume():
    kw = dict(args=(jnp.array([1.0, 2.0, 3.0]),), probabilities=("hit",))
    n = 100_000  # several batches whatever the engine step (up to 16 blocks a step, 2 devices)
    a = mc.estimate(vec_fn, jax.random.key(6), n, batch_size=256, **kw)
    b = mc.estimate(vec_fn, jax.random.key(6), n, batch_size=4096, **kw)
    saved = []
    mc.estimate(vec_fn, jax.random.key(6), n, batch_size=1024, checkpoint=saved.append, **kw)
    state = mc.EngineState.from_json(json.loads(json.dumps(saved[3].to_json())))
    assert state.shapes == a.state.shapes and 0 < state.num_samples < n
    c = mc.estimate(vec_fn, jax.random.key(6), n, batch_size=2048, resume=state, **kw)
    for name in a:
        for other in (b, c):
            np.testing.assert_array_equal(a[name].mean, other[name].mean)
            np.testing.assert_array_equal(a[name].variance, other[name].variance)


# --------------------------------------------------------------------------- one compile per structure
def test_float_leaves_of_a_config_never_recompile():
    from irsjax.config import config, static

    @config
    class Model:
        n: int = static(4)
        scale: float = 1.0
        offset: tuple = (0.0, 0.0)

        def __call__(self, key):
            x = jax.random.exponential(key, (self.n,)) * self.scale + self.offset[0] - self.offset[1]
            return {"x": jnp.mean(x)}

    mc.estimate(Model(scale=1.0), jax.random.key(0), 512)  # warm-up: compiles once
    with count_compilations() as c:
        ests = [mc.estimate(Model(scale=s, offset=(s, 0.5)), jax.random.key(0), 512) for s in (2.0, 3.0, 4.5)]
    assert c.count == 0
    assert ests[0]["x"].mean != ests[1]["x"].mean
    with count_compilations() as c:
        mc.estimate(Model(n=8), jax.random.key(0), 512)
    assert c.count >= 1  # a new size is a new structure

"""The engine's programs are compiled without XLA:CPU's YNNPACK fusions (one of them segfaulted the fbr-maxmin
fig5 run; see irsjax/_compile.py), only on CPU, and a user's XLA_FLAGS or IRSJAX_XLA_CPU_DEFAULTS=0 wins. The program
cache keeps traced programs across processes without changing a number."""
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irsjax import _compile, montecarlo

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _reduce_and_dot(x):
    return jnp.sum(x * x, axis=-1) @ x


def test_compiler_options_per_backend_and_overrides(monkeypatch):
    monkeypatch.delenv("IRSJAX_XLA_CPU_DEFAULTS", raising=False)
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    assert _compile.compiler_options("cpu") == _compile.CPU_OPTIONS
    assert _compile.compiler_options("gpu") is None and _compile.compiler_options("tpu") is None
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=reduce")
    assert _compile.compiler_options("cpu") is None  # the user's setting wins
    monkeypatch.setenv("XLA_FLAGS", "")
    monkeypatch.setenv("IRSJAX_XLA_CPU_DEFAULTS", "0")
    assert _compile.compiler_options("cpu") is None


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="CPU compiler option")
def test_jit_compiles_without_ynn_fusions_and_gives_the_same_numbers():
    x = jax.random.normal(jax.random.key(0), (256, 256))
    plain = jax.jit(_reduce_and_dot)
    ours = _compile.jit(_reduce_and_dot)
    if "__ynn_fusion" not in plain.lower(x).compile().as_text():
        pytest.skip("this jaxlib does not use YNNPACK fusions here")
    assert "__ynn_fusion" not in ours.lower(x).compile().as_text()
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(plain(x)), rtol=2e-5, atol=1e-3)
    assert ours._cache_size() == 1


def test_engine_programs_go_through_the_backend_jit():
    for f in (montecarlo._run_batch, montecarlo._device_batch, montecarlo._fold_blocks, montecarlo._mean_jit):
        assert isinstance(f, _compile._BackendJit), f


@pytest.mark.slow
def test_fbr_fig5_shared_pass_does_not_crash(tmp_path):
    """The run that segfaulted (XLA:CPU YnnFusionThunk) before the engine turned YNNPACK fusions off: the fig5
    preset's shared pass over two rho values, 2 topologies, in a subprocess (a crash must not take pytest down)."""
    out = tmp_path / "fig5"
    r = subprocess.run([sys.executable, "-m", "irsjax.cli", "run", "fbr-maxmin", "--set", "preset=fig5",
                        "--set", "rho_U=0,0.02", "--samples", "2", "--seed", "120426", "--out", str(out),
                        "--no-plot"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert (out / "results.json").exists()


def test_jit_works_inside_grad_jit_and_vmap():
    """JAX refuses compiler options on a nested jit: traced calls (the engine under a user's grad/jit/vmap) use a
    plain jit (this failed the gradient tests of the suite before)."""
    f = _compile.jit(lambda x: jnp.sum(jnp.sin(x) ** 2))
    x = jnp.linspace(0.0, 1.0, 8)
    g = jax.grad(f)(x)
    np.testing.assert_allclose(np.asarray(g), np.sin(2 * np.asarray(x)), rtol=1e-5, atol=1e-6)
    assert float(jax.jit(lambda y: f(y) * 2.0)(x)) == pytest.approx(2 * float(f(x)), rel=1e-6)
    assert jax.vmap(f)(jnp.stack([x, x])).shape == (2,)
    est = jax.grad(lambda s: montecarlo.mean(lambda k, s: {"v": s * jax.random.normal(k) ** 2},
                                             jax.random.key(0), 512, args=(s,))["v"])(2.0)
    assert np.isfinite(float(est))


# --------------------------------------------------------------------------- program cache
_PROGRAM_SCRIPT = r"""
import json, sys
import jax
if sys.argv[1] != "off":
    jax.config.update("jax_compilation_cache_dir", sys.argv[1])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
from irsjax import montecarlo
from irsjax.systems.two_way import TwoWayConfig, lower_bound
from irsjax.systems.wiretap import WiretapConfig

traced = [0]
plain_call = WiretapConfig.__call__
def counted(self, key):  # runs only while tracing: counts the traces of the per-realisation function
    traced[0] += 1
    return plain_call(self, key)
WiretapConfig.__call__ = counted
runs = []
for power in sys.argv[2:]:
    cfg = WiretapConfig(K=8, P_dBm=float(power))
    mem = montecarlo.memory_estimate(cfg, jax.random.key(0))
    est = montecarlo.estimate(cfg, jax.random.key(1), 3000, devices=1)
    runs.append({"bytes": mem.bytes, "means": {k: [float(v.mean), float(v.std_err)] for k, v in est.items()}})
bound = lower_bound(TwoWayConfig(K=8, N=2, P_dBm=40.0), jax.random.key(2), 4, methods=("paper",))
print(json.dumps({"traced": traced[0], "bound": bound["paper"]["sum"], "runs": runs}))
"""


def _program_run(cache, *powers):
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", _PROGRAM_SCRIPT, str(cache), *powers], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_program_cache_skips_tracing_in_a_new_process_with_the_same_numbers(tmp_path):
    """First process: traces and keeps the programs; a second one traces nothing, also at another power (a new
    leaf value, same program), and gives bit-identical numbers to a run without the cache."""
    first = _program_run(tmp_path, "10")
    assert first["traced"] > 0
    kept = sorted(p.suffix for p in (tmp_path / _compile.PROGRAMS).iterdir())
    # engine + bound; one trace's facts (statistic shapes and per-realisation bytes, montecarlo._traced)
    assert kept.count(".stablehlo") == 2 and kept.count(".json") == 1, kept
    again = _program_run(tmp_path, "10", "20")
    assert again["traced"] == 0 and again["runs"][1]["means"] != again["runs"][0]["means"]
    off = _program_run("off", "10")
    assert off["traced"] > 0
    for run in (again, off):
        assert run["runs"][0] == first["runs"][0] and run["bound"] == first["bound"]


def test_program_key_sees_statics_shapes_sources_and_settings(monkeypatch):
    from irsjax.config import split_dynamic
    from irsjax.systems.wiretap import WiretapConfig

    def key(cfg, fingerprint="a"):
        monkeypatch.setattr(_compile, "source_fingerprint", lambda: fingerprint)
        leaves, static = split_dynamic(cfg)
        return _compile.program_key("t.f", {"fn": static}, (leaves, jax.random.key(0)), None)

    base = key(WiretapConfig(K=8))
    assert base is not None and base == key(WiretapConfig(K=8, P_dBm=3.0))  # a new leaf value: same program
    assert len({base, key(WiretapConfig(K=9)), key(WiretapConfig(K=8, rng="threefry")),
                key(WiretapConfig(K=8), fingerprint="b")}) == 4
    with jax.enable_x64(True):
        assert key(WiretapConfig(K=8)) != base
    assert _compile.program_key("t.f", {"fn": lambda x: x}, (), None) is None  # a function: no stable name
    assert _compile.program_key(_reduce_and_dot, {}, (), None) is None  # a program from outside irsjax
    leaves, static = split_dynamic(jax.tree_util.Partial(abs, 1.0))  # a node type of another package
    assert _compile.program_key("t.f", {"fn": static}, (leaves,), None) is None


def test_memo_computes_once_per_key_and_not_without_a_cache(monkeypatch, tmp_path):
    calls = []
    compute = lambda: calls.append(1) or {"n": len(calls)}  # noqa: E731
    monkeypatch.setattr(_compile, "program_cache_dir", lambda: None)
    assert _compile.memo("t.m", {"k": 1}, (), compute) == {"n": 1}
    assert _compile.memo("t.m", {"k": 1}, (), compute) == {"n": 2}  # no cache: computed every time
    monkeypatch.setattr(_compile, "program_cache_dir", lambda: str(tmp_path))
    assert _compile.memo("t.m", {"k": 1}, (), compute) == {"n": 3}
    assert _compile.memo("t.m", {"k": 1}, (), compute) == {"n": 3}
    assert _compile.memo("t.m", {"k": 2}, (), compute) == {"n": 4}
    for p in tmp_path.iterdir():  # a partial file is a miss, not an error
        p.write_text("{")
    assert _compile.memo("t.m", {"k": 1}, (), compute) == {"n": 5}

"""The engine's programs are compiled without XLA:CPU's YNNPACK fusions (one of them segfaulted the fbr-maxmin
fig5 run; see irsjax/_compile.py), only on CPU, and a user's XLA_FLAGS or IRSJAX_XLA_CPU_DEFAULTS=0 wins."""
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

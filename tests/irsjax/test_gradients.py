"""Gradients through the simulator: pathwise derivatives of Monte Carlo means (common random numbers)
against central finite differences on the same key, in float64."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irsjax import montecarlo as mc
from irsjax.systems.wiretap import WiretapConfig

N = 4096


def _fd(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def test_wiretap_asr_gradient_in_power_matches_finite_difference():
    with jax.enable_x64(True):
        key = jax.random.key(11)
        cfg = WiretapConfig(K=16, P_dBm=10.0)
        asr = lambda c: mc.mean(c, key, N, statistics=("sr_aligned",))["sr_aligned"]
        g = jax.grad(asr)(cfg)
        fd = _fd(lambda p: float(asr(dataclasses.replace(cfg, P_dBm=p))), 10.0, 1e-4)
        assert float(g.P_dBm) > 0
        assert float(g.P_dBm) == pytest.approx(fd, rel=1e-5)
        # the mean agrees with the engine's estimate on the same realisations
        est = mc.estimate(cfg, key, N)["sr_aligned"].mean
        assert float(asr(cfg)) == pytest.approx(est, rel=1e-12)


def test_wiretap_asr_gradient_in_irs_position_matches_finite_difference():
    with jax.enable_x64(True):
        key = jax.random.key(12)
        cfg = WiretapConfig(K=16, P_dBm=20.0)
        asr = lambda c: mc.mean(c, key, N)["sr_aligned"]
        g = jax.grad(asr)(cfg)
        for axis in (0, 1):
            def at(x, axis=axis):
                irs = list(cfg.irs)
                irs[axis] = x
                return float(asr(dataclasses.replace(cfg, irs=tuple(irs))))

            fd = _fd(at, cfg.irs[axis], 1e-4)
            assert float(g.irs[axis]) == pytest.approx(fd, rel=1e-4, abs=1e-7), axis
        # every float leaf gets a finite gradient; sizes stay static
        assert g.K == 16 and all(np.isfinite(float(v)) for v in jax.tree_util.tree_leaves(g))


def test_gradients_are_finite_at_edge_cases():
    key = jax.random.key(0)
    for cfg in (WiretapConfig(K=4, P_dBm=-100.0), WiretapConfig(K=4, P_dBm=30.0, irs=(0.0, 0.0))):
        g = jax.grad(lambda c: mc.mean(c, key, 512)["sr_aligned"] + mc.mean(c, key, 512)["log_cond_out_aligned"])(cfg)
        assert all(np.isfinite(float(v)) for v in jax.tree_util.tree_leaves(g))


def test_mean_is_memory_bounded_and_matches_plain_average():
    f = lambda key, s: {"y": s * jax.random.normal(key, (3,)) ** 2}
    m = mc.mean(f, jax.random.key(1), 3 * 256 + 5, args=(jnp.float32(2.0),))["y"]
    keys = [jax.random.split(jax.random.fold_in(jax.random.key(1), b), 256) for b in range(4)]
    ys = jnp.concatenate([jax.vmap(lambda k: f(k, 2.0)["y"])(k) for k in keys])[: 3 * 256 + 5]
    np.testing.assert_allclose(np.asarray(m), np.asarray(jnp.mean(ys, axis=0)), rtol=1e-5)
    with pytest.raises(ValueError, match="num_samples"):
        mc.mean(f, jax.random.key(1), 0, args=(2.0,))

"""optim.maximize_phases: methods, optax drivers, restarts, batching, jit/vmap, edge cases."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp
import optax

import optim
from optim import problems
from optim.phases import PhaseOptions

C = jnp.asarray(np.random.default_rng(0).standard_normal(10) + 1j * np.random.default_rng(1).standard_normal(10),
                jnp.complex64)
BEST = float(jnp.sum(jnp.abs(C))) ** 2


def align_obj(v):
    return jnp.abs(jnp.sum(C * v)) ** 2


@pytest.mark.parametrize("method", optim.METHODS)
def test_methods_reach_coherent_optimum(method):
    res = optim.maximize_phases(align_obj, jax.random.key(0), 10, method=method, num_restarts=2)
    assert abs(float(res.value) - BEST) / BEST < 1e-4
    np.testing.assert_allclose(np.abs(np.asarray(res.phases)), 1.0, atol=1e-5)
    assert bool(res.converged)
    h = np.asarray(res.history)
    assert h.shape == (PhaseOptions().max_iters + 1,)
    assert np.all(np.diff(h) >= -1e-4 * BEST)  # Armijo: monotone
    assert h[-1] == pytest.approx(float(res.value), rel=1e-6)


@pytest.mark.parametrize("method", optim.METHODS)
def test_optax_driven(method):
    res = optim.maximize_phases(align_obj, jax.random.key(1), 10, method=method, optimizer=optax.adam(0.05),
                                max_iters=400, num_restarts=2)
    assert abs(float(res.value) - BEST) / BEST < 1e-3
    np.testing.assert_allclose(np.abs(np.asarray(res.phases)), 1.0, atol=1e-5)


def test_batched_matches_single_and_runs_under_jit_vmap():
    data = problems.wiretap_instances(jax.random.key(3), 6, 3)
    res = optim.maximize_phases_batched(problems.wiretap_secrecy_rate, jax.random.key(4), data, 6, num_restarts=3)
    assert res.phases.shape == (3, 6) and res.value.shape == (3,) and res.history.shape[0] == 3
    for i in range(2):
        inst = jax.tree_util.tree_map(lambda a: a[i], data)
        one = optim.maximize_phases(problems.wiretap_secrecy_rate, jax.random.key(i), 6, args=(inst,), num_restarts=3)
        assert float(one.value) == pytest.approx(float(res.value[i]), abs=1e-3)
        assert float(problems.wiretap_secrecy_rate(res.phases[i], inst)) == pytest.approx(float(res.value[i]), abs=1e-5)

    @jax.jit
    def inside(key, inst):
        return optim.solve(problems.wiretap_secrecy_rate, key, (6,), (inst,), options=PhaseOptions(num_restarts=2)).value

    vals = jax.vmap(inside)(jax.random.split(jax.random.key(5), 3), data)
    np.testing.assert_allclose(np.asarray(vals), np.asarray(res.value), atol=1e-3)


def test_restarts_pick_best_and_init_is_used():
    res = optim.maximize_phases(align_obj, jax.random.key(2), 10, num_restarts=5, max_iters=1)
    assert res.restart_values.shape == (5,)
    assert float(res.value) == pytest.approx(float(jnp.max(res.restart_values)))
    v_opt = jnp.exp(-1j * jnp.angle(C))
    warm = optim.maximize_phases(align_obj, jax.random.key(2), 10, init=v_opt, num_restarts=1, max_iters=3)
    assert abs(float(warm.value) - BEST) / BEST < 1e-5


def test_several_surfaces_and_constant_objective():
    c2 = jnp.stack([C, jnp.conj(C)])
    res = optim.maximize_phases(lambda v: jnp.abs(jnp.sum(c2 * v)) ** 2, jax.random.key(0), (2, 10))
    assert res.phases.shape == (2, 10)
    assert float(res.value) == pytest.approx(4 * BEST, rel=1e-4)
    flat = optim.maximize_phases(lambda v: jnp.float32(1.0) + 0.0 * jnp.sum(jnp.abs(v)), jax.random.key(0), 4)
    assert bool(flat.converged) and np.all(np.isfinite(np.asarray(flat.history)))


def test_options_validated():
    with pytest.raises(ValueError):
        PhaseOptions(method="newton")
    with pytest.raises(ValueError):
        PhaseOptions(num_restarts=0)
    with pytest.raises(TypeError):
        PhaseOptions(optimizer="adam")

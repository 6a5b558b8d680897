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


@pytest.mark.parametrize("direction", ["bfgs", "newton"])
@pytest.mark.parametrize("method", ["riemannian", "angles"])
def test_second_order_directions_reach_optimum(direction, method):
    res = optim.maximize_phases(align_obj, jax.random.key(0), 10, method=method, direction=direction, num_restarts=2)
    assert abs(float(res.value) - BEST) / BEST < 1e-5
    np.testing.assert_allclose(np.abs(np.asarray(res.phases)), 1.0, atol=1e-5)
    assert bool(res.converged)
    h = np.asarray(res.history)
    assert np.all(np.diff(h) >= -1e-5 * BEST)  # Armijo: monotone
    # several surfaces (the angles are flattened)
    c2 = jnp.stack([C, jnp.conj(C)])
    two = optim.maximize_phases(lambda v: jnp.abs(jnp.sum(c2 * v)) ** 2, jax.random.key(1), (2, 10),
                                direction=direction)
    assert two.phases.shape == (2, 10) and float(two.value) == pytest.approx(4 * BEST, rel=1e-5)


def test_newton_and_bfgs_beat_cg_on_ill_conditioned_ratio():
    """High-SNR wiretap ratio (Eve nulled, ratio ~1e4-1e5): first-order methods crawl, Newton/BFGS converge."""
    with jax.enable_x64(True):
        insts = problems.wiretap_instances(jax.random.key(7), 16, 8, P_low=38.0, P_high=40.0)
        init = jax.vmap(problems.wiretap_eig_init)(insts)
        run = lambda **kw: optim.maximize_phases_batched(
            problems.wiretap_ratio, jax.random.key(8), insts, 16, init=init, num_restarts=1, tol=1e-12, **kw)
        cg = run(max_iters=60)
        newton = run(max_iters=60, direction="newton")
        bfgs = run(max_iters=300, direction="bfgs")
        long = run(max_iters=3000, direction="gradient")  # slow but steady reference
        v_cg, v_nt, v_bf, v_ref = (np.asarray(r.value) for r in (cg, newton, bfgs, long))
        nt_iters, nt_conv = np.asarray(newton.num_iters), np.asarray(newton.converged)
    assert np.all(v_nt >= v_cg * (1 - 1e-12)) and np.all(v_nt >= v_ref * (1 - 1e-9))
    assert np.all(v_bf >= v_ref * (1 - 1e-8))
    assert int(nt_iters.max()) < 60 and bool(nt_conv.all())
    assert np.mean(v_nt / v_cg) > 1 + 1e-9  # CG has not converged in 60 iterations


def test_screening_refines_only_the_best_restart():
    data = problems.wiretap_instances(jax.random.key(3), 10, 4)
    opts = PhaseOptions(num_restarts=6, max_iters=200, screen_iters=5, direction="bfgs", tol=1e-9)
    res = optim.maximize_phases_batched(problems.wiretap_secrecy_rate, jax.random.key(4), data, 10, options=opts)
    h = np.asarray(res.history)
    assert h.shape == (4, 5 + 200 + 1)
    assert np.all(np.diff(h, axis=1) >= -1e-5 * np.abs(h[:, 1:]))
    rv = np.asarray(res.restart_values)
    assert rv.shape == (4, 6)
    np.testing.assert_allclose(np.max(rv, axis=1), np.asarray(res.value), rtol=1e-6)  # the refined one is the best
    assert np.all(np.asarray(res.num_iters) > 5)  # went on after screening
    full = optim.maximize_phases_batched(problems.wiretap_secrecy_rate, jax.random.key(4), data, 10,
                                         options=PhaseOptions(num_restarts=6, max_iters=200, direction="bfgs", tol=1e-9))
    assert np.mean(np.asarray(res.value)) >= np.mean(np.asarray(full.value)) - 1e-3
    refined = optim.maximize_phases_batched(problems.wiretap_secrecy_rate, jax.random.key(4), data, 10,
                                            options=PhaseOptions(num_restarts=6, max_iters=20, screen_iters=5,
                                                                 direction="bfgs", refine_direction="newton"))
    assert np.all(np.isfinite(np.asarray(refined.value)))
    np.testing.assert_allclose(np.asarray(refined.value), np.asarray(res.value), rtol=1e-3)


@pytest.mark.parametrize("direction", ["bfgs", "newton"])
def test_second_order_zero_objective_is_finite(direction):
    res = optim.maximize_phases(lambda v: 0.0 * jnp.sum(jnp.real(v)), jax.random.key(0), 4, direction=direction)
    assert bool(res.converged) and np.all(np.isfinite(np.asarray(res.history)))
    np.testing.assert_allclose(np.abs(np.asarray(res.phases)), 1.0, atol=1e-6)


def test_options_validated():
    with pytest.raises(ValueError):
        PhaseOptions(method="newton")
    with pytest.raises(ValueError):
        PhaseOptions(num_restarts=0)
    with pytest.raises(TypeError):
        PhaseOptions(optimizer="adam")
    with pytest.raises(ValueError, match="direction"):
        PhaseOptions(direction="lbfgs")
    with pytest.raises(ValueError, match="refine_direction"):
        PhaseOptions(refine_direction="steepest")
    with pytest.raises(ValueError, match="method"):
        PhaseOptions(method="projected", direction="newton")
    with pytest.raises(ValueError, match="screen_iters"):
        PhaseOptions(screen_iters=0)

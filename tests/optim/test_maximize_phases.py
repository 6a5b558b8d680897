"""optim.maximize_phases: methods, optax drivers, restarts, batching, jit/vmap, edge cases."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp
import optax

import optim
from optim import problems
from optim.phases import PhaseOptions
from irsjax.phases import from_angles

C = jnp.asarray(np.random.default_rng(0).standard_normal(10) + 1j * np.random.default_rng(1).standard_normal(10),
                jnp.complex64)
BEST = float(jnp.sum(jnp.abs(C))) ** 2


def align_obj(v):
    return jnp.abs(jnp.sum(C * v)) ** 2


def test_default_reaches_coherent_optimum_and_history_is_monotone():
    res = optim.maximize_phases(align_obj, jax.random.key(0), 10)
    assert abs(float(res.value) - BEST) / BEST < 1e-5
    np.testing.assert_allclose(np.abs(np.asarray(res.phases)), 1.0, atol=1e-5)
    assert bool(res.converged)
    h = np.asarray(res.history)
    assert h.ndim == 1 and h.shape[0] > PhaseOptions().screen_iters
    assert np.all(np.diff(h) >= -1e-4 * BEST)  # Armijo + keep-best: monotone
    assert h[-1] == pytest.approx(float(res.value), rel=1e-6)


@pytest.mark.parametrize("method", optim.METHODS + ("oblique",))
def test_legacy_method_warns_with_replacement(method):
    with pytest.warns(DeprecationWarning, match="manifold"):
        o = PhaseOptions(method=method)
    assert o.method is None
    assert isinstance(o.manifold, optim.manifold.Oblique if method == "oblique" else optim.manifold.UnitModulus)


def test_optax_driven():
    """A plain optax rule (Adam: its bias correction mixes float and int32, run under standard promotion)."""
    res = optim.maximize_phases(align_obj, jax.random.key(1), 10, optimizer=optax.adam(0.05), max_iters=400,
                                num_restarts=2)
    assert abs(float(res.value) - BEST) / BEST < 1e-3
    np.testing.assert_allclose(np.abs(np.asarray(res.phases)), 1.0, atol=1e-5)


def test_batched_matches_solve_under_jit_vmap():
    data = problems.wiretap_instances(jax.random.key(3), 6, 3)
    opts = PhaseOptions(num_restarts=3)
    res = optim.maximize_phases_batched(problems.wiretap_secrecy_rate, jax.random.key(4), data, 6, options=opts)
    assert res.phases.shape == (3, 6) and res.value.shape == (3,) and res.history.shape[0] == 3
    for i in range(3):
        inst = jax.tree_util.tree_map(lambda a: a[i], data)
        assert float(problems.wiretap_secrecy_rate(res.phases[i], inst)) == pytest.approx(float(res.value[i]), abs=1e-5)

    @jax.jit
    def inside(key, inst):
        return optim.solve(problems.wiretap_secrecy_rate, key, (6,), (inst,), options=opts).value

    vals = jax.vmap(inside)(jax.random.split(jax.random.key(5), 3), data)  # other keys: same optimum
    np.testing.assert_allclose(np.asarray(vals), np.asarray(res.value), atol=1e-3)


LIGHT = PhaseOptions(num_restarts=5, max_iters=3, screen_iters=None, finish_direction=None, polish_rounds=0)


def test_restarts_pick_best_and_init_is_used():
    res = optim.maximize_phases(align_obj, jax.random.key(2), 10, options=LIGHT)
    assert res.restart_values.shape == (5 + 1,)  # the random restarts and the Taylor start (optim.starts)
    assert float(res.value) == pytest.approx(float(jnp.max(res.restart_values)))
    v_opt = from_angles(-jnp.angle(C))
    warm = optim.maximize_phases(align_obj, jax.random.key(2), 10, init=v_opt, options=LIGHT)
    assert abs(float(warm.value) - BEST) / BEST < 1e-5
    assert warm.restart_values.shape == (5,)  # with init: no Taylor start
    assert float(warm.restart_values[0]) == pytest.approx(float(warm.value), rel=1e-6)  # the warm start won


def two_surfaces(v):
    return jnp.abs(jnp.sum(jnp.stack([C, jnp.conj(C)]) * v)) ** 2


@pytest.mark.parametrize("direction", ["bfgs", "newton"])
def test_second_order_directions_reach_optimum_on_several_surfaces(direction):
    opts = PhaseOptions(num_restarts=2, direction=direction, refine_direction=direction, finish_direction=None,
                        polish_rounds=0)
    two = optim.maximize_phases(two_surfaces, jax.random.key(1), (2, 10), options=opts)
    assert two.phases.shape == (2, 10) and float(two.value) == pytest.approx(4 * BEST, rel=1e-5)
    np.testing.assert_allclose(np.abs(np.asarray(two.phases)), 1.0, atol=1e-5)
    assert bool(two.converged)
    h = np.asarray(two.history)
    assert np.all(np.diff(h) >= -1e-5 * 4 * BEST)  # Armijo: monotone


@pytest.mark.slow
def test_newton_and_bfgs_beat_cg_on_ill_conditioned_ratio():
    """High-SNR wiretap ratio (Eve nulled, ratio ~1e4-1e5): first-order methods crawl, Newton/BFGS converge."""
    with jax.enable_x64(True):
        insts = problems.wiretap_instances(jax.random.key(7), 16, 8, P_low=38.0, P_high=40.0)
        init = jax.vmap(problems.wiretap_eig_init)(insts)
        run = lambda **kw: optim.maximize_phases_batched(
            problems.wiretap_ratio, jax.random.key(8), insts, 16, init=init, num_restarts=1, tol=1e-12,
            screen_iters=None, finish_direction=None, polish_rounds=0, **kw)
        cg = run(max_iters=60, direction="cg")
        newton = run(max_iters=60, direction="newton")
        bfgs = run(max_iters=300, direction="bfgs")
        long = run(max_iters=3000, direction="gradient")  # slow but steady reference
        v_cg, v_nt, v_bf, v_ref = (np.asarray(r.value) for r in (cg, newton, bfgs, long))
        nt_iters, nt_conv = np.asarray(newton.num_iters), np.asarray(newton.converged)
    assert np.all(v_nt >= v_cg * (1 - 1e-12)) and np.all(v_nt >= v_ref * (1 - 1e-9))
    assert np.all(v_bf >= v_ref * (1 - 1e-8))
    assert int(nt_iters.max()) < 60 and bool(nt_conv.all())
    assert np.mean(v_nt / v_cg) > 1 + 1e-9  # CG has not converged in 60 iterations


@pytest.mark.slow
def test_screening_refines_only_the_best_restart():
    data = problems.wiretap_instances(jax.random.key(3), 10, 4)
    opts = PhaseOptions(num_restarts=6, max_iters=200, screen_iters=5, direction="bfgs", tol=1e-9)
    res = optim.maximize_phases_batched(problems.wiretap_secrecy_rate, jax.random.key(4), data, 10, options=opts)
    h = np.asarray(res.history)
    assert h.shape[0] == 4 and h.shape[1] >= 5 + 200 + 1  # screening, refinement, finish/polish entries
    assert np.all(np.diff(h, axis=1) >= -1e-5 * np.abs(h[:, 1:]))
    rv = np.asarray(res.restart_values)
    assert rv.shape == (4, 6 + 1)  # the random restarts and the Taylor start
    np.testing.assert_allclose(np.max(rv, axis=1), np.asarray(res.value), rtol=1e-6)  # the refined one is the best
    assert np.all(np.asarray(res.num_iters) > 5)  # went on after screening
    full_opts = PhaseOptions(num_restarts=6, max_iters=200, direction="bfgs", tol=1e-9)
    full = optim.maximize_phases_batched(problems.wiretap_secrecy_rate, jax.random.key(4), data, 10,
                                         options=full_opts)
    assert np.mean(np.asarray(res.value)) >= np.mean(np.asarray(full.value)) - 1e-3
    refined = optim.maximize_phases_batched(problems.wiretap_secrecy_rate, jax.random.key(4), data, 10,
                                            options=PhaseOptions(num_restarts=6, max_iters=20, screen_iters=5,
                                                                 direction="bfgs", refine_direction="newton"))
    assert np.all(np.isfinite(np.asarray(refined.value)))
    np.testing.assert_allclose(np.asarray(refined.value), np.asarray(res.value), rtol=1e-3)


def zero_objective(v):
    return 0.0 * jnp.sum(jnp.real(v))


def test_default_pipeline_on_zero_objective_is_finite():
    """Every stage (BFGS screening and refinement, Newton-CG finish, coordinate polish) on a flat objective."""
    res = optim.maximize_phases(zero_objective, jax.random.key(0), 4)
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
    with pytest.raises(ValueError, match="needs the UnitModulus"):
        PhaseOptions(manifold=optim.manifold.Oblique(), direction="newton")
    with pytest.raises(ValueError, match="screen_iters"):
        PhaseOptions(screen_iters=0)


def coherent_gain(v, c):
    return jnp.abs(jnp.sum(c * v)) ** 2


def test_data_through_args_compiles_once_for_twenty_calls():
    """20 calls with different channels through ``args``: one compilation (a fresh closure per call would
    recompile every time)."""
    from irsjax.testing import count_compilations

    cs = jax.random.normal(jax.random.key(9), (20, 2, 6))
    cs = jax.lax.complex(cs[:, 0], cs[:, 1])
    optim.maximize_phases(coherent_gain, jax.random.key(0), 6, args=(cs[0],), options=LIGHT)  # warm-up
    with count_compilations() as c:
        vals = [float(optim.maximize_phases(coherent_gain, jax.random.key(i), 6, args=(cs[i],), options=LIGHT).value)
                for i in range(20)]
    assert c.count == 0, c.count
    with count_compilations() as c2:
        for i in range(2):
            optim.maximize_phases(lambda v: coherent_gain(v, cs[i]), jax.random.key(i), 6, options=LIGHT)
    assert c2.count >= 2  # what the docstring warns about
    assert all(np.isfinite(vals))

"""SDR: JAX Burer-Monteiro relaxation + randomisation, and the gradient method vs the cvxpy/Clarabel SDR bound.

Small sizes here (CI); the full-size check (60 instances, K = 16, 32, 64) is the
slow test below, which runs ``bench/bench_sdr.py``'s code.
"""
import importlib.util
import os

import numpy as np
import pytest
import jax
import jax.numpy as jnp

import optim
from optim import cvx_reference, problems, sdr
from optim.phases import PhaseOptions

needs_cvx = pytest.mark.skipif(not cvx_reference.available(), reason="cvxpy/clarabel not installed (extra 'cvx')")


def test_bm_sdr_is_tight_for_coherent_objective_and_randomisation_is_feasible():
    c = jnp.asarray(np.exp(1j * np.arange(6.0)) * (1 + np.arange(6.0)), jnp.complex64)
    f = lambda U: jnp.sum(jnp.abs(jnp.conj(c) @ U) ** 2)
    res = sdr.maximize_elliptope(f, jax.random.key(0), 6)
    U = np.asarray(res.phases)
    np.testing.assert_allclose(np.linalg.norm(U, axis=1), 1.0, atol=1e-5)  # diag X = 1
    assert float(res.value) == pytest.approx(float(jnp.sum(jnp.abs(c))) ** 2, rel=1e-4)
    v, val = sdr.gaussian_randomization(jax.random.key(1), res.phases, lambda v: jnp.abs(jnp.vdot(c, v)) ** 2,
                                        num_draws=20, homogeneous=False)
    np.testing.assert_allclose(np.abs(np.asarray(v)), 1.0, atol=1e-5)
    assert float(val) <= float(res.value) * (1 + 1e-5)


BENCH_OPTIONS = PhaseOptions(num_restarts=8, max_iters=500, tol=1e-10, patience=2, direction="bfgs", screen_iters=40)


def _check(K, num, seed, options):
    insts = problems.wiretap_instances(jax.random.key(seed), K, num)
    init = jax.vmap(problems.wiretap_eig_init)(insts)
    g = optim.maximize_phases_batched(problems.wiretap_ratio, jax.random.key(seed + 1), insts, K, init=init,
                                      options=options)
    js = jax.vmap(lambda k, b, e: sdr.wiretap_ratio_sdr(k, b, e))(jax.random.split(jax.random.key(seed + 2), num),
                                                                   insts.b, insts.e)
    rows = []
    for i in range(num):
        ref = cvx_reference.sdr_wiretap_ratio(np.asarray(insts.b[i], np.complex128),
                                              np.asarray(insts.e[i], np.complex128))
        rows.append((ref.bound, ref.randomized_value, float(g.value[i]), float(js.relaxed_value[i]),
                     float(js.value[i])))
    return np.array(rows)


@needs_cvx
@pytest.mark.parametrize("K,options", [(8, PhaseOptions(num_restarts=4, max_iters=1000, tol=1e-8)),  # CG
                                       (12, BENCH_OPTIONS)])  # bench/bench_sdr.py's BFGS + screening
def test_gradient_reaches_sdr_bound_small(K, options, num=5):
    with jax.enable_x64(True):
        r = _check(K, num, seed=100 + K, options=options)
    bound, rand, grad, bm, bm_rand = r.T
    ratio = grad / bound
    assert ratio.mean() >= 0.999 and ratio.min() >= 0.99
    assert ratio.max() <= 1 + 1e-5  # never above the relaxation bound (solver tolerance)
    assert ratio.mean() >= (rand / bound).mean() - 1e-7  # matches or beats SDR + randomisation
    # the JAX Burer-Monteiro relaxation reproduces Clarabel's SDP optimum, its randomisation is feasible
    np.testing.assert_allclose(bm, bound, rtol=2e-3)
    assert np.all(bm_rand <= bound * (1 + 1e-5))


@needs_cvx
@pytest.mark.slow
def test_gradient_vs_sdr_full_size():
    """60 instances (20 each for K = 16, 32, 64): bench/bench_sdr.py's acceptance criteria.

    Uses the stored Clarabel bounds ``bench/sdr_cache.json`` (~5 min); ``IRSJAX_SDR_CACHE=`` (empty) re-solves
    all 60 SDPs (1-2 h), ``IRSJAX_SDR_CACHE=path`` uses another cache.
    """
    bench = os.path.join(os.path.dirname(__file__), "..", "..", "bench")
    path = os.path.join(bench, "bench_sdr.py")
    cache = os.environ.get("IRSJAX_SDR_CACHE", os.path.join(bench, "sdr_cache.json")) or None
    spec = importlib.util.spec_from_file_location("bench_sdr", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with jax.enable_x64(True):
        summaries = [mod.run_k(K, 20, 0, cache=cache)[0] for K in (16, 32, 64)]
    fails = [f for s in summaries for f in mod.check(s)]
    assert not fails, fails
    # the speed-up against cvxpy (goal >= 1000x at K = 32, issue #11) is measured by bench/, never asserted in a
    # test: it depends on the machine's load (this test measured 602x on an idle 2-core machine on 2026-12-04)
    print("speed-up at K = 32:", next(s for s in summaries if s["K"] == 32)["speedup"])

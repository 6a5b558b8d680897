"""optim.polish.coordinate_sweeps: every one-phase update is the exact 1-D maximiser (against a dense NumPy grid,
also for sharply peaked restrictions, where Newton from the best sample used to stop up to 20 % short), and
the sweeps are monotone."""
import numpy as np
import jax
import jax.numpy as jnp

from irsjax.phases import from_angles
from optim.polish import coordinate_sweeps

GRID = np.linspace(-np.pi, np.pi, 400001)


def _ratio(v, a, b):
    """(1 + |a^H x|^2) / (1 + |b^H x|^2), x = [v; 1] (a wiretap SNR ratio with direct links)."""
    x = jnp.concatenate([v, jnp.ones((1,), v.dtype)])
    return (1 + jnp.abs(jnp.vdot(a, x)) ** 2) / (1 + jnp.abs(jnp.vdot(b, x)) ** 2)


def _grid_max(theta, i, a, b):
    """max over phase i (others fixed) of the ratio, on a dense grid (NumPy, float64)."""
    x = np.append(np.exp(1j * theta), 1.0)
    x[i] = 0.0
    ra = np.vdot(a, x) + np.conj(a[i]) * np.exp(1j * GRID)
    rb = np.vdot(b, x) + np.conj(b[i]) * np.exp(1j * GRID)
    return np.max((1 + np.abs(ra) ** 2) / (1 + np.abs(rb) ** 2))


def _value(theta, a, b):
    x = np.append(np.exp(1j * theta), 1.0)
    return (1 + abs(np.vdot(a, x)) ** 2) / (1 + abs(np.vdot(b, x)) ** 2)


def _cn(rng, *shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def test_one_phase_update_is_the_exact_maximiser_also_for_sharp_peaks():
    rng = np.random.default_rng(0)
    n = 100  # one element and a direct link; scales up to 30 give sharp peaks of the ratio
    a = _cn(rng, n, 2) * rng.uniform(0.3, 30.0, (n, 1))
    b = _cn(rng, n, 2) * rng.uniform(0.3, 30.0, (n, 1))
    th0 = rng.uniform(-np.pi, np.pi, (n, 1))
    sweep = jax.jit(jax.vmap(lambda v, a, b: coordinate_sweeps(_ratio, v, (a, b))))
    v = np.asarray(sweep(from_angles(jnp.asarray(th0, jnp.float32)), jnp.asarray(a, jnp.complex64),
                         jnp.asarray(b, jnp.complex64)), np.complex128)
    best = np.array([_grid_max(th0[j], 0, a[j], b[j]) for j in range(n)])
    worst = max((best[j] - _value(np.angle(v[j]), a[j], b[j])) / best[j] for j in range(n))
    assert worst < 1e-6, worst  # float32; the grid's own error is ~1e-8


def test_each_update_of_a_sweep_is_the_exact_coordinate_maximiser():
    K = 6
    for seed in (11, 12):
        rng = np.random.default_rng(seed)
        a, b = 3.0 * _cn(rng, K + 1), _cn(rng, K + 1)
        a32, b32 = jnp.asarray(a, jnp.complex64), jnp.asarray(b, jnp.complex64)
        theta = rng.uniform(-np.pi, np.pi, K).astype(np.float32)
        update = jax.jit(lambda w, i: coordinate_sweeps(lambda u, w, i: _ratio(w.at[i].set(u[0]), a32, b32),
                                                        w[i][None], (w, i)))
        for i in range(K):  # the sweep's own trajectory, one element at a time
            u = update(from_angles(jnp.asarray(theta)), i)
            theta[i] = np.angle(complex(u[0]))
            best = _grid_max(theta.astype(np.float64), i, a, b)
            got = _value(theta.astype(np.float64), a, b)
            assert got >= best * (1 - 1e-6), (seed, i, got, best)


def test_sweeps_are_monotone_and_keep_unit_modulus():
    K = 8
    rng = np.random.default_rng(5)
    a, b = jnp.asarray(3.0 * _cn(rng, K + 1), jnp.complex64), jnp.asarray(_cn(rng, K + 1), jnp.complex64)
    v = from_angles(jnp.linspace(0.0, 3.0, K))
    vals = [float(_ratio(v, a, b))]
    sweep = jax.jit(lambda v, a, b: coordinate_sweeps(_ratio, v, (a, b)))
    for _ in range(4):
        v = sweep(v, a, b)
        vals.append(float(_ratio(v, a, b)))
    assert np.all(np.diff(vals) >= -1e-6 * vals[-1]) and vals[-1] > vals[0]
    np.testing.assert_allclose(np.abs(np.asarray(v)), 1.0, atol=1e-6)
    # max-min objective (a kink): still monotone and finite
    f = lambda v, a, b: jnp.minimum(_ratio(v, a, b), _ratio(v, b, a))  # noqa: E731
    w = jax.jit(lambda v, a, b: coordinate_sweeps(f, v, (a, b), num_sweeps=2))(from_angles(jnp.zeros(K)), a, b)
    assert float(f(w, a, b)) >= float(f(from_angles(jnp.zeros(K)), a, b)) and np.all(np.isfinite(np.asarray(w)))

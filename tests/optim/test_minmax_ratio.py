"""optim.minmax_ratio: generalised Dinkelbach over the lifted SDR (Burer-Monteiro surrogate) against the cvxpy +
Clarabel reference of P10 (optim.cvx_minmax_ratio) on small max-min-SINR instances."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp

from optim import cvx_minmax_ratio as ref
from optim import minmax_ratio

cvx = pytest.importorskip("cvxpy")


def _instance(key, K=3, n=9):
    """Max-min SINR: N_k = |q_k vbar|^2, D_k = sum_{j != k} |p_kj vbar|^2 + 1 (rows ``q``, ``p`` of length n)."""
    k1, k2 = jax.random.split(key)
    q = jax.random.normal(k1, (K, n), dtype=jnp.complex128) * 1.5
    p = jax.random.normal(k2, (K, K, n), dtype=jnp.complex128) * 0.4
    return q, p


def terms(U, q, p):
    sig = jnp.sum(jnp.abs(q @ U) ** 2, axis=-1)
    P = jnp.einsum("kjn,nr->kjr", p, U)
    inter = jnp.sum(jnp.abs(P) ** 2, axis=-1)
    off = ~jnp.eye(q.shape[0], dtype=bool)
    return sig, jnp.sum(jnp.where(off, inter, 0.0), axis=1) + 1.0


def _matrices(q, p):
    q, p = np.asarray(q), np.asarray(p)
    K, n = q.shape
    A = np.stack([np.outer(q[k].conj(), q[k]) for k in range(K)])
    E = np.zeros((n, n))
    E[-1, -1] = 1.0
    B = np.stack([sum(np.outer(p[k, j].conj(), p[k, j]) for j in range(K) if j != k) + E for k in range(K)])
    return A, B


def test_terms_and_matrices_agree_and_min_ratio_of_phases():
    with jax.enable_x64(True):
        q, p = _instance(jax.random.key(0))
        A, B = _matrices(q, p)
        v = np.exp(1j * np.linspace(0, 3, 8))
        vb = np.concatenate([v, [1.0]])
        got = float(minmax_ratio.min_ratio_phases(terms, jnp.asarray(v), q, p))
        assert got == pytest.approx(np.min(ref.ratios(A, B, np.outer(vb, vb.conj()))), rel=1e-10)


def test_dinkelbach_sdr_against_clarabel():
    """The JAX surrogate's relaxed max-min ratio is within 3 % of Clarabel's (never above it beyond solver
    accuracy), the Dinkelbach history is non-decreasing, and the extracted phases never lose against the start."""
    with jax.enable_x64(True):
        run = jax.jit(lambda k, v0, q, p: minmax_ratio.minmax_ratio_sdr(terms, k, v0, args=(q, p)))
        for s in range(2):
            q, p = _instance(jax.random.key(10 + s))
            A, B = _matrices(q, p)
            v0 = jnp.exp(jax.lax.complex(0.0, jax.random.uniform(jax.random.key(20 + s), (8,), maxval=6.283)))
            v, val, res = run(jax.random.key(s), v0, q, p)
            vc, valc, rc = ref.minmax_ratio_sdr(A, B, np.asarray(v0))
            assert all(st.startswith("optimal") for st in rc.statuses)
            assert float(res.value) <= rc.value * (1 + 1e-4)
            assert float(res.value) >= rc.value * (1 - 0.03)
            h = np.asarray(res.history)
            assert np.all(np.diff(h) >= -1e-12)
            start = float(minmax_ratio.min_ratio_phases(terms, v0, q, p))
            assert float(val) >= start and h[0] == pytest.approx(start, rel=1e-10)
            assert float(val) <= rc.value * (1 + 1e-4)  # a rank-one point cannot beat the relaxation
            assert np.allclose(np.abs(np.asarray(v)), 1.0)
            assert float(val) == pytest.approx(float(minmax_ratio.min_ratio_phases(terms, v, q, p)), rel=1e-10)

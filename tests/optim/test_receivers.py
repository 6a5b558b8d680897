"""optim.receivers: MMSE / generalised Rayleigh quotient receivers (MODELS.md 3(c), (3.9)-(3.10)), batched."""
import numpy as np
import jax
import jax.numpy as jnp

from optim import receivers

mmse_sinr = jax.jit(receivers.mmse_sinr)
mmse_receivers = jax.jit(receivers.mmse_receivers)
sinr = jax.jit(receivers.sinr)


def _channels(key, shape):
    return jax.random.normal(key, shape, dtype=jnp.complex64)


def _reference_sinr(H, rho):
    """``rho_k h_k^H B_k^-1 h_k`` in the antenna space, NumPy float64 (``B_k = I + sum_{j != k} rho_j h_j h_j^H``)."""
    Hn, r = np.asarray(H, np.complex128), np.asarray(rho, float)
    K, M = Hn.shape
    return np.array([r[k] * np.real(Hn[k].conj() @ np.linalg.solve(
        np.eye(M) + sum(r[j] * np.outer(Hn[j], Hn[j].conj()) for j in range(K) if j != k), Hn[k])) for k in range(K)])


def test_mmse_is_the_maximiser_of_every_users_sinr():
    H = _channels(jax.random.key(0), (4, 3))
    rho = jnp.asarray([2.0, 0.5, 1.0, 3.0])
    s = np.asarray(mmse_sinr(H, rho))
    W = mmse_receivers(H, rho)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(W), axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(sinr(H, W, rho)), s, rtol=1e-4)
    np.testing.assert_allclose(s, _reference_sinr(H, rho), rtol=1e-4)  # explicit numpy: rho_k h^H B_k^-1 h
    # no other receiver does better
    Wr = _channels(jax.random.key(1), (500, 4, 3))
    sr = np.asarray(sinr(jnp.broadcast_to(H, Wr.shape), Wr, jnp.broadcast_to(rho, (500, 4))))
    assert np.all(sr <= s[None, :] * (1 + 1e-4))


def test_generalized_rayleigh_of_3_9_gives_the_mmse_direction_and_3_10():
    """(3.9): x = c w^H C w / w^H B w with C = rho h h^H + (1 - 2^R) B; the optimum is w ∝ B^-1 h and
    x* = c (1 + rho h^H B^-1 h - 2^R) (3.10)."""
    H = _channels(jax.random.key(2), (3, 4))
    rho = jnp.asarray([1.0, 2.0, 0.7])
    t = 2.0 ** 1.5

    @jax.jit
    def check(H, rho):
        B = receivers.interference_plus_noise(H, rho)
        C = rho[:, None, None].astype(H.dtype) * (H[:, :, None] * jnp.conj(H)[:, None, :]) + (1 - t) * B
        val, w = receivers.generalized_rayleigh(C, B)  # batched over the 3 users
        return val, w, receivers.rayleigh_quotient(w, C, B)

    val, w, rq = check(H, rho)
    W = mmse_receivers(H, rho)
    cos = np.abs(np.sum(np.conj(np.asarray(w)) * np.asarray(W), axis=1))
    np.testing.assert_allclose(cos, 1.0, atol=1e-4)
    np.testing.assert_allclose(np.asarray(val), 1 + np.asarray(mmse_sinr(H, rho)) - t, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(rq), np.asarray(val), rtol=1e-4)


def test_batched_shapes_and_zero_channels():
    H = _channels(jax.random.key(3), (5, 2, 4, 3))
    rho = jnp.ones((5, 2, 4))
    full = np.asarray(mmse_sinr(H, rho))
    assert full.shape == (5, 2, 4)
    assert mmse_receivers(H, jnp.ones(4)).shape == (5, 2, 4, 3)
    np.testing.assert_allclose(full[1, 0], np.asarray(mmse_sinr(H[1, 0], rho[1, 0])), rtol=1e-5)
    Z = jnp.zeros((2, 3), jnp.complex64)
    W = mmse_receivers(Z, jnp.ones(2))
    assert np.all(np.isfinite(np.asarray(W))) and np.all(np.asarray(mmse_sinr(Z, jnp.ones(2))) == 0)
    g = jax.jit(jax.grad(lambda a: jnp.sum(receivers.mmse_sinr(Z * a, jnp.ones(2)))))(jnp.asarray(1.0))
    assert np.isfinite(float(g))


def test_envelope_theorem_gradient_of_the_optimal_sinr():
    """d/dtheta SINR*(H(theta)) equals the gradient of SINR(H(theta), W) with W frozen at its optimum."""
    H0 = _channels(jax.random.key(4), (3, 3))
    D = _channels(jax.random.key(5), (3, 3))
    rho = jnp.asarray([1.0, 2.0, 0.5])

    def H(th):
        return H0 + jnp.exp(jax.lax.complex(0.0, th)) * D

    th = jnp.asarray(0.3)
    W = mmse_receivers(H(th), rho)
    g_opt = jax.jit(jax.jacobian(lambda t: receivers.mmse_sinr(H(t), rho)))(th)
    g_fix = jax.jit(jax.jacobian(lambda t: receivers.sinr(H(t), W, rho)))(th)
    np.testing.assert_allclose(np.asarray(g_opt), np.asarray(g_fix), rtol=2e-3, atol=1e-5)
    assert np.all(np.abs(np.asarray(g_opt)) > 1e-3)


def test_hermitian_solve_is_accurate_and_calls_no_lapack():
    """The MMSE solve runs in plain XLA operations: batched LAPACK custom calls (Cholesky) deadlocked the XLA
    CPU runtime inside the vmapped uplink designs. Accuracy against NumPy on ill-conditioned batches."""
    from optim.receivers import _solve_hermitian

    rng = np.random.default_rng(31)
    H = (rng.standard_normal((5, 3, 4, 6)) + 1j * rng.standard_normal((5, 3, 4, 6))).astype(np.complex64)
    B = np.einsum("...km,...kn->...mn", H, H.conj()) * 1e3 + np.eye(6)  # condition numbers up to ~1e4
    h = H[..., 0, :]
    x = np.asarray(jax.jit(_solve_hermitian)(jnp.asarray(B, jnp.complex64), jnp.asarray(h)))
    ref = np.linalg.solve(B.astype(np.complex128), h.astype(np.complex128)[..., None])[..., 0]
    assert np.max(np.abs(x - ref)) <= 1e-3 * np.max(np.abs(ref))
    hlo = jax.jit(jax.vmap(_solve_hermitian)).lower(jnp.asarray(B, jnp.complex64), jnp.asarray(h)).as_text()
    assert "custom_call" not in hlo and "lapack" not in hlo.lower()


def test_user_space_sinr_matches_the_antenna_space_formula_at_any_m_and_snr():
    """mmse_sinr works with the K x K Gram matrix; it must equal rho_k h_k^H B_k^-1 h_k (M x M, NumPy, float64)
    for M < K, M = K and M > K, at SINRs from ~1e-4 to ~1e4 (relative error at float32 precision: no
    cancellation), and give finite gradients in the powers at rho_k = 0."""
    for i, (K, M) in enumerate([(4, 2), (6, 2), (3, 3), (4, 12)]):
        for scale in (1e-4, 1.0, 1e4):
            H = _channels(jax.random.key(10 + i), (K, M))
            rho = scale * jnp.linspace(0.5, 2.0, K)
            np.testing.assert_allclose(np.asarray(mmse_sinr(H, rho)), _reference_sinr(H, rho), rtol=2e-5,
                                       err_msg=f"K={K} M={M} {scale}")
    H = _channels(jax.random.key(20), (3, 5))
    g = jax.jit(jax.grad(lambda r: receivers.mmse_sinr(H, r)[0]))(jnp.asarray([0.0, 1.0, 0.0]))
    Hn = np.asarray(H, np.complex128)  # d SINR_0 / d rho_0 = h_0^H B_0^-1 h_0, B_0 = I + h_1 h_1^H at rho = (0, 1, 0)
    d0 = np.real(Hn[0].conj() @ np.linalg.solve(np.eye(5) + np.outer(Hn[1], Hn[1].conj()), Hn[0]))
    assert np.all(np.isfinite(np.asarray(g)))
    np.testing.assert_allclose(float(g[0]), d0, rtol=1e-4)

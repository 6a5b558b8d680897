"""Worst case over the CSI error balls: closed-form bound <= exact (S-procedure SDP) <= adversarial attack, the
attack reaches the exact worst case, robust designs keep their claim, nominal designs do not; the cvxpy robust
beamformer step (Nemirovski LMI) guarantees no more than the exact worst case."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp

from irsjax.systems import downlink_fbr as dl
from optim import cvx_fbr, fbr_design as fd, robust

pytestmark = pytest.mark.skipif(not cvx_fbr.available(), reason="cvxpy/clarabel not installed")

RHO = 0.05
_attack = jax.jit(lambda key, p, W, th: fd.adversarial_worst_case(key, p, W, th).rates)  # one compile, shared


def test_minimize_over_ball_finds_a_known_minimum():
    # min over ||d|| <= r of Re(a^H d) + |b^H d|^2 / 10 with b orthogonal to a: -r ||a||, at d = -r a / ||a||
    a = jnp.array([1.0, 2.0j, 0.0, 0.0], jnp.complex64)
    b = jnp.array([0.0, 0.0, 1.0, 1.0j], jnp.complex64)
    f = lambda d: jnp.real(jnp.vdot(a, d)) + jnp.abs(jnp.vdot(b, d)) ** 2 / 10  # noqa: E731
    st = robust.sphere_starts(jax.random.key(0), a[None, :], 0.5, (4,), 5)
    assert st.shape == (7, 4)
    res = jax.jit(lambda s: robust.minimize_over_ball(f, s, 0.5, num_iters=40))(st)
    assert float(res.value) == pytest.approx(-0.5 * np.sqrt(5.0), abs=1e-4)
    assert float(jnp.linalg.norm(res.x)) <= 0.5 + 1e-6


@pytest.fixture(scope="module")
def designs():
    """Two topologies at rho_U = rho_E = 0.05: the robust and the nominal max-min FBR designs (gradient method),
    their claims and their adversarial worst cases, one compile."""
    cfg = dl.FBRDownlinkConfig(rho_U=RHO, rho_E=RHO)

    @jax.jit
    def run(key):
        k1, k2 = jax.random.split(key)
        prob = dl.problem(dl.sample(k1, cfg), cfg)
        W0, th0 = fd.initial_point(k2, prob)
        des = [fd.gradient_design(p, W0, th0, iters_per_stage=40).state for p in (prob, prob.perfect())]
        return prob, des, (dl.problem_rates(prob, *des[0]), dl.problem_rates(prob.perfect(), *des[1]))

    out = []
    for i in range(2):
        prob, des, claims = run(jax.random.key(700 + i))
        out.append((prob, [(W, th, claim, _attack(jax.random.key(i), prob, W, th), dl.problem_rates(prob, W, th))
                           for (W, th), claim in zip(des, claims)]))
    return out



@pytest.mark.slow
def test_bound_exact_and_attack_are_ordered_and_the_attack_is_exact(designs):
    """closed form <= exact <= attack, attack == exact (exact worst case by trust-region bisection here; the
    S-procedure SDP gives the same SINRs, checked on one user below and everywhere in the slow test)."""
    for prob, out in designs:
        P = [np.asarray(a) for a in prob]
        for W, th, _, worst, bound in out:
            Wc, thc = np.asarray(W, np.complex128), np.asarray(th, np.complex128)
            exact = cvx_fbr.exact_worst_case_rates(P[0], P[1], Wc, thc, P[2], float(P[3]), float(P[4]), method="trs")
            worst, bound = np.asarray(worst), np.asarray(bound)
            assert np.all(bound <= exact + 1e-3), (bound, exact)  # closed form is conservative
            assert np.all(worst >= exact - 2e-3), (worst, exact)  # the attack is attained: never below exact
            np.testing.assert_allclose(worst, exact, atol=2e-2)  # ... and reaches it


@pytest.mark.slow
def test_s_procedure_sdp_equals_trust_region_bisection(designs):
    prob, out = designs[0]
    P = [np.asarray(a, np.complex128) if np.iscomplexobj(a) else np.asarray(a, float) for a in prob]
    W, th = np.asarray(out[1][0], np.complex128), np.asarray(out[1][1], np.complex128)
    X = th[:, None] * (P[0] @ W)
    for node, k, sense in ((0, 0, "min"), (P[1].shape[0] - 1, 1, "max")):
        sdp, status = cvx_fbr.worst_case_sinr(P[1][node], X, k, P[2][node], sense=sense)
        trs = cvx_fbr.worst_case_sinr_trs(P[1][node], X, k, P[2][node], sense=sense)
        assert status.startswith("optimal")
        assert sdp == pytest.approx(trs, rel=1e-5)


@pytest.mark.slow
def test_robust_design_keeps_its_claim_nominal_design_does_not(designs):
    nominal_broken = 0
    for _, ((_, _, claim_r, worst_r, _), (_, _, claim_n, worst_n, _)) in designs:
        assert float(np.min(worst_r)) >= float(np.min(claim_r)) - 1e-3  # robust: worst case >= claim
        nominal_broken += float(np.min(worst_n)) < float(np.min(claim_n)) - 1e-3
        # the perfect-CSI design claims more than the robust one, but its worst case is below that claim
        assert float(np.min(claim_n)) > float(np.min(claim_r))
    assert nominal_broken == len(designs)


@pytest.mark.slow
def test_attack_is_the_nominal_rate_without_errors(designs):
    prob, out = designs[0]
    W, th = out[1][0], out[1][1]
    worst = _attack(jax.random.key(1), prob.perfect(), W, th)
    np.testing.assert_allclose(np.asarray(worst), np.asarray(dl.problem_rates(prob.perfect(), W, th)), atol=1e-4)


@pytest.mark.slow
def test_cvxpy_robust_lmi_step_guarantees_no_more_than_its_worst_case(designs):
    """The paper's robust beamformer step (S-procedure / Nemirovski LMI, cvxpy): what it guarantees is below the
    worst case the attack reaches on its design (here), and below the exact S-procedure worst case (slow test)."""
    prob, out = designs[0]
    P = [np.asarray(a, np.complex128) if np.iscomplexobj(a) else np.asarray(a, float) for a in prob]
    W, th = np.asarray(out[0][0], np.complex128), np.asarray(out[0][1], np.complex128)
    step = cvx_fbr.robust_w_step(P[0], P[1], W, th, P[2], float(P[3]), float(P[4]))
    assert step.status.startswith("optimal")
    attack = np.asarray(_attack(jax.random.key(2), prob, jnp.asarray(step.W, prob.G.dtype), out[0][1]))
    assert np.all(step.guaranteed <= attack + 1e-3)
    # the LMI handles the users' interference jointly: never below the closed-form decoupled bound
    closed = cvx_fbr.rates(P[0], P[1], step.W, th, float(P[3]), float(P[4]), P[2])
    assert np.all(step.guaranteed >= closed - 1e-6)


@pytest.mark.slow
def test_full_robust_chain_on_more_topologies():
    """Closed form <= exact (S-procedure SDP) <= attack ~= exact, robust/nominal claims, and the LMI step's
    guarantee <= its exact worst case, on 6 topologies at rho = 0.02 and 0.05."""
    for rho in (0.02, RHO):
        cfg = dl.FBRDownlinkConfig(rho_U=rho, rho_E=rho)

        @jax.jit
        def run(key):
            k1, k2, k3 = jax.random.split(key, 3)
            prob = dl.problem(dl.sample(k1, cfg), cfg)
            W0, th0 = fd.initial_point(k2, prob)
            d = fd.design(k3, prob, W0, th0)
            W, th = d.W[1], d.theta[1]
            return prob, W, th, dl.problem_rates(prob, W, th), fd.adversarial_worst_case(k3, prob, W, th).rates

        for i in range(3):
            prob, W, th, claim, worst = run(jax.random.key(900 + i))
            P = [np.asarray(a, np.complex128) if np.iscomplexobj(a) else np.asarray(a, float) for a in prob]
            Wc, thc = np.asarray(W, np.complex128), np.asarray(th, np.complex128)
            exact = cvx_fbr.exact_worst_case_rates(P[0], P[1], Wc, thc, P[2], float(P[3]), float(P[4]))
            trs = cvx_fbr.exact_worst_case_rates(P[0], P[1], Wc, thc, P[2], float(P[3]), float(P[4]), method="trs")
            np.testing.assert_allclose(exact, trs, atol=1e-4)
            assert np.all(np.asarray(claim) <= exact + 1e-3)
            assert np.all(np.asarray(worst) >= exact - 2e-3)
            np.testing.assert_allclose(np.asarray(worst), exact, atol=2e-2)
            step = cvx_fbr.robust_w_step(P[0], P[1], Wc, thc, P[2], float(P[3]), float(P[4]))
            if step.status.startswith("optimal"):
                ex = cvx_fbr.exact_worst_case_rates(P[0], P[1], step.W, thc, P[2], float(P[3]), float(P[4]))
                assert np.all(step.guaranteed <= ex + 1e-3)

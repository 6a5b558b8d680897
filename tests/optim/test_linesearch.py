"""optim.transforms.scale_by_armijo_backtracking: no evaluations are spent below the loss's float resolution."""
import jax
import jax.numpy as jnp
import optax

from irsjax.phases import from_angles
from optim import transforms


# gradient ~1e-5 at loss -64 (float32): near the optimum, within the loss's float resolution
_NEAR_OPTIMUM = 0.3 + 1e-6 * jnp.sin(jnp.arange(8.0, dtype=jnp.float32))


def _loss(theta):  # -|sum v|^2, minimum -K^2 at equal angles
    return -jnp.abs(jnp.sum(from_angles(theta))) ** 2


def _search(theta, max_backtracks=30):
    tx = optax.chain(transforms.scale_by_angle_bfgs(), transforms.newton_linesearch(max_backtracks=max_backtracks))
    state = tx.init(theta)
    value, grad = jax.value_and_grad(_loss)(theta)
    upd, state = tx.update(grad, state, theta, value=value, grad=grad, value_fn=_loss)
    return upd, state[1]


def test_converged_point_spends_no_backtracks_and_does_not_move():
    # gradient ~1e-5: the first-order decrease of any trial (~1e-10) is below eps * |loss| = 64 eps ~ 8e-6,
    # so the search stops before evaluating a trial (without that stop it evaluated trials at rounding level)
    upd, ls = _search(_NEAR_OPTIMUM)
    assert int(ls.num_evals) == 0
    assert not bool(ls.accepted)
    assert float(jnp.max(jnp.abs(upd))) == 0.0


def test_far_point_still_accepts_a_decrease():
    theta = jnp.linspace(0.0, 2.0, 8, dtype=jnp.float32)
    upd, ls = _search(theta)
    assert bool(ls.accepted) and int(ls.num_evals) >= 1
    assert float(_loss(theta + upd)) < float(_loss(theta))


def test_converged_point_gradient_is_not_zero():  # guards the test above against a vacuous (zero-gradient) input
    assert float(jnp.max(jnp.abs(jax.grad(_loss)(_NEAR_OPTIMUM)))) > 0


def test_infinite_current_loss_still_takes_a_finite_step():
    tx = transforms.newton_linesearch()
    theta = jnp.linspace(0.0, 2.0, 8, dtype=jnp.float32)
    grad = jax.grad(_loss)(theta)
    upd, st = tx.update(-grad, tx.init(theta), theta, value=jnp.inf, grad=grad, value_fn=_loss)
    assert bool(st.accepted) and bool(jnp.isfinite(st.value))

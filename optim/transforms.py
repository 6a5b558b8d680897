"""Search directions and an Armijo line search for manifold optimisation, as optax transforms.

All transforms follow optax's *minimisation* convention (``updates`` is a
descent direction of a loss; :func:`optim.maximize_phases` minimises
``-f``) and work on real coordinates of an :mod:`optim.manifold` manifold
(angles for :class:`~optim.manifold.UnitModulus`). They are
``optax.GradientTransformationExtraArgs`` with typed ``NamedTuple`` states,
so they compose with ``optax.chain`` -- a direction first, then a step-size
rule, e.g. optax's own ``optax.scale_by_backtracking_linesearch`` or
:func:`scale_by_armijo_backtracking` (which never accepts an increase of the
loss and caps the largest coordinate move). ``update`` takes the extra keyword
arguments ``value``, ``grad`` and ``value_fn`` (the loss of the coordinates)
like optax's line searches.

* :func:`scale_by_riemannian_cg` -- Polak-Ribiere+ conjugate gradient with vector transport;
* :func:`scale_by_barzilai_borwein` -- gradient scaled by the Barzilai-Borwein step;
* :func:`scale_by_angle_bfgs` -- dense BFGS in flat coordinates (angles);
* :func:`scale_by_angle_newton` -- saddle-free Newton (``|eigenvalues|`` of the Hessian), flat coordinates;
* :func:`scale_by_angle_newton_cg` -- truncated (matrix-free) Newton, flat coordinates;
* :func:`scale_by_phase_alignment` -- rotate every phase onto its gradient field (generalised power method);
* :func:`scale_by_armijo_backtracking` -- monotone Armijo backtracking.

>>> import jax, jax.numpy as jnp, optax
>>> from optim import transforms
>>> from irsjax.phases import from_angles
>>> loss = lambda th: -jnp.abs(jnp.sum(from_angles(th))) ** 2      # -|sum v|^2, minimum -9
>>> tx = optax.chain(transforms.scale_by_angle_bfgs(), transforms.scale_by_armijo_backtracking())
>>> th = jnp.array([0.0, 1.0, 2.0]); st = tx.init(th)
>>> for _ in range(20):
...     val, g = jax.value_and_grad(loss)(th)
...     upd, st = tx.update(g, st, th, value=val, grad=g, value_fn=loss)
...     th = th + upd
>>> round(float(loss(th)), 4)
-9.0
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from optim.manifold import UnitModulus

_CIRCLE = UnitModulus()


def _zeros_like(tree):
    return jax.tree_util.tree_map(jnp.zeros_like, tree)


def _scale(c, tree):
    return jax.tree_util.tree_map(lambda x: (c * x).astype(x.dtype), tree)


def _add(a, b):
    return jax.tree_util.tree_map(jnp.add, a, b)


def _where(c, a, b):
    return jax.tree_util.tree_map(lambda x, y: jnp.where(c, x, y), a, b)


def _max_abs(tree):
    return jnp.max(jnp.stack([jnp.max(jnp.abs(x)) for x in jax.tree_util.tree_leaves(tree)]))


def _moved(params, prev):
    return jnp.any(jnp.stack([jnp.any(a != b) for a, b in zip(jax.tree_util.tree_leaves(params),
                                                              jax.tree_util.tree_leaves(prev))]))


def _require_flat(manifold, name):
    if not getattr(manifold, "flat", False):
        raise ValueError(f"{name} needs a flat manifold (angle coordinates), got {type(manifold).__name__}")


# ----------------------------------------------------------------------------- Riemannian CG
class RiemannianCGState(NamedTuple):
    """Previous (tangent) gradient and direction, the coordinates they belong to, and the step count."""

    prev_grad: optax.Updates
    prev_direction: optax.Updates
    prev_params: optax.Params
    count: jax.Array


def scale_by_riemannian_cg(manifold=_CIRCLE) -> optax.GradientTransformationExtraArgs:
    """Polak-Ribiere+ conjugate gradient on ``manifold`` (vector transport: ``manifold.transport``).

    Restarts from the negative gradient on a non-descent direction and after a step that did not move.
    """

    def init(params):
        z = _zeros_like(params)
        return RiemannianCGState(z, z, params, jnp.zeros((), jnp.int32))

    def update(grads, state, params, **extra_args):
        del extra_args
        inner = lambda a, b: manifold.inner(params, a, b)  # noqa: E731
        g = manifold.to_tangent(params, grads)
        g_old = manifold.transport(params, state.prev_grad)
        d_old = manifold.transport(params, state.prev_direction)
        gg_old = inner(state.prev_grad, state.prev_grad)
        beta = inner(g, jax.tree_util.tree_map(jnp.subtract, g, g_old)) / jnp.where(gg_old > 0, gg_old, 1.0)
        ok = (state.count > 0) & (gg_old > 0) & jnp.isfinite(beta) & _moved(params, state.prev_params)
        beta = jnp.where(ok, jnp.maximum(beta, 0.0), 0.0)
        d = _add(_scale(-1.0, g), _scale(beta, d_old))
        d = _where(inner(g, d) < 0, d, _scale(-1.0, g))
        return d, RiemannianCGState(g, d, params, state.count + 1)

    return optax.GradientTransformationExtraArgs(init, update)


# ----------------------------------------------------------------------------- Barzilai-Borwein
class BarzilaiBorweinState(NamedTuple):
    """Previous coordinates and (tangent) gradient, and the step count."""

    prev_params: optax.Params
    prev_grad: optax.Updates
    count: jax.Array


def scale_by_barzilai_borwein(manifold=_CIRCLE) -> optax.GradientTransformationExtraArgs:
    """Negative gradient scaled by the Barzilai-Borwein step ``|s.s / s.y|`` (unscaled at the first step).

    ``s`` is the coordinate change and ``y`` the transported gradient change; chain it with a line search.
    """

    def init(params):
        return BarzilaiBorweinState(params, _zeros_like(params), jnp.zeros((), jnp.int32))

    def update(grads, state, params, **extra_args):
        del extra_args
        inner = lambda a, b: manifold.inner(params, a, b)  # noqa: E731
        g = manifold.to_tangent(params, grads)
        s = manifold.to_tangent(params, jax.tree_util.tree_map(jnp.subtract, params, state.prev_params))
        y = jax.tree_util.tree_map(jnp.subtract, g, manifold.transport(params, state.prev_grad))
        ss, sy = inner(s, s), inner(s, y)
        alpha = ss / jnp.where(sy != 0, jnp.abs(sy), 1.0)
        use = (state.count > 0) & (sy != 0) & (ss > 0) & jnp.isfinite(alpha)
        alpha = jnp.where(use, alpha, 1.0)
        return _scale(-alpha, g), BarzilaiBorweinState(params, g, state.count + 1)

    return optax.GradientTransformationExtraArgs(init, update)


# ----------------------------------------------------------------------------- BFGS in angles
def _bfgs_inverse_update(inv_hessian, fresh, s, y):
    """One BFGS update of the inverse Hessian for the step ``s`` and gradient change ``y``: ``(H, fresh)``.

    A fresh state is first scaled to ``(s.y / y.y) I``; a step with no curvature (``s.y <= 0``) keeps ``H``,
    and no move at all resets it to ``I``."""
    eye = jnp.eye(s.shape[0], dtype=s.dtype)
    sy, yy = jnp.dot(s, y), jnp.dot(y, y)
    moved = jnp.any(s != 0)
    good = moved & (sy > 1e-12 * jnp.sqrt(jnp.dot(s, s) * yy)) & (sy > 0)
    H0 = jnp.where(fresh, (sy / jnp.where(good, yy, 1.0)) * eye, inv_hessian)
    rho = 1.0 / jnp.where(good, sy, 1.0)
    Hy = H0 @ y
    upd = H0 + (rho * rho * jnp.dot(y, Hy) + rho) * jnp.outer(s, s) - rho * (jnp.outer(Hy, s) + jnp.outer(s, Hy))
    H = jnp.where(good, upd, jnp.where(moved, inv_hessian, eye))
    return H, jnp.where(good, False, jnp.where(moved, fresh, True))


class AngleBFGSState(NamedTuple):
    """Dense inverse-Hessian estimate (flattened coordinates), previous coordinates and gradient, and whether the
    estimate is the (unscaled) identity."""

    inv_hessian: jax.Array
    prev_params: optax.Params
    prev_grad: optax.Updates
    fresh: jax.Array


def scale_by_angle_bfgs(manifold=_CIRCLE) -> optax.GradientTransformationExtraArgs:
    """BFGS direction ``-H g`` in flat coordinates (the angles of the torus: no vector transport needed).

    The pair ``(s, y)`` of the last step updates ``H`` when ``s.y > 0``; a step that did not move, or a
    non-descent direction, resets ``H`` to the identity (a gradient step, scaled by the line search).
    """
    _require_flat(manifold, "scale_by_angle_bfgs")

    def init(params):
        flat, _ = ravel_pytree(params)
        n = flat.shape[0]
        return AngleBFGSState(jnp.eye(n, dtype=flat.dtype), params, _zeros_like(params), jnp.asarray(True))

    def update(grads, state, params, **extra_args):
        del extra_args
        g, unravel = ravel_pytree(grads)
        p, _ = ravel_pytree(params)
        p_old, _ = ravel_pytree(state.prev_params)
        g_old, _ = ravel_pytree(state.prev_grad)
        eye = jnp.eye(g.shape[0], dtype=g.dtype)
        H, fresh = _bfgs_inverse_update(state.inv_hessian, state.fresh, p - p_old, g - g_old)
        d = -(H @ g)
        descent = jnp.isfinite(jnp.dot(d, g)) & (jnp.dot(d, g) < 0)
        d = jnp.where(descent, d, -g)
        H = jnp.where(descent, H, eye)
        fresh = fresh | ~descent
        return unravel(d), AngleBFGSState(H, params, grads, fresh)

    return optax.GradientTransformationExtraArgs(init, update)


# ----------------------------------------------------------------------------- saddle-free Newton
class AngleNewtonState(NamedTuple):
    """Step count (the Newton direction needs no memory)."""

    count: jax.Array


def scale_by_angle_newton(manifold=_CIRCLE, *, solver: str = "eigh", eigenvalue_floor: float = 1e-10
                          ) -> optax.GradientTransformationExtraArgs:
    """Newton direction from the dense Hessian of ``value_fn`` (``jax.hessian``: ``n`` Hessian-vector products,
    vectorised), in flat coordinates.

    ``solver="eigh"``: saddle-free Newton ``-U |L|^-1 U^T g`` (absolute eigenvalues, those below
    ``eigenvalue_floor`` times the largest raised to it) -- a descent direction at saddles and near maxima of
    the loss, the Newton step near a non-degenerate minimum. ``solver="cholesky"``: the plain Newton step by
    a Cholesky solve (several times cheaper than ``eigh``), for refinement near a minimum; where the Hessian is
    not positive definite it falls back to ``-g`` (the line search scales it). Needs the ``value_fn`` extra
    argument. Quadratic convergence near a non-degenerate minimum.
    """
    _require_flat(manifold, "scale_by_angle_newton")
    if solver not in ("eigh", "cholesky"):
        raise ValueError(f"solver must be 'eigh' or 'cholesky', got {solver!r}")

    def init(params):
        del params
        return AngleNewtonState(jnp.zeros((), jnp.int32))

    def update(grads, state, params, *, value_fn, **extra_args):
        del extra_args
        g, unravel = ravel_pytree(grads)
        p, _ = ravel_pytree(params)
        H = jax.hessian(lambda q: value_fn(unravel(q)))(p)
        H = (H + H.T) / 2
        if solver == "eigh":
            w, U = jnp.linalg.eigh(H)
            a = jnp.abs(w)
            a = jnp.maximum(a, eigenvalue_floor * jnp.maximum(jnp.max(a), jnp.finfo(a.dtype).tiny))
            d = -(U @ ((U.T @ g) / a))
        else:
            L = jnp.linalg.cholesky(H)
            d = -jax.scipy.linalg.cho_solve((L, True), g)
        ok = jnp.all(jnp.isfinite(d)) & (jnp.dot(d, g) < 0)
        return unravel(jnp.where(ok, d, -g)), AngleNewtonState(state.count + 1)

    return optax.GradientTransformationExtraArgs(init, update)


# ----------------------------------------------------------------------------- Newton-CG (matrix-free)
class NewtonCGState(NamedTuple):
    """Step count and conjugate-gradient iterations used by the last direction."""

    count: jax.Array
    cg_iters: jax.Array


def scale_by_angle_newton_cg(manifold=_CIRCLE, *, max_cg: int = 20,
                             rtol: float = 0.1) -> optax.GradientTransformationExtraArgs:
    """Truncated Newton direction: conjugate gradients on ``H d = -g`` with Hessian-vector products of ``value_fn``.

    Matrix-free (``jax.jvp`` of ``jax.grad``: each product costs a few loss evaluations), so it scales to large
    ``K``. CG stops at relative residual ``min(rtol, sqrt|g|)`` (superlinear convergence), after ``max_cg``
    iterations, or on negative curvature (then the iterate so far, or ``-g`` at the first iteration). With the
    extra argument ``radial_grad`` (the loss gradient with respect to log-amplitudes, passed by
    :func:`optim.phases.ascend` on :class:`~optim.manifold.UnitModulus`) CG is preconditioned by its absolute
    value -- the multiplier term of the Hessian of a phase problem, which dominates its diagonal.
    """
    _require_flat(manifold, "scale_by_angle_newton_cg")

    def init(params):
        del params
        return NewtonCGState(jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))

    def update(grads, state, params, *, value_fn, radial_grad=None, **extra_args):
        del extra_args
        g, unravel = ravel_pytree(grads)
        p, _ = ravel_pytree(params)
        rd = g.dtype
        loss_flat = lambda q: value_fn(unravel(q))  # noqa: E731
        grad_flat = jax.grad(loss_flat)
        hvp = lambda u: jax.jvp(grad_flat, (p,), (u,))[1]  # noqa: E731
        if radial_grad is None:
            prec = jnp.ones_like(g)
        else:
            y, _ = ravel_pytree(radial_grad)
            a = jnp.abs(y)
            prec = 1.0 / jnp.maximum(a, 1e-3 * jnp.maximum(jnp.mean(a), jnp.finfo(rd).tiny))
        gnorm = jnp.sqrt(jnp.dot(g, g))
        tol = jnp.minimum(jnp.asarray(rtol, rd), jnp.sqrt(gnorm)) * gnorm

        def cond(c):
            j, d, r, z, q, done = c
            return (~done) & (j < max_cg)

        def body(c):
            j, d, r, z, q, _ = c
            Hq = hvp(q)
            qHq = jnp.dot(q, Hq)
            neg = ~(qHq > 0)
            rz = jnp.dot(r, z)
            alpha = rz / jnp.where(neg, 1.0, qHq)
            d_new = d + alpha * q
            r_new = r + alpha * Hq
            z_new = prec * r_new
            beta = jnp.dot(r_new, z_new) / jnp.where(rz != 0, rz, 1.0)
            q_new = -z_new + beta * q
            d_out = jnp.where(neg, jnp.where(j == 0, -prec * g, d), d_new)
            stop = neg | (jnp.sqrt(jnp.dot(r_new, r_new)) <= tol)
            return (j + 1, d_out, jnp.where(neg, r, r_new), jnp.where(neg, z, z_new), jnp.where(neg, q, q_new), stop)

        z0 = prec * g
        c0 = (jnp.zeros((), jnp.int32), jnp.zeros_like(g), g, z0, -z0, gnorm == 0)
        j, d, _, _, _, _ = jax.lax.while_loop(cond, body, c0)
        ok = jnp.all(jnp.isfinite(d)) & (jnp.dot(d, g) < 0)
        return unravel(jnp.where(ok, d, -g)), NewtonCGState(state.count + 1, j)

    return optax.GradientTransformationExtraArgs(init, update)


# ----------------------------------------------------------------------------- phase alignment
class PhaseAlignmentState(NamedTuple):
    """Step count."""

    count: jax.Array


def scale_by_phase_alignment() -> optax.GradientTransformationExtraArgs:
    """Rotate every phase onto its gradient field: ``d_i = atan2(-g_i, -y_i)`` (``y``: the ``radial_grad`` extra
    argument, the loss gradient with respect to log-amplitudes).

    For ``f = v^H C v`` the unit step is the generalised power iteration ``v <- exp(j arg(C v))``; for any
    objective it moves each phase to the maximiser of its first-order model ``Re(conj(v_i) grad_i)`` (a whole
    turn when a phase points away from its field), which makes it a good global first stage. Without
    ``radial_grad`` it falls back to ``-g``. Chain with a line search that starts at the unit step.
    """

    def init(params):
        del params
        return PhaseAlignmentState(jnp.zeros((), jnp.int32))

    def update(grads, state, params, *, radial_grad=None, **extra_args):
        del params, extra_args
        if radial_grad is None:
            return jax.tree_util.tree_map(jnp.negative, grads), PhaseAlignmentState(state.count + 1)
        d = jax.tree_util.tree_map(lambda g, y: jnp.arctan2(-g, -y), grads, radial_grad)
        return d, PhaseAlignmentState(state.count + 1)

    return optax.GradientTransformationExtraArgs(init, update)


# ----------------------------------------------------------------------------- max-min (minimax SQP)
class MinimaxSQPState(NamedTuple):
    """Inverse Hessian estimate of the Lagrangian (flattened coordinates; BFGS), previous coordinates, component
    Jacobian and multipliers, and whether the estimate is the unscaled identity."""

    inv_hessian: jax.Array
    prev_params: optax.Params
    prev_jacobian: jax.Array
    multipliers: jax.Array
    fresh: jax.Array


_EXACT_QP_MAX = 5  # simplex_qp enumerates the 2^m - 1 faces up to this m (31 solves of 6 x 6 systems)


def _simplex_qp_faces(Q, c):
    """Exact minimiser over the simplex: the stationary point of every face (a KKT system with the face's
    components free, the others zero), the feasible one of least objective. The minimiser is the stationary
    point of the face whose relative interior holds it, and every feasible stationary point is a feasible
    value, so the least one is the minimum. ``Q`` is regularised by ``sqrt(eps) * max diag`` (faces on which it
    is singular)."""
    m = c.shape[0]
    rd = c.dtype
    faces = np.array([[(i >> k) & 1 for k in range(m)] for i in range(1, 2 ** m)], dtype=bool)  # (F, m)
    eye = jnp.eye(m, dtype=rd)
    Qr = Q + jnp.sqrt(jnp.finfo(rd).eps) * jnp.maximum(jnp.max(jnp.abs(jnp.diag(Q))), jnp.finfo(rd).tiny) * eye
    free = jnp.asarray(faces)
    # rows of a free component: (Q mu)_i - lam = -c_i; of a fixed one: mu_i = 0; last row: sum mu = 1
    top = jnp.where(free[:, :, None], Qr[None], eye[None])  # (F, m, m)
    lam_col = jnp.where(free, -1.0, 0.0).astype(rd)[:, :, None]
    A = jnp.concatenate([jnp.concatenate([top, lam_col], axis=2),
                         jnp.broadcast_to(jnp.concatenate([jnp.ones((m,), rd), jnp.zeros((1,), rd)]),
                                          (faces.shape[0], 1, m + 1))], axis=1)
    b = jnp.concatenate([jnp.where(free, -c[None, :], 0.0), jnp.ones((faces.shape[0], 1), rd)], axis=1)
    mu = jnp.linalg.solve(A, b[..., None])[..., :m, 0]  # (F, m)
    ok = jnp.all(jnp.isfinite(mu), axis=1) & jnp.all(mu >= -jnp.sqrt(jnp.finfo(rd).eps), axis=1)
    mu = jnp.where(ok[:, None], jnp.maximum(mu, 0.0), 0.0)
    mu = mu / jnp.where(ok, jnp.sum(mu, axis=1), 1.0)[:, None]
    obj = 0.5 * jnp.einsum("fi,ij,fj->f", mu, Q, mu) + mu @ c
    best = jnp.argmin(jnp.where(ok, obj, jnp.inf))
    return mu[best]


def simplex_qp(Q, c, num_iters: int = 200, *, exact: bool | None = None):
    """``argmin_{mu >= 0, sum mu = 1} mu^T Q mu / 2 + c^T mu`` (``Q`` PSD, ``m x m``, ``m`` small).

    ``exact`` (default for ``m <= 5``): the least stationary point of the simplex's ``2^m - 1`` faces, one batch
    of small linear solves; else ``num_iters`` steps of accelerated projected gradient from the vertex of the
    smallest ``c`` (52 us a call at ``m = 3`` on one CPU core, against a few us exact)."""
    m = c.shape[0]
    if exact is None:
        exact = m <= _EXACT_QP_MAX
    if exact:
        return _simplex_qp_faces(Q, c)
    # (with Q = 0 a step of 1/tiny overflowed to a non-finite iterate and returned mu = 0, off the simplex)
    step = 1.0 / jnp.maximum(jnp.linalg.norm(Q), jnp.finfo(Q.dtype).eps * (1.0 + jnp.max(jnp.abs(c))))

    def proj(u):
        srt = jnp.sort(u)[::-1]
        css = jnp.cumsum(srt) - 1.0
        k = jnp.arange(1, m + 1).astype(u.dtype)
        rho = jnp.max(jnp.where(srt - css / k > 0, jnp.arange(m), 0))
        return jnp.maximum(u - css[rho] / (rho + 1).astype(u.dtype), 0.0)

    mu0 = jax.nn.one_hot(jnp.argmin(c), m, dtype=c.dtype)

    def body(i, carry):
        mu, z, tk = carry
        mu_new = proj(z - step * (Q @ z + c))
        t_new = (1.0 + jnp.sqrt(1.0 + 4.0 * tk * tk)) / 2.0
        z_new = mu_new + ((tk - 1.0) / t_new) * (mu_new - mu)
        return mu_new, z_new, t_new

    mu, _, _ = jax.lax.fori_loop(0, num_iters, body, (mu0, mu0, jnp.ones((), c.dtype)))
    return mu


def scale_by_minimax_sqp(num_components: int, manifold=_CIRCLE, *, hessian: str = "bfgs",
                         eigenvalue_floor: float = 1e-10) -> optax.GradientTransformationExtraArgs:
    """Max-min direction (sequential quadratic programming) for a vector objective ``f(v) -> (m,)``.

    Maximises the model ``min_k (f_k + g_k d) - d^T B d / 2``: ``d = B^-1 J^T mu`` with multipliers ``mu``
    on the simplex from a small QP (:func:`simplex_qp`), so ``min_k f_k`` increases along ``d`` also at kinks,
    where the gradient of the minimum alone stalls. ``hessian="bfgs"``: ``B`` is a BFGS estimate of the
    Lagrangian Hessian; ``"newton"``: ``|Hessian|`` of ``sum_k mu_k f_k`` (multipliers of the previous step),
    dense. Needs the extra arguments ``component_values`` (``f``, ``(m,)``), ``component_jacobian`` (``J``,
    ``(m, n)`` in the flattened coordinates) and, for ``"newton"``, ``components_fn`` (coordinates -> ``f``).
    Returns the loss-convention update (the loss is ``-min_k f_k``, so the update is ``d``).
    """
    _require_flat(manifold, "scale_by_minimax_sqp")
    if hessian not in ("bfgs", "newton"):
        raise ValueError(f"hessian must be 'bfgs' or 'newton', got {hessian!r}")
    m = int(num_components)

    def init(params):
        flat, _ = ravel_pytree(params)
        n = flat.shape[0]
        return MinimaxSQPState(jnp.eye(n, dtype=flat.dtype), params, jnp.zeros((m, n), flat.dtype),
                               jnp.zeros((m,), flat.dtype), jnp.asarray(True))

    def update(grads, state, params, *, component_values, component_jacobian, components_fn=None, **extra_args):
        del extra_args
        g, unravel = ravel_pytree(grads)
        p, _ = ravel_pytree(params)
        fk = jnp.asarray(component_values).reshape(m)
        J = jnp.asarray(component_jacobian).reshape(m, -1)
        n = J.shape[1]
        eye = jnp.eye(n, dtype=g.dtype)
        if hessian == "bfgs":
            p_old, _ = ravel_pytree(state.prev_params)
            s = p - p_old
            y = -((J - state.prev_jacobian).T @ state.multipliers)  # change of the gradient of -sum mu_k f_k
            H, fresh = _bfgs_inverse_update(state.inv_hessian, state.fresh, s, y)
        else:
            first = jax.nn.one_hot(jnp.argmin(fk), m, dtype=g.dtype)
            mu_h = jnp.where(jnp.sum(state.multipliers) > 0, state.multipliers, first)
            Hl = jax.hessian(lambda q: -jnp.dot(mu_h, jnp.asarray(components_fn(unravel(q))).reshape(m)))(p)
            w, U = jnp.linalg.eigh((Hl + Hl.T) / 2)
            a = jnp.abs(w)
            a = jnp.maximum(a, eigenvalue_floor * jnp.maximum(jnp.max(a), jnp.finfo(a.dtype).tiny))
            H = (U / a[None, :]) @ U.T
            fresh = jnp.asarray(False)
        Q = J @ H @ J.T
        mu = simplex_qp((Q + Q.T) / 2, fk - jnp.min(fk))
        d = H @ (J.T @ mu)  # ascent direction of min_k f_k
        ok = jnp.all(jnp.isfinite(d)) & (jnp.dot(d, g) < 0)
        d = jnp.where(ok, d, -g)
        H = jnp.where(ok, H, eye)
        return unravel(d), MinimaxSQPState(H, params, J, jnp.where(ok, mu, 0.0), fresh | ~ok)

    return optax.GradientTransformationExtraArgs(init, update)


# ----------------------------------------------------------------------------- line search
class ArmijoState(NamedTuple):
    """Accepted step scale (start of the next search), loss after the step, whether a step was accepted and the
    number of loss evaluations."""

    learning_rate: jax.Array
    value: jax.Array
    accepted: jax.Array
    num_evals: jax.Array


def scale_by_armijo_backtracking(*, max_backtracks: int = 30, slope_rtol: float = 1e-4, decrease_factor: float = 0.5,
                                 increase_factor: float = 2.0, max_learning_rate: float = float("inf"),
                                 max_step: float = jnp.pi / 2, interpolate: bool = False,
                                 min_decrease_factor: float = 0.1) -> optax.GradientTransformationExtraArgs:
    """Monotone Armijo backtracking: scale ``updates`` by the first ``t`` with
    ``value_fn(params + t u) <= value + slope_rtol t <u, grad>`` and a strict decrease.

    The first trial is ``min(increase_factor * previous t, max_learning_rate, max_step / max|u|)`` (the largest
    coordinate moves at most ``max_step``; the first call starts at that cap). After a rejected trial ``t`` the
    next is the minimiser of the quadratic through the loss, its slope at 0 and its value at ``t``, kept in
    ``[min_decrease_factor t, decrease_factor t]`` with ``interpolate`` (:func:`newton_linesearch`'s default: a
    rejected unit step usually needs one more trial, where halving needs several -- and under ``vmap`` the
    slowest lane sets the pace); ``decrease_factor t`` without it or after a non-finite value. When no trial is
    accepted, or ``u`` is not a descent direction, the update is zero; trials whose first-order decrease
    ``t |slope|`` is below ``eps |value|`` (the loss's float resolution) are not evaluated. Newton-type directions:
    ``max_learning_rate=1``, ``increase_factor=inf`` (every search starts at the unit step).
    """

    def init(params):
        leaves = jax.tree_util.tree_leaves(params)
        rd = jnp.real(leaves[0]).dtype
        return ArmijoState(jnp.asarray(jnp.inf, rd), jnp.asarray(jnp.inf, rd), jnp.asarray(False),
                           jnp.zeros((), jnp.int32))

    def update(updates, state, params, *, value, grad, value_fn, **extra_args):
        del extra_args
        rd = state.learning_rate.dtype
        value = jnp.asarray(value, rd)
        leaves_u = jax.tree_util.tree_leaves(updates)
        leaves_g = jax.tree_util.tree_leaves(grad)
        slope = sum(jnp.sum(jnp.real(jnp.conj(u) * g)) for u, g in zip(leaves_u, leaves_g))
        umax = _max_abs(updates)
        usable = (umax > 0) & (slope < 0) & jnp.isfinite(slope)
        cap = jnp.asarray(max_step, rd) / jnp.where(umax > 0, umax, 1.0)
        t0 = jnp.minimum(jnp.minimum(state.learning_rate * jnp.asarray(increase_factor, rd),
                                     jnp.asarray(max_learning_rate, rd)), cap)

        # a trial whose first-order decrease t |slope| is below the resolution of the loss cannot show a real
        # decrease (only rounding noise): stop there instead of running out the backtracks at a converged point
        resolution = jnp.where(jnp.isfinite(value), jnp.finfo(rd).eps * jnp.abs(value), 0.0)

        def cond(c):  # t: the next trial (the accepted one once acc)
            k, t, acc, _ = c
            return (~acc) & (k < max_backtracks) & (t * -slope > resolution)

        def body(c):
            k, t, _, _ = c
            new = jnp.asarray(value_fn(_add(params, _scale(t, updates))), rd)
            acc = jnp.isfinite(new) & (new < value) & (new <= value + jnp.asarray(slope_rtol, rd) * t * slope)
            shorter = t * jnp.asarray(decrease_factor, rd)
            if interpolate:  # minimiser of q(s) = value + slope s + c s^2 through q(t) = new: c > 0 when rejected
                excess = new - value - slope * t
                curved = jnp.isfinite(new) & (excess > 0)
                t_q = -slope * t * t / jnp.where(curved, 2 * excess, 1.0)
                shorter = jnp.where(curved, jnp.clip(t_q, t * jnp.asarray(min_decrease_factor, rd), shorter), shorter)
            return k + 1, jnp.where(acc, t, shorter), acc, new

        k, t, acc, new = jax.lax.while_loop(cond, body, (jnp.zeros((), jnp.int32), t0, ~usable, value))
        acc = acc & usable
        t_out = jnp.where(acc, t, jnp.zeros((), rd))
        lr = jnp.where(acc, t, state.learning_rate)
        return _scale(t_out, updates), ArmijoState(lr, jnp.where(acc, new, value), acc, state.num_evals + k)

    return optax.GradientTransformationExtraArgs(init, update)


def newton_linesearch(**kw) -> optax.GradientTransformationExtraArgs:
    """:func:`scale_by_armijo_backtracking` that starts every search at the unit (quasi-)Newton step and
    backtracks by quadratic interpolation (``interpolate=True``)."""
    return scale_by_armijo_backtracking(**{"max_learning_rate": 1.0, "increase_factor": float("inf"),
                                           "interpolate": True, **kw})


__all__ = ["RiemannianCGState", "scale_by_riemannian_cg", "BarzilaiBorweinState", "scale_by_barzilai_borwein",
           "AngleBFGSState", "scale_by_angle_bfgs", "AngleNewtonState", "scale_by_angle_newton", "NewtonCGState",
           "scale_by_angle_newton_cg", "PhaseAlignmentState", "scale_by_phase_alignment", "MinimaxSQPState",
           "simplex_qp", "scale_by_minimax_sqp", "ArmijoState",
           "scale_by_armijo_backtracking", "newton_linesearch"]

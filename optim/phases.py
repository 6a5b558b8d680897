"""Unit-modulus phase design: :func:`maximize_phases`.

Maximises any JAX-traceable real objective ``f(v, *args)`` of a complex array
``v`` with ``|v_i| = 1`` (one IRS: shape ``(K,)``; several: any shape). On
held-out families of the IRS quadratic and ratio problems (secrecy rate,
received power, max-min) the default, on seed 83117 (``bench/RESULTS_sdr.md``,
K = 16 and 32 against cvxpy), reaches >= 0.99993 of the SDR optimum on all 171
instances where the relaxation is tight (all but one >= 0.9999999; one
wiretap-iid K = 16 instance ends in a local maximum) and matches or beats SDR +
randomisation on the 85 where it is loose, 1079-2965x faster than cvxpy at K = 32.
Earlier defaults failed a criterion on some fresh seeds: on seed 71993 one tight
wiretap-rician K = 16 instance ended at 0.987 (before the refined starts were
made distinct, ``distinct_similarity``), on seed 64109 one loose
quadratic-indefinite K = 32 instance 0.83 % below SDR + randomisation, on seed
40427 one tight max-min-over-users K = 16 instance at 0.989 (before max-min
objectives got 16 starts); ``bench/RESULTS.md`` lists them all.
:func:`optim.certify` tells which solutions are globally optimal. It is a thin, pure loop over composable parts:

* a manifold (:class:`optim.manifold.UnitModulus`: angle coordinates);
* optax transforms (:mod:`optim.transforms`): a search direction chained with
  a line search, minimising ``-f``;
* the pipeline: ``num_restarts`` random starts and one deterministic start
  from the objective's Taylor model at ``v = 0`` (:mod:`optim.starts`: the
  phases of the gradient there, co-phasing with direct links; else of the
  Hessian's leading eigenvector) run ``screen_iters`` iterations with
  ``direction`` (default BFGS), vmapped (in single precision for a
  double-precision problem: the screening only ranks the starts); the ``num_refine`` best random ones
  that are not near copies of a better chosen one (``distinct_similarity``) and the Taylor one are
  refined to ``tol`` with ``refine_direction``; the best
  continues with ``finish_direction`` (Newton-CG), is polished by exact one-phase-at-a-time
  maximisation (:func:`optim.polish.coordinate_sweeps`) and refined again.

Directions by name: ``"newton"`` (saddle-free Newton, dense Hessian,
``O(K^3)`` per step), ``"bfgs"`` (dense BFGS in the angles), ``"cg"``
(Riemannian Polak-Ribiere+), ``"gradient"`` (Barzilai-Borwein scaled gradient;
``bb=False``: plain gradient); or any optax ``GradientTransformationExtraArgs``
(e.g. ``optax.chain(optim.transforms.scale_by_riemannian_cg(),
optax.scale_by_backtracking_linesearch(30))``). ``optimizer=optax.adam(0.05)``
uses a plain optax update rule (no line search; the best iterate is kept).

**Problem data go through** ``args``: ``maximize_phases(f, key, K, args=(h, g))``.
The objective is a static argument of the jit-compiled solver (hashed by
identity), so a fresh closure or ``lambda`` per call -- ``lambda v: f(v, h)``
-- is a new function every time and recompiles every time (seconds per
call); a module-level ``f`` with the data in ``args`` compiles once per shape.

**Max-min:** an objective that returns several values is maximised in their
minimum with max-min SQP directions; return the values, not ``jnp.min`` of
them (a scalar minimum is non-smooth and hides the active components: BFGS
then stalls at kinks, 1-3 % below SDR + randomisation on held-out max-min
instances).

Everything is pure JAX, so it runs inside ``jit``/``vmap`` (e.g. inside a
Monte Carlo per-realisation function, via :func:`solve`);
:func:`maximize_phases_batched` solves over a leading axis of problem data
(vmapped groups of ``batch_size``, 2 on CPU).

>>> import jax, jax.numpy as jnp
>>> from irsjax.phases import from_angles
>>> from optim import maximize_phases
>>> def gain(v, c):                                   # |sum c_i v_i|^2, maximum (sum |c_i|)^2 = 64
...     return jnp.abs(jnp.sum(c * v)) ** 2
>>> c = from_angles(jnp.arange(8.0))
>>> res = maximize_phases(gain, jax.random.key(0), 8, args=(c,))
>>> round(float(res.value), 3), bool(res.converged)
(64.0, True)
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from irsjax.channels import complex_dtype, real_dtype
from optim import manifold as _manifold
from optim import transforms
from optim.polish import coordinate_sweeps
from optim.starts import taylor_starts

METHODS = ("riemannian", "projected", "angles")  # legacy names: all run on the angle chart now
DIRECTIONS = ("newton", "newton-chol", "newton-cg", "bfgs", "align", "cg", "gradient")
_FLAT_ONLY = ("newton", "newton-chol", "newton-cg", "bfgs", "align")


class PhaseResult(NamedTuple):
    """Result of :func:`maximize_phases` (leading batch axis for the batched form).

    ``phases``: best unit-modulus array; ``value``: objective there; ``history``: best objective per
    iteration of the returned restart (screening, refinement, one entry for the finish and one per polish round;
    entries after a stop repeat the last value; a screening run in single precision, see
    ``PhaseOptions.screen_in_float32``, records single-precision values); ``num_iters``: iterations run;
    ``converged``: the refinement stopped on ``tol`` (``False`` when ``max_iters`` was hit); ``restart_values``:
    final value of every restart (the ``num_restarts`` random ones -- by default 8, or 16 for a max-min objective
    -- then the Taylor start's where ``PhaseOptions.taylor_starts`` adds it).
    """

    phases: jax.Array
    value: jax.Array
    history: jax.Array
    num_iters: jax.Array
    converged: jax.Array
    restart_values: jax.Array


def _is_transform(x):
    return isinstance(x, optax.GradientTransformation)


def _check_int(name, v, *, minimum=1, optional=False):
    """``v`` an int (not a bool) of at least ``minimum`` (1: "positive", 0: "non-negative"), or ``None`` if
    ``optional``; else a ``ValueError`` naming ``name``."""
    if optional and v is None:
        return
    if not (isinstance(v, int) and not isinstance(v, bool) and v >= minimum):
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be a {kind} integer{' or None' if optional else ''}, got {v!r}")


@dataclass(frozen=True)
class PhaseOptions:
    """Static options of :func:`maximize_phases` (hashable; validated on construction).

    Pipeline: ``num_restarts`` random starts, plus (``taylor_starts``, default) the deterministic start of
    :func:`optim.starts.taylor_starts` -- the phases of the objective's gradient at ``v = 0`` (with direct links:
    co-phasing), else of the leading eigenvector of its Hessian there -- where the objective is finite at the
    origin (else a further random start); ``screen_iters`` iterations each with ``direction``; the
    ``num_refine`` best random starts, and the Taylor start whatever its screened value (so the result is never
    worse than the random starts' alone), continue with ``refine_direction`` (default ``direction``) for at most
    ``max_iters`` iterations, stopping when the relative improvement stays below ``tol`` for ``patience`` iterations;
    ``polish_rounds`` rounds of exact one-phase coordinate sweeps (``polish_sweeps`` each), each followed by
    another finish where it gained. ``screen_iters=None``: every restart is refined.
    ``distinct_similarity`` (0.95): the refined random starts are taken in order of screened value, skipping
    one whose point ``w`` is a near copy of a start already chosen (the Taylor start included), ``|v^H w| / K >=
    distinct_similarity`` (invariant to a global phase); the best skipped ones fill up when too few are distinct.
    After screening, starts in one basin are that close (0.96-0.98 seen), and refining two of them finds one
    local maximum twice. On the tuning seed (:mod:`optim.families`; 3,136 instances at K = 16, 1,536 at 32, 384
    at 64), without it quadratic-indefinite ended more than 1e-5 below the best of the variants on 5 of 256
    instances at K = 32 (up to 1.25 %), quadratic-indefinite and -psd on 3 of 128 at K = 64 and maxmin-users on 1
    of 512 at K = 16 (0.4 %); with it no instance did. 1 disables it; 0.9 lost 3 instances at K = 16 (up to 1.8 %:
    different basins of a small K can be that close).
    ``num_restarts=None`` / ``num_refine=None`` (defaults): 8 starts and 2 refined for a scalar objective, 16 and
    3 for a vector (max-min) one, whose non-smooth landscape has more local maxima. ``max_iters=None``
    (default): ``min(200, max(64, 4 K))`` refinement iterations for a scalar objective over ``K`` elements, 200
    for a max-min one (at K = 64 a budget of 100 let a lane that was still climbing lose the ranking). The
    finish completes a lane handed over while still climbing; its cap ``finish_iters`` (400) is rarely reached,
    as it stops on ``tol`` and its gradient test (a cap of 100 cut one such finish short near a saddle).
    ``screen_in_float32`` (default): for a problem in double precision the screening stage -- which only ranks
    the starts -- runs in single precision (problem data in ``args`` cast down for that stage; about half the
    cost), and the screened points are re-evaluated in double precision before they are ranked; refinement,
    finish, polish and the returned value stay in double precision. It is skipped where the objective does not
    return single precision from single-precision inputs (or fails to trace with them).
    ``manifold``: :class:`optim.manifold.UnitModulus` (phases) or :class:`optim.manifold.Oblique`
    (Burer-Monteiro factors; first-order directions only).
    """

    num_restarts: int | None = None  # 8 (scalar objective) or 16 (vector: max-min)
    max_iters: int | None = None  # scalar objective: min(200, max(64, 4 K)) for K elements; vector (max-min): 200
    tol: float = 1e-12
    patience: int = 2
    direction: Any = "bfgs"
    screen_iters: int | None = 30
    refine_direction: Any = "bfgs"
    num_refine: int | None = None  # 2 (scalar objective) or 3 (vector: max-min)
    finish_direction: Any = "newton-cg"
    finish_iters: int = 400  # a cap, rarely reached: the finish stops on its tolerance and gradient test
    finish_gtol: float | None = None  # finish stage also needs max |gradient| <= finish_gtol max(1, |f|); None: 1e3 eps
    polish_rounds: int = 1
    polish_sweeps: int = 1
    manifold: Any = field(default_factory=_manifold.UnitModulus)
    optimizer: Any = None  # legacy: a plain optax update rule (no line search)
    step_size: float = 1.0  # line search: largest phase move of the first trial [rad]
    max_backtracks: int = 30
    armijo_c: float = 1e-4
    history_chunk: int = 16  # iterations per scan of a stage's loop (one loop test each); the finish's at most 4
    bb: bool = True  # direction "gradient": Barzilai-Borwein scaling
    taylor_starts: bool = True  # one more restart, always refined: optim.starts (gradient, else spectral, start)
    screen_in_float32: bool = True  # double-precision problems: the screening stage runs in single precision
    distinct_similarity: float = 0.95  # a refined random start differs from better chosen ones: |v^H w| / K below this
    method: str | None = None  # legacy ("riemannian", "projected", "angles", "oblique")

    def __post_init__(self):
        if self.method is not None:
            if self.method not in METHODS + ("oblique",):
                raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
            warnings.warn("PhaseOptions(method=...) is deprecated: phases always run in angle coordinates "
                          "(optim.manifold.UnitModulus); use manifold=optim.manifold.Oblique() instead of "
                          "method='oblique'", DeprecationWarning, stacklevel=3)
            if self.method == "oblique":
                object.__setattr__(self, "manifold", _manifold.Oblique())
            object.__setattr__(self, "method", None)
        for name in ("patience", "history_chunk"):
            _check_int(name, getattr(self, name))
        for name in ("max_iters", "num_restarts", "num_refine"):
            _check_int(name, getattr(self, name), optional=True)
        for name in ("polish_rounds", "polish_sweeps", "finish_iters"):
            _check_int(name, getattr(self, name), minimum=0)
        for name in ("taylor_starts", "screen_in_float32"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if not self.tol >= 0:
            raise ValueError(f"tol must be >= 0, got {self.tol!r}")
        ds = self.distinct_similarity
        if isinstance(ds, bool) or not isinstance(ds, (int, float)) or not 0 < ds <= 1:
            raise ValueError(f"distinct_similarity must be a number in (0, 1], got {ds!r}")
        if self.screen_iters is not None and not (isinstance(self.screen_iters, int) and self.screen_iters >= 1):
            raise ValueError(f"screen_iters must be a positive integer or None, got {self.screen_iters!r}")
        if not self.step_size > 0:
            raise ValueError(f"step_size must be > 0, got {self.step_size!r}")
        flat = getattr(self.manifold, "flat", False)
        # angle-chart defaults and their replacement on other manifolds (first-order / none)
        defaults = {"direction": ("bfgs", "cg"), "refine_direction": ("bfgs", None),
                    "finish_direction": ("newton-cg", None)}
        for name in ("direction", "refine_direction", "finish_direction"):
            d = getattr(self, name)
            if d is None and name != "direction":
                continue
            if _is_transform(d):
                continue
            if d not in DIRECTIONS:
                raise ValueError(f"{name} must be one of {DIRECTIONS} or an optax transform, got {d!r}")
            if d in _FLAT_ONLY and not flat and self.optimizer is None:
                if d == defaults[name][0]:  # default of the angle chart: first-order / none on other manifolds
                    object.__setattr__(self, name, defaults[name][1])
                else:
                    raise ValueError(f"{name}={d!r} needs the UnitModulus manifold (angle coordinates)")
        if self.optimizer is not None and not isinstance(self.optimizer, optax.GradientTransformation):
            raise TypeError("optimizer must be an optax.GradientTransformation or None")


def _shape(num_elements):
    if isinstance(num_elements, int):
        return (num_elements,)
    return tuple(int(s) for s in num_elements)


def shape_of(num_elements):
    """``num_elements`` (an int or a shape) as a shape tuple."""
    return _shape(num_elements)


# ----------------------------------------------------------------------------- parts
def _negative_gradient(manifold):
    def init(params):
        return optax.EmptyState()

    def update(grads, state, params, **extra_args):
        del extra_args
        return jax.tree_util.tree_map(jnp.negative, manifold.to_tangent(params, grads)), state

    return optax.GradientTransformationExtraArgs(init, update)


def direction_transform(name, options: PhaseOptions | None = None, num_components: int | None = None):
    """The optax chain (direction + line search) that a direction name stands for.

    For a vector (max-min) objective with ``num_components`` values, ``"bfgs"`` and ``"newton"``/``"newton-cg"``
    are the max-min SQP directions (:func:`optim.transforms.scale_by_minimax_sqp`).
    """
    o = options if options is not None else PhaseOptions()
    if _is_transform(name):
        return name
    m = o.manifold
    ls = dict(max_backtracks=o.max_backtracks, slope_rtol=o.armijo_c)
    if num_components is not None and name in ("bfgs", "newton", "newton-chol", "newton-cg"):
        hess = "bfgs" if name == "bfgs" else "newton"
        return optax.chain(transforms.scale_by_minimax_sqp(num_components, m, hessian=hess),
                           transforms.newton_linesearch(**ls, max_step=o.step_size if hess == "bfgs" else jnp.pi / 2))
    if name == "newton":
        return optax.chain(transforms.scale_by_angle_newton(m), transforms.newton_linesearch(**ls, max_step=jnp.pi / 2))
    if name == "newton-chol":
        return optax.chain(transforms.scale_by_angle_newton(m, solver="cholesky"),
                           transforms.newton_linesearch(**ls, max_step=jnp.pi / 2))
    if name == "newton-cg":
        return optax.chain(transforms.scale_by_angle_newton_cg(m),
                           transforms.newton_linesearch(**ls, max_step=jnp.pi / 2))
    if name == "align":
        return optax.chain(transforms.scale_by_phase_alignment(), transforms.newton_linesearch(**ls, max_step=jnp.pi))
    if name == "bfgs":
        return optax.chain(transforms.scale_by_angle_bfgs(m), transforms.newton_linesearch(**ls, max_step=o.step_size))
    if name == "cg":
        return optax.chain(transforms.scale_by_riemannian_cg(m),
                           transforms.scale_by_armijo_backtracking(**ls, max_step=o.step_size))
    if name == "gradient":
        if o.bb:
            return optax.chain(transforms.scale_by_barzilai_borwein(m),
                               transforms.newton_linesearch(**ls, max_step=o.step_size))
        return optax.chain(_negative_gradient(m), transforms.scale_by_armijo_backtracking(**ls, max_step=o.step_size))
    raise ValueError(f"unknown direction {name!r}")


def _struct(a):
    """Shape and dtype of an array (or tracer) for :func:`jax.eval_shape`."""
    return jax.ShapeDtypeStruct(jnp.shape(a), jnp.result_type(a))


def num_components(objective, v, args=()):
    """``None`` for a scalar objective, else the number of values it returns (a max-min objective)."""
    out = jax.eval_shape(lambda w, *a: objective(w, *a), _struct(v), *jax.tree_util.tree_map(_struct, tuple(args)))
    if out.shape == ():
        return None
    n = 1
    for d in out.shape:
        n *= int(d)
    return n


class _Loop(NamedTuple):
    i: jax.Array
    params: Any
    loss: jax.Array
    grad: Any
    tx_state: Any
    best_params: Any
    best_loss: jax.Array
    calm: jax.Array
    done: jax.Array


def _where(c, a, b):
    return jax.tree_util.tree_map(lambda x, y: jnp.where(c, x, y), a, b)


def _rel_gain(new, old):
    return (new - old) / jnp.maximum(jnp.abs(old), jnp.finfo(jnp.result_type(old)).tiny ** 0.5)


def ascend(objective, params0, args, tx, manifold, *, max_iters, tol, patience, chunk=16, gtol=None, active=True):
    """Run ``tx`` on the loss ``-objective(manifold.point(params), *args)`` from ``params0``.

    One iteration: ``updates = tx.update(grad, state, params, value=, grad=, value_fn=, radial_grad=)``,
    ``params = manifold.retract(params, updates)``. ``radial_grad`` (the loss gradient with respect to
    log-amplitudes; ``None`` on manifolds without ``point_with_amplitude``) comes from the same backward pass
    as ``grad``; ``value_fn`` accepts and ignores it, so optax's own line searches compose too. Stops when
    the best value's relative improvement stays below ``tol`` for ``patience`` iterations, or after
    ``max_iters``; ``active=False`` (may be traced) runs no iteration. The loop tests for its stop once every
    ``chunk`` iterations (a ``scan`` inside a ``while_loop``: one synchronisation per chunk on a GPU); steps
    after the stop inside a chunk are computed and dropped. Returns ``(best_params, best_value,
    history, num_iters, converged)`` (history: best objective, length ``max_iters + 1``). Pure JAX.
    """
    leaf = jax.tree_util.tree_leaves(params0)[0]
    rd = jnp.real(leaf).dtype
    if not isinstance(tx, optax.GradientTransformationExtraArgs):
        tx = optax.with_extra_args_support(tx)
    m = num_components(objective, manifold.point(params0), args)

    def loss(p, radial_grad=None, component_values=None, component_jacobian=None, components_fn=None):
        del radial_grad, component_values, component_jacobian, components_fn
        f = jnp.asarray(objective(manifold.point(p), *args), rd)
        return -(f if m is None else jnp.min(f))

    if m is not None:  # vector objective: maximise its minimum; components and their Jacobian for max-min steps
        def comp(p):
            return jnp.asarray(objective(manifold.point(p), *args), rd).reshape(m)

        jac = jax.jacrev(comp)

        def vg(p):
            fk = comp(p)
            J = jac(p).reshape(m, -1)
            k = jnp.argmin(fk)
            g = -jax.tree_util.tree_map(lambda x: x, J[k]).reshape(jnp.shape(p))
            return -fk[k], (g, dict(component_values=fk, component_jacobian=J))
    elif hasattr(manifold, "point_with_amplitude"):
        def loss_amp(p, a):
            return -jnp.asarray(objective(manifold.point_with_amplitude(p, a), *args), rd)

        vg2 = jax.value_and_grad(loss_amp, argnums=(0, 1))

        def vg(p):
            lv, (g, y) = vg2(p, jnp.zeros_like(p))
            return lv, (g, dict(radial_grad=y))
    else:
        vg0 = jax.value_and_grad(loss)

        def vg(p):
            lv, g = vg0(p)
            return lv, (g, {})

    l0, g0 = vg(params0)
    st0 = _Loop(jnp.zeros((), jnp.int32), params0, l0, g0, tx.init(params0), params0, l0,
                jnp.zeros((), jnp.int32), ~jnp.asarray(active))
    chunk = max(1, min(chunk, max_iters))
    n_chunks = -(-max_iters // chunk)
    chunk = -(-max_iters // n_chunks)  # balanced: 30 iterations run as 2 x 15, not 2 x 16

    def step(st):
        g, extra = st.grad
        extra = {k: v for k, v in extra.items()}
        if m is not None:
            extra["components_fn"] = comp
        upd, ts = tx.update(g, st.tx_state, st.params, value=st.loss, grad=g, value_fn=loss, **extra)
        p = manifold.retract(st.params, upd)
        lv, g = vg(p)
        better = jnp.isfinite(lv) & (lv < st.best_loss)
        best_p = _where(better, p, st.best_params)
        best_l = jnp.where(better, lv, st.best_loss)
        small = _rel_gain(-best_l, -st.best_loss) < tol
        if gtol is not None:
            gmax = jnp.max(jnp.stack([jnp.max(jnp.abs(x)) for x in jax.tree_util.tree_leaves(g[0])]))
            still = jnp.all(jnp.stack([jnp.all(a == b) for a, b in zip(jax.tree_util.tree_leaves(p),
                                                                      jax.tree_util.tree_leaves(st.params))]))
            small = small & ((gmax <= gtol * jnp.maximum(1.0, jnp.abs(lv))) | still)
        calm = jnp.where(small, st.calm + 1, 0)
        done = (calm >= patience) | ~jnp.isfinite(lv)
        return _Loop(st.i + 1, p, lv, g, ts, best_p, best_l, calm, done)

    def inner(st, _):
        active = (~st.done) & (st.i < max_iters)
        new = step(st)
        st = _where(active, new, st)
        return st, -st.best_loss

    def body(c):
        k, st, hist = c
        st, recs = jax.lax.scan(inner, st, None, length=chunk)
        hist = jax.lax.dynamic_update_slice(hist, recs, (1 + k * chunk,))
        return k + 1, st, hist

    def cond(c):
        k, st, _ = c
        return (k < n_chunks) & ~st.done & (st.i < max_iters)

    hist0 = jnp.zeros((n_chunks * chunk + 1,), rd).at[0].set(-l0)
    _, st, hist = jax.lax.while_loop(cond, body, (jnp.zeros((), jnp.int32), st0, hist0))
    hist = hist[: max_iters + 1]
    idx = jnp.arange(max_iters + 1, dtype=st.i.dtype)
    hist = jnp.where(idx <= st.i, hist, -st.best_loss)
    return st.best_params, -st.best_loss, hist, st.i, st.done


# ----------------------------------------------------------------------------- pipeline
def _standard_promotion(tx):
    """Run a user's plain optax rule under standard dtype promotion (optax's own update rules, e.g. Adam's bias
    correction ``decay ** count``, mix float and int32 and fail under ``jax_numpy_dtype_promotion='strict'``)."""
    def init(params):
        with jax.numpy_dtype_promotion("standard"):
            return tx.init(params)

    def update(updates, state, params=None, **extra):
        del extra
        with jax.numpy_dtype_promotion("standard"):
            return tx.update(updates, state, params)

    return optax.GradientTransformationExtraArgs(init, update)


def _stage_tx(opts, which, num_comp=None):
    if opts.optimizer is not None:
        return _standard_promotion(opts.optimizer)
    if which == "screen":
        name = opts.direction
    elif which == "refine":
        name = opts.refine_direction or opts.direction
    else:
        name = opts.finish_direction or opts.refine_direction or opts.direction
    return direction_transform(name, opts, num_comp)


def _starts(key, shape, r, init, opts, dtype):
    m = opts.manifold
    coords = m.random_coordinates(key, (r,) + shape, dtype)
    if init is None:
        return coords
    init = jnp.asarray(init)
    if init.shape == shape:
        return coords.at[0].set(m.coordinates(m.project(init)))
    if init.shape == (r,) + shape:
        return m.coordinates(m.project(init))
    raise ValueError(f"init must have shape {shape} or {(r,) + shape}, got {init.shape}")


def _to_single(x):
    x = jnp.asarray(x)
    if x.dtype == jnp.float64:
        return x.astype(jnp.float32)
    if x.dtype == jnp.complex128:
        return x.astype(jnp.complex64)
    return x


def _single_precision_args(objective, args, params, manifold):
    """``args`` cast to single precision when the problem (``params``: one start) is in double precision and
    the objective then returns single precision only; else ``None`` (the screening stays in full precision)."""
    if not any(jnp.result_type(x) == jnp.float64 for x in jax.tree_util.tree_leaves(params)):
        return None
    lo_args = jax.tree_util.tree_map(_to_single, tuple(args))
    try:  # an objective that fails to trace in single precision (e.g. under strict dtype promotion) keeps double
        out = jax.eval_shape(lambda p, *a: objective(manifold.point(p), *a),
                             jax.tree_util.tree_map(lambda x: _struct(_to_single(x)), params),
                             *jax.tree_util.tree_map(_struct, lo_args))
    except Exception:  # noqa: BLE001
        return None
    if not all(o.dtype == jnp.float32 for o in jax.tree_util.tree_leaves(out)):
        return None
    return lo_args


_FINISH_CHUNK = 4  # K = 32, tuning seed: quadratic-indefinite 2.5-2.6 ms an instance with chunks of 2-4, 3.1 with 16


def _distinct_top(values, points, q, r_random, similarity):
    """Indices of the ``q`` random lanes (the first ``r_random``) to refine: in order of value, those not within
    ``|v_a^H v_b| / n >= similarity`` of a lane already chosen or of the lanes after ``r_random`` (always refined);
    the best of the others fill up what is left."""
    flat = points.reshape(points.shape[0], -1)
    sim = jnp.abs(jnp.conj(flat) @ flat.T) / flat.shape[1]
    order = jnp.argsort(-values[:r_random])
    chosen = jnp.zeros((values.shape[0],), bool).at[r_random:].set(True)
    count = jnp.zeros((), jnp.int32)
    take = []
    for j in range(r_random):
        c = order[j]
        t = ~jnp.any(chosen & (sim[c] >= similarity)) & (count < q)
        chosen = chosen.at[c].set(chosen[c] | t)
        count = count + t.astype(jnp.int32)
        take.append(t)
    rank = jnp.argsort(jnp.where(jnp.stack(take), 0, 1), stable=True)  # taken lanes first, in order of value
    return order[rank][:q]


def solve(objective, key, num_elements, args=(), *, init=None, options: PhaseOptions = PhaseOptions()):
    """Pure (traceable) core of :func:`maximize_phases` with explicit options."""
    o = options
    shape = _shape(num_elements)
    m = o.manifold
    args = tuple(args)
    cd = complex_dtype(None) if init is None else jnp.asarray(init).dtype
    rd = real_dtype(cd)
    mc = num_components(objective, jax.eval_shape(lambda: m.point(m.random_coordinates(key, shape, rd))), args)
    r = o.num_restarts if o.num_restarts is not None else (8 if mc is None else 16)
    num_refine = o.num_refine if o.num_refine is not None else (2 if mc is None else 3)
    n_el = math.prod(shape)
    max_iters = o.max_iters if o.max_iters is not None else (min(200, max(64, 4 * n_el)) if mc is None else 200)
    starts = _starts(key, shape, r, init, o, rd)
    chunk = o.history_chunk

    def scalar(v, *a):
        out = objective(v, *a)
        return out if mc is None else jnp.min(out)

    if o.taylor_starts and init is None and getattr(m, "flat", False):
        (spectral, gradient), ok = taylor_starts(scalar, shape, args, jax.random.fold_in(key, 0x7A1), dtype=cd)
        extra = m.random_coordinates(jax.random.fold_in(key, 0x7A2), shape, rd)
        extra = jnp.where(ok[1], m.coordinates(gradient), jnp.where(ok[0], m.coordinates(spectral), extra))
        starts = jnp.concatenate([starts, extra[None]])
        n_taylor = 1
    else:
        n_taylor = 0
    r_random = r
    r = r + n_taylor

    def run(tx, p0, iters, gtol=None, active=True, data=args, chunk=chunk):
        return ascend(objective, p0, data, tx, m, max_iters=iters, tol=o.tol, patience=o.patience, chunk=chunk,
                      gtol=gtol, active=active)

    gtol_f = o.finish_gtol if o.finish_gtol is not None else 1e3 * float(jnp.finfo(rd).eps)

    if o.screen_iters is None or r == 1:
        ps, fs, hs, its, cv = jax.vmap(lambda p0: run(_stage_tx(o, "screen", mc), p0, max_iters))(starts)
        restart_values = fs
        b = jnp.argmax(jnp.where(jnp.isfinite(fs), fs, -jnp.inf))
        p, f, hist, it, conv = (jax.tree_util.tree_map(lambda x: x[b], ps), fs[b], hs[b], its[b], cv[b])
    else:
        lo_args = (_single_precision_args(objective, args, jax.tree_util.tree_map(lambda x: x[0], starts), m)
                   if o.screen_in_float32 else None)
        if lo_args is None:
            ps, fs, hs, its, _ = jax.vmap(lambda p0: run(_stage_tx(o, "screen", mc), p0, o.screen_iters))(starts)
        else:  # screening in single precision; its points are ranked by their double-precision values
            def screen(p0):
                p_s, _, h_s, it_s, c_s = run(_stage_tx(o, "screen", mc), jax.tree_util.tree_map(_to_single, p0),
                                             o.screen_iters, data=lo_args)
                p_s = jax.tree_util.tree_map(lambda x: x.astype(rd), p_s)
                return p_s, jnp.asarray(scalar(m.point(p_s), *args), rd), h_s.astype(rd), it_s, c_s

            ps, fs, hs, its, _ = jax.vmap(screen)(starts)
        fs_safe = jnp.where(jnp.isfinite(fs), fs, -jnp.inf)
        q = min(num_refine, r_random)
        if o.distinct_similarity < 1 and getattr(m, "flat", False):
            top = _distinct_top(fs_safe, jax.vmap(m.point)(ps), q, r_random, o.distinct_similarity)
        else:
            _, top = jax.lax.top_k(fs_safe[:r_random], q)  # the random starts' selection, as without the Taylor start
        top = jnp.concatenate([top, r_random + jnp.arange(n_taylor, dtype=top.dtype)])  # which is always refined
        p2, f2, h2, it2, c2 = jax.vmap(lambda p0: run(_stage_tx(o, "refine", mc), p0, max_iters))(
            jax.tree_util.tree_map(lambda x: x[top], ps))
        restart_values = fs.at[top].set(f2)
        j = jnp.argmax(jnp.where(jnp.isfinite(f2), f2, -jnp.inf))
        b = top[j]
        p = jax.tree_util.tree_map(lambda x: x[j], p2)
        f, conv = f2[j], c2[j]
        hist = jnp.concatenate([hs[b], h2[j][1:]])
        it = its[b] + it2[j]
    if o.optimizer is None and o.finish_iters > 0 and (o.finish_direction is not None):
        tx = _stage_tx(o, "finish", mc)
        extra = []

        def finish(p, f, it, active=True):
            # a loop runs whole chunks (steps after the stop are computed, then dropped): the finish usually stops
            # within a few of its costly Newton steps, so its chunks are short
            p_new, f_new, _, it3, c3 = run(tx, p, o.finish_iters, gtol_f, active, chunk=min(chunk, _FINISH_CHUNK))
            better = jnp.isfinite(f_new) & (f_new > f)
            return _where(better, p_new, p), jnp.where(better, f_new, f), it + it3

        p, f, it = finish(p, f, it)
        extra.append(f)
        if getattr(m, "flat", False):
            for _ in range(o.polish_rounds):
                v = coordinate_sweeps(scalar, m.point(p), args, num_sweeps=o.polish_sweeps)
                pv = m.coordinates(v)
                fv = jnp.asarray(scalar(m.point(pv), *args), rd)
                better = jnp.isfinite(fv) & (fv > f)
                # a gain at rounding level (below tol, or 16 eps) needs no other finish: it would stop at once
                gained = better & (_rel_gain(fv, f) > max(o.tol, 16 * float(jnp.finfo(rd).eps)))
                p, f = _where(better, pv, p), jnp.where(better, fv, f)
                p, f, it = finish(p, f, it, gained)
                extra.append(f)
        hist = jnp.concatenate([hist, jnp.stack(extra)])
        restart_values = restart_values.at[b].set(f)
    v = m.point(p)
    if getattr(m, "flat", False):
        v = v.astype(cd)
    return PhaseResult(v, f, hist, it, conv, restart_values)


@partial(jax.jit, static_argnames=("objective", "num_elements", "options"))
def _solve_jit(objective, key, num_elements, args, init, options):
    return solve(objective, key, num_elements, args, init=init, options=options)


def _options(options, kw):
    if options is not None and kw:
        raise TypeError("give either options=PhaseOptions(...) or keyword options, not both")
    return options if options is not None else PhaseOptions(**kw)


def maximize_phases(objective: Callable, key, num_elements, *, args=(), init=None, options=None, **kw) -> PhaseResult:
    """Maximise a real ``objective(v, *args)`` over unit-modulus ``v`` of shape ``num_elements``.

    Keyword options: see :class:`PhaseOptions` (the defaults are the recommended ones). ``init`` warm-starts
    the first restart (or all, with shape ``(num_restarts, *shape)``: set ``num_restarts`` then). Pass problem
    data in ``args``: the solver is compiled once per ``objective`` object, shape and options -- a new
    closure/lambda per call recompiles every call. Pure JAX: may be called inside ``jit``/``vmap``.
    """
    opts = _options(options, kw)
    shape = _shape(num_elements)
    args = tuple(args)
    return _solve_jit(objective, key, shape, args, init, opts)


def maximize_phases_batched(objective: Callable, key, data, num_elements, *, init=None, options=None,
                            batch_size: int | None = None, **kw) -> PhaseResult:
    """Batched form: ``objective(v, data_i)`` for every slice ``data_i`` of the leading axis of ``data``.

    ``data`` is any pytree of arrays sharing a leading batch axis. Each problem
    gets its own key (``split(key, B)``). Returns a :class:`PhaseResult` whose
    fields have a leading axis ``B``. ``batch_size`` problems are solved together (``vmap``), groups one
    after another (``lax.map``); ``None``: :func:`default_batch_size` (2 on CPU, the whole batch on GPU/TPU).
    Under ``vmap`` each loop runs until its slowest problem stops, so on a CPU small groups are faster.

    >>> import jax, jax.numpy as jnp
    >>> from irsjax.phases import from_angles
    >>> from optim import maximize_phases_batched
    >>> def gain(v, c):
    ...     return jnp.abs(jnp.sum(c * v)) ** 2
    >>> c = from_angles(jnp.arange(12.0)).reshape(3, 4)
    >>> res = maximize_phases_batched(gain, jax.random.key(0), c, 4)
    >>> [round(float(x), 3) for x in res.value]
    [16.0, 16.0, 16.0]
    """
    opts = _options(options, kw)
    shape = _shape(num_elements)
    _check_int("batch_size", batch_size, optional=True)
    return _batched_jit(objective, key, data, shape, init, opts, batch_size)


def default_batch_size(backend: str | None = None) -> int | None:
    """Problems :func:`maximize_phases_batched` solves together by default on ``backend`` (default: JAX's).

    CPU: 2. The solver's loops are ``while_loop``s: under ``vmap`` every problem waits for the slowest one, and
    large lane sets spill the cache; on 2 cores, K = 16-64, groups of 2 ran 1.1-1.5x faster than one group of 16.
    GPU/TPU: ``None`` (the whole batch in one ``vmap``: the device is filled by lanes, not by loop steps).
    """
    backend = jax.default_backend() if backend is None else backend
    return 2 if backend == "cpu" else None


@partial(jax.jit, static_argnames=("objective", "num_elements", "options", "batch_size"))
def _batched_jit(objective, key, data, num_elements, init, options, batch_size):
    leaves = jax.tree_util.tree_leaves(data)
    if not leaves:
        raise ValueError("data must contain at least one array")
    b = leaves[0].shape[0]
    keys = jax.random.split(key, b)
    if batch_size is None:
        batch_size = default_batch_size()

    def one(a):
        k, d, i0 = a
        return solve(objective, k, num_elements, (d,), init=i0, options=options)

    xs = (keys, data, init)
    if batch_size is None or batch_size >= b:
        return jax.vmap(one)(xs)
    return jax.lax.map(one, xs, batch_size=batch_size)


__all__ = ["PhaseResult", "PhaseOptions", "METHODS", "DIRECTIONS", "solve", "ascend", "direction_transform",
           "shape_of", "maximize_phases", "maximize_phases_batched", "default_batch_size"]

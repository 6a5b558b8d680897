"""Unit-modulus phase design by gradient ascent: :func:`maximize_phases`.

Works for any JAX-traceable real objective ``f(v, *args)`` of a complex array
``v`` with ``|v_i| = 1`` (one IRS: shape ``(K,)``; several: any shape). Three
methods share one jit-compiled ``lax.while_loop``:

* ``"riemannian"`` (default): Riemannian gradient ascent on the complex circle
  manifold, ``v <- (v + t g_R) / |v + t g_R|`` (MODELS.md section 6);
* ``"projected"``: projected gradient ascent in ``C^K``, ``v <- P(v + t g)``;
* ``"angles"``: plain gradient ascent on the angles ``theta`` (``v = e^{j theta}``).

With ``optimizer=None`` (default) the search direction is the Riemannian
Polak-Ribiere+ conjugate gradient (``direction="cg"``; vector transport by
tangent projection; restarted when not an ascent direction), the plain
gradient (``direction="gradient"``, with Barzilai-Borwein trial steps),
quasi-Newton ``direction="bfgs"`` (dense BFGS inverse Hessian in the angle
coordinates ``v = v_k e^{j delta}``, in which the torus is flat, so no vector
transport is needed) or ``direction="newton"`` (Hessian of the angles by
``jax.hessian``, eigenvalues replaced by their absolute values -- an ascent
direction also at saddles -- quadratic convergence near a non-degenerate
maximum; ``O(K^3)`` per step, for ``K`` up to a few hundred), and
the step is chosen by Armijo backtracking (the trial scale moves the largest
phase by ``step_size`` radians and adapts), so every iterate improves the
objective. ``"projected"`` always uses the gradient. With an optax
optimiser (``optax.adam(0.05)``, ...) its update rule is used instead (the
best iterate is kept). Several random restarts run in parallel (``vmap``);
the best is returned. The loop stops when the relative improvement stays
below ``tol`` for ``patience`` iterations, or after ``max_iters``.

Screening (``screen_iters=N``): every restart runs at most ``N`` iterations,
then only the best one is continued (``max_iters`` more, with
``refine_direction``, default ``direction``) to ``tol``. Under ``vmap`` all
restarts advance in lock-step until the slowest stops, so this cuts the cost
of many restarts to about ``N`` iterations each plus one full run (e.g.
``direction="bfgs", num_restarts=8, screen_iters=40`` for IRS ratio
problems, see ``bench/bench_sdr.py``).

Everything is pure JAX, so it can run inside ``jit``/``vmap`` (e.g. inside a
Monte Carlo per-realisation function); :func:`maximize_phases_batched` vmaps
over a leading axis of problem data.

>>> import jax, jax.numpy as jnp
>>> from optim import maximize_phases
>>> c = jnp.exp(1j * jnp.arange(8.0))            # maximise |sum c_i v_i|^2 -> 64
>>> res = maximize_phases(lambda v: jnp.abs(jnp.sum(c * v)) ** 2, jax.random.key(0), 8)
>>> round(float(res.value), 3), bool(res.converged)
(64.0, True)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from optim import manifold
from irsjax.channels import complex_dtype

METHODS = ("riemannian", "projected", "angles")
DIRECTIONS = ("cg", "gradient", "bfgs", "newton")
_ANGLE_DIRECTIONS = ("bfgs", "newton")  # second-order directions, computed in angle coordinates
_ALL_METHODS = METHODS + ("oblique",)  # "oblique": rows of a matrix on unit spheres (used by optim.sdr)


class PhaseResult(NamedTuple):
    """Result of :func:`maximize_phases` (leading batch axis for the batched form).

    ``phases``: best unit-modulus array; ``value``: objective there;
    ``history``: objective per iteration of the best restart (length
    ``max_iters + 1``, with screening ``screen_iters + max_iters + 1``;
    entries after a stop repeat the last value);
    ``num_iters``: iterations run; ``converged``: stopped on the tolerance
    (``False`` when ``max_iters`` was hit); ``restart_values``: final value of
    every restart.
    """

    phases: jax.Array
    value: jax.Array
    history: jax.Array
    num_iters: jax.Array
    converged: jax.Array
    restart_values: jax.Array


@dataclass(frozen=True)
class PhaseOptions:
    """Static options of the phase optimiser (hashable; validated on construction)."""

    method: str = "riemannian"
    optimizer: Any = None  # optax.GradientTransformation or None (Armijo backtracking)
    num_restarts: int = 4
    max_iters: int = 300
    tol: float = 1e-6
    patience: int = 3
    step_size: float = 1.0  # Armijo: initial max phase move [rad]
    max_backtracks: int = 30
    armijo_c: float = 1e-4
    history_chunk: int = 16  # iterations per lax.scan chunk (history written once per chunk)
    bb: bool = True  # Armijo + gradient direction: Barzilai-Borwein trial step
    direction: str = "cg"  # Armijo: "cg" (Riemannian Polak-Ribiere+), "gradient", "bfgs" or "newton"
    screen_iters: int | None = None  # restarts run this many iterations, then only the best one goes on
    refine_direction: str | None = None  # direction after screening (default: ``direction``)

    def __post_init__(self):
        if self.method not in _ALL_METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not (isinstance(self.num_restarts, int) and self.num_restarts >= 1):
            raise ValueError(f"num_restarts must be a positive integer, got {self.num_restarts!r}")
        if not (isinstance(self.max_iters, int) and self.max_iters >= 1):
            raise ValueError(f"max_iters must be a positive integer, got {self.max_iters!r}")
        if not self.tol >= 0:
            raise ValueError(f"tol must be >= 0, got {self.tol!r}")
        if not (isinstance(self.patience, int) and self.patience >= 1):
            raise ValueError(f"patience must be a positive integer, got {self.patience!r}")
        for name in ("direction", "refine_direction"):
            d = getattr(self, name)
            if d is None and name == "refine_direction":
                continue
            if d not in DIRECTIONS:
                raise ValueError(f"{name} must be one of {DIRECTIONS}, got {d!r}")
            if d in _ANGLE_DIRECTIONS and self.optimizer is None and self.method not in ("riemannian", "angles"):
                raise ValueError(f"{name}={d!r} needs method 'riemannian' or 'angles', got {self.method!r}")
        if self.screen_iters is not None and not (isinstance(self.screen_iters, int) and self.screen_iters >= 1):
            raise ValueError(f"screen_iters must be a positive integer or None, got {self.screen_iters!r}")
        if not (isinstance(self.history_chunk, int) and self.history_chunk >= 1):
            raise ValueError(f"history_chunk must be a positive integer, got {self.history_chunk!r}")
        if not self.step_size > 0:
            raise ValueError(f"step_size must be > 0, got {self.step_size!r}")
        if self.optimizer is not None and not isinstance(self.optimizer, optax.GradientTransformation):
            raise TypeError("optimizer must be an optax.GradientTransformation or None")


def _shape(num_elements):
    if isinstance(num_elements, int):
        return (num_elements,)
    return tuple(int(s) for s in num_elements)


def _direction(method, v, g):
    """Search direction in the method's own coordinates."""
    if method == "riemannian":
        return manifold.riemannian_gradient(v, g)
    if method == "projected":
        return g
    if method == "oblique":
        return manifold.oblique_tangent(v, g)
    return manifold.angle_gradient(v, g)  # angles


def _step(method, v, d, t):
    if method == "angles":
        return v * manifold.from_angles_like(t * d, v)
    if method == "oblique":
        return manifold.oblique_retract(v + t * d)
    return manifold.retract(v + t * d)


def _transport(method, v, x):
    """Vector transport by projection onto the tangent space at ``v`` (identity for angles)."""
    if method == "riemannian":
        return manifold.tangent_project(v, x)
    if method == "oblique":
        return manifold.oblique_tangent(v, x)
    return x


def _rel_gain(new, old):
    return (new - old) / jnp.maximum(jnp.abs(old), jnp.finfo(jnp.result_type(old)).tiny ** 0.5)


def _backtrack(f, v, fv, t0, trial, need, skip, opts):
    """Armijo backtracking from step ``t0``: halve ``t`` until ``f(trial(t)) >= fv + need(t, vt)`` (and ``> fv``).

    ``skip`` (frozen problem, zero direction) accepts nothing and runs no trial. Returns
    ``(k, t, v_new, f_new, accepted)``: trials made, accepted step, and the new point/value (``v, fv`` when
    nothing was accepted).
    """
    def cond(c):
        k, t, vt, ft, acc = c
        return (~acc) & (k < opts.max_backtracks)

    def body(c):
        k, t, _, _, _ = c
        vt = trial(t)
        ft = f(vt)
        acc = jnp.isfinite(ft) & (ft >= fv + need(t, vt)) & (ft > fv)
        return k + 1, jnp.where(acc, t, t * 0.5), vt, ft, acc

    k, t, vt, ft, acc = jax.lax.while_loop(cond, body, (0, t0, v, fv, skip))
    acc = acc & ~skip
    return k, t, jnp.where(acc, vt, v), jnp.where(acc, ft, fv), acc


def _tree_where(c, a, b):
    return jax.tree_util.tree_map(lambda x, y: jnp.where(c, x, y), a, b)


def _drive(step, state0, f0, max_iters, chunk):
    """Run ``state, record = step(state)`` until ``state["done"]`` or ``max_iters``.

    A ``lax.while_loop`` over chunks of ``chunk`` iterations (each a ``lax.scan``
    with finished states frozen), so that under ``vmap`` the history is written
    once per chunk (``dynamic_update_slice``) instead of once per iteration.
    Returns ``(state, history)``, history of length ``max_iters + 1``.
    """
    n_chunks = -(-max_iters // chunk)
    hist0 = jnp.zeros((n_chunks * chunk + 1,), f0.dtype).at[0].set(f0)

    def inner(st, _):
        active = (~st["done"]) & (st["i"] < max_iters)
        new, rec = step(st)
        st = _tree_where(active, new, st)
        return st, jnp.where(active, rec, st["rec"])

    def body(c):
        k, st, hist = c
        st, recs = jax.lax.scan(inner, st, None, length=chunk)
        hist = jax.lax.dynamic_update_slice(hist, recs, (1 + k * chunk,))
        return k + 1, st, hist

    def cond(c):
        k, st, _ = c
        return (k < n_chunks) & ~st["done"] & (st["i"] < max_iters)

    _, st, hist = jax.lax.while_loop(cond, body, (0, state0, hist0))
    hist = hist[: max_iters + 1]
    idx = jnp.arange(max_iters + 1)
    return st, jnp.where(idx <= st["i"], hist, st["rec"])



def _run_single_second_order(objective, opts: PhaseOptions, v0, args):
    """One restart with a BFGS or (modified) Newton direction in angle coordinates.

    The iterate is ``v``; directions live in the angle increments ``delta``
    (``v <- v * exp(j t delta)``), where the torus is flat: BFGS pairs need no
    transport and the Newton step is the Euclidean one of ``h(delta) = f(v e^{j delta})``.
    """
    shape, n = v0.shape, v0.size
    rd = jnp.real(v0).dtype
    f = lambda v: jnp.asarray(objective(v, *args), rd)  # noqa: E731
    h = lambda delta, v: f(v * jnp.exp(1j * delta.reshape(shape)))  # noqa: E731
    grad_h = jax.grad(h)
    hess_h = jax.hessian(h)
    zero = jnp.zeros((n,), rd)
    eye = jnp.eye(n, dtype=rd)
    newton = opts.direction == "newton"
    tiny = jnp.finfo(rd).tiny
    cap = jnp.pi / 2  # largest phase move of a unit (quasi-)Newton step

    def step(st):
        v, fv, g, Hi = st["v"], st["f"], st["g"], st["Hi"]
        if newton:
            w, U = jnp.linalg.eigh(-hess_h(zero, v))
            w_abs = jnp.abs(w)
            w_mod = jnp.maximum(w_abs, 1e-10 * jnp.maximum(jnp.max(w_abs), tiny))
            d = U @ ((U.T @ g) / w_mod)
            first = jnp.asarray(False)
        else:
            d = Hi @ g
            first = st["fresh"]  # Hi is the identity: gradient step scaled like the first-order methods
        dec = jnp.dot(g, d)
        bad = ~(jnp.isfinite(dec) & (dec > 0))
        d = jnp.where(bad, g, d)
        dec = jnp.where(bad, jnp.dot(g, g), dec)
        first = first | bad
        dmax = jnp.max(jnp.abs(d))
        ok_dir = dmax > 0
        dsafe = jnp.where(ok_dir, dmax, 1.0)
        t0 = jnp.where(first, st["alpha"] / dsafe, jnp.minimum(1.0, cap / dsafe))

        k, t, v_new, f_new, acc = _backtrack(
            f, v, fv, t0, lambda t: v * jnp.exp(1j * t * d).reshape(shape),
            lambda t, vt: opts.armijo_c * t * dec, st["done"] | ~ok_dir, opts)
        g_new = jnp.where(acc, grad_h(zero, v_new), g)
        alpha_new = jnp.where(acc & first, jnp.clip(t * dsafe * jnp.where(k == 1, 2.0, 1.0), 1e-12, jnp.pi), st["alpha"])
        Hi_new = Hi
        fresh_new = st["fresh"]
        if not newton:
            # BFGS update of the inverse Hessian of -f (maximisation: y = g_old - g_new); skipped unless s'y > 0
            s_ = t * d
            y_ = g - g_new
            sy = jnp.dot(s_, y_)
            yy = jnp.dot(y_, y_)
            good = acc & (sy > 1e-12 * jnp.sqrt(jnp.dot(s_, s_) * yy))
            rho = 1.0 / jnp.where(good, sy, 1.0)
            H0 = jnp.where(st["fresh"], (sy / jnp.where(good, yy, 1.0)) * eye, Hi)
            Hy = H0 @ y_
            upd = H0 + (rho * rho * jnp.dot(y_, Hy) + rho) * jnp.outer(s_, s_) - rho * (jnp.outer(Hy, s_) + jnp.outer(s_, Hy))
            # a failed line search resets to the gradient; failing with the gradient ends the run
            Hi_new = jnp.where(good, upd, jnp.where(acc, Hi, eye))
            fresh_new = jnp.where(good, False, jnp.where(acc, st["fresh"], True))
        small = _rel_gain(f_new, fv) < opts.tol
        calm_new = jnp.where(small, st["calm"] + 1, 0)
        stuck = ~acc & (first | newton)
        done = stuck | (calm_new >= opts.patience)
        new = dict(st, i=st["i"] + 1, v=v_new, f=f_new, g=g_new, Hi=Hi_new, fresh=fresh_new, alpha=alpha_new,
                   calm=calm_new, done=done, rec=f_new)
        return new, f_new

    f0 = f(v0)
    st0 = dict(i=0, v=v0, f=f0, g=grad_h(zero, v0), Hi=jnp.zeros((0, 0), rd) if newton else eye,
               fresh=jnp.asarray(True), alpha=jnp.asarray(opts.step_size, rd), calm=0, done=jnp.asarray(False), rec=f0)
    st, hist = _drive(step, st0, f0, opts.max_iters, min(opts.history_chunk, opts.max_iters))
    return st["v"], st["f"], hist, st["i"], st["done"]


def _run_single(objective, opts: PhaseOptions, v0, args):
    """One restart from ``v0``. Returns (v_best, f_best, history, iters, converged)."""
    if opts.optimizer is None and opts.direction in _ANGLE_DIRECTIONS:
        return _run_single_second_order(objective, opts, v0, args)
    f = lambda v: objective(v, *args)  # noqa: E731
    vg = jax.value_and_grad(f)
    rd = jnp.real(v0).dtype
    f0 = jnp.asarray(f(v0), rd)
    method = opts.method
    chunk = min(opts.history_chunk, opts.max_iters)

    if opts.optimizer is None:
        # ---------------- Armijo backtracking ----------------
        use_cg = opts.direction == "cg" and method != "projected"
        def step(st):
            v, fv, alpha, calm = st["v"], st["f"], st["alpha"], st["calm"]
            _, gc = vg(v)
            g = jnp.conj(gc)
            grad = _direction(method, v, g)  # (Riemannian / angle / Euclidean) gradient
            d = grad
            if use_cg:
                # Polak-Ribiere+ conjugate direction; previous vectors moved to the new tangent space by projection
                g_old = _transport(method, v, st["g_prev"])
                p_old = _transport(method, v, st["d_prev"])
                gg_old = jnp.sum(jnp.abs(st["g_prev"]) ** 2)
                beta = jnp.sum(jnp.real(jnp.conj(grad) * (grad - g_old))) / jnp.where(gg_old > 0, gg_old, 1.0)
                beta = jnp.where((st["i"] > 0) & (gg_old > 0) & jnp.isfinite(beta), jnp.maximum(beta, 0.0), 0.0)
                d = grad + beta * p_old
                descent = jnp.sum(jnp.real(jnp.conj(grad) * d))
                d = jnp.where(descent > 0, d, grad)  # restart on a non-ascent direction
            dmax = jnp.max(jnp.abs(d))
            ok_dir = dmax > 0
            t0 = alpha / jnp.where(ok_dir, dmax, 1.0)
            dd = jnp.sum(jnp.real(jnp.conj(grad) * d))
            if opts.bb and not use_cg:
                # Barzilai-Borwein trial step from the last displacement/direction change (no transport)
                if method == "angles":
                    sv = jnp.angle(v * jnp.conj(st["v_prev"]))
                else:
                    sv = v - st["v_prev"]
                yv = d - st["d_prev"]
                sy = jnp.sum(jnp.real(jnp.conj(sv) * yv))
                ss = jnp.sum(jnp.abs(sv) ** 2)
                t_bb = ss / jnp.where(sy < 0, -sy, 1.0)
                use_bb = (st["i"] > 0) & (sy < 0) & jnp.isfinite(t_bb) & (t_bb > 0) & (t_bb * dmax < jnp.pi)
                t0 = jnp.where(use_bb, t_bb, t0)

            if method == "projected":
                need = lambda t, vt: opts.armijo_c * jnp.sum(jnp.abs(vt - v) ** 2) / t  # noqa: E731
            else:
                need = lambda t, vt: opts.armijo_c * t * dd  # noqa: E731
            # finished (frozen) problems and zero gradients skip the line search (matters under vmap)
            k, t, v_new, f_new, acc = _backtrack(lambda u: jnp.asarray(f(u), rd), v, fv, t0,
                                                 lambda t: _step(method, v, d, t), need, st["done"] | ~ok_dir, opts)
            # adapt the trial scale: grow after a first-try success, else keep the accepted scale
            alpha_new = jnp.where(acc, jnp.where(k == 1, alpha * 2.0, alpha * 0.5 ** (k - 1)), alpha)
            alpha_new = jnp.clip(alpha_new, 1e-12, jnp.pi)
            small = _rel_gain(f_new, fv) < opts.tol
            calm_new = jnp.where(small, calm + 1, 0)
            done = (~acc) | (calm_new >= opts.patience)
            new = dict(st, i=st["i"] + 1, v=v_new, f=f_new, alpha=alpha_new, calm=calm_new, done=done, rec=f_new,
                       v_prev=v, d_prev=d, g_prev=grad)
            return new, f_new

        d0 = jnp.zeros(v0.shape, rd if method == "angles" else v0.dtype)
        st0 = dict(i=0, v=v0, f=f0, alpha=jnp.asarray(opts.step_size, rd), calm=0, done=jnp.asarray(False), rec=f0,
                   v_prev=v0, d_prev=d0, g_prev=d0)
        st, hist = _drive(step, st0, f0, opts.max_iters, chunk)
        return st["v"], st["f"], hist, st["i"], st["done"]

    # ---------------- optax-driven ----------------
    opt = opts.optimizer
    x0 = jnp.angle(v0) if method == "angles" else v0
    tx = manifold.riemannian(opt) if method == "riemannian" else opt

    def step(st):
        x, ost, v_best, f_best, f_prev, calm = st["x"], st["opt"], st["v"], st["f"], st["f_prev"], st["calm"]
        v = manifold.from_angles_like(x, v0) if method == "angles" else x
        fv, gc = vg(v)
        fv = jnp.asarray(fv, rd)
        g = jnp.conj(gc)
        better = jnp.isfinite(fv) & (fv > f_best)
        v_best = jnp.where(better, v, v_best)
        f_best = jnp.where(better, fv, f_best)
        if method == "riemannian":
            upd, ost = tx.update(g, ost, x)
            x_new = manifold.apply_update(x, upd)
        elif method == "projected":
            upd, ost = tx.update(-g, ost, x)
            x_new = manifold.retract(x + upd)
        else:
            upd, ost = tx.update(-manifold.angle_gradient(v, g), ost, x)
            x_new = x + upd
        small = jnp.abs(_rel_gain(fv, f_prev)) < opts.tol
        calm_new = jnp.where(small, calm + 1, 0)
        new = dict(i=st["i"] + 1, x=x_new, opt=ost, v=v_best, f=f_best, f_prev=fv, calm=calm_new,
                   done=calm_new >= opts.patience, rec=f_best)
        return new, f_best

    st0 = dict(i=0, x=x0, opt=tx.init(x0), v=v0, f=f0, f_prev=f0, calm=0, done=jnp.asarray(False), rec=f0)
    st, hist = _drive(step, st0, f0, opts.max_iters, chunk)
    v_last = manifold.from_angles_like(st["x"], v0) if method == "angles" else st["x"]
    f_last = jnp.asarray(f(v_last), rd)
    better = jnp.isfinite(f_last) & (f_last > st["f"])
    v_best = jnp.where(better, v_last, st["v"])
    f_best = jnp.where(better, f_last, st["f"])
    return v_best, f_best, hist, st["i"], st["done"]


def solve(objective, key, num_elements, args=(), *, init=None, options: PhaseOptions = PhaseOptions()):
    """Pure (traceable) core of :func:`maximize_phases` with explicit options."""
    shape = _shape(num_elements)
    r = options.num_restarts
    cd = complex_dtype(None) if init is None else jnp.asarray(init).dtype
    retract = manifold.oblique_retract if options.method == "oblique" else manifold.retract
    if options.method == "oblique":
        starts = retract(jax.random.normal(key, (r,) + shape, dtype=cd))
    else:
        starts = manifold.random_point(key, (r,) + shape, dtype=cd)
    if init is not None:
        init = jnp.asarray(init, cd)
        if init.shape == shape:
            starts = starts.at[0].set(retract(init))
        elif init.shape == (r,) + shape:
            starts = retract(init)
        else:
            raise ValueError(f"init must have shape {shape} or {(r,) + shape}, got {init.shape}")
    screen = options.screen_iters
    first = options if screen is None else replace(options, max_iters=screen, screen_iters=None)
    run = jax.vmap(lambda v0: _run_single(objective, first, v0, args))
    vs, fs, hists, iters, conv = run(starts)
    fs_safe = jnp.where(jnp.isfinite(fs), fs, -jnp.inf)
    b = jnp.argmax(fs_safe)
    if screen is None:
        return PhaseResult(vs[b], fs[b], hists[b], iters[b], conv[b], fs)
    # continue only the best screened restart
    refine = replace(options, screen_iters=None, direction=options.refine_direction or options.direction,
                     refine_direction=None)
    v2, f2, h2, it2, c2 = _run_single(objective, refine, vs[b], args)
    hist = jnp.concatenate([hists[b], h2[1:]])
    return PhaseResult(v2, f2, hist, iters[b] + it2, c2, fs.at[b].set(f2))


@partial(jax.jit, static_argnames=("objective", "num_elements", "options"))
def _solve_jit(objective, key, num_elements, args, init, options):
    return solve(objective, key, num_elements, args, init=init, options=options)


def _options(options, kw):
    if options is not None and kw:
        raise TypeError("give either options=PhaseOptions(...) or keyword options, not both")
    return options if options is not None else PhaseOptions(**kw)


def maximize_phases(objective: Callable, key, num_elements, *, args=(), init=None, options=None, **kw) -> PhaseResult:
    """Maximise a real ``objective(v, *args)`` over unit-modulus ``v`` of shape ``num_elements``.

    Keyword options (see :class:`PhaseOptions`): ``method``, ``optimizer``,
    ``num_restarts``, ``max_iters``, ``tol``, ``patience``, ``step_size``.
    ``init`` warm-starts the first restart (or all, with shape ``(R, *shape)``).
    Pure JAX: may be called inside ``jit``/``vmap``; at top level it is jit-compiled
    (one compilation per objective function object and options).
    """
    opts = _options(options, kw)
    shape = _shape(num_elements)
    args = tuple(args)
    return _solve_jit(objective, key, shape, args, init, opts)


def maximize_phases_batched(objective: Callable, key, data, num_elements, *, init=None, options=None, **kw) -> PhaseResult:
    """Batched form: ``objective(v, data_i)`` for every slice ``data_i`` of the leading axis of ``data``.

    ``data`` is any pytree of arrays sharing a leading batch axis. Each problem
    gets its own key (``split(key, B)``). Returns a :class:`PhaseResult` whose
    fields have a leading axis ``B``.

    >>> import jax, jax.numpy as jnp
    >>> from optim import maximize_phases_batched
    >>> c = jnp.exp(1j * jnp.arange(12.0)).reshape(3, 4)
    >>> res = maximize_phases_batched(lambda v, ci: jnp.abs(jnp.sum(ci * v)) ** 2, jax.random.key(0), c, 4)
    >>> [round(float(x), 3) for x in res.value]
    [16.0, 16.0, 16.0]
    """
    opts = _options(options, kw)
    shape = _shape(num_elements)
    return _batched_jit(objective, key, data, shape, init, opts)


@partial(jax.jit, static_argnames=("objective", "num_elements", "options"))
def _batched_jit(objective, key, data, num_elements, init, options):
    leaves = jax.tree_util.tree_leaves(data)
    if not leaves:
        raise ValueError("data must contain at least one array")
    b = leaves[0].shape[0]
    keys = jax.random.split(key, b)
    if init is None:
        return jax.vmap(lambda k, d: solve(objective, k, num_elements, (d,), options=options))(keys, data)
    return jax.vmap(lambda k, d, i0: solve(objective, k, num_elements, (d,), init=i0, options=options))(keys, data, init)


__all__ = ["PhaseResult", "PhaseOptions", "METHODS", "solve", "maximize_phases", "maximize_phases_batched"]

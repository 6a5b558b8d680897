"""Smooth surrogates: soft-min, softplus and temperature annealing (MODELS.md section 6).

``soft_min(x, tau) = -tau log sum exp(-x/tau)`` satisfies
``soft_min <= min <= soft_min + tau log K``; ``tau = 0`` gives the exact min
(so an annealing schedule can end on the exact objective with the same code).

>>> import jax.numpy as jnp
>>> from optim import surrogates
>>> x = jnp.array([1.0, 2.0, 3.0])
>>> float(surrogates.soft_min(x, 0.0)), bool(surrogates.soft_min(x, 0.5) <= 1.0)
(1.0, True)
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from irsjax.metrics import soft_min  # the one implementation (exact min at temperature 0)


def soft_max(x, temperature, axis=-1):
    """Soft maximum (``>= max``); exact ``max`` at ``temperature == 0``."""
    return -soft_min(-jnp.asarray(x), temperature, axis=axis)


def softplus(x, temperature):
    """``tau log(1 + e^{x/tau})`` (``>= {x}^+``, gap ``<= tau log 2``); exact ``{x}^+`` at ``tau == 0``."""
    x = jnp.asarray(x)
    tau = jnp.asarray(temperature, x.dtype)
    safe = jnp.where(tau > 0, tau, jnp.ones_like(tau))
    return jnp.where(tau > 0, safe * jax.nn.softplus(x / safe), jnp.maximum(x, jnp.zeros_like(x)))


def geometric_schedule(start=1.0, stop=0.01, num=3, *, exact_last=True):
    """Temperatures ``start -> stop`` geometrically, followed by ``0`` (exact) when ``exact_last``.

    >>> geometric_schedule(1.0, 0.01, 3)
    (1.0, 0.1, 0.01, 0.0)
    """
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    if not (start > 0 and stop > 0):
        raise ValueError("start and stop must be > 0")
    if num == 1:
        t = (float(start),)
    else:
        r = (stop / start) ** (1.0 / (num - 1))
        t = tuple(float(round(start * r**i, 12)) for i in range(num))
    return t + ((0.0,) if exact_last else ())


def anneal(solve_stage, x0, temperatures):
    """Run ``x = solve_stage(x, tau)`` over a temperature schedule (``lax.scan``, warm starts).

    ``solve_stage(x, tau) -> (x_new, aux)``; returns ``(x_final, stacked aux)``.
    """
    temps = jnp.asarray(temperatures)

    def body(x, tau):
        x, aux = solve_stage(x, tau)
        return x, aux

    return jax.lax.scan(body, x0, temps)


def annealed_maximize_phases(objective, key, num_elements, temperatures=(1.0, 0.1, 0.01, 0.0), *, args=(),
                             init=None, options=None):
    """Maximise ``objective(v, tau, *args)`` along a temperature schedule ending on the exact objective.

    Each stage warm-starts from the previous stage's phases (the first stage
    uses ``init`` and random restarts). Returns the final stage's
    :class:`optim.PhaseResult` with ``history`` concatenated over stages.
    Pure JAX (call it inside ``jit``/``vmap``).
    """
    from optim.phases import PhaseOptions, PhaseResult, shape_of, solve

    opts = options if options is not None else PhaseOptions()
    shape = shape_of(num_elements)
    temps = jnp.asarray(temperatures)
    keys = jax.random.split(key, temps.shape[0])
    first = solve(objective, keys[0], shape, (temps[0],) + tuple(args), init=init, options=opts)
    if temps.shape[0] == 1:
        return first
    later = dataclasses.replace(opts, num_restarts=1)

    def body(v, inp):
        k, tau = inp
        r = solve(objective, k, shape, (tau,) + tuple(args), init=v, options=later)
        return r.phases, (r.history, r.value, r.num_iters, r.converged)

    v, (hists, vals, iters, conv) = jax.lax.scan(body, first.phases, (keys[1:], temps[1:]))
    history = jnp.concatenate([first.history, hists.reshape(-1)])
    return PhaseResult(v, vals[-1], history, first.num_iters + jnp.sum(iters), conv[-1], vals[-1:])


__all__ = ["soft_min", "soft_max", "softplus", "geometric_schedule", "anneal", "annealed_maximize_phases"]

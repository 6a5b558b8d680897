"""Test utilities: count XLA compilations.

>>> import jax, jax.numpy as jnp
>>> from irsjax.testing import count_compilations
>>> f = jax.jit(lambda x: 2 * x)
>>> _ = f(1.0)
>>> with count_compilations() as c:
...     _ = f(3.0)                     # a new value of the same shape: no compilation
>>> c.count
0
"""
from __future__ import annotations

import contextlib

import jax

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


class _Counter:
    count = 0


@contextlib.contextmanager
def count_compilations():
    """Count XLA backend compilations inside the ``with`` block (``.count`` of the yielded object)."""
    counter = _Counter()

    def listener(event, duration, **kwargs):
        if event == COMPILE_EVENT:
            counter.count += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counter
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)

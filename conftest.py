"""Root conftest (doctests of irsjax/, optim/, scenarios/ get the same settings as tests/).

Every test runs with strict dtype promotion, rank promotion errors and two simulated CPU devices (so the
sharded engine path is exercised everywhere)."""
import os

_flags = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in _flags:
    os.environ["XLA_FLAGS"] = (_flags + " --xla_force_host_platform_device_count=2").strip()
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    """A fresh ``jax.random.key(0)`` for each test."""
    return jax.random.key(0)

"""Golden results: small fixed-seed runs of every scenario's default and presets must not move.

``tests/golden/golden.json`` was written by ``python tests/golden/record.py`` (float32, threefry). On the
machine and JAX version that wrote it, every number is compared bit for bit; elsewhere (another CPU
instruction set or another XLA may fuse and round differently) to a few float32 ulps (relative 2e-5).
A deliberate change of a number means re-recording, with the reason in the commit message.
"""
import json
import os
import sys

import jax
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "golden"))
import record  # noqa: E402



def _gold() -> dict:
    with open(record.PATH) as f:
        return json.load(f)

FAST = {"wiretap/default", "wiretap/R_s"}  # the rest: -m slow (each needs its own compile)
CASES = [pytest.param(c, marks=() if c[0] in FAST else pytest.mark.slow, id=c[0]) for c in record.CASES]


def _exact(meta) -> bool:
    return (meta.get("jax") == jax.__version__ and meta.get("cpu") == record.cpu_signature()
            and meta.get("devices", jax.device_count()) == jax.device_count())


def test_cpu_signature_reads_the_model_and_flags():
    """Bit-exact comparison is only for the CPU that recorded: the signature must see the model and the flags
    (with unstripped keys it was the hash of an empty flag list on every machine)."""
    import hashlib
    if not os.path.exists("/proc/cpuinfo") or "flags" not in open("/proc/cpuinfo").read():
        pytest.skip("no /proc/cpuinfo flags on this machine")
    sig = record.cpu_signature()
    assert not sig.endswith(hashlib.sha1(b"").hexdigest()[:12]), sig


def test_recorded_under_the_suites_device_count():
    assert len(jax.devices("cpu")) == record.suite_setup().TEST_DEVICES, "XLA_FLAGS overrides the device count"


@pytest.mark.parametrize("case", CASES)
def test_golden(case):
    cid, name, overrides, samples, seed = case
    gold = _gold()
    assert cid in gold, f"{cid} missing from golden.json: run python tests/golden/record.py"
    res = record._clean(record.run_case(name, overrides, samples, seed))
    if _exact(gold.get("_meta", {})):
        assert record.diff(gold[cid], res) == []
    else:
        assert record.diff(gold[cid], res, rel=2e-5) == []

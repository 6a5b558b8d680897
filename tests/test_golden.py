"""Golden results: small fixed-seed runs of every scenario's default and presets must not move.

``tests/golden/golden.json`` was written by ``python tests/golden/record.py`` (float32, threefry). On the
machine and JAX version that wrote it, every number is compared bit for bit; elsewhere (another CPU
instruction set or another XLA may fuse and round differently) to a few float32 ulps (relative 2e-5), except
the cases whose numbers pass through optimiser decisions (:data:`OPTIMISER_CASES`): there the last-bit
differences change some accept/reject and argmax decisions, so on another CPU only their series means are
compared, within 1e-3 relative plus 1e-4 absolute (measured AMD EPYC vs Intel Xeon: at most 1e-5 relative for
maxmin-two-way, 3.3e-5 absolute for maxmin-fp-convergence's fractional increases near 0; their convergence
diagnostics and CI bounds moved by up to 2x and 6e-5).
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


OPTIMISER_CASES = ("maxmin-two-way/", "maxmin-fp-convergence/")


def _series_means_differ(gold, res, rel=1e-3, abs_=1e-4) -> list:
    """Paths of series means (and sweep values) that differ by more than ``rel`` relative plus ``abs_``."""
    out = [f"/x: {gold['x']!r} != {res['x']!r}"] if gold["x"] != res["x"] else []
    for label in sorted(set(gold["series"]) | set(res["series"])):
        a, b = gold["series"].get(label, {}).get("mean"), res["series"].get(label, {}).get("mean")
        if a is None or b is None or len(a) != len(b):
            out.append(f"/series/{label}/mean: {a!r} != {b!r}")
            continue
        for i, (u, v) in enumerate(zip(a, b)):
            if isinstance(u, float) and isinstance(v, float):
                if abs(u - v) > rel * max(abs(u), abs(v)) + abs_:
                    out.append(f"/series/{label}/mean[{i}]: {u!r} != {v!r}")
            elif u != v:
                out.append(f"/series/{label}/mean[{i}]: {u!r} != {v!r}")
    return out


def test_series_means_comparison_catches_a_moved_mean():
    gold = {"x": [1.0], "series": {"a": {"mean": [0.5]}, "frac": {"mean": [0.0053]}}}
    near = {"x": [1.0], "series": {"a": {"mean": [0.5004]}, "frac": {"mean": [0.00532]}}}
    far = {"x": [1.0], "series": {"a": {"mean": [0.502]}, "frac": {"mean": [0.0053]}}}
    assert _series_means_differ(gold, near) == []
    assert _series_means_differ(gold, far) == ["/series/a/mean[0]: 0.5 != 0.502"]


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
    elif cid.startswith(OPTIMISER_CASES):
        assert _series_means_differ(gold[cid], res) == []
    else:
        assert record.diff(gold[cid], res, rel=2e-5) == []

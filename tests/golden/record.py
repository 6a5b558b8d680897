"""Record (or check) golden results: small runs of every scenario's default and every preset.

    python tests/golden/record.py            # writes tests/golden/golden.json
    python tests/golden/record.py --check    # compares against it (what tests/test_golden.py does)

float32, threefry, fixed seeds and small sample counts; sweeps are cut to a few of each preset's
points and the costly knobs (topologies, grid sizes) shrunk so the whole set runs in about a minute.
The numbers must not change under refactoring: the test compares them bit for bit.
"""
from __future__ import annotations

import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "golden.json")

# (case id, scenario, --set overrides, samples, seed)
CASES = [
    ("wiretap/default", "wiretap", {}, 2048, 0),
    ("wiretap/R_s", "wiretap", {"sweep": "R_s", "R_s": "0.5,2", "P_dBm": "20"}, 2048, 1),
    ("lv-two-way/default", "lv-two-way", {"P_dBm": "0,30,50", "rng": "threefry", "topologies": "8"}, 1024, 0),
    ("lv-two-way/fig1", "lv-two-way",
         {"preset": "fig1", "P_dBm": "10,40", "rng": "threefry", "topologies": "8"}, 1024, 2),
    ("lv-two-way/fig2", "lv-two-way", {"preset": "fig2", "K": "8,64", "rng": "threefry", "topologies": "8"}, 1024, 3),
    ("lv-two-way/fig3", "lv-two-way", {"preset": "fig3", "N": "1,8", "rng": "threefry", "topologies": "8"}, 1024, 4),
    ("lv-two-way/fig2_40dBm", "lv-two-way", {"preset": "fig2_40dBm", "K": "16,32", "rng": "threefry",
                                             "topologies": "8"}, 1024, 5),
    ("lv-two-way/fig3_40dBm", "lv-two-way", {"preset": "fig3_40dBm", "N": "2,4", "rng": "threefry",
                                             "topologies": "8"}, 1024, 6),
    ("ris-scheduling/default", "ris-scheduling", {"rho_dB": "80,120"}, 1024, 0),
    ("ris-scheduling/fig2", "ris-scheduling", {"preset": "fig2", "rho_dB": "60,160"}, 1024, 1),
    ("ris-scheduling/fig2_N64", "ris-scheduling", {"preset": "fig2_N64", "rho_dB": "100"}, 1024, 2),
    ("ris-scheduling/fig2_K10", "ris-scheduling", {"preset": "fig2_K10", "rho_dB": "100"}, 1024, 3),
    ("ris-scheduling/fig3", "ris-scheduling", {"preset": "fig3", "rho_dB": "90,140"}, 1024, 4),
    ("ris-scheduling/fig4", "ris-scheduling", {"preset": "fig4", "N": "8,64"}, 1024, 5),
    ("ris-scheduling/fig5", "ris-scheduling", {"preset": "fig5", "x_E": "10,60"}, 1024, 6),
    # the maxmin-two-way cases pin the single-start AO (ao_starts = 1, the default's start 0, recorded before the
    # best-of-8 default): the best-of-starts selection is tested in tests/scenarios/test_maxmin_two_way.py
    ("maxmin-two-way/default", "maxmin-two-way", {"L": "0,8", "ao_starts": "1"}, 256, 0),
    ("maxmin-two-way/fig5_C1", "maxmin-two-way", {"preset": "fig5_C1", "L": "5", "ao_starts": "1"}, 256, 1),
    ("maxmin-two-way/fig5_C2", "maxmin-two-way", {"preset": "fig5_C2", "L": "5", "ao_starts": "1"}, 256, 2),
    ("maxmin-two-way/fig5_C3", "maxmin-two-way", {"preset": "fig5_C3", "L": "5", "ao_starts": "1"}, 256, 3),
    ("maxmin-two-way/fig5_C4", "maxmin-two-way", {"preset": "fig5_C4", "L": "5", "ao_starts": "1"}, 256, 4),
    ("maxmin-two-way/convergence", "maxmin-two-way", {"preset": "convergence", "L": "6", "outer_iters": "2",
                                                              "ao_starts": "1"}, 256, 5),
    ("maxmin-fp-convergence/fig3", "maxmin-fp-convergence", {"preset": "fig3", "L": "8", "grid_points": "6",
                                                            "fp_iters": "6", "iteration": "1,6"}, 256, 0),
]


def run_case(scenario_name, overrides, samples, seed):
    from importlib.metadata import entry_points

    from irsjax import scenario as S

    ep = {e.name: e for e in entry_points(group="irsjax.scenarios")}[scenario_name]
    sc = ep.load()
    params, sweep_name, values = S.resolve(sc, overrides)
    kw = {"shared_draws": False} if "shared_draws" in S.run_sweep.__code__.co_varnames else {}
    res = S.run_sweep(sc, params, sweep_name, values, seed=seed, samples=samples, prng="threefry", **kw)
    return {"series": res["series"], "derived": res["derived"], "x": res["x"]}


def _clean(o):
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if hasattr(o, "item") and not isinstance(o, (str, bytes)):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return repr(o)
    return o


def record(ids=None):
    import time

    out = {}
    for cid, name, ov, n, seed in CASES:
        if ids and cid not in ids:
            continue
        t0 = time.perf_counter()
        out[cid] = _clean(run_case(name, ov, n, seed))
        print(cid, f"done in {time.perf_counter() - t0:.1f} s", flush=True)
    return out


def cpu_signature() -> str:
    """The CPU model and instruction-set flags (XLA compiles for them: results are bitwise only per signature)."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            info = f.read().split("\n\n")[0]
        # keys carry tab padding ("model name\t: ..."): strip them, or every CPU gets the same empty signature
        # and golden values recorded on one CPU are compared bit for bit on another (seen: a 1-ulp float64
        # difference on an AMD EPYC against a recording made elsewhere)
        fields = {k.strip(): v for k, v in (line.split(":", 1) for line in info.splitlines() if ":" in line)}
        model = fields.get("model name", "").strip()
        flags = " ".join(sorted(fields.get("flags", "").split()))
        import hashlib

        return f"{platform.machine()} {model} {hashlib.sha1(flags.encode()).hexdigest()[:12]}"
    except OSError:
        return platform.machine() + " " + platform.processor()


def diff(a, b, path="", rel=0.0):
    """Paths where ``a`` and ``b`` differ: exact comparison of every number, or within ``rel`` (relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}/{k}: missing" for k in set(a) ^ set(b)]
        for k in set(a) & set(b):
            out += diff(a[k], b[k], f"{path}/{k}", rel)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, f"{path}[{i}]", rel)
        return out
    if rel and isinstance(a, float) and isinstance(b, float) and not isinstance(a, bool):
        return [] if abs(a - b) <= rel * max(abs(a), abs(b), 1e-30) else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def compare(a, b):
    """``(exactly equal numbers, total numbers, max relative difference, worst path)`` of two results."""
    stats = [0, 0, 0.0, ""]

    def walk(x, y, path):
        if isinstance(x, dict) and isinstance(y, dict):
            for k in set(x) & set(y):
                walk(x[k], y[k], f"{path}/{k}")
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{path}[{i}]")
        elif isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
            stats[1] += 1
            if x == y:
                stats[0] += 1
                return
            rel = abs(x - y) / max(abs(x), abs(y), 1e-30)
            if rel > stats[2]:
                stats[2], stats[3] = rel, f"{path}: {x!r} vs {y!r}"

    walk(a, b, "")
    return tuple(stats)


def suite_setup():
    """The test suite's own settings (root conftest: 2 simulated CPU devices, strict promotion), imported before
    JAX: the sharded program rounds differently from the one-device one, and optimiser-based cases (argmax /
    accept-reject decisions) turn that into different numbers, so golden files are recorded under them."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
    import conftest

    return conftest


if __name__ == "__main__":
    os.environ.setdefault("JAX_ENABLE_X64", "0")
    suite_setup()
    if "--check" in sys.argv:
        with open(PATH) as f:
            gold = json.load(f)
        bad = 0
        gold.pop("_meta", None)
        for cid, res in record().items():
            d = diff(gold[cid], res)
            bad += len(d)
            for line in d[:20]:
                print(cid, line)
        print("differences:", bad)
        sys.exit(1 if bad else 0)
    if "--compare" in sys.argv:  # python record.py --compare OLD.json [case ids]
        i = sys.argv.index("--compare")
        with open(sys.argv[i + 1]) as f:
            old = json.load(f)
        ids = [a for a in sys.argv[i + 2:] if not a.startswith("-")]
        for cid, res in record(ids).items():
            eq, tot, worst, where = compare(old[cid], res)
            print(f"{cid}: {eq}/{tot} numbers identical; max relative difference {worst:.3g} {where}", flush=True)
        sys.exit(0)
    ids = [a for a in sys.argv[1:] if not a.startswith("-")]
    res = {}
    if ids and os.path.exists(PATH):  # re-record some cases only: keep the others
        with open(PATH) as f:
            res = json.load(f)
    import jax

    res.update(record(ids))
    res["_meta"] = {"jax": jax.__version__, "cpu": cpu_signature(), "x64": False, "prng": "threefry",
                    "devices": jax.device_count()}
    with open(PATH, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    print("wrote", PATH)

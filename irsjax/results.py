"""Results files: ``results.json`` (the public contract), tidy ``results.csv`` and ``figure.png``.

Everything a figure needs is in results.json, so ``plot_results(json.load(...))``
redraws it (``irsjax plot DIR``).
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import sys
import tempfile

import numpy as np


def environment_meta() -> dict:
    """Versions, backend and devices (for ``results.json['meta']``)."""
    import jax
    import jaxlib

    import irsjax

    devs = jax.devices()
    return {
        "irsjax_version": irsjax.__version__,
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "backend": jax.default_backend(),
        "device_count": jax.device_count(),
        "devices": [str(d) for d in devs],
        "x64": bool(jax.config.jax_enable_x64),
        "prng_impl": str(jax.config.jax_default_prng_impl),
        "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
    }


def _clean(o):
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (np.floating, float)):
        f = float(o)
        return f if math.isfinite(f) else None
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.ndarray):
        return _clean(o.tolist())
    return o


def _atomic_write(path, data: bytes):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def results_csv(results: dict) -> str:
    """Tidy CSV: one row per (series, x)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = ["scenario", "x_name", "x", "series", "mean", "ci_low", "ci_high", "std_err", "num_samples", "analytical"]
    w.writerow(cols)
    xs = results["x"]["values"]
    for label, s in results["series"].items():
        for i, x in enumerate(xs):
            def g(k):
                v = s.get(k)
                if v is None:
                    return ""
                v = v[i]
                return "" if v is None else v
            w.writerow([results["scenario"], results["x"]["name"], x, label, g("mean"), g("ci_low"), g("ci_high"),
                        g("std_err"), g("num_samples"), int(bool(s.get("analytical", False)))])
    return buf.getvalue()


def plot_results(results: dict, path: str | None = None):
    """Draw the figure of a results dictionary (one subplot per panel); save to ``path``."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    panels = results.get("panels") or {"value": {"ylabel": "value", "yscale": "linear"}}
    names = [p for p in panels if any(s.get("panel", "value") == p for s in results["series"].values())]
    fig, axes = plt.subplots(1, len(names), figsize=(5.2 * len(names), 4.0), squeeze=False)
    x = np.asarray(results["x"]["values"], dtype=float)
    for ax, pname in zip(axes[0], names):
        pinfo = panels[pname]
        for i, (label, s) in enumerate((k, v) for k, v in results["series"].items() if v.get("panel", "value") == pname):
            y = np.array([np.nan if v is None else v for v in s["mean"]], dtype=float)
            color = f"C{i % 10}"
            if s.get("analytical") or "ci_low" not in s:
                ax.plot(x, y, "-", color=color, label=label, lw=1.6)
            else:
                lo = np.array([np.nan if v is None else v for v in s["ci_low"]], dtype=float)
                hi = np.array([np.nan if v is None else v for v in s["ci_high"]], dtype=float)
                ax.plot(x, y, "o--", color=color, label=label, ms=4, lw=1.0)
                ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0)
        yscale = pinfo.get("yscale", "linear")
        if yscale == "log":
            vals = [v for s in results["series"].values() if s.get("panel") == pname for v in s["mean"] if v]
            if any(v > 0 for v in vals):
                ax.set_yscale("log")
        ax.set_xscale(results["x"].get("scale", "linear"))
        ax.set_xlabel(results["x"].get("label", results["x"]["name"]))
        ax.set_ylabel(pinfo.get("ylabel", pname))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{results['scenario']} (seed {results['seed']}, {results['samples']:,} samples/point)", fontsize=10)
    fig.tight_layout()
    if path is not None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        _atomic_write(path, buf.getvalue())
    return fig


def write_results(results: dict, out_dir: str, *, plot: bool = True) -> dict:
    """Write results.json, results.csv and (if ``plot``) figure.png atomically; returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {"json": os.path.join(out_dir, "results.json"), "csv": os.path.join(out_dir, "results.csv")}
    clean = _clean(results)
    if plot:
        paths["figure"] = os.path.join(out_dir, "figure.png")
        plot_results(clean, paths["figure"])
    _atomic_write(paths["csv"], results_csv(clean).encode())
    # results.json last: its presence marks a complete run
    _atomic_write(paths["json"], (json.dumps(clean, indent=1, allow_nan=False) + "\n").encode())
    return paths


def load_results(out_dir_or_file: str) -> dict:
    p = out_dir_or_file
    if os.path.isdir(p):
        p = os.path.join(p, "results.json")
    with open(p) as f:
        return json.load(f)

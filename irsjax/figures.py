"""Figures fit for a paper draft, drawn from a results dictionary (``results.json``).

* Legends use the series' human name (``Series.name``, else its description, else the label with spaces);
  analytical curves are solid lines without markers, Monte Carlo curves are markers with their confidence
  band; a probability point with **no events** is drawn as its upper confidence bound (a hollow ``v``
  marker), never as a band shaded across decades of a log axis; deep-tail probabilities use their
  ``log10_mean`` when the plain mean underflowed.
* Paper-style defaults (small serif fonts, 3.4 x 2.6 inch panels, light grid), ``png``, ``pdf`` or
  ``svg``, and a per-scenario style hook: ``Scenario.style`` is a dict of matplotlib rcParams or a
  callable ``style(fig, results)`` applied after drawing. ``irsjax plot DIR --format pdf`` redraws the same.

>>> res = {"scenario": "demo", "seed": 0, "samples": 10, "x": {"name": "P", "values": [0, 10], "label": "P [dBm]"},
...        "panels": {"p": {"ylabel": "probability", "yscale": "log"}},
...        "series": {"sop": {"mean": [0.5, 0.0], "ci_low": [0.4, 0.0], "ci_high": [0.6, 0.3], "kind": "probability",
...                           "panel": "p", "analytical": False, "description": "secrecy outage"}}}
>>> fig = draw(res)
>>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
['secrecy outage', 'no events: upper 95% bound']
"""
from __future__ import annotations

import io
import math

import numpy as np

FORMATS = ("png", "pdf", "svg")
PAPER_STYLE = {
    "font.family": "serif",
    "font.size": 8.5,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8.5,
    "legend.fontsize": 7.5,
    "legend.framealpha": 0.85,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "lines.linewidth": 1.3,
    "lines.markersize": 3.8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "savefig.bbox": "tight",
}
PANEL_SIZE = (3.4, 2.6)
MARKERS = "osD^v<>ph*"
LEGEND_INSIDE_MAX, LEGEND_INSIDE_MAX_CHARS = 5, 32  # larger legends (entries, longest name) go below the panel


def display_name(label: str, series: dict) -> str:
    """The legend text of a series: its ``name``, else its ``description``, else the label with spaces."""
    return series.get("name") or series.get("description") or label.replace("_", " ")


def _arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _tail_means(s: dict) -> np.ndarray:
    """Means, from ``log10_mean`` where the plain mean underflowed to 0 (deep tails)."""
    y = _arr(s["mean"])
    if "log10_mean" in s:
        lg = _arr(s["log10_mean"] if isinstance(s["log10_mean"], list) else [s["log10_mean"]] * len(y))
        with np.errstate(over="ignore", under="ignore"):
            y = np.where((y == 0) & np.isfinite(lg), 10.0 ** lg, y)
    return y


def draw(results: dict, *, style=None):
    """The figure of a results dictionary: one panel per ``results["panels"]`` entry that has series."""
    import matplotlib
    import matplotlib.pyplot as plt

    panels = results.get("panels") or {"value": {"ylabel": "value", "yscale": "linear"}}
    members = {p: _members(results, p) for p in panels}
    names = [p for p in panels if members[p]]
    if not names:  # nothing to draw: one empty panel rather than no figure
        names = list(panels)[:1]
    rc = dict(PAPER_STYLE)
    if isinstance(style, dict):
        rc.update(style)
    with matplotlib.rc_context(rc):
        # panels side by side; with legends below them (many or long names), at most two panels a row
        legends = {p: legend_names(members[p]) for p in names}  # (entry texts, shared trailing phrase)
        below = {p: _legend_below(legends[p][0]) for p in names}
        any_below = any(below.values())
        ncol = min(len(names), 2 if any_below else len(names))
        nrow = -(-len(names) // ncol)
        extra = 0.16 * max((len(members[p]) for p in names), default=0) if any_below else 0.0
        fig, axes = plt.subplots(nrow, ncol, figsize=(PANEL_SIZE[0] * ncol * (1.4 if any_below else 1.0),
                                                      (PANEL_SIZE[1] + extra) * nrow),
                                 squeeze=False, layout="constrained")
        x = _arr(results["x"]["values"])
        flat = list(axes.flat)
        for ax, pname in zip(flat, names):
            _panel(ax, x, results, members[pname], legends[pname], below[pname], pname, panels[pname])
        for ax in flat[len(names):]:
            ax.set_visible(False)
        fig.suptitle(f"{results.get('scenario', '')} (seed {results.get('seed')}, "
                     f"{results.get('samples', 0):,} samples/point)", fontsize=rc.get("font.size", 8.5))
    if callable(style):
        style(fig, results)
    return fig


def has_data(series: dict) -> bool:
    """Whether a series has a finite value at some point (a series a run did not compute, e.g. a second
    configuration that was not set, is all NaN: it gets no legend entry and no panel of its own)."""
    y = _tail_means(series)
    hi = _arr(series["ci_high"]) if "ci_high" in series else y
    return bool(np.any(np.isfinite(y)) or np.any(np.isfinite(hi)))


def _members(results, pname):
    return [(k, v) for k, v in results["series"].items() if v.get("panel", "value") == pname and has_data(v)]


def legend_names(members) -> tuple[list[str], str]:
    """Legend texts of a panel's series and the trailing ``", ..."`` phrase they all share ("" if none), which
    is said once in the panel's title instead of in every entry (e.g. "first configuration (M, N)" when a run
    has only that configuration)."""
    names = [display_name(k, v) for k, v in members]
    tails = {_last_phrase(n) for n in names}
    if len(names) < 2 or len(tails) != 1 or None in tails:
        return names, ""
    tail = tails.pop()
    return [n[: -len(tail) - 2] for n in names], tail


def _last_phrase(name: str) -> str | None:
    """The text after the last ``", "`` outside parentheses (``None`` if there is none)."""
    depth = 0
    for i in range(len(name) - 1, 0, -1):
        depth += {")": 1, "(": -1}.get(name[i], 0)
        if depth == 0 and name[i - 1:i + 1] == ", ":
            return name[i + 1:]
    return None


def _legend_below(names) -> bool:
    """Whether a panel's legend (its entry texts) is too large to sit inside the panel."""
    return len(names) > LEGEND_INSIDE_MAX or max((len(n) for n in names), default=0) > LEGEND_INSIDE_MAX_CHARS


def _panel(ax, x, results, members, legend, below, pname, pinfo):
    yscale = pinfo.get("yscale", "linear")
    bound_labelled = False
    positive = []
    names, shared = legend
    for i, ((label, s), name) in enumerate(zip(members, names)):
        color, marker = f"C{i % 10}", MARKERS[i % len(MARKERS)]
        y = _tail_means(s)
        if s.get("analytical") or "ci_low" not in s:
            ax.plot(x, np.where(y > 0, y, np.nan) if yscale == "log" else y, "-", color=color, label=name)
        else:
            lo, hi = _arr(s["ci_low"]), _arr(s["ci_high"])
            zero = (s.get("kind") == "probability") & (y == 0)
            ys = np.where(zero | ((yscale == "log") & ~(y > 0)), np.nan, y)  # a log axis cannot show y <= 0
            ax.plot(x, ys, marker=marker, ls="--", lw=0.9, color=color, label=name)
            band = ~zero & np.isfinite(lo) & np.isfinite(hi)
            if yscale == "log":
                band &= lo > 0
            ax.fill_between(x, np.where(band, lo, np.nan), np.where(band, hi, np.nan), color=color, alpha=0.18,
                            lw=0)
            if np.any(zero & np.isfinite(hi)):
                ax.plot(x[zero], hi[zero], "v", mfc="none", color=color,
                        label=None if bound_labelled else "no events: upper 95% bound")
                bound_labelled = True
                positive += [v for v in hi[zero] if v > 0]
        positive += [v for v in y if np.isfinite(v) and v > 0]
    if yscale == "log" and positive:
        ax.set_yscale("log")
        lo = min(positive)
        if lo > 0 and math.isfinite(lo):
            ax.set_ylim(bottom=lo / 3)
    ax.set_xscale(results["x"].get("scale", "linear"))
    ax.set_xlabel(results["x"].get("label", results["x"]["name"]))
    ax.set_ylabel(pinfo.get("ylabel", pname))
    if shared:
        ax.set_title(shared, fontsize="small")
    ax.grid(True, which="both")
    if below:  # a long legend goes below its panel, not over the curves
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1, fontsize="x-small", frameon=False)
    elif members:
        ax.legend()


def figure_bytes(results: dict, fmt: str = "png", *, style=None) -> bytes:
    """The figure encoded as ``png`` (200 dpi), ``pdf`` or ``svg``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = draw(results, style=style)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=200, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


__all__ = ["FORMATS", "PAPER_STYLE", "display_name", "draw", "figure_bytes", "has_data"]

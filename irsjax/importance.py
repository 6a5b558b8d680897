"""Importance sampling for rare outage events, on top of the Monte Carlo engine.

Plain Monte Carlo needs about ``100 / p`` realisations to estimate an outage probability ``p`` to 10 %;
at ``p = 1e-7`` that is 1e9. Importance sampling draws the channels from a *proposal* law under which
the outage is common and weights each realisation by the likelihood ratio ``w = f(x) / q(x)``:
``p = E_q[w 1{outage}]``, unbiased for any proposal that covers the outage region. The proposals here
scale (exponentially tilt) the fading laws of chosen channels; their parameters are fitted by the
cross-entropy (CE) method in a few pilot rounds (Rubinstein; for outage probabilities Ben Rached,
Botev, Kammoun, Alouini, Tempone, ICASSP 2018), with multilevel thresholds when the target event is too
rare for the first pilot to see.

A *tilted model* is a pytree (an :func:`irsjax.config.config` instance) whose proposal parameters are
float leaves (new values never recompile) with

* ``sample_score(key) -> (score, log_weight, suff)``: one realisation drawn from the proposal, its
  continuous *score* (the event is ``score <= level``: e.g. the best user's secrecy capacity against a
  target rate), ``log w`` and the nonnegative sufficient statistics ``suff`` (a 1-D array) of the
  proposal family, and
* ``ce_update(mean_suff) -> model``: the proposal whose parameters match the conditional means
  ``E_f[suff | event]`` (the CE update of an exponential family; a mixture uses its responsibilities),
* optionally ``ce_initial() -> model``: the proposal the CE rounds start from when it is not the model itself
  (a mixture whose components coincide at the nominal law must start with them apart, or the CE updates,
  which see equal responsibilities, never separate them).

:func:`fit` runs the CE rounds and :func:`estimate` the final weighted estimate: the engine averages the
vector statistics ``w 1{score <= level_j}``, ``w 1{...} suff`` and ``w`` (in log space, so tiny weights
never underflow) with its usual guarantees (bit-identical for any batch size and device count), and the
result carries the CI, the effective sample size and the variance reduction against plain Monte Carlo.

>>> import numpy as np, jax, jax.numpy as jnp
>>> from irsjax import importance
>>> from irsjax.config import config
>>> @config
... class ExpTail:                       # P(X > 20) for X ~ Exp(1) (= e^-20 = 2.1e-9), proposal Exp(mean s)
...     log_s: float = 0.0
...     def sample_score(self, key):
...         x0 = jax.random.exponential(key)
...         x, s = jnp.exp(self.log_s) * x0, jnp.exp(self.log_s)
...         log_w = self.log_s - (1.0 - 1.0 / s) * x      # log f(x)/q(x)
...         return -x, log_w, x[None]                    # event: -x <= -20
...     def ce_update(self, m):
...         return ExpTail(log_s=jnp.log(m[0]))
>>> fitted = importance.fit(ExpTail(), jax.random.key(0), level=-20.0, levels=-20.0 + 2.0 * np.arange(11),
...                         samples=4096)
>>> res = importance.estimate(fitted.model, jax.random.key(1), 20_000, level=-20.0)
>>> len(fitted.rounds), bool(abs(res.estimate.mean / np.exp(-20.0) - 1) < 0.1), res.ess > 500
(3, True, True)
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, NamedTuple

import numpy as np
import jax
import jax.numpy as jnp

from irsjax import montecarlo
from irsjax.config import config, static
from irsjax.montecarlo import Estimate

__all__ = [
    "ImportanceStatistics", "scaled_normal_log_ratio", "mixture_log_ratio", "CERound", "FitResult",
    "ImportanceResult", "fit", "estimate", "summarize", "seconds_per_realisation", "plain_samples_for",
    "importance_samples_for",
]

LOG_SPACE = ("log_wI", "log_wIT", "log_w")


# --------------------------------------------------------------------------- likelihood ratios
def scaled_normal_log_ratio(power0, log_scale, dims):
    """``log f(z) / q(z)`` for ``dims`` i.i.d. CN(0, 1) entries under the proposal CN(0, s), ``s =
    e^log_scale``, with ``z = sqrt(s) z0`` drawn from the nominal ``z0`` (``power0 = ||z0||^2``):
    ``dims log s - (s - 1) ||z0||^2``. The same formula holds for real N(0, 1) pairs and for
    exponential powers ``|z|^2 ~ Exp(1)`` scaled to ``Exp(s)`` (exponential tilting).

    >>> round(float(scaled_normal_log_ratio(2.0, 0.0, 3)), 6)     # no tilt: weight 1
    0.0
    """
    s = jnp.exp(log_scale)
    return dims * log_scale - (s - 1.0) * power0


def mixture_log_ratio(log_q_over_f):
    """``log f(x) / q(x)`` for the uniform mixture ``q = mean_m q_m`` given ``log q_m(x)/f(x)`` for every
    component (last axis); also the responsibilities ``q_m(x) / sum q`` (for the CE update).

    >>> lw, r = mixture_log_ratio(jnp.zeros(4))
    >>> float(lw), r.tolist()
    (0.0, [0.25, 0.25, 0.25, 0.25])
    """
    m = log_q_over_f.shape[-1]
    lse = jax.nn.logsumexp(log_q_over_f, axis=-1)
    resp = jnp.exp(log_q_over_f - lse[..., None])
    return jnp.log(jnp.asarray(float(m), lse.dtype)) - lse, resp


# --------------------------------------------------------------------------- the engine's statistics
@config
class ImportanceStatistics:
    """Per-realisation statistics of a tilted ``model`` for the engine (vector statistics over the
    thresholds ``levels``, shape ``(G,)``):

    * ``hit`` ``(G,)``: ``1{score <= level_j}`` under the proposal (plain mean: how often the pilot sees it),
      or the conditional probability ``P(event_j | draw)`` of a model with ``sample_log_outage``,
    * ``log_wI`` ``(G,)``: ``log(w 1{score <= level_j})`` (``-inf`` off the event; ``log w + log P(event_j |
      draw)`` for a conditional model), whose mean of exponentials is the IS estimate of ``P_f(event_j)``,
    * ``log_wIT`` ``(G, m)``: ``log(w 1{...} suff)`` (CE updates; only with ``with_suff``),
    * ``log_w``: ``log w`` (``E_q[w] = 1`` checks the weights; its spread gives Kish's ESS).
    """

    LOG_SPACE = LOG_SPACE
    model: Any
    levels: Any
    with_suff: bool = static(True)

    def __call__(self, key):
        if hasattr(self.model, "sample_log_outage"):
            log_p, log_w, suff = self.model.sample_log_outage(key, self.levels)
        else:
            score, log_w, suff = self.model.sample_score(key)
            hit = score <= jnp.asarray(self.levels, score.dtype)
            log_p = jnp.where(hit, jnp.zeros((), log_w.dtype), jnp.asarray(-jnp.inf, log_w.dtype))
        ninf = jnp.asarray(-jnp.inf, log_w.dtype)
        log_wi = log_w + log_p
        out = {"hit": jnp.exp(log_p), "log_wI": log_wi, "log_w": log_w}
        if self.with_suff:
            suff = jnp.asarray(suff, log_w.dtype)
            log_t = jnp.where(suff > 0, jnp.log(jnp.where(suff > 0, suff, 1.0)), ninf)
            out["log_wIT"] = log_wi[:, None] + log_t[None, :]
        return out


# --------------------------------------------------------------------------- results
class CERound(NamedTuple):
    """One cross-entropy pilot round: the level used, the fraction of pilot samples below it, the IS
    estimate of the probability of that level, and the proposal parameters fitted from it."""

    level: float
    hit_fraction: float
    probability: float
    parameters: dict


class FitResult(NamedTuple):
    """The fitted proposal (``model``), the rounds, whether the target level was reached, and the
    pilot cost (realisations, seconds)."""

    model: Any
    rounds: tuple
    reached: bool
    samples: int
    seconds: float


class ImportanceResult(NamedTuple):
    """An importance-sampling estimate of ``p = P(score <= level)``.

    ``estimate``: the :class:`~irsjax.montecarlo.Estimate` of ``p`` (normal-theory CI of the weighted
    mean; ``log10_*`` exact far below float range). ``ess``: effective sample size of the estimator,
    ``n / (1 + Var(wI)/p^2)``: plain Monte Carlo with ``ess`` realisations *of a probability-1/2-like event*
    has the same relative error; ``kish_ess``: ``(sum w)^2 / sum w^2`` over all weights. ``mean_weight``:
    estimate of ``E_q[w]`` (1 for a valid proposal). ``hits``: realisations in the event under the proposal.
    ``variance_reduction``: ``p(1-p) / Var(wI)``, per realisation, against plain Monte Carlo.
    """

    estimate: Estimate
    ess: float
    kish_ess: float
    mean_weight: Estimate
    hits: float
    variance_reduction: float
    samples: int
    seconds: float

    @property
    def rel_error(self) -> float:
        return float(self.estimate.rel_error)

    def as_dict(self) -> dict:
        e = self.estimate
        return {"mean": e.mean, "ci_low": e.ci_low, "ci_high": e.ci_high, "std_err": e.std_err,
                "rel_error": self.rel_error, "log10_mean": e.log10_mean, "ess": self.ess, "kish_ess": self.kish_ess,
                "mean_weight": self.mean_weight.mean, "hits": self.hits,
                "variance_reduction": self.variance_reduction, "samples": self.samples, "seconds": self.seconds}


def _default_runner(fn, key, num_samples, **kw):
    return montecarlo.estimate(fn, key, num_samples, **kw)


def _params_of(model) -> dict:
    leaves = jax.tree_util.tree_flatten_with_path(model)[0]
    return {jax.tree_util.keystr(p): float(np.asarray(v)) for p, v in leaves
            if np.ndim(v) == 0 and jax.tree_util.keystr(p).split(".")[-1].startswith("log_s")}


def _ratio_from_log10(num_log10, den_log10):
    return np.power(10.0, np.asarray(num_log10, float) - np.asarray(den_log10, float))


def fit(model, key, *, level: float, levels=None, samples: int = 20_000, rounds: int = 8, rho: float = 0.1,
        min_events: int = 100, smoothing: float = 1.0, runner: Callable | None = None) -> FitResult:
    """Fit the proposal of a tilted ``model`` to the event ``score <= level`` by the cross-entropy method.

    Each round draws ``samples`` realisations from the current proposal (keys ``fold_in(pilot key, round)``,
    independent of :func:`estimate`'s) and evaluates the weighted statistics at every threshold of
    ``levels`` (ascending, ``levels[0] == level``; default ``level`` only). The round's level is the target
    once at least ``min_events`` pilot realisations reach it, else the lowest threshold that a fraction
    ``rho`` of them reaches (multilevel CE; if that is no lower than the previous round's, the lowest one
    that ``min_events`` of them reach); the proposal is then refitted to the weighted conditional
    means of its sufficient statistics at that level (``smoothing`` < 1 mixes in the previous
    parameters, in the model's own parametrisation). Stops after the first round at the target level. Starts
    from ``model.ce_initial()`` where the model defines it.
    ``runner(fn, key, n, **engine options)`` runs the engine (default :func:`irsjax.montecarlo.estimate`;
    a scenario passes its ``ctx.estimate``).
    """
    run = runner or _default_runner
    grid = np.asarray([level] if levels is None else levels, dtype=float).reshape(-1)
    if not math.isclose(grid[0], level) or np.any(np.diff(grid) <= 0):
        raise ValueError("levels must be ascending and start at level")
    if not (0 < rho < 1):
        raise ValueError(f"rho must be in (0, 1), got {rho}")
    if not (0 < smoothing <= 1):
        raise ValueError(f"smoothing must be in (0, 1], got {smoothing}")
    if hasattr(model, "ce_initial"):
        model = model.ce_initial()
    pilot_key = jax.random.fold_in(key, 0x1CE)
    history, reached, t0, prev_j = [], False, time.perf_counter(), len(grid)
    for r in range(int(rounds)):
        stats = ImportanceStatistics(model, grid, with_suff=True)
        est = run(stats, jax.random.fold_in(pilot_key, r), int(samples),
                  target_rel_error=None, min_events=None)
        frac = np.atleast_1d(np.asarray(est["hit"].mean, float))
        n = est["hit"].num_samples
        if frac[0] * n >= min_events:
            j, reached = 0, True
        else:
            ok = np.nonzero(frac >= rho)[0]
            j = int(ok[0]) if ok.size else len(grid) - 1
            seen = np.nonzero(frac * n >= min_events)[0]
            if j >= prev_j:  # stalled: the lowest level seen often enough, never back up
                j = int(seen[0]) if seen.size and seen[0] < prev_j else prev_j
            reached = False
        prev_j = j
        wi = est["log_wI"]
        den = np.atleast_1d(wi.log10_mean)[j]
        if not np.isfinite(den):  # nothing reached the level: keep the proposal, report the round
            history.append(CERound(float(grid[j]), float(frac[j]), 0.0, _params_of(model)))
            continue
        mean_suff = _ratio_from_log10(np.asarray(est["log_wIT"].log10_mean)[j], den)
        new = model.ce_update(jnp.asarray(mean_suff))
        if smoothing < 1.0:
            new = jax.tree_util.tree_map(lambda a, b: smoothing * a + (1.0 - smoothing) * b, new, model)
        model = new
        history.append(CERound(float(grid[j]), float(frac[j]), float(10.0 ** den), _params_of(model)))
        if reached:
            break
    return FitResult(model, tuple(history), reached, int(samples) * len(history), time.perf_counter() - t0)


def summarize(est: dict, index: int = 0, seconds: float = float("nan")) -> ImportanceResult:
    """An :class:`ImportanceResult` from the engine's estimates of :class:`ImportanceStatistics`
    (entry ``index`` of the thresholds)."""
    e = est["log_wI"].at(index) if np.ndim(est["log_wI"].mean) else est["log_wI"]
    n = e.num_samples
    p = float(e.mean)
    rel2 = float(e.rel_error) ** 2 if p > 0 else math.inf
    ess = n / (1.0 + n * rel2) if math.isfinite(rel2) else 0.0
    w = est["log_w"]
    rw2 = float(w.rel_error) ** 2 if w.mean > 0 else math.inf
    kish = n / (1.0 + n * rw2) if math.isfinite(rw2) else 0.0
    hits = est["hit"].at(index).mean if np.ndim(est["hit"].mean) else est["hit"].mean
    var = float(e.variance)
    vr = p * (1.0 - p) / var if var > 0 else (math.inf if p > 0 else float("nan"))
    return ImportanceResult(e, ess, kish, w, float(hits) * n, vr, n, seconds)


def estimate(model, key, num_samples: int, *, level: float, runner: Callable | None = None,
             **engine_options) -> ImportanceResult:
    """The importance-sampling estimate of ``P(score <= level)`` under a (fitted) tilted ``model``, from
    ``num_samples`` realisations of its proposal (the engine's key ``key``; options such as
    ``target_rel_error``, ``batch_size``, ``devices`` go to the engine)."""
    run = runner or _default_runner
    stats = ImportanceStatistics(model, np.asarray([level], float), with_suff=False)
    t0 = time.perf_counter()
    est = run(stats, key, int(num_samples), **engine_options)
    return summarize(est, 0, time.perf_counter() - t0)


# --------------------------------------------------------------------------- cost accounting
def seconds_per_realisation(fn, key, num_samples: int = 2**15, *, repeats: int = 1, **engine_options) -> float:
    """Steady-state engine cost of ``fn`` per realisation (compilation excluded: one warm-up run first;
    best of ``repeats``)."""
    montecarlo.estimate(fn, key, num_samples, **engine_options)
    best = math.inf
    for _ in range(int(repeats)):
        t0 = time.perf_counter()
        montecarlo.estimate(fn, key, num_samples, **engine_options)
        best = min(best, time.perf_counter() - t0)
    return best / num_samples


def plain_samples_for(p: float, rel_error: float) -> float:
    """Plain Monte Carlo realisations for relative error ``rel_error`` at probability ``p``:
    ``(1 - p) / (p rel_error^2)``.

    >>> f"{plain_samples_for(1e-7, 0.05):.3g}"
    '4e+09'
    """
    return (1.0 - p) / (p * rel_error * rel_error) if p > 0 else math.inf


def importance_samples_for(result: ImportanceResult, rel_error: float) -> float:
    """Importance-sampling realisations (after the pilot) for relative error ``rel_error``:
    ``Var(wI) / (p^2 rel_error^2)``, from the per-realisation variance of ``result``."""
    p = float(result.estimate.mean)
    return float(result.estimate.variance) / (p * p * rel_error * rel_error) if p > 0 else math.inf

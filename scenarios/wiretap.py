"""``irsjax run wiretap``: the reference single-user IRS wiretap (MODELS.md section 0.5).

Series: average secrecy rate and SOP with phases aligned to Bob and with random
phases (plain Monte Carlo), the exact random-phase SOP, and the aligned-phase
SOP by the conditional Monte Carlo estimator (Eve's exact exponential law given
Bob's SNR), whose variance-reduction factor is reported per point.
"""
from __future__ import annotations

import jax
import numpy as np

from irsjax.analysis.wiretap import sop_random_phases
from irsjax.montecarlo import variance_reduction, Estimate
from irsjax.scenario import Panel, Param, PointResult, Scenario, Series
from irsjax.systems.wiretap import LOG_SPACE, PROBABILITIES, WiretapConfig

PARAMS = (
    Param("K", 32, "elements", "number of IRS elements", kind=int, minimum=1, maximum=4096),
    Param("P_dBm", -10.0, "dBm", "source transmit power", minimum=-100.0, maximum=100.0),
    Param("R_s", 1.0, "bit/s/Hz", "target secrecy rate of the SOP", minimum=0.0, exclusive_minimum=True, maximum=64.0),
    Param("noise_dBm", -90.0, "dBm", "noise power at Bob and Eve", minimum=-250.0, maximum=100.0),
    Param("rng", "pcg", "", "per-realisation uniform stream (pcg: fast counter hash; threefry: jax.random)",
          kind=str, choices=("pcg", "threefry"), sweepable=False),
)


_mean_snrs = jax.jit(WiretapConfig.mean_snrs)  # one dispatch a point instead of ~40 eager ops (the sweep's fixed cost)


def config(params) -> WiretapConfig:
    return WiretapConfig(K=int(params["K"]), P_dBm=float(params["P_dBm"]), R_s=float(params["R_s"]),
                         noise_dBm=float(params["noise_dBm"]), rng=str(params["rng"]))


def point(ctx, params) -> PointResult:
    cfg = config(params)
    est = ctx.estimate(cfg, probabilities=PROBABILITIES, log_space=LOG_SPACE)
    gb_bar, ge_bar = (float(v) for v in _mean_snrs(cfg))
    analysis = float(sop_random_phases(gb_bar, ge_bar, cfg.R_s))
    cond = est["log_cond_out_aligned"]  # estimate of the mean of exp(log p): the conditional SOP
    # plain-MC variance of the indicator, from the (more accurate) conditional estimate of p
    p = min(max(cond.mean, 0.0), 1.0)
    plain = Estimate(p, 0.0, p, p, cond.num_samples, p * (1 - p), "probability")
    return PointResult(
        values={
            "asr_aligned": est["sr_aligned"],
            "asr_random": est["sr_random"],
            "sop_aligned": est["out_aligned"],
            "sop_random": est["out_random"],
            "sop_random_analysis": analysis,
            "sop_aligned_conditional": cond,
        },
        extras={
            "variance_reduction_sop_aligned": variance_reduction(plain, cond),
            "mean_snr_bob_random_dB": float(10 * np.log10(gb_bar)),
            "mean_snr_eve_dB": float(10 * np.log10(ge_bar)),
        },
    )


SCENARIO = Scenario(
    name="wiretap",
    description=("reference single-user IRS wiretap: ASR and SOP, aligned vs random phases, "
                     "closed form and conditional MC"),
    params=PARAMS,
    sweep="P_dBm",
    sweep_values=tuple(float(v) for v in range(-10, 41, 5)),
    series=(
        Series("asr_aligned", "asr", description="aligned phases"),
        Series("asr_random", "asr", description="random phases"),
        Series("sop_aligned", "sop", description="aligned phases"),
        Series("sop_random", "sop", description="random phases"),
        Series("sop_random_analysis", "sop", analytical=True, description="random phases, exact closed form"),
        Series("sop_aligned_conditional", "sop", description="aligned phases, conditional MC (Eve's exact law)"),
    ),
    panels={"asr": Panel("average secrecy rate [bit/s/Hz]"), "sop": Panel("secrecy outage probability", "log")},
    point=point,
    default_samples=200_000,
    shared_draws=("P_dBm", "R_s", "noise_dBm"),
)

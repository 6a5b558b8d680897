"""``irsjax run irs-outage``: outage probability of one IRS-aided link, Monte Carlo against the exact law.

A source reaches a user only through a K-element IRS: line of sight to the IRS (unit-modulus gains),
Rayleigh from the IRS to the user, random phases. The cascade is then exactly CN(0, K), the SNR
exponential with mean ``K snr``, and the outage probability ``1 - exp(-(2^R - 1) / (K snr))``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from irsjax import channels, phases, units
from irsjax.config import check_positive, check_size, config, static
from irsjax.scenario import Panel, Param, PointResult, Scenario, Series


@config
class Link:
    """One realisation's physics: the size is static, every float is a leaf (traced, never recompiled)."""

    K: int = static(16)
    snr_dB: float = 0.0  # per-element mean SNR rho * beta
    rate: float = 1.0  # target rate [bit/s/Hz]

    def __post_init__(self):
        check_size("K", self.K)
        check_positive("rate", self.rate)

    def mean_snr(self):
        return self.K * units.db_to_linear(jnp.asarray(self.snr_dB, channels.real_dtype()))

    def __call__(self, key):
        k_g, k_v = jax.random.split(key)
        g = channels.complex_normal(k_g, (self.K,))  # IRS -> user, Rayleigh
        v = phases.random(k_v, self.K)  # random IRS phases (the LoS source -> IRS phases are absorbed in v)
        snr = units.db_to_linear(jnp.asarray(self.snr_dB, channels.real_dtype())) * jnp.abs(jnp.sum(v * g)) ** 2
        out = (jnp.log2(1.0 + snr) < self.rate).astype(snr.dtype)
        return {"outage": out, "snr": snr}


PARAMS = (
    Param("K", 16, "elements", "IRS elements", kind=int, minimum=1, maximum=4096),
    Param("snr_dB", 0.0, "dB", "per-element mean SNR", minimum=-100.0, maximum=100.0),
    Param("rate", 1.0, "bit/s/Hz", "target rate", minimum=0.0, exclusive_minimum=True, maximum=32.0),
)


def point(ctx, params) -> PointResult:
    link = Link(K=int(params["K"]), snr_dB=float(params["snr_dB"]), rate=float(params["rate"]))
    est = ctx.estimate(link, probabilities=("outage",))
    exact = float(-jnp.expm1(-(2.0 ** link.rate - 1.0) / link.mean_snr()))
    return PointResult(values={"outage_mc": est["outage"], "outage_exact": exact},
                       extras={"mean_snr_dB": float(10 * jnp.log10(link.mean_snr()))})


SCENARIO = Scenario(
    name="irs-outage",
    description="example user scenario: outage of an IRS link with random phases, Monte Carlo vs exact",
    params=PARAMS,
    sweep="snr_dB",
    sweep_values=(-20.0, -15.0, -10.0, -5.0, 0.0),
    series=(Series("outage_mc", "p", description="Monte Carlo"),
            Series("outage_exact", "p", analytical=True, description="exact exponential law")),
    panels={"p": Panel("outage probability", "log")},
    point=point,
    default_samples=20_000,
    shared_draws=("snr_dB", "rate"),  # neither changes the law of the fading draws: one pass over all points
)

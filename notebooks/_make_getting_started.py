"""Regenerate getting_started.ipynb (outputs are not stored): python notebooks/_make_getting_started.py"""
import os

import nbformat as nbf

cells = [
    nbf.v4.new_markdown_cell("""# Getting started with irsjax

irsjax simulates physical-layer security with intelligent reflecting surfaces (IRS) in JAX:
channels, secrecy metrics, a reproducible Monte Carlo engine with confidence intervals, and
paper scenarios you can run from Python or from the `irsjax` command line.

This notebook shows
1. channels and IRS phases,
2. one Monte Carlo estimate with its confidence interval,
3. the reference `wiretap` sweep and its figure,
4. how to write your own per-realisation metric,
5. gradients through the simulator: moving the IRS by gradient ascent on the average secrecy rate."""),
    nbf.v4.new_code_cell("""import os
import jax, jax.numpy as jnp
import numpy as np
import matplotlib.pyplot as plt
import irsjax
from irsjax import channels, phases, metrics, montecarlo, units

FAST = os.environ.get("IRSJAX_FAST") == "1"   # the test suite runs this notebook with tiny sample sizes
print("irsjax", irsjax.__version__, "| jax", jax.__version__, "| backend", jax.default_backend())"""),
    nbf.v4.new_markdown_cell("""## 1. Channels and phases
A K-element IRS between a source and Bob: Rayleigh links, and the phases that co-phase the cascade
`sum_k g_k v_k h_k`. Keys are explicit: the same key always gives the same channel."""),
    nbf.v4.new_code_cell("""K = 32
kh, kg = jax.random.split(jax.random.key(0))
h = channels.rayleigh(kh, (K,), gain=1e-3)      # source -> IRS
g = channels.rayleigh(kg, (K,), gain=1e-3)      # IRS -> Bob
v_aligned = phases.align(h * g)
v_random = phases.random(jax.random.key(1), K)
for name, v in [("aligned", v_aligned), ("random", v_random)]:
    print(f"{name:8s} |cascade|^2 = {float(jnp.abs(channels.cascade(g, v, h))**2):.3e}")"""),
    nbf.v4.new_markdown_cell("""## 2. A Monte Carlo estimate with its confidence interval
The engine takes any function `fn(key, *args) -> {name: scalar}` describing **one** realisation and returns
estimates with 95 % confidence intervals. Results do not depend on the batch size."""),
    nbf.v4.new_code_cell("""def one_realisation(key, snr_db):
    kb, ke = jax.random.split(key)
    snr = units.db_to_linear(snr_db)
    gb = snr * jnp.abs(channels.complex_normal(kb)) ** 2   # Bob's SNR, exponential
    ge = 0.1 * snr * jnp.abs(channels.complex_normal(ke)) ** 2   # Eve 10 dB weaker on average
    return {"secrecy_rate": metrics.secrecy_rate(gb, ge),
            "outage": metrics.secrecy_outage(gb, ge, 1.0)}

n = 20_000 if FAST else 1_000_000
est = montecarlo.estimate(one_realisation, jax.random.key(42), n, args=(10.0,), probabilities=("outage",))
for name, e in est.items():
    print(f"{name:13s} {e.mean:.4f}  95% CI [{e.ci_low:.4f}, {e.ci_high:.4f}]  rel. error {e.rel_error:.1e}")"""),
    nbf.v4.new_markdown_cell("""## 3. The reference wiretap sweep
The same thing the CLI runs (`irsjax run wiretap`): secrecy rate and SOP versus transmit power, with aligned and
random phases, the exact random-phase SOP and the conditional Monte Carlo SOP estimator."""),
    nbf.v4.new_code_cell("""from irsjax.cli import load_scenario
from irsjax.scenario import resolve, run_sweep
from irsjax.results import plot_results

wiretap = load_scenario("wiretap")
print(wiretap.help_text())
params, sweep_name, values = resolve(wiretap, {"P_dBm": "-10:40:10" if FAST else "-10:40:5"})
res = run_sweep(wiretap, params, sweep_name, values, seed=0, samples=5_000 if FAST else 200_000)
fig = plot_results(res)
plt.show()
print("variance reduction of the conditional estimator:",
      np.round(res["derived"]["per_point"]["variance_reduction_sop_aligned"], 1))"""),
    nbf.v4.new_markdown_cell("""## 4. Your own per-realisation metric
Write a function of one key (plus dynamic arguments), compose irsjax's channel and metric functions, and hand it
to the engine. Here: the finite-blocklength secrecy rate with IRS phases quantised to 1, 2 or 3 bits."""),
    nbf.v4.new_code_cell("""from irsjax.systems.wiretap import WiretapConfig
def quantised_fbr(key, cfg):
    h, g_b, g_e = cfg.sample(key)
    rho = cfg.snr_scale()
    out = {}
    for bits in (1, 2, 3):
        v = phases.quantize(phases.align(h * g_b), bits)
        gb = rho * jnp.abs(channels.cascade(g_b, v, h)) ** 2
        ge = rho * jnp.abs(channels.cascade(g_e, v, h)) ** 2
        out[f"fbr_{bits}bit"] = metrics.fbr_secrecy_rate(gb, ge, blocklength=200, error_prob=1e-5, leakage=1e-5)
    return out

cfg = WiretapConfig(K=32, P_dBm=10.0)  # a pytree: its floats are traced, so new values never recompile
est = montecarlo.estimate(quantised_fbr, jax.random.key(0), 4_096 if FAST else 200_000, args=(cfg,))
for name, e in sorted(est.items()):
    print(f"{name}: {e.mean:.3f} +/- {e.std_err:.3f} bit/s/Hz")"""),
]
cells += [
    nbf.v4.new_markdown_cell("""## 5. Gradients through the simulator
A configuration is a pytree whose floats (powers, noise, exponents, **positions**) are leaves, and
`montecarlo.mean` is a differentiable Monte Carlo mean over fixed draws (common random numbers: pathwise
derivative, memory-bounded). So `jax.grad` of the ASR with respect to the IRS position is one call. Here the
IRS starts at (40, 0) and climbs the ASR surface by normalised gradient steps of 1 m, on the same draws at
every step; the secrecy rate improves as it moves towards Bob and away from Eve."""),
    nbf.v4.new_code_cell("""import dataclasses
cfg = WiretapConfig(K=32, P_dBm=10.0)
key, n = jax.random.key(3), 2_048 if FAST else 50_000
asr = jax.jit(lambda c: montecarlo.mean(c, key, n, statistics=("sr_aligned",))["sr_aligned"])
grad_asr = jax.jit(jax.grad(lambda c: montecarlo.mean(c, key, n, statistics=("sr_aligned",))["sr_aligned"]))
path = []
for step in range(10 if FAST else 25):
    g = grad_asr(cfg)
    d = np.array([float(g.irs[0]), float(g.irs[1])])
    path.append((*cfg.irs, float(asr(cfg))))
    move = d / max(np.linalg.norm(d), 1e-12)          # 1 m along the gradient
    cfg = dataclasses.replace(cfg, irs=(cfg.irs[0] + float(move[0]), cfg.irs[1] + float(move[1])))
path = np.array(path)
print(f"IRS {path[0, :2]} -> {path[-1, :2]}: ASR {path[0, 2]:.3f} -> {path[-1, 2]:.3f} bit/s/Hz")
fig, ax = plt.subplots(figsize=(5, 4))
ax.plot(path[:, 0], path[:, 1], "o-", ms=3, label="IRS path")
ax.plot(*cfg.bob, "g^", ms=9, label="Bob"); ax.plot(*cfg.eve, "rv", ms=9, label="Eve")
ax.plot(*cfg.source, "ks", label="S")
ax.set_xlabel("x [m]"); ax.set_ylabel("y [m]"); ax.legend(); ax.grid(alpha=0.3)
plt.show()"""),
]

KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
nb = nbf.v4.new_notebook(cells=cells, metadata=KERNEL)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "getting_started.ipynb")
nbf.write(nb, path)
print("wrote", path)

"""Generate notebooks/uplink_sop.ipynb (saved without outputs): python notebooks/_make_uplink_sop.py"""
import os

import nbformat as nbf

cells = [
    ("md", """# Secrecy-outage fairness in the IRS-aided uplink (MODELS.md section 3)

`K` single-antenna users talk to an `M`-antenna BS through the direct links and an `N`-element IRS; an
`N_E`-antenna eavesdropper listens, and only the statistics of its channels are known. Each user's secrecy outage
probability (SOP) has a closed form (Theorem 1, eq. 3.7): `P_k = Q_Gamma(N_E, max(x_k, 0))` with
`x_k = sigma_E^2 (2^(C_B,k - R_s) - 1) / (p_k eps_k)`. The design goal is **min-max SOP**: choose the IRS phases
(and the BS receivers) to minimise the worst user's SOP, i.e. maximise `min_k x_k`.

This notebook draws one topology, designs the phases by gradient ascent with the MMSE receivers in closed form
inside the objective, shows the optimisation trace, compares the per-user SOPs with the MM-SINR design, random
phases and no IRS, and checks (3.7) against Monte Carlo over Eve's channel. `IRSJAX_FAST=1` makes it quick."""),
    ("code", """import os
import numpy as np
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt

import optim
from irsjax.systems import uplink
from irsjax.analysis import uplink as analysis
from scenarios import uplink_design as design

FAST = os.environ.get("IRSJAX_FAST") == "1"
cfg = uplink.UplinkConfig(K=4, M=4, N=16 if FAST else 32, N_E=2, R_s=1.0)   # MODELS.md 3(e) defaults otherwise
ITERS = 40 if FAST else 100
print(cfg.K, "users,", cfg.M, "BS antennas,", cfg.N, "IRS elements,", cfg.N_E, "Eve antennas")"""),
    ("md", """## The model: one topology
`uplink.sample(key, cfg)` draws the users (uniform in a disc of radius 10 m around (60, 0)) and the Rayleigh
links `h_d,k`, `G`, `h_r,k`; `uplink.sample_eve` draws Eve's links. Everything is a pure function of a key and
the config (a pytree: every float is traced, so sweeps over powers or positions compile once)."""),
    ("code", """ch = uplink.sample(jax.random.key(7), cfg)
data = design.problem_data(cfg, ch)
v0 = optim.manifold.random_point(jax.random.key(8), (cfg.N,), dtype=ch.G.dtype)
print("user positions [m]:\\n", np.round(np.asarray(ch.users), 1))
print("Eve's variance per antenna eps_k:", np.asarray(uplink.eve_variance(ch)))
sop0 = analysis.sop_from_x(design.mmse_x(v0, data), cfg.N_E)
print("SOP with random phases + MMSE receivers:", np.round(np.asarray(sop0), 4))"""),
    ("md", """## One optimisation and its trace
MM-SOP the gradient way: Riemannian ascent of `soft_min_tau(x*(v))` over unit-modulus phases, with
`x_k* = c_k (1 + SINR_k* - 2^R_s)` and the MMSE SINRs computed by linear solves inside the objective (envelope
theorem: no alternation between receivers and phases). The soft-min temperature is annealed from 0.3 to 3e-5
times `|min_k x_k|`, then 0 (exact min); the history concatenates the stages. Two whole annealing paths are run
(the first from the random start), the best exact value wins."""),
    ("code", """opts = design.gradient_options(iters=ITERS)
run = jax.jit(lambda k, v, d, sinr: design.gradient_design(k, v, design.design_objective, (d, sinr), paths=2,
                                                           options=opts))
res = run(jax.random.key(9), v0, data, False)        # MM-SOP
sinr_res = run(jax.random.key(10), v0, data, True)   # MM-SINR: same compiled function
print("exact objective of every annealing path:", np.round(np.asarray(res.path_values), 4))
hist = np.asarray(res.history)
x_start, x_designed = jnp.min(design.mmse_x(v0, data)), jnp.min(design.mmse_x(res.phases, data))
print("min_k x_k: start", float(x_start), "-> designed", float(x_designed))"""),
    ("code", """ch0 = uplink.no_irs(ch)
d0 = design.problem_data(cfg, ch0)
sops = {
    "no IRS": analysis.sop_from_x(design.mmse_x(jnp.zeros((0,), v0.dtype), d0), cfg.N_E),
    "random phases": analysis.sop_from_x(design.mmse_x(v0, data), cfg.N_E),
    "MM-SINR (gradient)": analysis.sop_from_x(design.mmse_x(sinr_res.phases, data), cfg.N_E),
    "MM-SOP (gradient)": analysis.sop_from_x(design.mmse_x(res.phases, data), cfg.N_E),
}
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
a1.plot(hist)
a1.set_xlabel("iteration (annealing stages)"); a1.set_ylabel("soft-min of x_k"); a1.set_title("MM-SOP gradient trace")
w = 0.2
for i, (name, s) in enumerate(sops.items()):
    a2.bar(np.arange(cfg.K) + (i - 1.5) * w, np.asarray(s), w, label=name)
a2.set_yscale("log"); a2.set_xlabel("user k"); a2.set_ylabel("SOP_k by (3.7)"); a2.legend(fontsize=8)
a2.set_title("per-user SOP, one topology")
plt.tight_layout(); plt.show()
for name, s in sops.items():
    print(f"{name:20s} max SOP {float(jnp.max(s)):.4f}  min SOP {float(jnp.min(s)):.4f}")"""),
    ("md", """## Theorem 1 against Monte Carlo over Eve's channel
Given the phases, Eve's channel is `CN(0, eps_k I)` whatever the phases, so `||h_E,k||^2 ~ Gamma(N_E, eps_k)`.
`analysis.conditional_sop` counts the outages `C_B,k - C_E,k < R_s` over Eve draws for the designed phases."""),
    ("code", """dec = uplink.UplinkDecision(res.phases, design.mmse(res.phases, data))
draws = 20_000 if FAST else 100_000
mc = jax.jit(analysis.conditional_sop)(cfg, ch, dec, jax.random.split(jax.random.key(11), draws))
print("(3.7):", np.round(np.asarray(analysis.sop(cfg, ch, dec)), 4))
print("MC   :", np.round(np.asarray(mc), 4), f"({draws} Eve draws)")"""),
    ("md", """## The paper's figures
`irsjax run uplink-sop --set preset=fig3b` (N from 16 to 128), `fig3c` (M), `fig3a` (R_s, two (M, N) pairs) and
`fig2` (AO traces of the paper's Dinkelbach-SDR algorithm, about 100x the cost of the gradient designs; see
`scenarios/README_uplink_sop.md`)."""),
]

nb = nbf.v4.new_notebook()
nb.cells = [nbf.v4.new_markdown_cell(t) if k == "md" else nbf.v4.new_code_cell(t) for k, t in cells]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "uplink_sop.ipynb")
nbf.write(nb, path)
print("wrote", path)

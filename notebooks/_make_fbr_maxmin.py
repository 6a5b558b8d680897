"""Generate notebooks/fbr_maxmin.ipynb (saved without outputs): python notebooks/_make_fbr_maxmin.py"""
import os

import nbformat as nbf

cells = [
    ("md", """# Max-min finite-blocklength secrecy for every user (`fbr-maxmin`)

An M-antenna Alice serves K single-antenna users through an N-element IRS while one Eve listens (MODELS.md
section 4). We design the beamformers `W` (sum power P) and the IRS phases `theta` (unit modulus) to maximise the
*minimum* per-user finite-blocklength (FBR) secrecy rate, two ways:

* the paper's Algorithm 1: SCA with the minorisers (D1)-(D3), every convex step solved in JAX (log-barrier), monotone;
* the gradient way: L-BFGS on the annealed soft-min of the smoothed rates, jointly over `(W, theta)`.

Then imperfect CSI: designs against the closed-form worst case, and an *adversarial check* that attacks every design
on the CSI error balls. Set `IRSJAX_FAST=1` for a quick run (small system)."""),
    ("code", """import os
import time
import numpy as np
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt

from irsjax.systems import downlink_fbr as dl
from optim import fbr_design as fd

FAST = os.environ.get("IRSJAX_FAST") == "1"
cfg = (dl.FBRDownlinkConfig(M=2, K=2, N_h=2, N_v=2) if FAST else dl.FBRDownlinkConfig())  # MODELS.md 4(e)
ITERS = 25 if FAST else 100
print(f"M = {cfg.M}, K = {cfg.K}, N = {cfg.N}, P = {cfg.P_dBm} dBm, n = B t = {float(dl.blocklength(cfg)):.0f}")"""),
    ("md", """## One topology
`dl.sample(key, cfg)` drops the users and Eve and draws the Rician channels; `dl.problem` rescales the realisation to
noise power 1 and power budget 1, the units the optimisers work in. The start of Algorithm 1: random phases and
regularised zero forcing."""),
    ("code", """ch = dl.sample(jax.random.key(0), cfg)
prob = dl.problem(ch, cfg)
W0, th0 = fd.initial_point(jax.random.key(1), prob)
print("users at", np.round(np.asarray(ch.users[:, :2]), 1).tolist())
print("Eve at", np.round(np.asarray(ch.eve[:2]), 1).tolist())
print("start: per-user FBR secrecy rates", np.round(np.asarray(dl.problem_rates(prob, W0, th0)), 3), "bit/s/Hz")"""),
    ("md", """## Gradient design and SCA (Algorithm 1), LBR first, FBR warm-started
`fd.design(..., method=...)` runs the method on the long-blocklength (LBR) problem and continues on the FBR problem
from the LBR solution. `optimize_theta=False` keeps the random phases (the random-PRE baseline)."""),
    ("code", """@jax.jit
def designs(prob, W0, th0, key):
    # optimised and random PREs in one traced design (optimize_theta may be a traced boolean)
    both = jax.vmap(lambda ot: fd.design(key, prob, W0, th0, method="gradient", optimize_theta=ot,
                                         iters_per_stage=ITERS))(jnp.array([True, False]))
    sca = fd.lbr_then_fbr(fd.sca_design, prob, W0, th0, num_outer=6, barrier=dict(inner="lbfgs"))
    return both, sca

t0 = time.perf_counter()
both, sca = jax.block_until_ready(designs(prob, W0, th0, jax.random.key(2)))
print(f"{time.perf_counter() - t0:.1f} s (incl. compile)")
for name, (W, th) in {"gradient": (both.W[0, 1], both.theta[0, 1]), "random PREs": (both.W[1, 1], both.theta[1, 1]),
                      "SCA": (sca.state[0][1], sca.state[1][1])}.items():
    r = np.asarray(dl.problem_rates(prob, W, th))
    power = float(jnp.sum(jnp.abs(W) ** 2))
    print(f"{name:12s} FBR per-user SR {np.round(r, 3)}  min {r.min():.3f}  power {power:.3f}")"""),
    ("code", """h = np.asarray(sca.history)  # (LBR, FBR) x (iterations + 1): non-decreasing (Theorems 1-2)
plt.plot(h[0], "o-", label=f"LBR ({int(sca.num_iters[0])} iterations to the 1e-3 stop)")
plt.plot(h[1], "s-", label=f"FBR, warm-started ({int(sca.num_iters[1])})")
plt.xlabel("SCA iteration"); plt.ylabel("min_k R_k [bit/s/Hz]"); plt.legend(); plt.show()
print("monotone:", bool(np.all(np.diff(h, axis=-1) >= -1e-6)))"""),
    ("md", """## Imperfect CSI: claimed worst case vs an attack
With `rho_U = rho_E = 0.02` the robust design maximises the closed-form conservative worst case (each term at its own
worst case, MODELS.md 6). `fd.adversarial_worst_case` then attacks the final design: projected gradient on the error
balls `||Delta|| <= rho ||g_hat||` from many starts. A design counts as robust only if the attack cannot push its min
rate below the value it claims. The perfect-CSI design, attacked the same way, shows what ignoring the errors
costs."""),
    ("code", """rprob = dl.problem(ch, cfg, rho=(0.02, 0.02))
pair = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), rprob, rprob.perfect())  # robust, perfect-CSI

@jax.jit
def robust(pair, rprob, W0, th0, key):
    def one(p):  # design on p, then judge it on the imperfect-CSI problem
        d = fd.design(key, p, W0, th0, method="gradient", iters_per_stage=ITERS)
        attack = fd.adversarial_worst_case(key, rprob, d.W[1], d.theta[1], num_restarts=8, num_iters=30)
        # claim = the objective the design optimised (worst-case bound, or nominal for the perfect-CSI design)
        return (fd.objective(p, d.W[1], d.theta[1]), jnp.min(attack.rates),
                fd.objective(rprob.perfect(), d.W[1], d.theta[1]))
    return jax.vmap(one)(pair)

claim, attack, nominal = jax.device_get(robust(pair, rprob, W0, th0, jax.random.key(3)))
for i, name in enumerate(("robust design", "perfect-CSI design")):
    print(f"{name:18s} nominal {nominal[i]:.3f}  claimed {claim[i]:.3f}  attack reaches {attack[i]:.3f}"
          f"  robust: {bool(attack[i] >= claim[i] - 1e-3)}")"""),
    ("md", """## A figure through the scenario runner
`irsjax run fbr-maxmin --set preset=fig8` from Python: min secrecy rate against the duration `t` (shared draws: one
Monte Carlo pass for every `t`), with 95 % CIs over topologies and the claim check of F8."""),
    ("code", """from irsjax.scenario import resolve, run_sweep
from scenarios import fbr_maxmin as fm

small = dict(N="4", M="2", K="2", restarts="1", grad_iters="20", adversarial="false") if FAST else {}
params, name, values = resolve(fm.SCENARIO, {"preset": "fig8", **small})
res = run_sweep(fm.SCENARIO, params, name, values, seed=11, samples=4 if FAST else 32)
s = res["series"]
for lab in ("mm_lbr", "mm_fbr", "ssr_fbr", "rnd_fbr"):
    plt.errorbar(values, s[lab]["mean"], yerr=[np.subtract(s[lab]["mean"], s[lab]["ci_low"]),
                                                np.subtract(s[lab]["ci_high"], s[lab]["mean"])], label=lab, capsize=3)
plt.xscale("log"); plt.xlabel("t [ms]"); plt.ylabel("min secrecy rate [bit/s/Hz]"); plt.legend(); plt.show()
f8 = res["derived"]["claims"]["F8"]
print("F8:", f8["statement"], "->", "holds" if f8["holds"] else "does not hold")"""),
]

nb = nbf.v4.new_notebook()
nb.cells = [nbf.v4.new_markdown_cell(t) if k == "md" else nbf.v4.new_code_cell(t) for k, t in cells]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fbr_maxmin.ipynb")
nbf.write(nb, path)
print("wrote", path)

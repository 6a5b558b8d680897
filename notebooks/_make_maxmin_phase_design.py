"""Generate notebooks/maxmin_phase_design.ipynb (saved without outputs).

    python notebooks/_make_maxmin_phase_design.py
"""
import os

import nbformat as nbf

cells = [
    ("md", """# Gradient phase design on your own objective

`optim.maximize_phases(objective, key, num_elements, ...)` maximises **any** JAX-traceable real function of a
unit-modulus vector `v` (Riemannian conjugate-gradient ascent on the complex circle manifold with Armijo steps, random
restarts, stopping on relative improvement; or any optax optimiser). No lifting, no SDR, no CVX.

Here we write a custom max-min objective for an IRS serving three single-antenna users next to an eavesdropper,
optimise it with a soft-min annealing schedule ending on the exact minimum, batch it over channel realisations with
`maximize_phases_batched`, and compare against random phases. Set `IRSJAX_FAST=1` for a quick run."""),
    ("code", """import os
import time
import numpy as np
import jax
import jax.numpy as jnp
import optax
import matplotlib.pyplot as plt

import optim
from irsjax import channels

FAST = os.environ.get("IRSJAX_FAST") == "1"
K = 16 if FAST else 64          # IRS elements
BATCH = 8 if FAST else 256      # channel realisations for the batched run
ITERS = 100 if FAST else 400    # iterations per annealing stage / run
print("K =", K, "batch =", BATCH)"""),
    ("md", """## A custom objective
Users `k = 1..3` receive `h_k(v) = d_k + sum_l c_{k,l} v_l`; Eve receives `h_E(v)`. Our (made-up) design goal: the
minimum over users of the secrecy rate `log2(1+rho|h_k|^2) - log2(1+rho|h_E|^2)`. `optim.soft_min(x, tau)` is a
smooth lower bound of `min` (exact at `tau = 0`)."""),
    ("code", """def draw(key, K):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    return {"c": channels.rayleigh(k1, (3, K), gain=1.0), "d": channels.rayleigh(k2, (3,), gain=0.5),
            "ce": channels.rayleigh(k3, (K,), gain=1.0), "de": channels.rayleigh(k4, (), gain=0.5)}

RHO = 10.0

def user_rates(v, ch):
    snr = RHO * jnp.abs(ch["d"] + ch["c"] @ v) ** 2
    snr_e = RHO * jnp.abs(ch["de"] + ch["ce"] @ v) ** 2
    return jnp.log2(1 + snr) - jnp.log2(1 + snr_e)

def objective(v, tau, ch):          # what the optimiser sees: smooth for tau > 0, exact min for tau = 0
    return optim.soft_min(user_rates(v, ch), tau)

ch = draw(jax.random.key(0), K)
v_rand = optim.manifold.random_point(jax.random.key(1), (K,))
print("random phases: min secrecy rate", float(objective(v_rand, 0.0, ch)))"""),
    ("md", """## Annealed Riemannian ascent (soft-min 1 -> 0.1 -> 0.01 bit, then exact)"""),
    ("code", """t0 = time.perf_counter()
res = optim.annealed_maximize_phases(objective, jax.random.key(2), K, optim.geometric_schedule(1.0, 0.01, 3),
                                     args=(ch,), options=optim.PhaseOptions(num_restarts=4, max_iters=ITERS))
dt = time.perf_counter() - t0
print(f"optimised: min secrecy rate {float(res.value):.3f} bit/s/Hz in {dt:.1f} s (incl. compile)")
print("unit modulus:", bool(jnp.allclose(jnp.abs(res.phases), 1.0, atol=1e-5)))
print("per-user rates:", np.round(np.asarray(user_rates(res.phases, ch)), 3))
plt.plot(np.asarray(res.history))
plt.xlabel("iteration (4 annealing stages)"); plt.ylabel("objective [bit/s/Hz]"); plt.title("history"); plt.show()"""),
    ("md", """## Any optax optimiser
The same problem driven by Adam on the manifold (the Riemannian gradient is fed to optax and the update is
retracted)."""),
    ("code", """res_adam = optim.maximize_phases(lambda v, c: objective(v, 0.05, c), jax.random.key(3), K, args=(ch,),
                                  optimizer=optax.adam(0.05), max_iters=300, num_restarts=2)
print("Adam (tau = 0.05):", float(objective(res_adam.phases, 0.0, ch)), "converged:", bool(res_adam.converged))"""),
    ("md", """## Batched over channel realisations
`maximize_phases_batched(objective, key, data, K)` vmaps over the leading axis of `data` (here: a batch of channel
draws), in one jit-compiled call."""),
    ("code", """data = jax.vmap(lambda k: draw(k, K))(jax.random.split(jax.random.key(4), BATCH))
obj0 = lambda v, c: objective(v, 0.02, c)
t0 = time.perf_counter()
out = optim.maximize_phases_batched(obj0, jax.random.key(5), data, K, num_restarts=2, max_iters=ITERS)
jax.block_until_ready(out.value)
dt = time.perf_counter() - t0
print(f"{BATCH} problems in {dt:.1f} s (incl. compile); converged: {int(out.converged.sum())}/{BATCH}")
exact = jax.vmap(lambda v, c: objective(v, 0.0, c))(out.phases, data)
rand = jax.vmap(lambda k, c: objective(optim.manifold.random_point(k, (K,)), 0.0, c))(
    jax.random.split(jax.random.key(6), BATCH), data)
print(f"mean min secrecy rate: optimised {float(exact.mean()):.3f}, random phases {float(rand.mean()):.3f}")
plt.hist(np.asarray(rand), bins=20, alpha=0.6, label="random phases")
plt.hist(np.asarray(exact), bins=20, alpha=0.6, label="optimised")
plt.xlabel("min secrecy rate [bit/s/Hz]"); plt.legend(); plt.show()"""),
    ("md", """## Checking the complex-gradient convention
For a real `f(v)`, `jax.grad` returns `df/dRe v - j df/dIm v` (the *conjugate* of the ascent direction);
`optim.manifold.ascent_direction` conjugates it back. A finite difference on the angles confirms the direction."""),
    ("code", """f = lambda v: objective(v, 0.1, ch)
theta = jnp.angle(v_rand)
g_theta = optim.manifold.angle_gradient(v_rand, optim.manifold.ascent_direction(f, v_rand))
h = 1e-3
fd = (f(jnp.exp(1j * (theta.at[0].add(h)))) - f(jnp.exp(1j * (theta.at[0].add(-h))))) / (2 * h)
print("d f / d theta_0: analytic", float(g_theta[0]), " finite difference", float(fd))"""),
]

nb = nbf.v4.new_notebook()
nb.cells = [nbf.v4.new_markdown_cell(t) if k == "md" else nbf.v4.new_code_cell(t) for k, t in cells]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "maxmin_phase_design.ipynb")
nbf.write(nb, path)
print("wrote", path)

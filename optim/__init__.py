"""Optimisers for IRS phase, power and beamformer design (imports irsjax, never the reverse).

Style: small pure transforms (optax-like), NamedTuple results/states, every
loop a jit-compilable ``lax`` loop so optimisers run inside ``jit``/``vmap``
(e.g. inside a Monte Carlo per-realisation function).

* :func:`maximize_phases` / :func:`maximize_phases_batched` -- unit-modulus
  phase design (Riemannian / projected / angle gradient ascent, Armijo or any
  optax optimiser, random restarts, stopping on relative improvement).
* :mod:`optim.manifold` -- circle-manifold tools (JAX complex-gradient convention).
* :mod:`optim.surrogates` -- soft-min, softplus, annealing.
* :mod:`optim.fp` (quadratic transform), :mod:`optim.dinkelbach`,
  :mod:`optim.rayleigh` (generalised eigenvector), :mod:`optim.sdr`
  (Burer-Monteiro SDR + Gaussian randomisation), :mod:`optim.sca`
  (DC tangents), :mod:`optim.ao` (alternating driver).
* :mod:`optim.certificates` -- :func:`certify`: rigorous SDR-dual upper bounds at a found point
  (global optimality in one eigenvalue decomposition); :mod:`optim.families` -- seeded held-out
  instance families; :mod:`optim.transforms` -- the search directions as optax transforms;
  :mod:`optim.polish` -- exact coordinate sweeps.
* :mod:`optim.problems` -- shared test problems; :mod:`optim.cvx_reference` --
  cvxpy/Clarabel reference SDR (optional extra ``cvx``; tests/benchmarks only).
* :mod:`optim.receivers` -- MMSE / generalised-Rayleigh-quotient receivers in closed form, batched;
  :mod:`optim.minmax_ratio` -- max-min of ratios over the lifted SDR (generalised Dinkelbach +
  Burer-Monteiro + Gaussian randomisation); :mod:`optim.cvx_minmax_ratio` -- its cvxpy reference;
  :mod:`optim.oblique_cg` -- Riemannian CG on rows-on-spheres (phases as ``(n, 1)``, BM factors).

>>> import optim
>>> callable(optim.maximize_phases)
True
"""
from optim import manifold, surrogates, fp, dinkelbach, rayleigh, sdr, sca, ao, problems  # noqa: F401
from optim import certificates, families, polish, starts, transforms  # noqa: F401
from optim.certificates import Certificate, certify
from optim.phases import DIRECTIONS, METHODS, PhaseOptions, PhaseResult, maximize_phases, maximize_phases_batched, solve
from optim.surrogates import soft_min, soft_max, softplus, geometric_schedule, annealed_maximize_phases
from optim.fp import FPResult, power_control
from optim.dinkelbach import DinkelbachResult, maximize_ratio
from optim.rayleigh import max_generalized_eig, rank_one_beam
from optim.sdr import maximize_elliptope, gaussian_randomization
from optim.sca import tangent, dc_minorizer, sca_maximize
from optim.ao import AOResult, alternate, fractional_increase
from optim import receivers, minmax_ratio, oblique_cg  # noqa: F401,E402
from optim.receivers import mmse_receivers, mmse_sinr, generalized_rayleigh  # noqa: E402
from optim.minmax_ratio import DinkelbachSDRResult, dinkelbach_sdr, minmax_ratio_sdr  # noqa: E402

__all__ = [
    "manifold", "surrogates", "fp", "dinkelbach", "rayleigh", "sdr", "sca", "ao", "problems",
    "certificates", "families", "polish", "starts", "transforms", "Certificate", "certify",
    "DIRECTIONS", "METHODS", "PhaseOptions", "PhaseResult", "maximize_phases", "maximize_phases_batched", "solve",
    "soft_min", "soft_max", "softplus", "geometric_schedule", "annealed_maximize_phases",
    "FPResult", "power_control", "DinkelbachResult", "maximize_ratio", "max_generalized_eig", "rank_one_beam",
    "maximize_elliptope", "gaussian_randomization", "tangent", "dc_minorizer", "sca_maximize",
    "AOResult", "alternate", "fractional_increase",
    "receivers", "minmax_ratio", "oblique_cg",
    "mmse_receivers", "mmse_sinr", "generalized_rayleigh", "DinkelbachSDRResult",
    "dinkelbach_sdr", "minmax_ratio_sdr",
]

# fbr-maxmin (MODELS.md 4): SCA minorisers, barrier/L-BFGS/projected solvers, designs, adversarial worst case
from optim import interior, lbfgs, projected, robust, minorizers, fbr_design  # noqa: E402,F401
__all__ += ["interior", "lbfgs", "projected", "robust", "minorizers", "fbr_design"]

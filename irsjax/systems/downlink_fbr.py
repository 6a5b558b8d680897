"""IRS-aided multi-user MISO downlink with one eavesdropper, finite blocklength (MODELS.md section 4).

Alice (``M``-antenna ULA along x) serves ``K`` single-antenna users through an ``N = N_h N_v``-element
IRS (UPA in the x-z plane); one single-antenna Eve listens; no direct links; 3-D positions.

* Alice-IRS (4.1): ``G = sqrt(beta_G) (sqrt(kG/(1+kG)) a_I(u_IA) a_M(u_AI)^H + sqrt(1/(1+kG)) G_NLoS)``,
  ``G_NLoS`` i.i.d. CN(0, 1) (MODELS.md writes no correlation on this hop).
* IRS-node (4.2), node ``k`` in users + Eve: ``g_k = sqrt(beta_k) (sqrt(k/(1+k)) a_I(u_Ik) + sqrt(1/(1+k))
  R^{1/2} z_k)`` with the isotropic sinc correlation ``R`` of the IRS elements [R-L].
* Path loss [R-M]/[R-L]: ``beta_G[dB] = G_A + G_I - 37.5 - 22 log10 d``, ``beta_k[dB] = G_I - 37.5 - 22 log10 d``.
* Cascade (4.3) and SINRs (4.4): with ``x_j = diag(theta) G w_j``, ``c_ij = g_i^H x_j``,
  ``gamma_k = |c_kk|^2 / (sum_{j!=k} |c_kj|^2 + sigma^2)``, Eve decoding stream ``k``:
  ``gamma_E,k = |c_Ek|^2 / (sum_{j!=k} |c_Ej|^2 + sigma^2)``, ``sigma^2 = N0 B``.
* Rates: FBR secrecy rate (0.2) with ``n = floor(B t)``, LBR (4.5) = the ``n -> inf`` limit.
* Imperfect CSI (4.6): ``g_k = g_hat_k + Delta_k``, ``||Delta_k|| <= xi_k = rho ||g_hat_k||`` (``rho_U`` for users,
  ``rho_E`` for Eve), ``G`` known. :func:`robust_sinrs` gives the closed-form conservative bounds of MODELS.md 6
  ("003"): each term at its own worst case, ``|g_hat^H x| -/+ xi ||x||``.

Split (ARCHITECTURE.md): :func:`sample` ``(key, cfg) -> FBRChannels``; the metric functions are pure functions
of ``(channels, decision)`` with ``decision = (W, theta)``: ``W`` (M, K) beamformers in sqrt(W), ``theta`` (N,)
unit-modulus reflection coefficients. :func:`problem` rescales one realisation to noise power 1 and power
budget 1 (``||W||_F <= 1``), the form the optimisers in ``optim.fbr_design`` work on.

>>> import jax, jax.numpy as jnp
>>> from irsjax.systems import downlink_fbr as dl
>>> cfg = dl.FBRDownlinkConfig(K=2)
>>> ch = dl.sample(jax.random.key(0), cfg)
>>> ch.G.shape, ch.g.shape
((16, 4), (3, 16))
>>> W = dl.rzf_beamformer(ch, cfg, jnp.ones(16, ch.G.dtype))
>>> r = dl.secrecy_rates(ch, cfg, W, jnp.ones(16, ch.G.dtype))
>>> r.shape, bool(abs(float(jnp.sum(jnp.abs(W) ** 2)) - 0.1) < 1e-6)
((2,), True)
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import jax
import jax.numpy as jnp

from irsjax import channels, geometry, pathloss, units
from irsjax.config import (check_point, check_positive, check_probability, check_range, check_size, config,
                           is_concrete, static)
from irsjax.special import q_inverse

LN2 = math.log(2.0)
SQRT_EPS = 1e-12  # smoothing of sqrt(V) and |z| (MODELS.md 6)


@config
class FBRDownlinkConfig:
    """Physical configuration (MODELS.md 4(e) defaults). Sizes and switches static, every float a leaf.

    Units: powers in dBm, ``N0_dBm_Hz`` in dBm/Hz, ``B`` in Hz, ``t`` in seconds, gains in dBi, positions in
    metres, ``frequency`` in Hz; ``kappa_G``, ``kappa`` linear Rician factors; ``rho_U``, ``rho_E`` relative CSI
    error radii (0 = perfect CSI). Users are dropped uniformly in the box ``[users_low, users_high]``, Eve in
    ``[eve_low, eve_high]`` (heights 1.5 m [D]).
    """

    M: int = static(4)
    K: int = static(4)
    N_h: int = static(4)
    N_v: int = static(4)
    P_dBm: float = 20.0
    N0_dBm_Hz: float = -174.0
    B: float = 1e6
    t: float = 1e-4
    epsilon: float = 1e-5
    delta: float = 1e-5
    kappa_G: float = 10.0
    kappa: float = 3.0
    rho_U: float = 0.0
    rho_E: float = 0.0
    G_A_dBi: float = 5.0
    G_I_dBi: float = 5.0
    pl_intercept_dB: float = -37.5
    pl_slope_dB: float = 22.0
    frequency: float = 3e9
    alice: tuple = (0.0, 0.0, 10.0)
    irs: tuple = (50.0, 10.0, 10.0)
    users_low: tuple = (50.0, -10.0, 1.5)
    users_high: tuple = (70.0, 10.0, 1.5)
    eve_low: tuple = (70.0, -10.0, 1.5)
    eve_high: tuple = (90.0, 10.0, 1.5)

    def __post_init__(self):
        for name in ("M", "K", "N_h", "N_v"):
            check_size(name, getattr(self, name))
        for name in ("P_dBm", "N0_dBm_Hz", "G_A_dBi", "G_I_dBi", "pl_intercept_dB"):
            check_range(name, getattr(self, name), -400.0, 400.0)
        check_positive("B", self.B)
        check_positive("t", self.t)
        if is_concrete(self.B) and is_concrete(self.t) and float(self.B) * float(self.t) * (1 + 1e-6) < 1.0:
            raise ValueError(f"B * t must be >= 1 (blocklength n = floor(B t)), got B={self.B!r}, t={self.t!r}")
        check_probability("epsilon", self.epsilon)
        check_probability("delta", self.delta)
        check_positive("kappa_G", self.kappa_G, allow_zero=True)
        check_positive("kappa", self.kappa, allow_zero=True)
        check_range("rho_U", self.rho_U, 0.0, 1.0)
        check_range("rho_E", self.rho_E, 0.0, 1.0)
        check_positive("pl_slope_dB", self.pl_slope_dB, allow_zero=True)
        check_positive("frequency", self.frequency)
        for name in ("alice", "irs", "users_low", "users_high", "eve_low", "eve_high"):
            object.__setattr__(self, name, check_point(name, getattr(self, name), 3))
        for lo, hi in (("users_low", "users_high"), ("eve_low", "eve_high")):
            a, b = getattr(self, lo), getattr(self, hi)
            if all(is_concrete(v) for v in a + b) and any(x > y for x, y in zip(a, b)):
                raise ValueError(f"{lo} must be <= {hi} coordinate-wise, got {a} and {b}")

    @property
    def N(self) -> int:
        """Number of IRS elements ``N_h N_v``."""
        return self.N_h * self.N_v


class FBRChannels(NamedTuple):
    """One realisation: ``G`` (N, M) Alice-IRS, ``g`` (K+1, N) IRS-node channels (rows: users, then Eve; the
    *estimates* ``g_hat`` under imperfect CSI), ``users`` (K, 3) and ``eve`` (3,) positions."""

    G: jax.Array
    g: jax.Array
    users: jax.Array
    eve: jax.Array


class FBRProblem(NamedTuple):
    """One realisation in optimiser units: noise power 1, power budget 1 (``||W||_F <= 1``).

    ``G`` = ``sqrt(P / sigma^2) G``; ``g`` = ``g_hat`` (K+1, N); ``xi`` (K+1,) error radii; ``disp_user`` =
    ``Q^-1(epsilon)/sqrt(n)`` and ``disp_eve`` = ``Q^-1(delta)/sqrt(n)`` (0 for LBR): rates in nats are
    ``ln(1+g_B) - ln(1+g_E) - disp_user sqrt(V(g_B)) - disp_eve sqrt(V(g_E))``.
    """

    G: jax.Array
    g: jax.Array
    xi: jax.Array
    disp_user: jax.Array
    disp_eve: jax.Array

    def lbr(self) -> "FBRProblem":
        """The same problem with the long-blocklength rate (no dispersion terms)."""
        z = jnp.zeros_like(self.disp_user)
        return self._replace(disp_user=z, disp_eve=z)

    def perfect(self) -> "FBRProblem":
        """The same problem with perfect CSI (``xi = 0``)."""
        return self._replace(xi=jnp.zeros_like(self.xi))


# --------------------------------------------------------------------------- large-scale quantities
def wavelength(cfg):
    return units.SPEED_OF_LIGHT / jnp.asarray(cfg.frequency)


def noise_power(cfg):
    """``sigma^2 = N0 B`` in watts."""
    return units.dbm_to_watt(jnp.asarray(cfg.N0_dBm_Hz) + 10.0 * jnp.log10(jnp.asarray(cfg.B)))


def tx_power(cfg):
    """Power budget ``P`` in watts."""
    return units.dbm_to_watt(cfg.P_dBm)


def blocklength(cfg):
    """``n = floor(B t)`` (as a float; a 1e-6 relative tolerance absorbs float32 rounding of e.g. 1e6 * 1e-4)."""
    bt = jnp.asarray(cfg.B) * jnp.asarray(cfg.t)
    return jnp.floor(bt * (1.0 + 1e-6))


def dispersion_coefficients(cfg):
    """``(Q^-1(epsilon)/sqrt(n), Q^-1(delta)/sqrt(n))`` (nats per sqrt(V))."""
    n = blocklength(cfg)
    return q_inverse(jnp.asarray(cfg.epsilon)) / jnp.sqrt(n), q_inverse(jnp.asarray(cfg.delta)) / jnp.sqrt(n)


def _gain(d, cfg, extra_db):
    db = pathloss.log_distance_gain_db(d, intercept_db=cfg.pl_intercept_dB, slope_db=cfg.pl_slope_dB,
                                       gains_db=extra_db)
    return units.db_to_linear(db)


# --------------------------------------------------------------------------- one realisation
def _drop_in_box(key, low, high, shape, dtype):
    # geometry.drop_in_rectangle with explicit broadcasting (it relies on rank promotion for shape != ())
    low = jnp.asarray(low, dtype)
    high = jnp.asarray(high, dtype)
    u = jax.random.uniform(key, shape + low.shape, dtype=dtype)
    ex = (None,) * len(shape) + (slice(None),)
    return low[ex] + (high - low)[ex] * u


def sample(key, cfg: FBRDownlinkConfig) -> FBRChannels:
    """Drop the users and Eve and draw ``G`` and ``g`` (MODELS.md (4.1)-(4.2))."""
    cd = channels.complex_dtype()
    rd = channels.real_dtype()
    lam = wavelength(cfg).astype(rd)
    K, M, N = cfg.K, cfg.M, cfg.N
    k_u, k_e, k_G, k_g = jax.random.split(key, 4)
    users = _drop_in_box(k_u, cfg.users_low, cfg.users_high, (K,), rd)
    eve = _drop_in_box(k_e, cfg.eve_low, cfg.eve_high, (), rd)
    alice = jnp.asarray(cfg.alice, rd)
    irs = jnp.asarray(cfg.irs, rd)
    # Alice -> IRS (4.1)
    u_ai = geometry.unit_vector(alice, irs)
    a_m = channels.ula_steering(M, u_ai, wavelength=lam, dtype=cd)
    a_i = channels.upa_steering(cfg.N_h, cfg.N_v, -u_ai, wavelength=lam, dtype=cd)
    beta_g = _gain(geometry.distance(alice, irs), cfg, jnp.asarray(cfg.G_A_dBi) + jnp.asarray(cfg.G_I_dBi))
    G = channels.rician(k_G, channels.mimo_los(a_i, a_m), kappa=cfg.kappa_G, gain=beta_g, dtype=cd)
    # IRS -> users and Eve (4.2)
    nodes = jnp.concatenate([users, eve[None, :]], axis=0)
    u_in = geometry.unit_vector(irs[None, :], nodes)
    los = jax.vmap(lambda u: channels.upa_steering(cfg.N_h, cfg.N_v, u, wavelength=lam, dtype=cd))(u_in)
    beta = _gain(geometry.distance(irs[None, :], nodes), cfg, jnp.asarray(cfg.G_I_dBi))
    r_sqrt = jnp.asarray(irs_correlation_sqrt(cfg.N_h, cfg.N_v), cd)
    z = channels.complex_normal(k_g, (K + 1, N), dtype=cd) @ r_sqrt.T  # rows R^{1/2} z_k (R symmetric)
    kap = jnp.asarray(cfg.kappa, rd)
    a_los = jnp.sqrt(kap / (1 + kap)).astype(cd)
    a_nlos = jnp.sqrt(1 / (1 + kap)).astype(cd)
    g = jnp.sqrt(beta).astype(cd)[:, None] * (a_los * los + a_nlos * z)
    return FBRChannels(G, g, users, eve)


def irs_correlation_sqrt(n_h: int, n_v: int):
    """``R^{1/2}`` of the sinc correlation (MODELS.md 0.3) of a UPA with lambda/2 spacing, as a numpy array.

    At lambda/2 spacing ``R_mn = sinc(2 d_mn / lambda)`` depends on the element grid only (not on the
    frequency), so it is computed once at trace time (float64 eigendecomposition, negative eigenvalues clipped)
    instead of an ``eigh`` per realisation. Equals ``channels.sqrtm_psd(channels.sinc_correlation(...))``.
    """
    p = np.repeat(np.arange(n_h, dtype=float), n_v)
    q = np.tile(np.arange(n_v, dtype=float), n_h)
    d = np.hypot(p[:, None] - p[None, :], q[:, None] - q[None, :])  # in units of lambda/2
    w, v = np.linalg.eigh(np.sinc(d))
    return (v * np.sqrt(np.clip(w, 0.0, None))[None, :]) @ v.T


def problem(ch: FBRChannels, cfg: FBRDownlinkConfig, *, finite: bool = True, rho=None) -> FBRProblem:
    """The realisation in optimiser units (noise 1, power budget 1); ``finite=False`` gives the LBR problem.

    ``rho = (rho_U, rho_E)`` overrides the config's relative error radii (e.g. several CSI settings of one
    topology side by side)."""
    rd = jnp.real(ch.G).dtype
    K = ch.g.shape[0] - 1
    scale = jnp.sqrt(tx_power(cfg) / noise_power(cfg)).astype(rd)
    norms = jnp.linalg.norm(ch.g, axis=-1)
    r_u, r_e = (cfg.rho_U, cfg.rho_E) if rho is None else rho
    rho = jnp.concatenate([jnp.full((K,), r_u, rd), jnp.full((1,), r_e, rd)])
    a_u, a_e = dispersion_coefficients(cfg)
    prob = FBRProblem(ch.G * scale.astype(ch.G.dtype), ch.g, rho * norms, jnp.asarray(a_u, rd),
                      jnp.asarray(a_e, rd))
    return prob if finite else prob.lbr()


def to_physical(W, cfg):
    """Beamformers in optimiser units (``||W||_F <= 1``) -> sqrt(W) (``||W||_F^2 <= P``)."""
    return W * jnp.sqrt(tx_power(cfg)).astype(W.dtype)


def to_normalized(W, cfg):
    """Inverse of :func:`to_physical`."""
    return W / jnp.sqrt(tx_power(cfg)).astype(W.dtype)


# --------------------------------------------------------------------------- SINRs and rates
def safe_sqrt(a):
    """``sqrt(a)`` for ``a >= 0`` with gradient 0 (not NaN) at ``a = 0``: exact values, finite gradients."""
    pos = a > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, a, 1.0)), 0.0)


def stream_terms(G, g, W, theta):
    """``c_ij = g_i^H diag(theta) G w_j`` (K+1, K) and ``||diag(theta) G w_j||`` (K,)."""
    X = theta[:, None] * (G @ W)
    c = jnp.conj(g) @ X
    return c, safe_sqrt(jnp.sum(jnp.real(X * jnp.conj(X)), axis=0))


def _smooth_abs(c, eps):
    return jnp.sqrt(jnp.real(c * jnp.conj(c)) + eps)


def robust_sinrs(c, nrm, xi, noise=1.0, *, positive_part=None, abs_eps=0.0):
    """Closed-form worst-case SINR bounds (MODELS.md 6, "003") from :func:`stream_terms`.

    Returns ``(gamma_min, gamma_max, gamma_E_max)``, each (K,): the user SINR's lower and upper bound and
    Eve's SINR upper bound over ``||Delta_i|| <= xi_i``, each term at its own worst case
    (``|g_hat^H x| -/+ xi ||x||``). ``positive_part`` (default exact ``max(., 0)``) may be a smooth upper
    surrogate for gradients -- then the bounds are no longer conservative. With ``xi = 0`` all three are the
    nominal SINRs (4.4).
    """
    pos = (lambda x: jnp.maximum(x, 0.0)) if positive_part is None else positive_part
    K = c.shape[1]
    mag = _smooth_abs(c, abs_eps) if abs_eps else safe_sqrt(jnp.real(c * jnp.conj(c)))
    spread = xi[:, None] * nrm[None, :]
    lo = pos(mag - spread) ** 2
    hi = (mag + spread) ** 2
    eye = jnp.eye(K, dtype=bool)
    zero = jnp.zeros((), lo.dtype)
    diag_lo, diag_hi = jnp.diagonal(lo[:K]), jnp.diagonal(hi[:K])
    int_hi = jnp.sum(jnp.where(eye, zero, hi[:K]), axis=1)
    int_lo = jnp.sum(jnp.where(eye, zero, lo[:K]), axis=1)
    # Eve decoding stream k: the other streams are interference (summed directly: no float32 cancellation)
    e_int_lo = jnp.sum(jnp.where(eye, zero, lo[K][None, :]), axis=1)
    return diag_lo / (int_hi + noise), diag_hi / (int_lo + noise), hi[K] / (e_int_lo + noise)


def sqrt_dispersion(snr):
    """Smoothed ``sqrt(V(snr))`` (``sqrt(V + 1e-12) - 1e-6``, as :func:`irsjax.metrics.fbr_secrecy_rate`)."""
    v = 1.0 - 1.0 / (1.0 + snr) ** 2
    return jnp.sqrt(v + SQRT_EPS) - math.sqrt(SQRT_EPS)


def rate_nats(gamma_min, gamma_max, gamma_e_max, disp_user, disp_eve):
    """Secrecy rate in nats from SINR bounds (eq. 0.2 with the robust terms of MODELS.md 6; un-clipped)."""
    return (jnp.log1p(gamma_min) - jnp.log1p(gamma_e_max) - disp_user * sqrt_dispersion(gamma_max)
            - disp_eve * sqrt_dispersion(gamma_e_max))


def problem_rates(prob: FBRProblem, W, theta, *, positive_part=None, abs_eps=0.0):
    """Per-user (robust, when ``xi > 0``) secrecy rates in **bits**, un-clipped, in optimiser units."""
    c, nrm = stream_terms(prob.G, prob.g, W, theta)
    g_min, g_max, ge_max = robust_sinrs(c, nrm, prob.xi, positive_part=positive_part, abs_eps=abs_eps)
    return rate_nats(g_min, g_max, ge_max, prob.disp_user, prob.disp_eve) / LN2


def sinrs(ch: FBRChannels, cfg, W, theta):
    """Nominal SINRs (4.4) ``(gamma_k, gamma_E,k)`` with the channels as given (``W`` in sqrt(W))."""
    c, nrm = stream_terms(ch.G, ch.g, W, theta)
    g, _, ge = robust_sinrs(c, nrm, jnp.zeros(c.shape[0], nrm.dtype), noise_power(cfg).astype(nrm.dtype))
    return g, ge


def secrecy_rates(ch: FBRChannels, cfg, W, theta, *, finite=True, clip=True):
    """Nominal per-user secrecy rates (K,) in bit/s/Hz: FBR (0.2) or, with ``finite=False``, LBR (4.5)."""
    from irsjax import metrics

    g, ge = sinrs(ch, cfg, W, theta)
    if not finite:
        return metrics.secrecy_rate(g, ge, clip=clip)
    return metrics.fbr_secrecy_rate(g, ge, blocklength=blocklength(cfg), error_prob=cfg.epsilon,
                                    leakage=cfg.delta, clip=clip)


def robust_secrecy_rates(ch: FBRChannels, cfg, W, theta, *, finite=True, clip=True):
    """Closed-form conservative worst-case secrecy rates (K,) in bit/s/Hz over the CSI error balls."""
    prob = problem(ch, cfg, finite=finite)
    r = problem_rates(prob, to_normalized(W, cfg), theta)
    return jnp.maximum(r, 0.0) if clip else r


def rates_with_errors(ch: FBRChannels, cfg, W, theta, delta_users, delta_eve, *, finite=True, clip=True):
    """Nominal rates (K,) of the true channels ``g_hat + Delta`` (``delta_users`` (K, N), ``delta_eve`` (N,))."""
    g = ch.g + jnp.concatenate([delta_users, delta_eve[None, :]], axis=0)
    return secrecy_rates(ch._replace(g=g), cfg, W, theta, finite=finite, clip=clip)


def rzf_beamformer(ch: FBRChannels, cfg, theta):
    """Regularised zero forcing on the users' cascades, scaled to ``||W||_F^2 = P`` [D] (Algorithm 1 init)."""
    prob = problem(ch, cfg)
    return to_physical(rzf_normalized(prob, theta), cfg)


def rzf_normalized(prob: FBRProblem, theta):
    """RZF in optimiser units: ``H^H (H H^H + K I)^-1`` (H = the users' cascades), unit Frobenius norm."""
    K = prob.g.shape[0] - 1
    H = (jnp.conj(prob.g[:K]) * theta[None, :]) @ prob.G  # (K, M), noise 1, power 1
    A = H @ jnp.conj(H.T) + K * jnp.eye(K, dtype=H.dtype)
    W = jnp.conj(H.T) @ jnp.linalg.solve(A, jnp.eye(K, dtype=H.dtype))
    nrm = jnp.sqrt(jnp.sum(jnp.real(W * jnp.conj(W))))
    return W / jnp.where(nrm > 0, nrm, 1.0).astype(W.dtype)


__all__ = [
    "FBRDownlinkConfig", "FBRChannels", "FBRProblem", "sample", "problem", "noise_power", "tx_power", "blocklength",
    "dispersion_coefficients", "to_physical", "to_normalized", "stream_terms", "robust_sinrs", "sqrt_dispersion",
    "rate_nats", "problem_rates", "sinrs", "secrecy_rates", "robust_secrecy_rates", "rates_with_errors",
    "rzf_beamformer", "rzf_normalized", "wavelength", "irs_correlation_sqrt", "safe_sqrt",
]

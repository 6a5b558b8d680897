"""Opportunistic user scheduling for secure RIS-aided links (MODELS.md section 5).

Single-antenna source S, ``N``-element RIS, ``K`` users and ``L`` non-colluding
eavesdroppers (the strongest counts), no direct links, i.i.d. CN(0,1) small-scale
fading on every S-element, element-user and element-eavesdropper link, RIS
free-space path loss (0.1). The RIS is co-phased to the scheduled user.

Per realisation (:class:`SchedulingSystem`) the schemes share one channel draw:

* ``SE`` (user 0, eavesdropper 0), ``ME`` (user 0, all ``L`` eavesdroppers),
* ``SS`` (user with the largest legitimate SNR), ``OS`` (user with the largest
  secrecy rate, each user's eavesdropper SNRs computed with the RIS aligned to it),
* ``NOMA`` pair scheduling (best + worst user, sum secrecy rate),

as 0/1 outage indicators and, for SE/ME/SS, the conditional outage probability
given ``(h, g)``: each eavesdropper SNR is exactly ``Exp(snr_e ||h||^2)`` given the
S-RIS channel ``h`` (any phases independent of its own channel).

``links="full"`` is the physical model (one S-RIS channel shared by all users and
eavesdroppers); ``links="independent"`` is the analysis' idealisation (every user and
every (user, eavesdropper) pair sees its own independent S-RIS channel), which
isolates the CLT error from the correlation through the shared link.

The pipeline is ``sample(key, cfg) -> SchedulingChannels`` (unit-variance fading; its law
depends only on the sizes and ``links``), the decisions (:func:`co_phasing`: RIS aligned
to each candidate user; :func:`schedule_ss`), then pure metrics of (channels, decision)
scaled by the per-element mean SNRs of the configuration. Sizes and switches are static,
every float (``rho_dB``, ``R_th``, frequency, positions, gains) is a pytree leaf: a sweep
over any of them compiles once, and the conditional SOP is differentiable in them.

>>> import jax
>>> from irsjax.systems.scheduling import SchedulingSystem, SchedulingGeometry
>>> cfg = SchedulingSystem(N=16, K=4, L=2, rho_dB=120.0, geometry=SchedulingGeometry(x_E=40.0))
>>> out = jax.eval_shape(cfg, jax.random.key(0))  # one realisation's statistics (shapes only)
>>> sorted(out)[:4]
['log_cond_ME', 'log_cond_SE', 'log_cond_SS', 'out_ME']

Gradient of the conditional SS SOP (pathwise, common random numbers) with respect to every
leaf: moving the eavesdroppers away from the RIS, or raising the transmit SNR, lowers it.

>>> from irsjax import montecarlo
>>> lean = SchedulingSystem(N=16, K=4, L=2, conditional_only=True)
>>> sop = lambda c: jnp.exp(montecarlo.mean(c, jax.random.key(1), 256)["log_cond_SS"])  # log E[p] -> E[p]
>>> p, g = jax.jit(jax.value_and_grad(sop))(lean)
>>> bool(0 < p < 1), bool(g.geometry.x_E < 0), bool(g.rho_dB < 0)
(True, True, True)
"""
from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from irsjax import channels, metrics, pathloss, units
from irsjax.importance import mixture_log_ratio
from irsjax.config import check_choice, check_finite, check_positive, check_range, check_size, config, static

LINKS = ("full", "independent")


def _real(x):
    return jnp.asarray(x, channels.real_dtype())


def _distance(dx, dy):
    """Euclidean distance clipped below at 1 m (MODELS.md 0.2), with a finite gradient everywhere."""
    return jnp.sqrt(jnp.maximum(dx * dx + dy * dy, 1.0))


# --------------------------------------------------------------------------- geometry and path loss
@config
class SchedulingGeometry:
    """2-D geometry of section 5(a): ``x`` = distance from the plane of S, ``y`` = distance
    from the RIS plane. S = ``(0, y_S)``, RIS (and relay) centre ``(x_R, 0)``, all users at
    ``(x_U, y_U)``, all eavesdroppers at ``(x_E, y_E)``; frequency in GHz, antenna gains in dBi,
    element size ``lambda/2`` unless given (metres). Every field is a pytree leaf; the results
    are JAX arrays (float32, float64 under ``jax_enable_x64``), differentiable in every field.

    >>> g = SchedulingGeometry()
    >>> [round(float(v), 1) for v in g.ris_path_loss_db()]
    [132.9, 131.7]
    """

    f_GHz: float = 2.4
    y_S: float = 10.0
    x_R: float = 10.0
    x_U: float = 60.0
    y_U: float = 30.0
    x_E: float = 40.0
    y_E: float = 60.0
    gt_dB: float = 0.0
    gr_dB: float = 0.0
    element_size: float | None = None

    def __post_init__(self):
        check_positive("f_GHz", self.f_GHz)
        for name in ("y_S", "y_U", "y_E"):  # every node in front of the RIS
            check_positive(name, getattr(self, name))
        for name in ("x_R", "x_U", "x_E", "gt_dB", "gr_dB"):
            check_finite(name, getattr(self, name))
        if self.element_size is not None:
            check_positive("element_size", self.element_size)

    def frequency_hz(self):
        return _real(self.f_GHz) * 1e9

    def distances(self):
        """``(d_SR, d_RU, d_RE, d_SU, d_SE)`` in metres (clipped below at 1 m)."""
        y_s, x_r, x_u, y_u, x_e, y_e = (_real(getattr(self, n)) for n in ("y_S", "x_R", "x_U", "y_U", "x_E", "y_E"))
        return (_distance(x_r, y_s), _distance(x_u - x_r, y_u), _distance(x_e - x_r, y_e),
                _distance(x_u, y_u - y_s), _distance(x_e, y_e - y_s))

    def _gains(self):
        return dict(frequency_hz=self.frequency_hz(), gt_db=_real(self.gt_dB), gr_db=_real(self.gr_dB))

    def ris_path_loss(self):
        """Per-element RIS path losses ``(PL_SU, PL_SE)`` (5.1) (linear, > 1)."""
        d_sr, d_ru, d_re, _, _ = self.distances()
        cos_i, cos_u, cos_e = _real(self.y_S) / d_sr, _real(self.y_U) / d_ru, _real(self.y_E) / d_re
        size = None if self.element_size is None else _real(self.element_size)
        kw = dict(self._gains(), element_size=size)
        return (pathloss.ris_free_space_loss(d_sr, d_ru, cos_i, cos_u, **kw),
                pathloss.ris_free_space_loss(d_sr, d_re, cos_i, cos_e, **kw))

    def ris_path_loss_db(self):
        return tuple(units.linear_to_db(v) for v in self.ris_path_loss())

    def cascade_snr(self, rho_dB):
        """Per-element mean cascade SNRs ``(snr_u, snr_e) = (rho/PL_SU, rho/PL_SE)`` (linear)."""
        pl_su, pl_se = self.ris_path_loss()
        rho = units.db_to_linear(_real(rho_dB))
        return rho / pl_su, rho / pl_se

    def cascade_snr_db(self, rho_dB):
        """:meth:`cascade_snr` in dB."""
        return tuple(units.linear_to_db(v) for v in self.cascade_snr(rho_dB))

    def high_snr_c(self, R_th):
        """``c = PL_SE / (2^R_th PL_SU)`` of the saturation levels (5.11)-(5.12)."""
        pl_su, pl_se = self.ris_path_loss()
        return pl_se / (jnp.exp2(_real(R_th)) * pl_su)

    def relay_path_loss(self):
        """Free-space losses ``(PL_SR, PL_RU, PL_SU, PL_RE)`` of the DF-relay links (exponent 2)."""
        d_sr, d_ru, d_re, d_su, _ = self.distances()
        kw = self._gains()
        return tuple(pathloss.free_space_loss(d, exponent=2.0, **kw) for d in (d_sr, d_ru, d_su, d_re))

    def relay_snr(self, rho_dB):
        """Relay mean SNRs ``(a, b, c, lam_R)`` of S-R, R-U, S-U (direct), R-E (per-slot power P)."""
        rho = units.db_to_linear(_real(rho_dB))
        return tuple(rho / p for p in self.relay_path_loss())


# --------------------------------------------------------------------------- channels and decisions
class SchedulingChannels(NamedTuple):
    """Unit-variance small-scale fading of one realisation (complex).

    ``h``: S-RIS, ``(N,)`` (``(K, N)`` with independent links: one per user); ``g``: RIS-users
    ``(K, N)``; ``h_e``: the S-RIS channel the eavesdroppers see (``h`` itself with full links,
    ``(K, N)`` independent ones otherwise); ``u``: RIS-eavesdroppers ``(L, N)`` (``(K, L, N)``).
    """

    h: jax.Array
    g: jax.Array
    h_e: jax.Array
    u: jax.Array


class SchedulingMagnitudes(NamedTuple):
    """What the conditional estimators need: the co-phased amplitudes ``X_k = sum_n |h_n||g_kn|``
    ``(K,)`` and the energies ``||h_e||^2`` ``(K,)`` of the S-RIS channel seen by the eavesdroppers
    when the RIS serves user ``k`` (their SNR is then exactly ``Exp(snr_e ||h_e||^2)``)."""

    amplitude: jax.Array
    eve_energy: jax.Array


def sample(key, cfg: "SchedulingSystem") -> SchedulingChannels:
    """Draw one realisation's fading (i.i.d. CN(0, 1); the law depends only on ``N, K, L, links``)."""
    kh, kg, ku, kh2 = jax.random.split(key, 4)
    N, K, L = cfg.N, cfg.K, cfg.L
    g = channels.complex_normal(kg, (K, N))
    if cfg.links == "full":
        h = channels.complex_normal(kh, (N,))
        u = channels.complex_normal(ku, (L, N))
        return SchedulingChannels(h, g, h, u)
    h = channels.complex_normal(kh, (K, N))
    h_e = channels.complex_normal(kh2, (K, N))
    u = channels.complex_normal(ku, (K, L, N))
    return SchedulingChannels(h, g, h_e, u)


def magnitudes(ch: SchedulingChannels) -> SchedulingMagnitudes:
    """:class:`SchedulingMagnitudes` of drawn channels."""
    ag = jnp.abs(ch.g)
    K = ag.shape[0]
    if ch.h.ndim == 1:  # full links: one S-RIS channel
        ah = jnp.abs(ch.h)
        return SchedulingMagnitudes(ag @ ah, jnp.sum(ah * ah) * jnp.ones((K,), ah.dtype))
    ahe = jnp.abs(ch.h_e)
    return SchedulingMagnitudes(jnp.sum(jnp.abs(ch.h) * ag, axis=-1), jnp.sum(ahe * ahe, axis=-1))


def sample_magnitudes(key, cfg: "SchedulingSystem") -> SchedulingMagnitudes:
    """Draw :class:`SchedulingMagnitudes` directly (same law as ``magnitudes(sample(...))``, cheaper):
    ``|h_n|, |g_kn|`` as ``sqrt(Exp(1))``, independent-links ``||h_e||^2 ~ Gamma(N, 1)``."""
    N, K = cfg.N, cfg.K
    rd = channels.real_dtype()
    kh, kg, ke = jax.random.split(key, 3)
    ray = lambda k, shape: jnp.sqrt(jax.random.exponential(k, shape, rd))
    ag = ray(kg, (K, N))
    if cfg.links == "full":
        ah = ray(kh, (N,))
        return SchedulingMagnitudes(ag @ ah, jnp.sum(ah * ah) * jnp.ones((K,), rd))
    return SchedulingMagnitudes(jnp.sum(ray(kh, (K, N)) * ag, axis=-1), jax.random.gamma(ke, float(N), (K,), rd))


def co_phasing(ch: SchedulingChannels) -> jax.Array:
    """Decision: the RIS aligned to each candidate user ``k`` (``phi_n = -arg h_n - arg g_kn``, (5.3)),
    as the factors ``e^{-j arg g_kn}`` ``(K, N)`` that remain of ``h_n e^{j phi_n} = |h_n| e^{-j arg g_kn}``."""
    ag = jnp.abs(ch.g)
    return jnp.conj(ch.g) / jnp.where(ag > 0, ag, 1.0).astype(ch.g.dtype)


def schedule_ss(mag: SchedulingMagnitudes) -> jax.Array:
    """Decision of suboptimal scheduling (SS): the user with the largest legitimate SNR (``argmax X_k``)."""
    return jnp.argmax(mag.amplitude)


def eavesdropper_cascades(ch: SchedulingChannels, phase) -> jax.Array:
    """``W[l, k]``: eavesdropper ``l``'s unit-free cascade with the RIS aligned to user ``k``
    (``sum_n u_ln |h_e,n| e^{-j arg g_kn}``), shape ``(L, K)``."""
    ahe = jnp.abs(ch.h_e).astype(ch.u.dtype)
    if ch.h.ndim == 1:
        return (ch.u * ahe[None, :]) @ phase.T
    return jnp.einsum("kln,kn->lk", ch.u * ahe[:, None, :], phase)


# --------------------------------------------------------------------------- metrics
def conditional_outage(snr_b, lam, vt, L: int):
    """``Pr(max_l gamma_E,l > (1+snr_b)/vt - 1)`` for ``L`` i.i.d. ``Exp(lam)`` eavesdroppers
    (``vt = 2^R_th``); finite value and gradient also where the outage is certain.

    >>> round(float(conditional_outage(3.0, 1.0, 2.0, 1)), 6)  # y = (3 - 1)/2 = 1: e^-1
    0.367879
    """
    y = jnp.maximum((snr_b - (vt - 1.0)) / vt, 0.0)
    p = jnp.exp(-y / lam)
    if L == 1:
        return p
    certain = p >= 1.0
    p_safe = jnp.where(certain, 0.0, p)  # log1p(-1) = -inf would poison the gradient
    return jnp.where(certain, 1.0, -jnp.expm1(L * jnp.log1p(-p_safe)))


def log_conditional_outage(snr_b, lam, vt, L: int):
    """``ln`` of :func:`conditional_outage`, accurate down to any tail (no underflow in float32: at
    ``p = e^a`` below ~1e-9 it is ``ln L + a``); finite value and gradient everywhere.

    >>> round(float(log_conditional_outage(3.0, 1.0, 2.0, 1)), 6)
    -1.0
    >>> float(log_conditional_outage(1e6, 1e-3, 2.0, 3)) < -1e8   # p ~ e^(-5e8): far below float32's range
    True
    """
    y = jnp.maximum((snr_b - (vt - 1.0)) / vt, 0.0)
    a = -y / lam  # ln p, p = Pr(one eavesdropper above the threshold)
    if L == 1:
        return a
    dt = a.dtype
    tiny = a < -20.0  # (1 - p)^L = 1 - L p (1 + O(p)): ln L + a to float precision
    certain = a >= 0.0
    a_mid = jnp.where(tiny | certain, jnp.asarray(-1.0, dt), a)
    u = jnp.where(a_mid < -0.6931472, jnp.log1p(-jnp.exp(a_mid)), jnp.log(-jnp.expm1(a_mid)))  # ln(1 - p)
    w = L * u  # ln (1 - p)^L < 0
    mid = jnp.where(w > -0.6931472, jnp.log(-jnp.expm1(w)), jnp.log1p(-jnp.exp(w)))
    return jnp.where(certain, jnp.zeros((), dt), jnp.where(tiny, jnp.log(jnp.asarray(float(L), dt)) + a, mid))


def conditional_outages(snr_u, lam_e, scheduled, vt, L: int, independent: bool) -> dict:
    """Logs of the conditional SOPs ``log_cond_SE, log_cond_ME, log_cond_SS`` (and ``log_cond_OS`` with
    independent links, where the users' eavesdropper SNRs are independent so that the OS law
    factorises) given the users' SNRs ``snr_u (K,)``, the eavesdroppers' conditional means
    ``lam_e (K,)`` and the SS choice. Logs, so that SOPs far below float32's range survive: average them
    with ``estimate(..., log_space=...)`` (:data:`LOG_SPACE`)."""
    res = {
        "log_cond_SE": log_conditional_outage(snr_u[0], lam_e[0], vt, 1),
        "log_cond_ME": log_conditional_outage(snr_u[0], lam_e[0], vt, L),
        "log_cond_SS": log_conditional_outage(snr_u[scheduled], lam_e[scheduled], vt, L),
    }
    if independent:
        res["log_cond_OS"] = jnp.sum(log_conditional_outage(snr_u, lam_e, vt, L))
    return res


LOG_SPACE = ("log_cond_SE", "log_cond_ME", "log_cond_SS", "log_cond_OS", "log_cond_DL", "log_cond_NDL")
"""Statistics returned as logs (pass the ones a system returns to ``estimate(..., log_space=...)``)."""


def log_space(out: dict) -> tuple:
    """The log-space statistics among ``out``'s names."""
    return tuple(k for k in out if k in LOG_SPACE)


def outage_indicators(snr_u, snr_e, scheduled, R_th) -> dict:
    """0/1 outage indicators ``out_SE, out_ME, out_SS, out_OS`` from the users' SNRs ``(K,)``, the
    eavesdroppers' SNRs ``(L, K)`` with the RIS aligned to each user, and the SS choice. OS serves
    the user with the largest secrecy rate: outage iff every user is in outage."""
    out_k = metrics.secrecy_outage(snr_u, jnp.max(snr_e, axis=0), R_th)  # (K,)
    return {
        "out_SE": metrics.secrecy_outage(snr_u[0], snr_e[0, 0], R_th),
        "out_ME": out_k[0],
        "out_SS": out_k[scheduled],
        "out_OS": jnp.min(out_k),
    }


def noma_outage(ch: SchedulingChannels, phase, snr_u, snr_e_best, best, su, R_th, alpha_grid: int):
    """NOMA pair scheduling (section 5(d)): best user ``best`` (RIS aligned to it) + the worst other user
    under that configuration, power fraction to the worst user on the grid ``0.50, 0.51, ...`` maximising
    the sum rate; 0/1 outage of the sum secrecy rate (eavesdroppers with the same SIC ability)."""
    rd = snr_u.dtype
    hv = jnp.abs(ch.h).astype(phase.dtype) * phase[best]  # h_n v_n with v aligned to best
    g_all = su * jnp.abs(ch.g @ hv) ** 2  # every user's SNR under that configuration
    g_all = g_all.at[best].set(jnp.inf)
    gw = g_all[jnp.argmin(g_all)]
    gb = snr_u[best]
    alpha = (0.5 + 0.01 * jnp.arange(alpha_grid, dtype=rd))[:, None]  # power fraction to the worst user
    r_w = metrics.rate(alpha * gw / ((1 - alpha) * gw + 1.0))[:, 0]
    r_b = metrics.rate((1 - alpha) * gb)[:, 0]
    a_star = jnp.argmax(r_w + r_b)
    al = alpha[a_star, 0]
    re_b = jnp.max(metrics.rate((1 - al) * snr_e_best))
    re_w = jnp.max(metrics.rate(al * snr_e_best / ((1 - al) * snr_e_best + 1.0)))
    s = metrics.positive_part(r_b[a_star] - re_b) + metrics.positive_part(r_w[a_star] - re_w)
    return (s < R_th).astype(rd)


# --------------------------------------------------------------------------- per-realisation systems
@config
class SchedulingSystem:
    """One realisation of the RIS scheduling system at transmit SNR ``rho_dB``, target secrecy rate
    ``R_th`` and ``geometry`` (every float a leaf; ``N, K, L`` and the switches static).

    ``cfg(key)`` returns 0/1 outage indicators ``out_SE, out_ME, out_SS, out_OS`` (and ``out_NOMA``
    when ``K >= 2``, ``noma`` and full links) and the logs of the conditional outage probabilities
    ``log_cond_SE, log_cond_ME, log_cond_SS`` (plus ``log_cond_OS`` with ``links="independent"``;
    declared in ``LOG_SPACE``, so the engine averages their exponentials in log space).
    ``conditional_only`` draws only the fading magnitudes and returns only the ``log_cond_*``
    statistics (same law, faster).
    """

    LOG_SPACE = LOG_SPACE
    N: int = static(16)
    K: int = static(4)
    L: int = static(2)
    rho_dB: float = 120.0
    R_th: float = 1.0
    geometry: SchedulingGeometry = dataclasses.field(default_factory=SchedulingGeometry)
    links: str = static("full")
    noma: bool = static(True)
    alpha_grid: int = static(50)  # NOMA power fractions 0.50, 0.51, ..., 0.99
    conditional_only: bool = static(False)

    def __post_init__(self):
        for name in ("N", "K", "L", "alpha_grid"):
            check_size(name, getattr(self, name))
        check_range("rho_dB", self.rho_dB)
        check_positive("R_th", self.R_th)
        check_choice("links", self.links, LINKS)
        if not isinstance(self.geometry, SchedulingGeometry):
            raise ValueError(f"geometry must be a SchedulingGeometry, got {type(self.geometry).__name__}")

    def snrs(self):
        """Per-element mean cascade SNRs ``(snr_u, snr_e)`` (linear)."""
        return self.geometry.cascade_snr(self.rho_dB)

    def sample(self, key) -> SchedulingChannels:
        return sample(key, self)

    def __call__(self, key):
        rd = channels.real_dtype()
        su, se = self.snrs()
        r_th = _real(self.R_th)
        vt = jnp.exp2(r_th)
        independent = self.links == "independent"
        if self.conditional_only:
            mag = sample_magnitudes(key, self)
            gU = su * mag.amplitude * mag.amplitude
            res = conditional_outages(gU, mag.eve_energy * se, schedule_ss(mag), vt, self.L, independent)
            return {k: v.astype(rd) for k, v in res.items()}
        ch = sample(key, self)
        mag = magnitudes(ch)
        phase = co_phasing(ch)
        ks = schedule_ss(mag)
        gU = su * mag.amplitude * mag.amplitude  # (K,)
        gE = se * jnp.abs(eavesdropper_cascades(ch, phase)) ** 2  # (L, K)
        res = outage_indicators(gU, gE, ks, r_th)
        res.update(conditional_outages(gU, mag.eve_energy * se, ks, vt, self.L, independent))
        if self.noma and self.K >= 2 and not independent:
            res["out_NOMA"] = noma_outage(ch, phase, gU, gE[:, ks], ks, su, r_th, self.alpha_grid)
        return {k: v.astype(rd) for k, v in res.items()}


class RelayChannels(NamedTuple):
    """Unit-mean exponential power gains of the DF relay links: S-R ``()``, R-users ``(K,)``,
    S-user direct ``()``, R-eavesdroppers ``(L,)``."""

    s_r: jax.Array
    r_u: jax.Array
    s_u: jax.Array
    r_e: jax.Array


def sample_relay(key, cfg: "RelaySystem") -> RelayChannels:
    ks = jax.random.split(key, 4)
    rd = channels.real_dtype()
    return RelayChannels(jax.random.exponential(ks[0], (), rd), jax.random.exponential(ks[1], (cfg.K,), rd),
                         jax.random.exponential(ks[2], (), rd), jax.random.exponential(ks[3], (cfg.L,), rd))


@config
class RelaySystem:
    """DF relay baselines (R-DL with MRC, R-NDL) at transmit SNR ``rho_dB`` and ``geometry`` (relay at
    the RIS centre). User ``argmax_k gamma_RUk``; eavesdroppers hear the relay slot; two slots so the
    threshold is ``2^(2 R_th)``. Returns ``out_DL, out_NDL`` and the logs of the exact conditional
    outage probabilities ``log_cond_DL, log_cond_NDL`` given the legitimate SNR.

    >>> import jax
    >>> out = jax.eval_shape(RelaySystem(K=4, L=2, rho_dB=100.0), jax.random.key(0))
    >>> sorted(out)
    ['log_cond_DL', 'log_cond_NDL', 'out_DL', 'out_NDL']
    """

    LOG_SPACE = LOG_SPACE

    K: int = static(4)
    L: int = static(2)
    rho_dB: float = 120.0
    R_th: float = 1.0
    geometry: SchedulingGeometry = dataclasses.field(default_factory=SchedulingGeometry)

    def __post_init__(self):
        check_size("K", self.K)
        check_size("L", self.L)
        check_range("rho_dB", self.rho_dB)
        check_positive("R_th", self.R_th)
        if not isinstance(self.geometry, SchedulingGeometry):
            raise ValueError(f"geometry must be a SchedulingGeometry, got {type(self.geometry).__name__}")

    def snrs(self):
        """Mean SNRs ``(a, b, c, lam_R)`` of S-R, R-U, S-U (direct) and R-E."""
        return self.geometry.relay_snr(self.rho_dB)

    def __call__(self, key):
        rd = channels.real_dtype()
        a, b, c, lr = self.snrs()
        ch = sample_relay(key, self)
        g_sr = a * ch.s_r
        g_ru = jnp.max(b * ch.r_u)  # scheduled user: the strongest relay-user link
        g_su = c * ch.s_u
        g_e = jnp.max(lr * ch.r_e)
        th = 2.0 * _real(self.R_th)
        g_dl = jnp.minimum(g_sr, g_ru + g_su)
        g_ndl = jnp.minimum(g_sr, g_ru)
        vt = jnp.exp2(th)
        return {
            "out_DL": metrics.secrecy_outage(g_dl, g_e, th).astype(rd),
            "out_NDL": metrics.secrecy_outage(g_ndl, g_e, th).astype(rd),
            "log_cond_DL": log_conditional_outage(g_dl, lr, vt, self.L).astype(rd),
            "log_cond_NDL": log_conditional_outage(g_ndl, lr, vt, self.L).astype(rd),
        }


# --------------------------------------------------------------------------- importance sampling (full model)
IS_SCHEMES = ("OS", "SS")


def log_gamma_tail(n: int, x):
    """``ln P(Gamma(n, 1) >= x)`` for a static integer shape ``n`` (sum of ``n`` unit exponentials), exact in log
    space far below float range: ``-x + ln sum_{i<n} x^i / i!`` (0 for ``x <= 0``, ``-inf`` for ``x = inf``).

    >>> round(float(log_gamma_tail(1, 2.0)), 6), float(log_gamma_tail(3, 0.0)) == 0.0
    (-2.0, True)
    >>> float(log_gamma_tail(4, 500.0)) < -480.0                  # e^-500 x^3/3!: no underflow
    True
    """
    x = jnp.maximum(jnp.asarray(x), 0.0)
    dt = x.dtype
    finite = jnp.isfinite(x)
    pos = x > 0
    xf = jnp.where(finite & pos, x, 1.0)
    shape = (1,) * x.ndim + (n,)
    i = jnp.arange(n, dtype=dt).reshape(shape)
    log_fact = jnp.asarray([math.lgamma(k + 1.0) for k in range(n)], dt).reshape(shape)  # exact 0 at i = 0, 1
    terms = i * jnp.log(xf)[..., None] - log_fact
    terms = jnp.where(pos[..., None] | (i == 0), terms, jnp.asarray(-jnp.inf, dt))
    val = -jnp.where(finite, x, 0.0) + jax.nn.logsumexp(terms, axis=-1)
    return jnp.where(finite, val, jnp.asarray(-jnp.inf, dt))


@config
class SchedulingImportance:
    """Rare-outage estimator for ``scheme`` (OS or SS) in the full model (one S-RIS channel shared by every
    user and eavesdropper), where OS has no closed-form conditional law: a tilted model for
    :mod:`irsjax.importance` (``sample_log_outage``, ``sample_score``, ``ce_update``).

    *Eavesdroppers.* With the RIS aligned to user ``k``, eavesdropper ``l``'s cascade is ``W_lk = a_k^T u_l``,
    ``a_kn = |h_n| e^{-j arg g_kn}``: given ``(h, g)`` the vector ``W_l`` is ``CN(0, A A^H)``, drawn exactly as
    ``R^H z_l`` (``A^H = QR``, ``z_l ~ CN(0, I)`` in ``d = min(K, N)`` dimensions; SS needs only the scheduled
    user's entry, ``||h|| z_l``, ``d = 1``). With ``radial=True`` (default) the total power ``S = sum_l ||z_l||^2
    ~ Gamma(L d)`` is integrated out exactly: given ``(h, g)`` and the direction ``z / sqrt(S)`` every
    eavesdropper SNR is ``S`` times a known constant, the outage (every served user beaten by some
    eavesdropper) is the event ``S >= tau``, and the realisation's statistic is ``P(Gamma(L d) >= tau)`` in
    log space (:func:`log_gamma_tail`). With ``radial=False`` the realisation's statistic is the outage
    indicator and ``z`` of one uniformly chosen eavesdropper is scaled by ``e^{log_s_eve / 2}``.

    *Proposal for (h, g)* (importance sampling; log variance scales are float leaves fitted by
    cross-entropy): a uniformly chosen element ``m`` gets ``h_m ~ CN(0, e^log_s_spike)``, the others
    ``CN(0, e^log_s_rest)``, and every user's channel at that element ``g_km ~ CN(0, e^log_s_user)`` (a
    uniform mixture over ``m``; an S-RIS channel concentrated on few elements lowers every user's
    co-phasing gain ``sum_n |h_n||g_kn|`` relative to ``||h||^2``, which the eavesdroppers' SNRs follow).
    With every log scale 0 the proposal is the model's law (weight 1).

    The score of :meth:`sample_score` is the secrecy capacity (bits, unclipped) of the user the scheme
    serves (OS: the best one), so ``score <= R_th`` is the secrecy outage (``out_OS`` / ``out_SS`` of
    :class:`SchedulingSystem`); the levels of :meth:`sample_log_outage` are target rates.

    >>> import jax
    >>> m = SchedulingImportance(SchedulingSystem(N=8, K=3, L=2, rho_dB=120.0))
    >>> log_p, log_w, suff = m.sample_log_outage(jax.random.key(0), jnp.asarray([1.0, 2.0]))
    >>> log_p.shape, float(log_w), suff.shape
    ((2,), 0.0, (4,))
    """

    system: SchedulingSystem = dataclasses.field(default_factory=SchedulingSystem)
    scheme: str = static("OS")
    radial: bool = static(True)
    log_s_spike: float = 0.0
    log_s_rest: float = 0.0
    log_s_user: float = 0.0
    log_s_eve: float = 0.0
    max_log_scale: float = static(8.0)

    def __post_init__(self):
        check_choice("scheme", self.scheme, IS_SCHEMES)
        if not isinstance(self.system, SchedulingSystem):
            raise ValueError(f"system must be a SchedulingSystem, got {type(self.system).__name__}")
        if self.system.links != "full":
            raise ValueError("importance sampling is for the full model: system.links must be 'full'")
        for name in ("log_s_spike", "log_s_rest", "log_s_user", "log_s_eve"):
            check_range(name, getattr(self, name), -self.max_log_scale, self.max_log_scale)

    def level(self):
        """The outage level: ``R_th`` (bits)."""
        return self.system.R_th

    def _draw(self, key):
        """One proposal draw: users' SNRs, the served users' index set, the eavesdroppers' per-unit SNRs
        ``(L, K')`` and standardised powers, ``log w`` and the sufficient statistics."""
        cfg = self.system
        N, K, L = cfg.N, cfg.K, cfg.L
        rd = channels.real_dtype()
        kh, kg, ke, km, kl = jax.random.split(key, 5)
        ls1, ls0, lsg, lse = (_real(getattr(self, n)) for n in ("log_s_spike", "log_s_rest", "log_s_user",
                                                                   "log_s_eve"))
        zero = jnp.zeros((), rd)
        spike = jnp.arange(N) == jax.random.randint(km, (), 0, N)
        h0 = channels.complex_normal(kh, (N,))
        g0 = channels.complex_normal(kg, (K, N))
        h = h0 * jnp.exp(0.5 * jnp.where(spike, ls1, ls0)).astype(h0.dtype)
        g = g0 * jnp.exp(0.5 * jnp.where(spike, lsg, zero))[None, :].astype(g0.dtype)
        ph = jnp.abs(h) ** 2  # (N,) actual powers
        pg = jnp.sum(jnp.abs(g) ** 2, axis=0)  # (N,) summed over users
        # ln q_m(x)/f(x) of each mixture component m (CN with variance s at power p: -ln s - p (1/s - 1))
        rest = jnp.sum(-ls0 - ph * jnp.expm1(-ls0))
        comp = (rest + (-ls1 - ph * jnp.expm1(-ls1)) - (-ls0 - ph * jnp.expm1(-ls0))
                + K * (-lsg) - pg * jnp.expm1(-lsg))
        log_w, resp = mixture_log_ratio(comp)
        ah = jnp.sqrt(ph)
        amp = jnp.abs(g) @ ah  # (K,) co-phasing amplitudes
        su, se = cfg.snrs()
        snr_u = su * amp * amp
        if self.scheme == "SS":
            ks = jnp.argmax(amp)
            snr_u = snr_u[ks][None]
            d = 1
            rmat = jnp.sqrt(jnp.sum(ph)).astype(h.dtype)[None, None]  # (1, 1)
        else:
            phase = co_phasing(SchedulingChannels(h, g, h, jnp.zeros((L, N), h.dtype)))
            a = ah.astype(phase.dtype)[None, :] * phase  # (K, N)
            _, rmat = jnp.linalg.qr(jnp.conj(a).T)  # A^H = Q R, R (d, K)
            d = rmat.shape[0]
        z0 = channels.complex_normal(ke, (L, d))
        if self.radial:
            pz = jnp.sum(jnp.abs(z0) ** 2)
            z = z0 / jnp.sqrt(pz).astype(z0.dtype)  # direction; the power S is integrated out
            t_eve = jnp.ones((), rd)
        else:
            tilted = jnp.arange(L) == jax.random.randint(kl, (), 0, L)
            z = z0 * jnp.exp(0.5 * jnp.where(tilted, lse, zero))[:, None].astype(z0.dtype)
            pzl = jnp.sum(jnp.abs(z) ** 2, axis=-1)  # (L,) actual powers
            log_w_e, resp_e = mixture_log_ratio(-d * lse - pzl * jnp.expm1(-lse))
            log_w = log_w + log_w_e
            t_eve = jnp.sum(resp_e * pzl) / d
        snr_e = se * jnp.abs(z @ jnp.conj(rmat)) ** 2  # (L, K'): W_l = R^H z_l
        t_rest = jnp.sum(resp * (jnp.sum(ph) - ph)) / (N - 1) if N > 1 else jnp.exp(ls0)
        suff = jnp.stack([jnp.sum(resp * ph), t_rest, jnp.sum(resp * pg) / K, t_eve]).astype(rd)
        return snr_u, snr_e, d, log_w.astype(rd), suff

    def sample_score(self, key):
        """One realisation from the proposal (``radial=False``): ``(score, log w, suff)``; ``suff`` =
        responsibility-weighted powers of the spiked element, of the other elements (mean), of the users'
        channels at the spiked element (mean over users), and of the tilted eavesdropper's cascade."""
        if self.radial:
            raise ValueError("sample_score needs radial=False (the radial estimator has no indicator)")
        snr_u, snr_e, _, log_w, suff = self._draw(key)
        caps = metrics.rate(snr_u) - metrics.rate(jnp.max(snr_e, axis=0))
        return jnp.max(caps).astype(log_w.dtype), log_w, suff

    def sample_log_outage(self, key, levels):
        """One realisation from the proposal: ``(ln P(outage at rate level_j | draw) (G,), log w, suff)``: the
        conditional probability given ``(h, g)`` and the eavesdroppers' direction (``radial``), else
        ``ln 1{outage}``."""
        snr_u, snr_e, d, log_w, suff = self._draw(key)
        rd = log_w.dtype
        levels = jnp.asarray(levels, rd)
        if not self.radial:
            caps = metrics.rate(snr_u) - metrics.rate(jnp.max(snr_e, axis=0))
            out = jnp.max(caps) <= levels
            return jnp.where(out, jnp.zeros((), rd), jnp.asarray(-jnp.inf, rd)), log_w, suff
        vt = jnp.exp2(levels)[:, None]  # (G, 1)
        y = jnp.maximum((1.0 + snr_u[None, :]) / vt - 1.0, 0.0)  # (G, K'): user k out iff some S snr_e_lk >= y_k
        pos = snr_e > 0
        t = jnp.where(pos[None], y[:, None, :] / jnp.where(pos, snr_e, 1.0)[None], jnp.inf)  # (G, L, K')
        t = jnp.where(y[:, None, :] > 0, t, 0.0)
        tau = jnp.max(jnp.min(t, axis=1), axis=-1)  # (G,): every served user beaten iff S >= tau
        return log_gamma_tail(self.system.L * d, tau).astype(rd), log_w, suff

    def ce_update(self, mean_suff):
        """The proposal matched to the conditional means of the sufficient statistics (log scales clipped to
        ``[-max_log_scale, max_log_scale]``)."""
        c = self.max_log_scale
        ls = jnp.clip(jnp.log(jnp.asarray(mean_suff)), -c, c)
        return dataclasses.replace(self, log_s_spike=float(ls[0]), log_s_rest=float(ls[1]), log_s_user=float(ls[2]),
                                   log_s_eve=float(ls[3]))

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
scaled by the per-element mean SNRs of the configuration. With ``rng="pcg"`` (default)
``cfg(key)`` evaluates the same metrics on the draws of ``sample(key, cfg)`` in real
arithmetic, from the fading magnitudes and phasors (:func:`polar_draws`); ``rng="threefry"``
draws with ``jax.random`` and runs the complex pipeline itself. Sizes and switches are static,
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
import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from irsjax import channels, metrics, pathloss, phases, units
from irsjax.importance import mixture_log_ratio
from irsjax.config import check_choice, check_finite, check_positive, check_range, check_size, config, static
from irsjax.streams import RNGS, Stream, words_to_uniform

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


def _pcg_uniforms(key, cfg: "SchedulingSystem"):
    """``(u_mag, u_arg)``, each ``(R, N)``: the pcg stream of one realisation, one row of (magnitude, phase)
    uniforms per fading vector, in the order ``h, g_1..g_K, u_1..u_L`` (full links, ``R = 1 + K + L``) or
    ``h_1..h_K, g_1..g_K, h_e,1..h_e,K, u_11, u_12, ..., u_KL`` (independent, ``R = K (3 + L)``). With
    ``M = ceil(R / 2)``, counter ``r N + n`` (``r < M``) holds element ``n`` of row ``r`` in lanes ``(x, y)`` and
    of row ``M + r`` in lanes ``(z, w)``."""
    R = 1 + cfg.K + cfg.L if cfg.links == "full" else cfg.K * (3 + cfg.L)
    x, y, z, w = (words_to_uniform(v) for v in Stream(key, "pcg").block(0, (-(-R // 2), cfg.N)))
    return jnp.concatenate([x, z])[:R], jnp.concatenate([y, w])[:R]


def _split(rows, cfg: "SchedulingSystem"):
    """``(h, g, h_e, u)`` from the rows of :func:`_pcg_uniforms` (or any function of them), shaped as in
    :class:`SchedulingChannels` (``h_e`` is ``h`` with full links)."""
    K, L = cfg.K, cfg.L
    if cfg.links == "full":
        return rows[0], rows[1:1 + K], rows[0], rows[1 + K:]
    return rows[:K], rows[K:2 * K], rows[2 * K:3 * K], rows[3 * K:].reshape(K, L, cfg.N)


def sample(key, cfg: "SchedulingSystem") -> SchedulingChannels:
    """Draw one realisation's fading (i.i.d. CN(0, 1); the law depends only on ``N, K, L, links``): exactly the
    draws ``cfg(key)`` evaluates, with either ``rng`` (pcg: Box-Muller of :func:`_pcg_uniforms`' rows)."""
    if cfg.rng == "pcg":
        return SchedulingChannels(*_split(channels.complex_normal_from_uniforms(*_pcg_uniforms(key, cfg)), cfg))
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
    return _magnitudes(jnp.abs(ch.h), jnp.abs(ch.g), jnp.abs(ch.h_e))


def _magnitudes(ah, ag, ahe) -> SchedulingMagnitudes:
    """:class:`SchedulingMagnitudes` from the moduli ``|h|, |g|, |h_e|``."""
    if ah.ndim == 1:  # full links: one S-RIS channel
        return SchedulingMagnitudes(ag @ ah, jnp.sum(ah * ah) * jnp.ones((ag.shape[0],), ah.dtype))
    return SchedulingMagnitudes(jnp.sum(ah * ag, axis=-1), jnp.sum(ahe * ahe, axis=-1))


def sample_magnitudes(key, cfg: "SchedulingSystem") -> SchedulingMagnitudes:
    """Draw :class:`SchedulingMagnitudes` directly (same law as ``magnitudes(sample(...))``, cheaper). pcg: the
    moduli of ``sample(key, cfg)`` (so the ``log_cond_*`` statistics equal those of the full kernel on the same
    key); threefry: ``|h_n|, |g_kn|`` as ``sqrt(Exp(1))``, independent-links ``||h_e||^2 ~ Gamma(N, 1)``."""
    if cfg.rng == "pcg":
        return _magnitudes(*_split(jnp.sqrt(-jnp.log(_pcg_uniforms(key, cfg)[0])), cfg)[:3])
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


class PolarDraws(NamedTuple):
    """The pcg draws of ``sample(key, cfg)`` as moduli ``|h|, |g|, |h_e|, |u|`` (shapes of
    :class:`SchedulingChannels`) and the phasors ``(cos, sin)`` of ``theta = arg g`` and ``psi = arg u``
    (``arg h``, ``arg h_e`` never matter: co-phasing cancels them)."""

    ah: jax.Array
    ag: jax.Array
    ahe: jax.Array
    au: jax.Array
    theta: tuple
    psi: tuple


def polar_draws(key, cfg: "SchedulingSystem") -> PolarDraws:
    """:class:`PolarDraws` of one realisation (``rng="pcg"``): moduli ``sqrt(-ln u_mag)``, phasors of ``u_arg``
    (of every row in one pass, measured faster than slicing first; those of ``h``, ``h_e`` go unused)."""
    u_mag, u_arg = _pcg_uniforms(key, cfg)
    ah, ag, ahe, au = _split(jnp.sqrt(-jnp.log(u_mag)), cfg)
    c, s = phases.phasor(u_arg)
    (_, cg, _, cu), (_, sg, _, su) = _split(c, cfg), _split(s, cfg)
    return PolarDraws(ah, ag, ahe, au, (cg, sg), (cu, su))


def eavesdropper_powers(d: PolarDraws) -> jax.Array:
    """``|W[l, k]|^2`` of :func:`eavesdropper_cascades` with the co-phasing decision, in real arithmetic:
    ``W[l, k] = sum_n |u_ln| |h_e,n| e^{j (psi_ln - theta_kn)}``, shape ``(L, K)``."""
    (ct, st), (cp, sp) = d.theta, d.psi
    if d.ah.ndim == 1:  # full: (L, 1, N) against (1, K, N)
        p, cp, sp = (d.au * d.ahe[None, :])[:, None, :], cp[:, None, :], sp[:, None, :]
    else:  # independent: u (K, L, N) -> (L, K, N)
        p = jnp.swapaxes(d.au * d.ahe[:, None, :], 0, 1)
        cp, sp = jnp.swapaxes(cp, 0, 1), jnp.swapaxes(sp, 0, 1)
    ct, st = ct[None], st[None]
    pc, ps = p * cp, p * sp
    re = jnp.sum(pc * ct + ps * st, axis=-1)
    im = jnp.sum(ps * ct - pc * st, axis=-1)
    return re * re + im * im


def noma_powers(d: PolarDraws, best) -> jax.Array:
    """``|g @ hv|^2`` of :func:`noma_outage` (RIS aligned to user ``best``, full links) in real arithmetic:
    ``sum_n |g_jn| |h_n| e^{j (theta_jn - theta_best,n)}`` for every user ``j``, shape ``(K,)``."""
    ct, st = d.theta
    cb, sb = ct[best][None, :], st[best][None, :]
    q = d.ag * d.ah[None, :]
    re = jnp.sum(q * (ct * cb + st * sb), axis=-1)
    im = jnp.sum(q * (st * cb - ct * sb), axis=-1)
    return re * re + im * im


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


def _log1mexp(x):
    """``ln(1 - e^x)`` for ``x <= 0`` (``-inf`` at 0; positive rounding noise is read as 0), accurate at both
    ends (Maechler's switch at ``-ln 2``)."""
    x = jnp.minimum(x, 0.0)
    far = x < -0.6931472
    # each branch sees a safe input where it is not selected: the other one's infinite derivative (log1p(-1)
    # near 0, where e^x rounds to 1) times a zero cotangent would be NaN
    return jnp.where(far, jnp.log1p(-jnp.exp(jnp.where(far, x, -1.0))), jnp.log(-jnp.expm1(jnp.where(far, -0.5, x))))


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
    w = L * _log1mexp(a_mid)  # ln (1 - p)^L < 0
    mid = _log1mexp(w)
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
    hv = jnp.abs(ch.h).astype(phase.dtype) * phase[best]  # h_n v_n with v aligned to best
    g_all = su * jnp.abs(ch.g @ hv) ** 2  # every user's SNR under that configuration
    return noma_outage_from_snrs(g_all, snr_u, snr_e_best, best, R_th, alpha_grid)


def noma_outage_from_snrs(g_all, snr_u, snr_e_best, best, R_th, alpha_grid: int):
    """:func:`noma_outage` from every user's SNR ``g_all`` ``(K,)`` with the RIS aligned to ``best``."""
    rd = snr_u.dtype
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
    statistics (same law, faster). ``rng``: the per-realisation stream, ``"pcg"`` (default; the
    counter hash of :mod:`irsjax.streams`, evaluated in real arithmetic: about 3x faster) or
    ``"threefry"`` (``jax.random``, the complex pipeline); both draw the law of :func:`sample`.
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
    rng: str = static("pcg")

    def __post_init__(self):
        for name in ("N", "K", "L", "alpha_grid"):
            check_size(name, getattr(self, name))
        check_range("rho_dB", self.rho_dB)
        check_positive("R_th", self.R_th)
        check_choice("links", self.links, LINKS)
        check_choice("rng", self.rng, RNGS)
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
        if self.rng == "pcg":  # the complex pipeline below, in real arithmetic on the same draws
            d = polar_draws(key, self)
            mag = _magnitudes(d.ah, d.ag, d.ahe)
            gE = se * eavesdropper_powers(d)  # (L, K)
        else:
            ch = sample(key, self)
            mag = magnitudes(ch)
            phase = co_phasing(ch)
            gE = se * jnp.abs(eavesdropper_cascades(ch, phase)) ** 2  # (L, K)
        ks = schedule_ss(mag)
        gU = su * mag.amplitude * mag.amplitude  # (K,)
        res = outage_indicators(gU, gE, ks, r_th)
        res.update(conditional_outages(gU, mag.eve_energy * se, ks, vt, self.L, independent))
        if self.noma and self.K >= 2 and not independent:
            if self.rng == "pcg":
                res["out_NOMA"] = noma_outage_from_snrs(su * noma_powers(d, ks), gU, gE[:, ks], ks, r_th,
                                                        self.alpha_grid)
            else:
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
IS_POWERS = ("auto", "each", "total")
IS_DIRECTIONS = ("aligned", "uniform")
IS_LOG_SCALES = ("log_s_spike", "log_s_rest", "log_s_user", "log_s_eve", "log_s_user_rest")  # = suff's order
MIN_CE_LOG_SCALE = math.log(0.55)  # ce_update: no scale below 0.55 (weights of finite variance need > 1/2)
CE_START_LOG_SPIKE = 0.7  # ce_initial: the spiked element's log variance the CE rounds start from
MAX_COVER_LEAVES = 256  # powers="auto": per-eavesdropper powers while the staircase has at most this many leaves


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


def triangular_factor(x):
    """The ``R`` of ``x = Q R`` (``x``: ``(n, k)``; ``R``: ``(min(n, k), k)``, upper triangular, ``R^H R = x^H x``) by
    Householder reflections in plain XLA operations (static loop over columns). Not ``jnp.linalg.qr``: a
    batched LAPACK call under ``vmap`` splits its batch over the XLA CPU thread pool, and two at once on a
    2-thread pool wait for each other for ever (seen here: the CE pilot of the rare-outage estimator hung with
    every thread idle; the same mechanism as in ``optim.receivers``).

    >>> x = jnp.asarray([[3.0, 1.0], [4.0, 2.0], [0.0, 2.0]], jnp.complex64)
    >>> r = triangular_factor(x)
    >>> bool(jnp.allclose(jnp.conj(r).T @ r, jnp.conj(x).T @ x, atol=1e-5)), float(jnp.abs(r[1, 0]))
    (True, 0.0)
    """
    n, k = x.shape
    rd = jnp.real(x).dtype
    tiny = jnp.finfo(rd).tiny
    r = x
    for j in range(min(n, k)):
        col = r[j:, j]
        alpha = jnp.linalg.norm(col)
        a0 = jnp.abs(col[0])
        phase = jnp.where(a0 > 0, col[0] / jnp.where(a0 > 0, a0, 1.0).astype(col.dtype), 1.0)
        v = col.at[0].add(phase * alpha.astype(col.dtype))
        vn2 = jnp.sum(jnp.abs(v) ** 2)
        scale = jnp.where(vn2 > tiny, 2.0 / jnp.where(vn2 > tiny, vn2, 1.0), 0.0).astype(col.dtype)
        block = r[j:, :]
        block = block - (scale * v)[:, None] * jnp.sum(jnp.conj(v)[:, None] * block, axis=0)[None, :]
        r = r.at[j:, :].set(block)
    tri = jnp.arange(n)[:, None] <= jnp.arange(k)[None, :]
    return jnp.where(tri, r, 0.0)[: min(n, k)]


def log_cover_probability(d: int, t):
    """``ln P(for every user k some eavesdropper l has S_l >= t[l, k])`` for independent ``S_l ~ Gamma(d, 1)``,
    exact in log space (``t`` of shape ``(L, K)``, ``t >= 0``, ``inf`` = never). The staircase: eavesdropper 0's
    power falls between two consecutive sorted thresholds of its own (``K + 1`` intervals, each a difference
    of upper gamma tails); it covers the users below, the others are left to eavesdroppers ``1..L-1``
    (recursion; the last one needs ``S >= max`` of the thresholds left). ``(K + 1)^(L - 1)`` leaves, traced
    statically.

    >>> t = jnp.asarray([[1.0, 3.0], [2.0, 0.5]])       # S ~ Exp(1): (1 - e^-1) e^-2 + (e^-1 - e^-3) e^-0.5 + e^-3
    >>> round(float(jnp.exp(log_cover_probability(1, t))), 4)
    0.3283
    """
    t = jnp.asarray(t)
    L, K = t.shape
    zero = jnp.zeros((1,), t.dtype)
    inf = jnp.full((1,), jnp.inf, t.dtype)

    def rec(l, mask):
        tl = jnp.where(mask, t[l], 0.0)
        if l == L - 1:
            return log_gamma_tail(d, jnp.max(tl))
        srt = jnp.sort(tl)
        lo, hi = jnp.concatenate([zero, srt]), jnp.concatenate([srt, inf])
        a, b = log_gamma_tail(d, lo), log_gamma_tail(d, hi)  # ln P(S >= lo), ln P(S >= hi)
        fin = jnp.isfinite(a)
        log_in = jnp.where(fin, a + _log1mexp(jnp.where(fin, b - a, 0.0)), -jnp.inf)  # ln P(lo <= S < hi)
        terms = [log_in[j] + rec(l + 1, mask & (t[l] > lo[j])) for j in range(K + 1)]
        return jax.nn.logsumexp(jnp.stack(terms))

    return rec(0, jnp.ones((K,), bool))


def _subsets(K: int) -> tuple:
    """The user sets the aligned eavesdropper directions aim at: every non-empty subset for ``K <= 5``, else
    the single users and all of them."""
    if K <= 5:
        return tuple(s for r in range(1, K + 1) for s in itertools.combinations(range(K), r))
    return tuple((k,) for k in range(K)) + (tuple(range(K)),)


def aligned_directions(rmat, c, subsets, factors, iters: int = 30):
    """Centres and scales of the aligned eavesdropper-direction proposal: for each user set ``S`` the unit
    ``q_S`` (in the ``d`` coordinates of ``W = R^H z``) that approximately maximises ``min_{k in S} |r_k^H q|^2 /
    c_k`` (the direction along which one eavesdropper beats every user of ``S`` at the least power:
    multiplicative-weights power iterations on ``sum_k w_k r_k r_k^H / c_k``), and the angular-central-Gaussian
    scales ``s = 1 + (d - 1) T_S f`` (``T_S = max_k c_k / |r_k^H q_S|^2``: the power ``q_S`` needs; ``f`` in
    ``factors``). Returns ``(q (C, d), s (C,))``, ``C = len(subsets) len(factors)``."""
    d, K = rmat.shape
    rd = jnp.real(rmat).dtype
    tiny = jnp.finfo(rd).tiny
    nr2 = jnp.sum(jnp.abs(rmat) ** 2, axis=0)
    rs = rmat / jnp.sqrt(c + 1e-6 * nr2 + tiny).astype(rmat.dtype)[None, :]  # (d, K) columns r_k / sqrt(c_k)
    member = jnp.asarray([[k in sub for k in range(K)] for sub in subsets])  # (C0, K) static

    def unit(v):
        return v / jnp.maximum(jnp.linalg.norm(v), tiny).astype(v.dtype)

    def one(mask):
        w0 = mask.astype(rd) / jnp.sum(mask.astype(rd))

        def proj(q):  # rs^H q, (K,), as a fused reduction (tiny batched dots are slow on XLA CPU)
            return jnp.sum(jnp.conj(rs) * q[:, None], axis=0)

        def apply(q, w):  # (sum_k w_k rs_k rs_k^H) q
            return jnp.sum(rs * (w.astype(rs.dtype) * proj(q))[None, :], axis=1)

        def step(_, qw):
            q, w = qw
            q = unit(apply(unit(apply(q, w)), w))
            rho = jnp.abs(proj(q)) ** 2
            low = jnp.min(jnp.where(mask, rho, jnp.inf))
            w = jnp.where(mask, w * jnp.sqrt(low / jnp.maximum(rho, tiny)), 0.0)
            return q, w / jnp.maximum(jnp.sum(w), tiny)

        q, _ = jax.lax.fori_loop(0, iters, step, (unit(jnp.sum(rs * w0.astype(rs.dtype)[None, :], axis=1)), w0))
        gain = jnp.abs(jnp.sum(jnp.conj(rmat) * q[:, None], axis=0)) ** 2
        need = jnp.max(jnp.where(mask, jnp.where(gain > 0, c / jnp.where(gain > 0, gain, 1.0), jnp.inf), 0.0))
        ok = jnp.isfinite(need) & (jnp.linalg.norm(q) > 0.5)
        return jnp.where(ok, q, 0.0), jnp.where(ok, need, 0.0)

    q, t_s = jax.vmap(one)(member)
    s = jnp.concatenate([jnp.clip(1.0 + (d - 1) * t_s * f, 1.0, 1e6) for f in factors])
    return jnp.concatenate([q] * len(factors)), s.astype(rd)


def sample_aligned_direction(key, q, s, uniform_share):
    """One unit direction in ``C^d`` from the defensive mixture ``uniform_share * uniform + (1 - uniform_share) *
    mean_c ACG(I + (s_c - 1) q_c q_c^H)`` (angular central Gaussians about the aligned directions ``q_c``), and
    ``ln(uniform density / mixture density)``, the direction's log weight (an ACG's density against the uniform
    one is ``s^-1 (1 - (1 - 1/s) |q^H u|^2)^-d``; the weight is at most ``1 / uniform_share``)."""
    C, d = q.shape
    rd = jnp.real(q).dtype
    kc, kz, ku = jax.random.split(key, 3)
    comp = jax.random.randint(kc, (), 0, C)
    share = jnp.asarray(uniform_share, rd)
    sc = jnp.where(jax.random.uniform(ku, dtype=rd) < share, 1.0, s[comp])
    qc = q[comp]
    z = channels.complex_normal(kz, (d,)).astype(q.dtype)
    z = z + ((jnp.sqrt(sc) - 1.0).astype(q.dtype) * qc) * jnp.vdot(qc, z)
    u = z / jnp.maximum(jnp.linalg.norm(z), jnp.finfo(rd).tiny).astype(z.dtype)
    x = jnp.minimum(jnp.abs(jnp.sum(jnp.conj(q) * u[None, :], axis=1)) ** 2, 1.0)
    log_acg = -d * jnp.log1p(-(1.0 - 1.0 / s) * x) - jnp.log(s)
    log_mix = jnp.logaddexp(jnp.log(share), jnp.log1p(-share) + jax.nn.logsumexp(log_acg) - math.log(C))
    return u, (-log_mix).astype(rd)


@config
class SchedulingImportance:
    """Rare-outage estimator for ``scheme`` (OS or SS) in the full model (one S-RIS channel shared by every
    user and eavesdropper), where OS has no closed-form conditional law: a tilted model for
    :mod:`irsjax.importance` (``sample_log_outage``, ``sample_score``, ``ce_update``).

    *Eavesdroppers.* With the RIS aligned to user ``k``, eavesdropper ``l``'s cascade is ``W_lk = a_k^T u_l``,
    ``a_kn = |h_n| e^{-j arg g_kn}``: given ``(h, g)`` the vector ``W_l`` is ``CN(0, A A^H)``, drawn exactly as
    ``R^H z_l`` (``A^H = QR``, ``z_l ~ CN(0, I)`` in ``d = min(K, N)`` dimensions; SS needs only the scheduled
    user's entry, ``||h|| z_l``, ``d = 1``). With ``radial=True`` (default) the eavesdroppers' powers are
    integrated out exactly, in one of two ways (``powers``):

    * ``"each"`` (the default ``"auto"`` wherever the staircase below has at most ``MAX_COVER_LEAVES`` leaves):
      every eavesdropper's power ``S_l = ||z_l||^2 ~ Gamma(d)`` separately. Given ``(h, g)`` and the directions
      ``u_l = z_l / ||z_l||``, user ``k`` is beaten by eavesdropper ``l`` iff ``S_l >= t_lk``, and the outage
      probability is :func:`log_cover_probability` (exact; ``(K' + 1)^(L - 1)`` leaves). The directions are
      drawn from the aligned proposal (``directions="aligned"``, :func:`aligned_directions`,
      :func:`sample_aligned_direction`): with probability ``direction_uniform_share`` uniform, otherwise an
      angular central Gaussian about the direction in which one eavesdropper beats a set of users at the
      least power, for every user set (scales ``1 + (d - 1) T f``, ``f`` in ``direction_factors``), each
      direction weighted by its density ratio. ``directions="uniform"``: uniform directions, weight 1.
    * ``"total"``: the total power ``S = sum_l ||z_l||^2 ~ Gamma(L d)`` given the joint direction: every
      eavesdropper SNR is ``S`` times a known constant, the outage is ``S >= tau``, and the statistic is
      ``P(Gamma(L d) >= tau)`` (:func:`log_gamma_tail`).

    Measured (``bench/RESULTS_rare_outage.md``, fresh seed; OS, N = 32, K = 4, L = 2, 120 dB, p ~ 2.4e-8; relative
    standard error): ``"total"`` 62 % from 2^16 realisations; from 2^20: ``"each"`` with uniform directions 21 %,
    with aligned directions 5.3 %, and with the CE-fitted channel proposal 3.9 %. With ``radial=False`` the
    realisation's statistic is the outage indicator and ``z`` of one uniformly chosen eavesdropper is scaled by
    ``e^{log_s_eve / 2}``.

    *Proposal for (h, g)* (importance sampling; log variance scales are float leaves fitted by
    cross-entropy): a uniformly chosen element ``m`` gets ``h_m ~ CN(0, e^log_s_spike)``, the others
    ``CN(0, e^log_s_rest)``; every user's channel at that element ``g_km ~ CN(0, e^log_s_user)``, at the others
    ``CN(0, e^log_s_user_rest)`` (a uniform mixture over ``m``; an S-RIS channel concentrated on few elements,
    and weak user channels, lower every user's co-phasing gain ``sum_n |h_n||g_kn|`` relative to ``||h||^2``,
    which the eavesdroppers' SNRs follow). With every log scale 0 the proposal is the model's law;
    :meth:`ce_initial` starts the CE rounds with the spike apart.

    The score of :meth:`sample_score` is the secrecy capacity (bits, unclipped) of the user the scheme
    serves (OS: the best one), so ``score <= R_th`` is the secrecy outage (``out_OS`` / ``out_SS`` of
    :class:`SchedulingSystem`); the levels of :meth:`sample_log_outage` are target rates.

    >>> import jax
    >>> m = SchedulingImportance(SchedulingSystem(N=8, K=3, L=2, rho_dB=120.0))
    >>> log_p, log_w, suff = m.sample_log_outage(jax.random.key(0), jnp.asarray([1.0, 2.0]))
    >>> log_p.shape, bool(jnp.isfinite(log_w)), suff.shape, m.power_mode()
    ((2,), True, (5,), 'each')
    """

    system: SchedulingSystem = dataclasses.field(default_factory=SchedulingSystem)
    scheme: str = static("OS")
    radial: bool = static(True)
    powers: str = static("auto")
    directions: str = static("aligned")
    direction_factors: tuple = static((1.0,))
    direction_uniform_share: float = 0.5
    log_s_spike: float = 0.0
    log_s_rest: float = 0.0
    log_s_user: float = 0.0
    log_s_eve: float = 0.0
    log_s_user_rest: float = 0.0
    max_log_scale: float = static(8.0)

    def __post_init__(self):
        check_choice("scheme", self.scheme, IS_SCHEMES)
        check_choice("powers", self.powers, IS_POWERS)
        check_choice("directions", self.directions, IS_DIRECTIONS)
        check_range("direction_uniform_share", self.direction_uniform_share, 1e-3, 1.0)
        if not (isinstance(self.direction_factors, tuple) and self.direction_factors
                and all(isinstance(f, (int, float)) and f > 0 for f in self.direction_factors)):
            raise ValueError(f"direction_factors must be a non-empty tuple of positive numbers, got "
                             f"{self.direction_factors!r}")
        if not isinstance(self.system, SchedulingSystem):
            raise ValueError(f"system must be a SchedulingSystem, got {type(self.system).__name__}")
        if self.system.links != "full":
            raise ValueError("importance sampling is for the full model: system.links must be 'full'")
        for name in IS_LOG_SCALES:
            check_range(name, getattr(self, name), -self.max_log_scale, self.max_log_scale)

    def power_mode(self) -> str:
        """``"each"`` or ``"total"``: how the radial estimator integrates the eavesdroppers' powers (``"auto"``:
        each while the staircase of :func:`log_cover_probability` has at most ``MAX_COVER_LEAVES`` leaves)."""
        if self.powers != "auto":
            return self.powers
        k = 1 if self.scheme == "SS" else self.system.K  # users to cover: the staircase's columns
        return "each" if (k + 1) ** (self.system.L - 1) <= MAX_COVER_LEAVES else "total"

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
        ls1, ls0, lsg, lse, lsu = (_real(getattr(self, n)) for n in IS_LOG_SCALES)
        zero = jnp.zeros((), rd)
        spike = jnp.arange(N) == jax.random.randint(km, (), 0, N)
        h0 = channels.complex_normal(kh, (N,))
        g0 = channels.complex_normal(kg, (K, N))
        h = h0 * jnp.exp(0.5 * jnp.where(spike, ls1, ls0)).astype(h0.dtype)
        g = g0 * jnp.exp(0.5 * jnp.where(spike, lsg, lsu))[None, :].astype(g0.dtype)
        ph = jnp.abs(h) ** 2  # (N,) actual powers
        pg = jnp.sum(jnp.abs(g) ** 2, axis=0)  # (N,) summed over users
        # ln q_m(x)/f(x) of each mixture component m (CN with variance s at power p: -ln s - p (1/s - 1))
        rest = jnp.sum(-ls0 - ph * jnp.expm1(-ls0)) + jnp.sum(K * (-lsu) - pg * jnp.expm1(-lsu))
        comp = (rest + (-ls1 - ph * jnp.expm1(-ls1)) - (-ls0 - ph * jnp.expm1(-ls0))
                + (K * (-lsg) - pg * jnp.expm1(-lsg)) - (K * (-lsu) - pg * jnp.expm1(-lsu)))
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
            rmat = triangular_factor(jnp.conj(a).T)  # A^H = Q R, R (d, K); LAPACK-free
            d = rmat.shape[0]
        z0 = channels.complex_normal(ke, (L, d))
        if self.radial:  # directions only: the powers are integrated out in sample_log_outage
            each = self.power_mode() == "each"
            if each and self.directions == "aligned" and d > 1:  # proposal aimed at the system's own target rate
                y = jnp.maximum((1.0 + snr_u) / jnp.exp2(_real(cfg.R_th)) - 1.0, 0.0)
                q, s = aligned_directions(rmat, y / se, _subsets(snr_u.shape[0]), self.direction_factors)
                z, log_w_dir = jax.vmap(sample_aligned_direction, in_axes=(0, None, None, None))(
                    jax.random.split(ke, L), q, s, _real(self.direction_uniform_share))
                log_w = log_w + jnp.sum(log_w_dir)
            else:  # uniform: each eavesdropper's own direction ("each"), or the joint one ("total")
                pz = jnp.sum(jnp.abs(z0) ** 2, axis=-1 if each else None, keepdims=True)
                z = z0 / jnp.sqrt(pz).astype(z0.dtype)
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
        u_rest = jnp.sum(resp * (jnp.sum(pg) - pg)) / (K * (N - 1)) if N > 1 else jnp.exp(lsu)
        suff = jnp.stack([jnp.sum(resp * ph), t_rest, jnp.sum(resp * pg) / K, t_eve, u_rest]).astype(rd)
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
        if self.power_mode() == "each":  # S_l ~ Gamma(d) each; user k beaten iff some S_l >= t[l, k]
            return jax.vmap(lambda tg: log_cover_probability(d, tg))(t).astype(rd), log_w, suff
        tau = jnp.max(jnp.min(t, axis=1), axis=-1)  # (G,): every served user beaten iff S >= tau
        return log_gamma_tail(self.system.L * d, tau).astype(rd), log_w, suff

    def ce_initial(self):
        """The proposal the cross-entropy rounds start from: the spiked element's S-RIS variance ``e^0.7`` (about
        2x) when every log scale is 0. At the nominal law every mixture component is the same law, the
        responsibilities are all ``1/N``, and the CE updates would keep the spiked and the other elements
        equal forever (measured: the spike then never forms; from this start it settled at ``e^1.1`` to ``e^1.7``)."""
        untilted = all(float(getattr(self, n)) == 0.0 for n in IS_LOG_SCALES)
        return dataclasses.replace(self, log_s_spike=CE_START_LOG_SPIKE) if untilted and self.system.N > 1 else self

    def ce_update(self, mean_suff):
        """The proposal matched to the conditional means of the sufficient statistics (log scales clipped to
        ``[MIN_CE_LOG_SCALE, max_log_scale]``: a power ``Exp(1)`` drawn from ``Exp(s)`` has weights of finite
        variance only for ``s > 1/2``, and the CE rounds did go below it, to ``e^-0.66``)."""
        ls = jnp.clip(jnp.log(jnp.asarray(mean_suff)), MIN_CE_LOG_SCALE, self.max_log_scale)
        return dataclasses.replace(self, **{n: float(v) for n, v in zip(IS_LOG_SCALES, ls)})

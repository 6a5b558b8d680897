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

>>> import jax
>>> from irsjax.systems.scheduling import SchedulingSystem, SchedulingGeometry
>>> geo = SchedulingGeometry()
>>> su_db, se_db = geo.cascade_snr_db(120.0)
>>> out = SchedulingSystem(N=16, K=4, L=2)(jax.random.key(0), su_db, se_db)
>>> sorted(out)[:4]
['cond_ME', 'cond_SE', 'cond_SS', 'out_ME']
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import jax
import jax.numpy as jnp

from irsjax import channels, metrics, pathloss

LINKS = ("full", "independent")


def _pos_int(name, v, lo=1):
    if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= lo):
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")


# --------------------------------------------------------------------------- geometry and path loss
@dataclass(frozen=True)
class SchedulingGeometry:
    """2-D geometry of section 5(a): ``x`` = distance from the plane of S, ``y`` = distance
    from the RIS plane. S = ``(0, y_S)``, RIS (and relay) centre ``(x_R, 0)``, all users at
    ``(x_U, y_U)``, all eavesdroppers at ``(x_E, y_E)``; frequency in GHz, antenna gains in dBi,
    element size ``lambda/2`` unless given (metres).

    >>> g = SchedulingGeometry()
    >>> [round(v, 1) for v in g.ris_path_loss_db()]
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
        if not self.f_GHz > 0:
            raise ValueError(f"f_GHz must be > 0, got {self.f_GHz!r}")
        for nm in ("y_S", "y_U", "y_E"):
            if not getattr(self, nm) > 0:
                raise ValueError(f"{nm} must be > 0 (node in front of the RIS), got {getattr(self, nm)!r}")
        if self.element_size is not None and not self.element_size > 0:
            raise ValueError(f"element_size must be > 0, got {self.element_size!r}")

    @property
    def frequency_hz(self):
        return self.f_GHz * 1e9

    def distances(self):
        """``(d_SR, d_RU, d_RE, d_SU, d_SE)`` in metres (clipped at 1 m)."""
        d = lambda a, b: max(math.hypot(a[0] - b[0], a[1] - b[1]), 1.0)  # noqa: E731
        s, r, u, e = (0.0, self.y_S), (self.x_R, 0.0), (self.x_U, self.y_U), (self.x_E, self.y_E)
        return d(s, r), d(r, u), d(r, e), d(s, u), d(s, e)

    def ris_path_loss(self):
        """Per-element RIS path losses ``(PL_SU, PL_SE)`` (5.1) as Python floats (linear, > 1)."""
        d_sr, d_ru, d_re, _, _ = self.distances()
        cos_i, cos_u, cos_e = self.y_S / d_sr, self.y_U / d_ru, self.y_E / d_re
        with jax.enable_x64(True):
            kw = dict(frequency_hz=self.frequency_hz, element_size=self.element_size,
                      gt_db=self.gt_dB, gr_db=self.gr_dB)
            pl_su = float(pathloss.ris_free_space_loss(d_sr, d_ru, cos_i, cos_u, **kw))
            pl_se = float(pathloss.ris_free_space_loss(d_sr, d_re, cos_i, cos_e, **kw))
        return pl_su, pl_se

    def ris_path_loss_db(self):
        return tuple(10 * math.log10(v) for v in self.ris_path_loss())

    def cascade_snr(self, rho_dB):
        """Per-element mean cascade SNRs ``(snr_u, snr_e) = (rho/PL_SU, rho/PL_SE)`` (linear)."""
        pl_su, pl_se = self.ris_path_loss()
        rho = 10.0 ** (float(rho_dB) / 10.0)
        return rho / pl_su, rho / pl_se

    def cascade_snr_db(self, rho_dB):
        """:meth:`cascade_snr` in dB (what :class:`SchedulingSystem` takes as arguments)."""
        pl_su, pl_se = self.ris_path_loss_db()
        return float(rho_dB) - pl_su, float(rho_dB) - pl_se

    def relay_path_loss(self):
        """Free-space losses ``(PL_SR, PL_RU, PL_SU, PL_RE)`` of the DF-relay links (exponent 2)."""
        d_sr, d_ru, d_re, d_su, _ = self.distances()
        with jax.enable_x64(True):
            f = lambda d: float(pathloss.free_space_loss(d, frequency_hz=self.frequency_hz, exponent=2.0,  # noqa: E731
                                                         gt_db=self.gt_dB, gr_db=self.gr_dB))
            return f(d_sr), f(d_ru), f(d_su), f(d_re)

    def relay_snr(self, rho_dB):
        """Relay mean SNRs ``(a, b, c, lam_R)`` of S-R, R-U, S-U (direct), R-E (per-slot power P)."""
        rho = 10.0 ** (float(rho_dB) / 10.0)
        return tuple(rho / p for p in self.relay_path_loss())


# --------------------------------------------------------------------------- per-realisation model
def _cond_outage(snr_b, lam, vt, L):
    """``Pr(max_l gamma_E,l > (1+snr_b)/v - 1)`` for i.i.d. ``Exp(lam)`` eavesdroppers."""
    y = jnp.maximum((snr_b - (vt - 1.0)) / vt, 0.0)
    p = jnp.exp(-y / lam)
    return -jnp.expm1(L * jnp.log1p(-p)) if L > 1 else p


@dataclass(frozen=True)
class SchedulingSystem:
    """One realisation of the RIS scheduling system; call with
    ``(key, snr_u_dB, snr_e_dB)`` = per-element mean cascade SNRs ``rho/PL`` in dB.

    Returns 0/1 outage indicators ``out_SE, out_ME, out_SS, out_OS`` (and ``out_NOMA`` when
    ``K >= 2`` and ``noma``) and conditional outage probabilities ``cond_SE, cond_ME, cond_SS``
    (plus ``cond_OS`` with ``links="independent"``, where the users' eavesdropper SNRs are
    independent so the OS conditional law factorises).
    """

    N: int = 16
    K: int = 4
    L: int = 2
    R_th: float = 1.0
    links: str = "full"
    noma: bool = True
    alpha_grid: int = 50  # NOMA power fractions 0.50, 0.51, ..., 0.99
    conditional_only: bool = False  # only cond_SE/ME/SS (+cond_OS), from fading magnitudes (fast)

    def __post_init__(self):
        _pos_int("N", self.N)
        _pos_int("K", self.K)
        _pos_int("L", self.L)
        if not self.R_th > 0:
            raise ValueError(f"R_th must be > 0, got {self.R_th!r}")
        if self.links not in LINKS:
            raise ValueError(f"links must be one of {LINKS}, got {self.links!r}")
        _pos_int("alpha_grid", self.alpha_grid)

    def sample(self, key):
        """Unit-variance small-scale fading: ``h (N,)`` or ``(K, N)`` (independent links),
        ``g (K, N)``, eavesdropper S-RIS ``h_e`` and RIS-eavesdropper ``u``."""
        kh, kg, ku, kh2 = jax.random.split(key, 4)
        N, K, L = self.N, self.K, self.L
        g = channels.complex_normal(kg, (K, N))
        if self.links == "full":
            h = channels.complex_normal(kh, (N,))
            u = channels.complex_normal(ku, (L, N))
            return h, g, h, u
        h = channels.complex_normal(kh, (K, N))
        h_e = channels.complex_normal(kh2, (K, N))
        u = channels.complex_normal(ku, (K, L, N))
        return h, g, h_e, u

    def __call__(self, key, snr_u_dB, snr_e_dB):
        rd = channels.real_dtype()
        su = jnp.asarray(10.0, rd) ** (jnp.asarray(snr_u_dB, rd) / 10.0)
        se = jnp.asarray(10.0, rd) ** (jnp.asarray(snr_e_dB, rd) / 10.0)
        vt = jnp.asarray(2.0 ** self.R_th, rd)
        if self.conditional_only:
            return self._conditional(key, su, se, vt, rd)
        K, L = self.K, self.L
        h, g, h_e, u = self.sample(key)
        ag = jnp.abs(g)
        ph_g = jnp.conj(g) / jnp.where(ag > 0, ag, 1.0)  # e^{-j arg g_kn}
        if self.links == "full":
            ah = jnp.abs(h)
            X = ag @ ah  # (K,) co-phased amplitudes sum_n |h_n||g_kn|
            # eavesdropper l with RIS aligned to user k: sum_n u_ln |h_n| e^{-j arg g_kn}
            W = (u * ah) @ ph_g.T  # (L, K)
            lam_e = jnp.sum(ah * ah) * se * jnp.ones((K,), rd)  # conditional Eve mean per user
        else:
            X = jnp.sum(jnp.abs(h) * ag, axis=-1)
            ahe = jnp.abs(h_e)  # (K, N)
            W = jnp.einsum("kln,kn->lk", u * ahe[:, None, :], ph_g)
            lam_e = jnp.sum(ahe * ahe, axis=-1) * se
        gU = su * X * X  # (K,)
        gE = se * jnp.abs(W) ** 2  # (L, K)
        gE_max = jnp.max(gE, axis=0)  # (K,)
        out_k = metrics.secrecy_outage(gU, gE_max, self.R_th)  # (K,)
        ks = jnp.argmax(X)
        res = {
            "out_SE": metrics.secrecy_outage(gU[0], gE[0, 0], self.R_th),
            "out_ME": out_k[0],
            "out_SS": out_k[ks],
            "out_OS": jnp.min(out_k),  # outage iff every user is in outage
            "cond_SE": _cond_outage(gU[0], lam_e[0], vt, 1),
            "cond_ME": _cond_outage(gU[0], lam_e[0], vt, L),
            "cond_SS": _cond_outage(gU[ks], lam_e[ks], vt, L),
        }
        if self.links == "independent":
            res["cond_OS"] = jnp.prod(_cond_outage(gU, lam_e, vt, L))
        if self.noma and K >= 2 and self.links == "full":
            res["out_NOMA"] = self._noma(gU, h, g, ph_g, ks, gE[:, ks], su)
        return {k: v.astype(rd) for k, v in res.items()}

    def _conditional(self, key, su, se, vt, rd):
        """Conditional estimators only: ``|h_n|, |g_kn|`` drawn as ``sqrt(Exp(1))`` (Rayleigh),
        the eavesdroppers integrated out exactly (same law as the full model's ``cond_*``)."""
        N, K, L = self.N, self.K, self.L
        kh, kg, ke = jax.random.split(key, 3)
        ray = lambda k, shape: jnp.sqrt(jax.random.exponential(k, shape, rd))  # noqa: E731
        ag = ray(kg, (K, N))
        if self.links == "full":
            ah = ray(kh, (N,))
            X = ag @ ah
            lam_e = jnp.sum(ah * ah) * se * jnp.ones((K,), rd)
        else:
            X = jnp.sum(ray(kh, (K, N)) * ag, axis=-1)
            lam_e = jax.random.gamma(ke, float(N), (K,), rd) * se  # ||h_e||^2 ~ Gamma(N, 1)
        gU = su * X * X
        ks = jnp.argmax(X)
        res = {
            "cond_SE": _cond_outage(gU[0], lam_e[0], vt, 1),
            "cond_ME": _cond_outage(gU[0], lam_e[0], vt, L),
            "cond_SS": _cond_outage(gU[ks], lam_e[ks], vt, L),
        }
        if self.links == "independent":
            res["cond_OS"] = jnp.prod(_cond_outage(gU, lam_e, vt, L))
        return {k: v.astype(rd) for k, v in res.items()}

    def _noma(self, gU, h, g, ph_g, b, gE_b, su):
        """NOMA pair (section 5(d)): best user ``b`` (RIS aligned to it) + worst other user."""
        rd = gU.dtype
        hv = jnp.abs(h) * ph_g[b]  # h_n v_n with v aligned to b
        g_all = su * jnp.abs(g @ hv) ** 2  # every user's SNR under that configuration
        g_all = g_all.at[b].set(jnp.inf)
        w = jnp.argmin(g_all)
        gw = g_all[w]
        gb = gU[b]
        alpha = (0.5 + 0.01 * jnp.arange(self.alpha_grid, dtype=rd))[:, None]  # power fraction to w
        r_w = metrics.rate(alpha * gw / ((1 - alpha) * gw + 1.0))[:, 0]
        r_b = metrics.rate((1 - alpha) * gb)[:, 0]
        a_star = jnp.argmax(r_w + r_b)
        al = alpha[a_star, 0]
        re_b = jnp.max(metrics.rate((1 - al) * gE_b))
        re_w = jnp.max(metrics.rate(al * gE_b / ((1 - al) * gE_b + 1.0)))
        s = metrics.positive_part(r_b[a_star] - re_b) + metrics.positive_part(r_w[a_star] - re_w)
        return (s < self.R_th).astype(rd)


@dataclass(frozen=True)
class RelaySystem:
    """DF relay baselines (R-DL with MRC, R-NDL); call with ``(key, a_dB, b_dB, c_dB, lamr_dB)``
    = mean SNRs of S-R, R-U, S-U, R-E. User ``argmax_k gamma_RUk``; eavesdroppers hear the relay
    slot; two slots so the threshold is ``2^(2 R_th)``. Returns ``out_DL, out_NDL`` and the exact
    conditional outage probabilities ``cond_DL, cond_NDL`` given the legitimate SNR.

    >>> import jax
    >>> out = RelaySystem(K=4, L=2)(jax.random.key(0), 37.0, 24.6, 24.0, 23.4)
    >>> sorted(out)
    ['cond_DL', 'cond_NDL', 'out_DL', 'out_NDL']
    """

    K: int = 4
    L: int = 2
    R_th: float = 1.0

    def __post_init__(self):
        _pos_int("K", self.K)
        _pos_int("L", self.L)
        if not self.R_th > 0:
            raise ValueError(f"R_th must be > 0, got {self.R_th!r}")

    def __call__(self, key, a_dB, b_dB, c_dB, lamr_dB):
        ks = jax.random.split(key, 4)
        rd = channels.real_dtype()
        m = lambda x: jnp.asarray(10.0, rd) ** (jnp.asarray(x, rd) / 10.0)  # noqa: E731
        a, b, c, lr = m(a_dB), m(b_dB), m(c_dB), m(lamr_dB)
        g_sr = a * jax.random.exponential(ks[0], (), rd)
        g_ru = jnp.max(b * jax.random.exponential(ks[1], (self.K,), rd))
        g_su = c * jax.random.exponential(ks[2], (), rd)
        g_e = jnp.max(lr * jax.random.exponential(ks[3], (self.L,), rd))
        th = 2.0 * self.R_th
        g_dl = jnp.minimum(g_sr, g_ru + g_su)
        g_ndl = jnp.minimum(g_sr, g_ru)
        vt = jnp.asarray(2.0 ** th, rd)
        return {
            "out_DL": metrics.secrecy_outage(g_dl, g_e, th).astype(rd),
            "out_NDL": metrics.secrecy_outage(g_ndl, g_e, th).astype(rd),
            "cond_DL": _cond_outage(g_dl, lr, vt, self.L).astype(rd),
            "cond_NDL": _cond_outage(g_ndl, lr, vt, self.L).astype(rd),
        }

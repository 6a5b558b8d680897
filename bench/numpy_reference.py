"""Plain vectorised NumPy implementations of three irsjax models, written the way a researcher would.

They are independent of irsjax (MODELS.md sections 0.5, 1 and 5 re-implemented from the text), so the
benchmark compares like with like and the test suite uses them as a cross-check of the JAX kernels.
Sampling: NumPy's default PCG64 generator with its ziggurat normals; irsjax uses threefry counters with
JAX's normal sampler. Different algorithms, the same distributions and the same model.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special as ss


def _cn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * np.sqrt(0.5)


def _disc(rng, centre, radius, shape):
    u = rng.random(shape)
    a = 2 * np.pi * rng.random(shape)
    r = radius * np.sqrt(u)
    return np.stack([centre[0] + r * np.cos(a), centre[1] + r * np.sin(a)], axis=-1)


def _dist(a, b):
    return np.maximum(np.linalg.norm(a - b, axis=-1), 1.0)


def wiretap(rng, n, *, K=32, P_dBm=10.0, R_s=1.0, noise_dBm=-90.0):
    """Reference wiretap (MODELS.md 0.5; S (0,0), IRS (40,0), Bob (45,10), Eve (45,-15), c0 = -30 dB, exponents
    2 and 2.5): secrecy rates and outage indicators of ``n`` realisations with phases aligned to Bob and with
    random phases. ``P_dBm`` a scalar: arrays ``(n,)``; an array of powers: ``(len(P_dBm), n)``, every power
    on the same draws (broadcasting)."""
    c0 = 1e-3
    d = lambda a, b: max(np.hypot(a[0] - b[0], a[1] - b[1]), 1.0)  # noqa: E731
    s, irs, bob, eve = (0, 0), (40, 0), (45, 10), (45, -15)
    b_si, b_ib, b_ie = c0 * d(s, irs) ** -2.0, c0 * d(irs, bob) ** -2.5, c0 * d(irs, eve) ** -2.5
    P = np.asarray(P_dBm, float)
    rho = (10 ** ((P - noise_dBm) / 10))[..., None]
    g_b, g_e = _cn(rng, (n, K)), _cn(rng, (n, K))
    v_rd = np.exp(2j * np.pi * rng.random((n, K)))
    los = np.sqrt(b_si)  # |h_k|; the LoS phases drop out of the aligned and random cascades
    al_b = los * np.sqrt(b_ib) * np.sum(np.abs(g_b), axis=1)  # co-phased amplitude
    al_e = los * np.sqrt(b_ie) * np.sum(np.exp(-1j * np.angle(g_b)) * g_e, axis=1)
    rd_b = los * np.sqrt(b_ib) * np.sum(v_rd * g_b, axis=1)
    rd_e = los * np.sqrt(b_ie) * np.sum(v_rd * g_e, axis=1)
    vt = 2.0 ** R_s
    out = {}
    for name, xb, xe in (("aligned", al_b, al_e), ("random", rd_b, rd_e)):
        gb, ge = rho * np.abs(xb) ** 2, rho * np.abs(xe) ** 2
        out["sr_" + name] = np.maximum(np.log2(1 + gb) - np.log2(1 + ge), 0)
        out["out_" + name] = ((1 + gb) < vt * (1 + ge)).astype(float)
    return out


def lv_two_way(rng, n, *, K=32, N=10, P_dBm=30.0, sigma0_dBm=-70.0, sigmal_dBm=-40.0, alpha=4.0,
               irs=(15.0, 0.0), eve=(15.0, 20.0), centre_a=(0.0, 0.0), centre_b=(30.0, 0.0), radius=5.0):
    """Sum secrecy rates (bit/s/Hz) of ``n`` realisations for the proposed scheme, random scheduling (B2)
    and one-way jamming (B1) of MODELS.md section 1. Returns a dict of arrays of shape (n,), or of shape
    (len(P_dBm), n) when ``P_dBm`` is an array (every power evaluated on the same draws)."""
    scalar = np.ndim(P_dBm) == 0
    P = (10 ** ((np.atleast_1d(np.asarray(P_dBm, float)) - 30) / 10))[:, None]
    s0 = 10 ** ((sigma0_dBm - 30) / 10)
    sl = 10 ** ((sigmal_dBm - 30) / 10)
    irs = np.asarray(irs)
    eve = np.asarray(eve)
    A = _disc(rng, centre_a, radius, (n, N))
    B = _disc(rng, centre_b, radius, (n, N))
    dA, dB = _dist(A, irs), _dist(B, irs)
    dAe, dBe = _dist(A, eve), _dist(B, eve)
    de = _dist(irs, eve)
    h = _cn(rng, (n, N, K))
    g = _cn(rng, (n, N, K))
    he = _cn(rng, (n, K))
    hne = _cn(rng, (n, N))
    gne = _cn(rng, (n, N))
    zeta = np.sum(np.abs(h) * np.abs(g), axis=-1) ** 2  # aligned, per pair
    rows = np.arange(n)

    def rates(sel, half):
        z = zeta[rows, sel]
        da, db, dae, dbe = dA[rows, sel], dB[rows, sel], dAe[rows, sel], dBe[rows, sel]
        hs, gs = h[rows, sel], g[rows, sel]
        theta = -(np.angle(hs) + np.angle(gs))
        v = np.exp(1j * theta)
        gam = P * (z / (da**alpha * db**alpha * (sl + s0)))
        phi = (de * da) ** (-alpha / 2) * np.sum(he * v * hs, axis=-1) + dae ** (-alpha / 2) * hne[rows, sel]
        psi = (de * db) ** (-alpha / 2) * np.sum(he * v * gs, axis=-1) + dbe ** (-alpha / 2) * gne[rows, sel]
        a, b = P * np.abs(phi) ** 2, P * np.abs(psi) ** 2
        ge1 = a / (b + s0)
        ge2_int = b / (a + s0)
        if half:
            r1 = 0.5 * np.maximum(np.log2(1 + gam) - np.log2(1 + ge1), 0)
            r2 = 0.5 * np.maximum(np.log2(1 + gam) - np.log2(1 + ge2_int), 0)
        else:
            ge2 = np.where(ge1 < gam, ge2_int, b / s0)
            r1 = np.maximum(np.log2(1 + gam) - np.log2(1 + ge1), 0)
            r2 = np.maximum(np.log2(1 + gam) - np.log2(1 + ge2), 0)
        return r1 + r2

    best = np.argmax(zeta, axis=1)
    rand = rng.integers(0, N, size=n)
    out = {"proposed": rates(best, False), "random_scheduling": rates(rand, False),
           "one_way_jamming": rates(best, True)}
    return {k: v[0] for k, v in out.items()} if scalar else out


# --------------------------------------------------------------------------- Theorem 1 of Lv et al. (MODELS.md 1(g))
_MU = math.pi ** 2 / (16 - math.pi ** 2)  # Lemma 1: sqrt(zeta) ~ Gamma(K mu, nu)
_NU = (16 - math.pi ** 2) / (4 * math.pi)


def _gl(n, lo, hi, panels):
    """Composite Gauss-Legendre nodes/weights: ``panels`` equal panels of ``n`` nodes on [lo, hi]."""
    x, w = np.polynomial.legendre.leggauss(n)
    e = np.linspace(lo, hi, panels + 1)
    h = 0.5 * (e[1:, None] - e[:-1, None])
    return (h * x + 0.5 * (e[1:, None] + e[:-1, None])).ravel(), (h * w).ravel()


def _exp_e1(z):
    """``(e^z E1(z), 1 - z e^z E1(z))``: scipy's E1 below z = 3, the continued fraction of depth 32 above."""
    small = z < 3.0
    zs, zl = np.where(small, z, 1.0), np.where(small, 6.0, z)
    es = np.exp(zs) * ss.exp1(zs)
    d = zl + 65.0
    for k in range(32, 3, -1):
        d = zl + (2 * k - 1) - k * k / d
    d3 = zl + 5.0 - 9.0 / d
    d2 = zl + 3.0 - 4.0 / d3
    d1 = zl + 1.0 - 1.0 / d2
    return np.where(small, es, 1.0 / d1), np.where(small, 1.0 - zs * es, (zl + 2.0 - 4.0 / d3) / (d1 * d2))


def _G(m):
    return _exp_e1(1.0 / m)[0]  # E ln(1 + Exp(mean m))


def _divdiff(f, df, a, b):
    """``(f(a) - f(b)) / (a - b)``; the mean of ``f'`` on [b, a] (6-point Gauss-Legendre) where a ~ b."""
    close = np.abs(a - b) <= 0.05 * np.maximum(a, b)
    x, w = np.polynomial.legendre.leggauss(6)
    t = 0.5 * (x + 1.0)
    mean = np.sum(0.5 * w * df(b[..., None] + t * (a - b)[..., None]), axis=-1)
    return np.where(close, mean, (f(a) - f(b)) / np.where(close, 1.0, a - b))


def _j2_kernel(s, a, b):
    tau = s / a + 1.0 / b
    e, om = _exp_e1(tau * (1.0 + s) / s)
    return np.exp(-s / a) * (e * (1.0 / tau + 1.0 / tau ** 2) + om / tau ** 2) / (a * b)


def theorem1(rho, a, b, K, N, M=20):
    """Theorem 1 per topology from the per-pair ``rho, a, b`` (shape ``(..., N)``), float64, by the same
    quadrature rules as irsjax (bulk of zeta* in ln y, 16-node panels at most 1.25 wide; 12 x 12 tail nodes in
    ln s; the paper's M-node Gauss-Chebyshev rule). Returns ``{"reference": (s1, s2), "paper": (s1, s2)}`` in
    bit/s/Hz, shape ``(...)``."""
    ka = K * _MU
    # the bulk of y* = max of N Gamma(ka, 1): Chernoff bounds leave out <= e^-40 at each end
    h = lambda t, c: t - 1.0 - math.log(t) - c
    c_lo, c_hi = 40.0 / (ka * N), (40.0 + math.log(N)) / ka
    lo = math.log(ka * optimize.brentq(h, math.exp(-c_lo - 2.0), 1.0, args=(c_lo,), xtol=1e-15))
    hi = math.log(ka * optimize.brentq(h, 1.0, 2.0 * c_hi + 4.0, args=(c_hi,), xtol=1e-15))

    def logP(y):  # ln P(ka, y), accurate in both tails
        with np.errstate(divide="ignore"):
            return np.where(y < ka, np.log(np.maximum(ss.gammainc(ka, y), 1e-300)), np.log1p(-ss.gammaincc(ka, y)))

    # Q_M on 24 bulk panels: density of ln y* = N Gamma(ka) density of ln y times P^(N-1)
    t, w = _gl(16, lo, hi, 24)
    y = np.exp(t)
    dens = w * np.exp(math.log(N) + ka * t - y - ss.gammaln(ka) + (N - 1) * logP(y))
    q_m = np.sum(dens * np.log1p(rho[..., None] * (_NU * y) ** 2), axis=-1)
    # Q_E1 (1.11), J1 (1.12)
    g1 = lambda m: (1.0 / m) * _exp_e1(1.0 / m)[1]  # G'(m)
    h1 = lambda m: sum(_exp_e1(1.0 / m))  # (m G)'
    q_e1 = a * _divdiff(_G, g1, a, b)
    j1 = _divdiff(lambda m: m * _G(m), h1, a, b) - _G(a)
    # J2 (1.13): bulk of F* (F* = P^N on the nodes) then F* = 1 on [s_hi, s_hi + 60 a]
    t, w = _gl(16, lo, hi, max(4, math.ceil((hi - lo) / 1.25)))
    y = np.exp(t)
    cdf = np.exp(N * logP(y))
    sb = rho[..., None] * (_NU * y) ** 2
    bulk = np.sum(w * cdf * 2.0 * sb * _j2_kernel(sb, a[..., None], b[..., None]), axis=-1)
    s_hi = rho * (_NU * math.exp(hi)) ** 2
    r0, r1 = np.log(s_hi), np.log(s_hi + 60.0 * a)
    u, wu = _gl(12, 0.0, 1.0, 12)
    st = np.exp(r0[..., None] + (r1 - r0)[..., None] * u)
    j2 = bulk + (r1 - r0) * np.sum(wu * st * _j2_kernel(st, a[..., None], b[..., None]), axis=-1)
    # the paper's Gauss-Chebyshev rule with x = tan y (nodes on (0, inf))
    m = np.arange(1, M + 1)
    th = np.cos((2 * m - 1) * np.pi / (2 * M))
    xm = np.tan(np.pi / 4 * (th + 1))
    wm = np.pi ** 2 / (4 * M) * np.sqrt(1 - th ** 2) / np.cos(np.pi / 4 * (th + 1)) ** 2
    sf = -np.expm1(N * logP(np.sqrt(xm) / _NU))
    r = rho[..., None]
    q_m_p = np.sum(wm * r * sf / (1.0 + r * xm), axis=-1)
    F = np.exp(N * logP(np.sqrt(xm / r) / _NU))
    j2_p = np.sum(wm * F * _j2_kernel(xm, a[..., None], b[..., None]), axis=-1)
    out = {}
    for name, qm, qe2 in (("reference", q_m, j1 + j2), ("paper", q_m_p, j1 + j2_p)):
        qm, qe1, qe2 = (np.mean(v, axis=-1) for v in (qm, q_e1, qe2))
        out[name] = (np.maximum(qm - qe1, 0) / math.log(2), np.maximum(qm - qe2, 0) / math.log(2))
    return out


def lv_two_way_bound(rng, topologies, *, K=32, N=10, P_dBm=30.0, sigma0_dBm=-70.0, sigmal_dBm=-40.0, alpha=4.0,
                     irs=(15.0, 0.0), eve=(15.0, 20.0), centre_a=(0.0, 0.0), centre_b=(30.0, 0.0), radius=5.0):
    """Theorem 1 sum-ASR bound averaged over ``topologies`` uniform user drops (the same drops for every power):
    ``{"reference": (len(P_dBm),), "paper": (len(P_dBm),)}`` in bit/s/Hz. One power at a time (2.4x faster
    here than broadcasting the power axis: the arrays of one power stay in cache)."""
    s0 = 10 ** ((sigma0_dBm - 30) / 10)
    sl = 10 ** ((sigmal_dBm - 30) / 10)
    A = _disc(rng, centre_a, radius, (topologies, N))
    B = _disc(rng, centre_b, radius, (topologies, N))
    irs, eve = np.asarray(irs), np.asarray(eve)
    dA, dB, dAe, dBe, de = _dist(A, irs), _dist(B, irs), _dist(A, eve), _dist(B, eve), _dist(irs, eve)
    out = {"reference": [], "paper": []}
    for p in np.atleast_1d(np.asarray(P_dBm, float)):
        P = 10 ** ((p - 30) / 10)
        rho = P / ((dA * dB) ** alpha * (sl + s0))
        a = P / s0 * (K * (de * dA) ** -alpha + dAe ** -alpha)
        b = P / s0 * (K * (de * dB) ** -alpha + dBe ** -alpha)
        for k, (s1, s2) in theorem1(rho, a, b, K, N).items():
            out[k].append(np.mean(s1 + s2))
    return {k: np.asarray(v) for k, v in out.items()}


def ris_scheduling_sop(rng, n, *, N=32, K=4, L=2, rho_dB=100.0, f_GHz=2.4, R_th=1.0, source=(0.0, 10.0),
                       ris=(10.0, 0.0), user=(60.0, 30.0), eve=(40.0, 60.0)):
    """Outage indicators of SS and OS scheduling (full model: one S-RIS channel shared by everybody),
    MODELS.md section 5. Returns {"SS": (n,), "OS": (n,)} as float arrays of 0/1."""
    c = 299_792_458.0
    lam = c / (f_GHz * 1e9)
    dx = lam / 2
    rho = 10 ** (rho_dB / 10)
    S, R, U, E = (np.asarray(p) for p in (source, ris, user, eve))
    d_sr, d_ru, d_re = np.linalg.norm(S - R), np.linalg.norm(U - R), np.linalg.norm(E - R)
    cos_i, cos_u, cos_e = S[1] / d_sr, U[1] / d_ru, E[1] / d_re
    pl = lambda d2, cr: (4 * np.pi) ** 2 * d_sr**2 * d2**2 / (dx * dx) ** 2 / (cos_i * cr)
    pl_su, pl_se = pl(d_ru, cos_u), pl(d_re, cos_e)
    h = _cn(rng, (n, N))
    g = _cn(rng, (n, K, N))
    u = _cn(rng, (n, L, N))
    X = np.sum(np.abs(h)[:, None, :] * np.abs(g), axis=-1)  # (n, K)
    gam_u = rho / pl_su * X**2
    # Eve SNR with the RIS aligned to each user k: phases -(arg h + arg g_k)
    v = np.exp(-1j * (np.angle(h)[:, None, :] + np.angle(g)))  # (n, K, N)
    eve_amp = np.einsum("nkm,nlm->nkl", v * h[:, None, :], u)  # (n, K, L)
    gam_e = (rho / pl_se * np.abs(eve_amp) ** 2).max(axis=-1)  # worst eavesdropper, per user's alignment
    cs = np.maximum(np.log2(1 + gam_u) - np.log2(1 + gam_e), 0)
    rows = np.arange(n)
    ss = np.argmax(X, axis=1)
    out_ss = (cs[rows, ss] < R_th).astype(float)
    out_os = (cs.max(axis=1) < R_th).astype(float)
    return {"SS": out_ss, "OS": out_os}

"""Plain vectorised NumPy implementations of three irsjax models, written the way a researcher would.

They are independent of irsjax (MODELS.md sections 0.5, 1 and 5 re-implemented from the text), so the
benchmark compares like with like and the test suite uses them as a cross-check of the JAX kernels.
Sampling: NumPy's default PCG64 generator with its ziggurat normals; irsjax uses threefry counters with
JAX's normal sampler. Different algorithms, the same distributions and the same model.
"""
from __future__ import annotations

import numpy as np


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

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irsjax import geometry, pathloss, units


def test_unit_conversions_round_trip():
    assert float(units.dbm_to_watt(30.0)) == pytest.approx(1.0)
    assert float(units.dbm_to_watt(-90.0)) == pytest.approx(1e-12)
    assert float(units.watt_to_dbm(units.dbm_to_watt(17.3))) == pytest.approx(17.3, rel=1e-6)
    assert float(units.db_to_linear(-30.0)) == pytest.approx(1e-3)
    assert float(units.linear_to_db(100.0)) == pytest.approx(20.0)
    assert float(units.thermal_noise_dbm(1e6)) == pytest.approx(-114.0)
    assert float(units.wavelength(2.4e9)) == pytest.approx(299_792_458.0 / 2.4e9)


def test_distance_gain_hand_values():
    # C0 = -30 dB, d = 40 m, exponent 2: 1e-3 / 1600
    assert float(pathloss.distance_gain(40.0, exponent=2.0, c0_db=-30.0)) == pytest.approx(6.25e-7, rel=1e-6)
    # exponent 2.5 at d = sqrt(125)
    d = math.sqrt(125.0)
    assert float(pathloss.distance_gain(d, exponent=2.5, c0_db=-30.0)) == pytest.approx(1e-3 * d**-2.5, rel=1e-6)
    # C0 = 1 (paper 000), alpha = 4
    assert float(pathloss.distance_gain(10.0, exponent=4.0)) == pytest.approx(1e-4, rel=1e-6)


def test_log_distance_umi():
    # G_A + G_I - 37.5 - 22 log10(d) at d = 100, gains 10 dB
    g = pathloss.log_distance_gain_db(100.0, intercept_db=-37.5, slope_db=22.0, gains_db=10.0)
    assert float(g) == pytest.approx(-71.5)


def test_ris_free_space_loss_hand_value():
    f = 2.4e9
    lam = units.SPEED_OF_LIGHT / f
    d1, d2, ci, cr = 14.142, 58.31, 0.7, 0.5
    expected = (4 * math.pi) ** 2 * d1**2 * d2**2 / ((lam / 2) ** 4 * ci * cr)
    got = float(pathloss.ris_free_space_loss(d1, d2, ci, cr, frequency_hz=f))
    assert got == pytest.approx(expected, rel=1e-5)
    # Tang et al. form: 64 pi^3 d1^2 d2^2 / (Gt Gr G dx dy lambda^2 F F), G = 4 pi dx dy / lambda^2
    dx = lam / 2
    g_cell = 4 * math.pi * dx * dx / lam**2
    tang = 64 * math.pi**3 * d1**2 * d2**2 / (g_cell * dx * dx * lam**2 * ci * cr)
    assert got == pytest.approx(tang, rel=1e-5)
    # antenna gains divide
    assert float(pathloss.ris_free_space_loss(d1, d2, ci, cr, frequency_hz=f, gt_db=3.0, gr_db=3.0)) == pytest.approx(
        expected / 10 ** 0.6, rel=1e-5)


def test_free_space_loss():
    f = 3e9
    lam = units.SPEED_OF_LIGHT / f
    ref = (4 * math.pi * 100 / lam) ** 2
    assert float(pathloss.free_space_loss(100.0, frequency_hz=f)) == pytest.approx(ref, rel=1e-5)


def test_distance_clipped_at_one_metre():
    assert float(geometry.distance(jnp.array([0.0, 0.0]), jnp.array([0.1, 0.0]))) == 1.0
    assert float(geometry.distance(jnp.array([0.0, 0.0]), jnp.array([3.0, 4.0]))) == pytest.approx(5.0)


def test_disc_drop_uniform():
    c = jnp.array([30.0, 0.0])
    p = geometry.drop_in_disc(jax.random.key(1), c, 5.0, shape=(200_000,))
    r2 = np.sum((np.asarray(p) - np.asarray(c)) ** 2, axis=-1)
    assert r2.max() <= 25.0 + 1e-4
    # uniform in a disc: E r^2 = R^2 / 2, P(r < R/2) = 1/4
    assert r2.mean() == pytest.approx(12.5, rel=0.01)
    assert (r2 < 6.25).mean() == pytest.approx(0.25, abs=0.005)
    ang = np.arctan2(np.asarray(p[:, 1]), np.asarray(p[:, 0] - 30.0))
    assert abs(np.mean(np.cos(ang))) < 0.01


def test_rectangle_drop():
    p = geometry.drop_in_rectangle(jax.random.key(2), [50.0, -10.0, 1.5], [70.0, 10.0, 1.5], shape=(10_000,))
    p = np.asarray(p)
    assert p.shape == (10_000, 3)
    assert p[:, 0].min() >= 50 and p[:, 0].max() <= 70 and np.allclose(p[:, 2], 1.5)
    assert p[:, 1].mean() == pytest.approx(0.0, abs=0.2)


def test_incidence_reflection_angles():
    # RIS in a vertical plane x = 0 ... use MODELS.md 5 geometry: RIS at (10, 0) normal +y, S at (0, 10)
    ci, cr = geometry.incidence_reflection_cos(jnp.array([10.0, 0.0]), jnp.array([0.0, 1.0]),
                                               jnp.array([0.0, 10.0]), jnp.array([60.0, 30.0]))
    assert float(ci) == pytest.approx(10 / math.hypot(10, 10), rel=1e-6)
    assert float(cr) == pytest.approx(30 / math.hypot(50, 30), rel=1e-6)


def test_upa_positions():
    pos = np.asarray(geometry.upa_element_positions(4, 4, 0.05))
    assert pos.shape == (16, 3)
    assert np.allclose(pos.mean(axis=0), 0.0)
    assert np.allclose(pos[:, 1], 0.0)
    assert np.isclose(np.linalg.norm(pos[1] - pos[0]), 0.05)

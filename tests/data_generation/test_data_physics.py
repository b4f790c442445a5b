"""Camera geometry and the braking label, checked against arithmetic done by hand."""

from __future__ import annotations

import numpy as np
import pytest

from braking_data.physics import (
    GRAVITY_M_S2,
    BrakingSystem,
    Camera,
    distance_from_box_bottom,
    distance_from_box_width,
    physics_baseline,
    project_box,
    required_brake_fraction,
)

CAMERA = Camera()  # f = 600 px, camera 1.3 m above the road, horizon and centre at 320 px
SYSTEM = BrakingSystem()  # reaction time 0.5 s, safety margin 2 m


def box(distance, width=1.8, height=1.5, offset=0.0, camera=CAMERA):
    edges = project_box(
        np.array([distance]), np.array([width]), np.array([height]), np.array([offset]), camera
    )
    return [float(edge[0]) for edge in edges]


def test_car_at_20_m_straight_ahead():
    # 600 px / 20 m = 30 px per metre at that distance.
    # bottom: horizon - 30 * 1.3 m camera height = 320 - 39 = 281 (below the horizon, y up)
    # top:    horizon + 30 * (1.5 - 1.3) m       = 320 + 6  = 326
    # sides:  centre -+ 30 * 0.9 m half width   = 293 and 347
    assert box(20.0) == pytest.approx([281.0, 293.0, 347.0, 326.0])


def test_lateral_offset_moves_the_box_right():
    # offset 1 m to the right: left = 320 + 30 * (1 - 0.9) = 323, right = 320 + 30 * 1.9 = 377
    assert box(20.0, offset=1.0) == pytest.approx([281.0, 323.0, 377.0, 326.0])


def test_close_vehicle_is_clipped_to_the_frame_keeping_edge_order():
    # at 2 m: 300 px per metre; bottom = 320 - 390 = -70 -> 0; top = 320 + 300 * 0.2 = 380;
    # left = 320 + 300 * 0.1 = 350; right = 320 + 300 * 1.9 = 890 -> 640
    bottom, left, right, top = box(2.0, offset=1.0)
    assert (bottom, left, right, top) == pytest.approx((0.0, 350.0, 640.0, 380.0))
    assert bottom <= top and left <= right


def test_focal_length_scales_the_box():
    # a 1200 px lens doubles every offset from the horizon/centre: bottom 320 - 78 = 242
    assert box(20.0, camera=Camera(focal_length_px=1200.0))[0] == pytest.approx(242.0)


def test_distance_must_be_positive():
    with pytest.raises(ValueError, match="distance_m must be > 0"):
        box(0.0)


def test_distance_recovered_from_box_width_and_bottom():
    # width 347 - 293 = 54 px -> Z = 600 * 1.8 / 54 = 20 m;
    # bottom 39 px below the horizon -> Z = 600 * 1.3 / 39 = 20 m
    assert distance_from_box_width(np.array([293.0]), np.array([347.0]))[0] == pytest.approx(20.0)
    assert distance_from_box_bottom(np.array([281.0]))[0] == pytest.approx(20.0)


def fraction(distance, your_m_s, other_m_s, mu, system=SYSTEM):
    result = required_brake_fraction(
        np.array([distance]), np.array([your_m_s]), np.array([other_m_s]), np.array([mu]), system
    )
    return float(result[0])


def test_label_for_a_closing_car_in_the_middle_range():
    # closing 10 m/s; gap after 0.5 s reaction and 2 m margin: 20 - 10 * 0.5 - 2 = 13 m;
    # needed deceleration 10^2 / (2 * 13) = 3.846 m/s^2; available 0.8 * 9.80665 = 7.845;
    # fraction 3.846 / 7.845 = 0.4902
    expected = (10.0**2 / (2 * 13.0)) / (0.8 * GRAVITY_M_S2)
    assert expected == pytest.approx(0.49025, abs=1e-5)
    assert fraction(20.0, 30.0, 20.0, 0.8) == pytest.approx(expected, rel=1e-12)


def test_label_for_a_stationary_obstacle_at_motorway_speed():
    # 100 km/h = 27.778 m/s; gap 60 - 27.778 * 0.5 - 2 = 44.111 m;
    # need 27.778^2 / (2 * 44.111) = 8.746 m/s^2 of 1.0 * 9.80665 -> 0.8919
    assert fraction(60.0, 100 / 3.6, 0.0, 1.0) == pytest.approx(0.89186, abs=1e-5)


def test_ice_needs_more_braking_than_dry_road():
    # same scene as the middle-range case with mu 0.1: 3.846 / 0.981 > 1, saturates at 1
    assert fraction(20.0, 30.0, 20.0, 0.1) == 1.0
    assert fraction(20.0, 30.0, 20.0, 0.8) < fraction(20.0, 30.0, 20.0, 0.5) < 1.0


def test_no_braking_when_the_lead_car_is_not_closing_in():
    assert fraction(20.0, 20.0, 30.0, 0.8) == 0.0  # pulling away
    assert fraction(20.0, 25.0, 25.0, 0.8) == 0.0  # same speed
    assert fraction(1.0, 20.0, 30.0, 0.8) == 0.0  # inside the margin, yet moving away


def test_full_braking_when_the_gap_is_gone():
    # 5 m away closing at 10 m/s: 5 - 10 * 0.5 - 2 = -2 m left after reacting
    assert fraction(5.0, 20.0, 10.0, 0.8) == 1.0
    # exactly nothing left: 7 - 5 - 2 = 0 m
    assert fraction(7.0, 20.0, 10.0, 0.8) == 1.0


def test_reaction_time_and_margin_come_from_the_braking_system():
    # no reaction time, no margin: gap 20 m, need 100 / 40 = 2.5 m/s^2 of 7.845 -> 0.3187
    instant = BrakingSystem(reaction_time_s=0.0, safety_margin_m=0.0)
    assert fraction(20.0, 30.0, 20.0, 0.8, instant) == pytest.approx(2.5 / (0.8 * GRAVITY_M_S2))


def test_physics_baseline_recovers_the_label_from_a_clean_box_of_nominal_width():
    bottom, left, right, top = box(20.0)  # 1.8 m wide: the baseline's nominal width
    estimate = physics_baseline(
        *(np.array([edge]) for edge in (bottom, left, right, top)),
        np.array([72.0]),  # 20 m/s
        np.array([108.0]),  # 30 m/s
        np.array([0.8]),
    )
    assert estimate[0] == pytest.approx(fraction(20.0, 30.0, 20.0, 0.8), rel=1e-9)


def test_no_grip_means_full_braking_and_nan_input_means_no_answer():
    assert fraction(50.0, 30.0, 20.0, 0.0) == 1.0
    assert np.isnan(fraction(np.nan, 30.0, 20.0, 0.8))
    assert np.isnan(fraction(20.0, np.nan, 20.0, 0.8))  # not read as "not closing in"
    assert np.isnan(fraction(20.0, 30.0, 20.0, np.nan))


def test_label_is_monotone_in_closing_speed_friction_and_distance():
    # The model's behavioural invariants rest on these: check them on a dense grid.
    distance, closing, mu = np.meshgrid(
        np.geomspace(1.0, 200.0, 40), np.linspace(-20.0, 60.0, 41), np.linspace(0.05, 1.2, 24),
        indexing="ij",
    )  # fmt: skip
    label = required_brake_fraction(distance, 20.0 + closing, np.full_like(closing, 20.0), mu)
    assert (np.diff(label, axis=0) <= 1e-12).all()  # farther: never more braking
    assert (np.diff(label, axis=1) >= -1e-12).all()  # closing faster: never less
    assert (np.diff(label, axis=2) <= 1e-12).all()  # more grip: never more
    assert ((label >= 0) & (label <= 1)).all()

"""Sensor-fault fingerprints of a window and the fault-aware error estimate (docs/adr/0019)."""

from __future__ import annotations

import numpy as np
import pytest
from monitoring_fixtures import baseline_predict, features_of

from braking_data.contract import EXPECTED_ERROR_TENSOR, FEATURE_COLUMNS, LABEL_COLUMN
from braking_data.scenario import Scenario, generate_scenario_frame
from braking_model import export
from braking_model.reference import ReferenceProfile
from braking_monitoring.estimates import window_estimates
from braking_monitoring.sensor_faults import (
    BOX_SCALE_TOLERANCE,
    SensorFaults,
    detect_sensor_faults,
    estimate_box_scale,
    fault_error,
    stuck_features,
)

ROWS = 1000


def _window(scenario: Scenario, seed: int = 5):
    frame = generate_scenario_frame(ROWS, seed, scenario)
    return features_of(frame), frame[LABEL_COLUMN].to_numpy()


@pytest.mark.parametrize("scale", [0.9, 0.97, 1.1])
def test_scaled_boxes_give_back_their_scale(scale):
    X, _ = _window(Scenario(box_scale=scale))
    assert estimate_box_scale(X) == pytest.approx(scale, abs=0.003)


@pytest.mark.parametrize(
    "scenario",
    [Scenario(), Scenario(condition_shares={"ice": 0.3}), Scenario(speed_shift_kmh=15)],
    ids=["no_shift", "ice", "speed"],
)
def test_windows_of_correct_readings_show_no_fault(scenario, reference_profile):
    for seed in range(3):
        faults = detect_sensor_faults(_window(scenario, seed)[0], reference_profile)
        assert abs(faults.box_scale - 1.0) < BOX_SCALE_TOLERANCE / 3
        assert faults.stuck_features == []
        assert not faults.present


def test_a_stuck_column_is_flagged(reference_profile):
    X, _ = _window(Scenario(friction_stuck=0.8))
    X[:, FEATURE_COLUMNS.index("your_speed")] = 88.0
    assert stuck_features(X, reference_profile) == ["your_speed", "road_friction"]
    faults = detect_sensor_faults(X, reference_profile)
    assert faults.present and faults.reasons() == ["your_speed stuck", "road_friction stuck"]


def test_a_stuck_box_edge_leaves_the_scale_unestimated(reference_profile):
    X, _ = _window(Scenario())
    X[:, FEATURE_COLUMNS.index("other_left")] = 300.0
    faults = detect_sensor_faults(X, reference_profile)
    assert faults.box_scale is None and faults.stuck_features == ["other_left"]


def test_no_finite_row_gives_no_scale():
    assert estimate_box_scale(np.full((4, len(FEATURE_COLUMNS)), np.nan)) is None


def test_undoing_the_scale_gives_back_the_correct_readings_answers(reference_profile):
    # Same world and seed: the scaled window is the correct one as a recalibrated camera
    # reports it, so the physics answers of the corrected readings are those of the correct.
    correct, _ = _window(Scenario())
    scaled, _ = _window(Scenario(box_scale=0.9))
    faults = detect_sensor_faults(scaled, reference_profile)
    fault_gap = np.mean(np.abs(baseline_predict(scaled) - baseline_predict(correct)))
    estimate = fault_error(scaled, baseline_predict(scaled), faults, reference_profile)
    assert estimate == pytest.approx(fault_gap, rel=0.05)
    seeing_through = fault_error(scaled, baseline_predict(correct), faults, reference_profile)
    assert seeing_through < 0.05 * fault_gap


def test_without_a_fault_the_estimate_is_the_per_row_one(reference_profile):
    X, _ = _window(Scenario())
    estimates = window_estimates(X, baseline_predict(X), np.full(ROWS, 0.01), reference_profile)
    assert estimates["sensor_faults"] == [] and estimates["stuck_features"] == []
    assert estimates["fault_aware_mae"] == estimates["estimated_mae"] == pytest.approx(0.01)


def test_a_fault_without_expected_error_still_gets_an_estimate(reference_profile):
    X, _ = _window(Scenario(box_scale=0.9))
    estimates = window_estimates(X, baseline_predict(X), np.full(ROWS, np.nan), reference_profile)
    assert estimates["estimated_mae"] is None
    assert estimates["fault_aware_mae"] > 0.0
    assert estimates["sensor_faults"] == [f"box coordinates scaled x{estimates['box_scale']:.3f}"]


def test_the_estimate_is_reproducible(reference_profile):
    X, _ = _window(Scenario(friction_stuck=0.3))
    faults = SensorFaults(1.0, ["road_friction"])
    first = fault_error(X, baseline_predict(X), faults, reference_profile)
    assert fault_error(X, baseline_predict(X), faults, reference_profile) == first


@pytest.mark.parametrize(
    "scenario",
    [Scenario(box_scale=0.9), Scenario(friction_stuck=0.8)],
    ids=["boxes_scaled_0_9", "friction_stuck_0_8"],
)
def test_a_small_model_s_error_under_a_fault_is_estimated_within_20_percent(
    scenario, trained_model_dir
):
    session = export.session(trained_model_dir / "model.onnx", threads=1)
    profile = ReferenceProfile.load(trained_model_dir)
    X, labels = _window(scenario)
    brake = export.onnx_predict(session, X)
    expected = export.onnx_predict(session, X, EXPECTED_ERROR_TENSOR)
    true_mae = float(np.mean(np.abs(brake - labels)))
    estimates = window_estimates(X, brake, expected, profile)
    assert estimates["estimated_mae"] < 0.5 * true_mae  # the per-row estimate cannot see it
    assert 0.8 < estimates["fault_aware_mae"] / true_mae < 1.2

"""The safety margin: its ramp, and its calibration on the latest training rows (ADR 21)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from braking_model.accuracy import UNDER_BRAKING_DEMAND
from braking_model.estimator import MARGIN_ONSET_DEMAND, margin_ramp, margined_demand
from braking_model.gate import GateThresholds
from braking_model.margin import (
    MARGIN_GRID,
    calibrate_safety_margin,
    choose_margin,
    standard_errors_to_limits,
)
from braking_model.tune import BestTrial, features_and_label

LIMITS = GateThresholds()
SMALL_TREES = {"max_iter": 40, "max_leaf_nodes": 15, "learning_rate": 0.2}


def test_the_margin_fades_in_between_light_and_hard_braking() -> None:
    demand = np.array([0.0, MARGIN_ONSET_DEMAND, 0.4, UNDER_BRAKING_DEMAND, 0.9], np.float32)
    np.testing.assert_allclose(margin_ramp(demand), [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-6)


def test_a_margin_only_ever_adds_braking_and_none_leaves_the_demand() -> None:
    demand = np.linspace(0.0, 1.0, 101, dtype=np.float32)
    spread = np.full_like(demand, 0.05)
    raised = margined_demand(demand, spread, 2.0)
    assert np.all(raised >= demand)
    assert np.all(np.diff(raised) >= 0)  # still rises with the demand
    np.testing.assert_array_equal(raised[demand <= MARGIN_ONSET_DEMAND], demand[demand <= 0.3])
    np.testing.assert_array_equal(margined_demand(demand, spread, 0.0), demand)


def test_figures_count_their_distance_to_the_limit_in_the_gates_standard_errors() -> None:
    y = np.full(1_000, 0.8)
    brake = y.copy()
    brake[:5] = 0.6  # 5 of 1,000 demanding rows under-brake: 0.5 %
    baseline = y + 0.05
    near = standard_errors_to_limits(brake, y, baseline, gate_rows=1_000, limits=LIMITS)
    assert near["under_braking_rate"] == pytest.approx(0.005)
    assert near["rmse_to_baseline"] == pytest.approx(np.sqrt(5 * 0.04 / 1_000) / 0.05)
    assert near["standard_errors_to_limit"] > 0
    # the same figures judged on a gate ten times larger lie sqrt(10) times more errors away
    far = standard_errors_to_limits(brake, y, baseline, gate_rows=10_000, limits=LIMITS)
    assert far["standard_errors_to_limit"] == pytest.approx(
        near["standard_errors_to_limit"] * np.sqrt(10), rel=1e-6
    )
    brake[:20] = 0.6  # 2 %: over the limit, a negative distance
    over = standard_errors_to_limits(brake, y, baseline, gate_rows=1_000, limits=LIMITS)
    assert over["standard_errors_to_limit"] < 0


def _rows_short_of_braking(short: int = 50, rows: int = 1_000):
    """Rows all needing 0.8 braking: most predicted right (a margin only costs accuracy there),
    `short` of them predicted 0.6 (under-braking) with a spread of 0.11, so a margin of 1
    covers them."""
    y = np.full(rows, 0.8, np.float32)
    demand, spread = y.copy(), np.full(rows, 0.05, np.float32)
    demand[:short], spread[:short] = 0.6, 0.11
    return demand, spread, np.ones(rows, bool), y


def test_calibration_takes_the_smallest_margin_that_stops_the_under_braking() -> None:
    demand, spread, closing, y = _rows_short_of_braking()
    baseline = y + np.float32(0.1)  # room for the margin's cost in RMSE
    chosen = choose_margin(demand, spread, closing, y, baseline, 10_000, LIMITS)
    assert chosen["margin"] == pytest.approx(1.0)  # 0.6 + 1.0 x 0.11 is within 0.1 of 0.8
    assert chosen["under_braking_rate"] == 0.0
    assert chosen["standard_errors_to_limit"] > 0


def test_calibration_reports_when_no_margin_fits_both_limits() -> None:
    demand, spread, closing, y = _rows_short_of_braking()
    # a baseline this good leaves no margin within both limits: the least bad one is taken and
    # its figures say so (the gate will refuse it; calibration does not hide that)
    baseline = y + np.float32(0.02)
    chosen = choose_margin(demand, spread, closing, y, baseline, 10_000, LIMITS)
    assert chosen["standard_errors_to_limit"] < 0
    assert chosen["rmse_to_baseline"] > LIMITS.max_rmse_to_baseline


@pytest.fixture(scope="module")
def training_rows():
    from braking_data.generate import generate_frame

    frame = generate_frame(6_000, seed=5).sort_values("event_timestamp", kind="stable")
    return features_and_label(frame)


def test_calibration_sets_the_winners_margin_from_out_of_fold_predictions(training_rows) -> None:
    X, y = training_rows
    best = BestTrial(0, "hist_gradient_boosting", {**SMALL_TREES, "safety_margin": 1.0}, 0.03)
    calibrated, evidence = calibrate_safety_margin(best, X, y, 3, 0.2, seed=5)
    assert evidence.applied and evidence.rows == 6_000 and evidence.gate_rows == 1_500
    assert evidence.demanding_rows >= 200
    assert calibrated.params == {**SMALL_TREES, "safety_margin": evidence.margin}
    assert evidence.margin in MARGIN_GRID and evidence.sampled_margin == 1.0
    assert (calibrated.trial, calibrated.family) == (best.trial, best.family)
    assert json.loads(json.dumps(evidence.to_dict()))["margin"] == evidence.margin


def test_too_few_demanding_rows_keep_the_sampled_margin(training_rows) -> None:
    X, y = training_rows
    best = BestTrial(0, "hist_gradient_boosting", {**SMALL_TREES, "safety_margin": 1.7}, 0.03)
    kept, evidence = calibrate_safety_margin(best, X[:600], y[:600], 3, 0.2, seed=5)
    assert kept is best and not evidence.applied
    assert evidence.margin == 1.7 and evidence.demanding_rows < 200


def test_training_records_the_margin_it_serves(trained_model_dir) -> None:
    import joblib

    metrics = json.loads((trained_model_dir / "metrics.json").read_text())
    calibration = metrics["safety_margin_calibration"]
    served = joblib.load(trained_model_dir / "model.joblib").named_steps["model"].safety_margin
    assert served == pytest.approx(calibration["margin"])
    assert metrics["hyperparameters"]["safety_margin"] == pytest.approx(calibration["margin"])

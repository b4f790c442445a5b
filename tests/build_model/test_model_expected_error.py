"""The label-free error estimate: its calibration (table-driven), the graph's second output on
onnxruntime and OpenVINO against the Python estimate, and the held-out check training writes."""

from __future__ import annotations

import json

import joblib
import numpy as np
import onnx
import pandas as pd
import pytest

from braking_data.contract import EXPECTED_ERROR_TENSOR, FEATURE_COLUMNS, LABEL_COLUMN
from braking_model import export
from braking_model.expected_error import (
    HELD_OUT_SOURCE,
    check_estimate,
    fit_calibration,
    pipeline_expected_error,
)

TOLERANCE = 1e-5
RNG = np.random.default_rng(3)
SPREAD = RNG.uniform(0.0, 0.2, 2_000)


@pytest.mark.parametrize(
    ("name", "error", "expected"),
    [
        # what the served error does as the spread grows -> what the map must say
        ("constant", np.full_like(SPREAD, 0.03), lambda s: np.full_like(s, 0.03)),
        ("proportional", 1.5 * SPREAD, lambda s: 1.5 * s),
        ("saturating (clip at 1)", np.minimum(SPREAD, 0.1), lambda s: np.minimum(s, 0.1)),
        # noise that falls with the spread cannot make the estimate fall: it stays flat
        ("falling", 0.2 - SPREAD, lambda s: np.full_like(s, 0.1)),
    ],
)
def test_calibration_follows_the_error_and_never_falls(name, error, expected) -> None:
    calibration = fit_calibration(SPREAD, error)
    probe = np.linspace(0.01, 0.19, 50)
    estimate = calibration.predict(probe)
    assert np.all(np.diff(estimate) >= 0), name
    assert estimate == pytest.approx(expected(probe), abs=0.01), name
    assert np.all(calibration.predict([-1.0, 5.0]) == calibration.values[[0, -1]]), name


@pytest.mark.parametrize(
    ("spread", "error"),
    [
        ([0.05], [0.02]),  # one row
        ([0.05] * 100, np.linspace(0, 0.04, 100)),  # one spread for every row
        (np.repeat([0.01, 0.02], 50), np.repeat([0.01, 0.03], 50)),  # ties across bins
    ],
)
def test_calibration_of_degenerate_rows_is_a_valid_map(spread, error) -> None:
    calibration = fit_calibration(spread, error)
    assert np.all(np.diff(calibration.knots) > 0) and len(calibration.knots) >= 2
    assert calibration.predict(spread).mean() == pytest.approx(np.mean(error), abs=1e-6)


def test_calibration_is_linear_between_knots_like_np_interp() -> None:
    calibration = fit_calibration(SPREAD, SPREAD**2 + RNG.normal(0, 0.002, SPREAD.size))
    probe = np.linspace(-0.05, 0.25, 1_001, dtype=np.float32)
    oracle = np.interp(probe, calibration.knots, calibration.values)
    assert np.max(np.abs(calibration.predict(probe) - oracle)) <= 1e-6


@pytest.mark.parametrize(
    ("spread", "error", "message"),
    [([], [], "as many errors as spreads"), ([0.1, 0.2], [0.1], "2 spreads and 1 errors")],
)
def test_calibration_refuses_rows_it_cannot_use(spread, error, message) -> None:
    with pytest.raises(ValueError, match=message):
        fit_calibration(spread, error)


@pytest.mark.parametrize(
    ("expected", "served", "label", "ratio"),
    [
        ([0.1, 0.1], [0.5, 0.5], [0.4, 0.6], 1.0),
        ([0.05, 0.05], [0.5, 0.5], [0.4, 0.6], 0.5),
        ([0.3, 0.1], [1.0, 0.0], [1.0, 0.1], 4.0),  # a clipped brake that is right: error 0
    ],
)
def test_check_compares_estimated_and_true_mae(expected, served, label, ratio) -> None:
    check = check_estimate(expected, served, label)
    assert check["estimated_to_true_mae"] == pytest.approx(ratio)
    assert check["rows"] == len(expected)


@pytest.fixture(scope="module")
def held_out(trained_model_dir) -> tuple[np.ndarray, np.ndarray]:
    test = pd.read_parquet(trained_model_dir.parent / "split" / "test.parquet")
    return test[list(FEATURE_COLUMNS)].to_numpy(np.float32), test[LABEL_COLUMN].to_numpy()


def test_graph_serves_the_python_estimate_on_onnxruntime_and_openvino(
    trained_model_dir, held_out
) -> None:
    X, _ = held_out
    path = trained_model_dir / "model.onnx"
    assert [o.name for o in onnx.load(str(path)).graph.output][1] == EXPECTED_ERROR_TENSOR
    python = pipeline_expected_error(joblib.load(trained_model_dir / "model.joblib"), X)
    on_ort = export.onnx_predict(export.session(path), X, EXPECTED_ERROR_TENSOR)
    on_openvino = export.openvino_predict(
        export.openvino_model(path, threads=2), X, output=EXPECTED_ERROR_TENSOR
    )
    assert np.max(np.abs(on_ort - python)) <= TOLERANCE
    assert np.max(np.abs(on_openvino - python)) <= TOLERANCE
    assert python.min() >= 0 and python.max() > 0


def test_estimate_is_zero_where_the_brake_is_forced_to_zero(trained_model_dir, held_out) -> None:
    X, _ = held_out
    receding = X.copy()  # our speed = the lead's: not closing in
    your, other = FEATURE_COLUMNS.index("your_speed"), FEATURE_COLUMNS.index("other_speed")
    receding[:, your] = receding[:, other]
    sess = export.session(trained_model_dir / "model.onnx")
    assert np.all(export.onnx_predict(sess, receding, EXPECTED_ERROR_TENSOR) == 0)


def test_training_checks_the_estimate_on_rows_it_did_not_calibrate_on(
    trained_model_dir, held_out
) -> None:
    metrics = json.loads((trained_model_dir / "metrics.json").read_text())
    check, calibration = metrics["expected_error_check"], metrics["expected_error_calibration"]
    X, _ = held_out
    assert calibration["source"] == HELD_OUT_SOURCE
    assert calibration["rows"] + check["rows"] <= len(X)
    assert check["estimated_to_true_mae"] == metrics["expected_error_ratio"] > 0
    assert metrics["expected_error_parity"] <= TOLERANCE
    card = (trained_model_dir / "model_card.md").read_text()
    assert "## Label-free error estimate (`expected_error`)" in card

"""The trained artifact: files, ONNX interface and metadata, parity, behaviour on probes."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest

from braking_data.contract import (
    EXPECTED_ERROR_TENSOR,
    FEATURE_COLUMNS,
    INPUT_TENSOR,
    OUTPUT_TENSOR,
)
from braking_model import export
from braking_model.gate import GateThresholds
from braking_model.invariants import raw_features
from braking_model.model_dir import (
    CARD_FILE,
    GATE_FILE,
    JOBLIB_FILE,
    METRICS_FILE,
    ONNX_FILE,
    TRIALS_FILE,
)
from braking_model.validate import validate_model


@pytest.fixture(scope="module")
def onnx_session(trained_model_dir):
    return export.session(trained_model_dir / ONNX_FILE)


@pytest.fixture(scope="module")
def brake(onnx_session):
    def predict(distance_m, other_kmh, your_kmh, friction) -> np.ndarray:
        return export.onnx_predict(
            onnx_session, raw_features(distance_m, other_kmh, your_kmh, friction)
        )

    return predict


def test_model_dir_holds_every_artifact(trained_model_dir) -> None:
    for name in (
        ONNX_FILE,
        JOBLIB_FILE,
        METRICS_FILE,
        TRIALS_FILE,
        CARD_FILE,
        "plots/predicted_vs_true.png",
        "plots/residuals_by_condition.png",
        "plots/tuning_trials.png",
    ):
        assert (trained_model_dir / name).is_file(), name
    trials = pd.read_csv(trained_model_dir / TRIALS_FILE)
    assert set(trials["family"]) == {"hist_gradient_boosting", "mlp"}
    assert {"eligible", "physics_ok", "mean_cv_under_braking_rate"} <= set(trials.columns)
    assert (trained_model_dir / "plots/predicted_vs_true.png").read_bytes()[:4] == b"\x89PNG"


def test_onnx_interface_is_the_contract(onnx_session) -> None:
    (inp,), outputs = onnx_session.get_inputs(), onnx_session.get_outputs()
    assert (inp.name, inp.type, inp.shape[1]) == (INPUT_TENSOR, "tensor(float)", 7)
    # The brake comes first: gates, promotion and clients read it; the estimate follows.
    assert [(o.name, o.type, o.shape[1]) for o in outputs] == [
        (OUTPUT_TENSOR, "tensor(float)", 1),
        (EXPECTED_ERROR_TENSOR, "tensor(float)", 1),
    ]


def test_onnx_metadata_names_features_data_hash_and_metrics(trained_model_dir) -> None:
    metadata = export.read_metadata(trained_model_dir / ONNX_FILE)
    metrics = json.loads((trained_model_dir / METRICS_FILE).read_text())
    assert json.loads(metadata["feature_names"]) == list(FEATURE_COLUMNS)
    assert metadata["training_data_sha256"] == metrics["training_data_sha256"]
    assert len(metadata["training_data_sha256"]) == 64
    assert json.loads(metadata["metrics"])["rmse"] == pytest.approx(metrics["rmse"])


def test_onnx_matches_scikit_learn_on_the_test_split(trained_model_dir, onnx_session) -> None:
    test = pd.read_parquet(trained_model_dir.parent / "split" / "test.parquet")
    X = test[list(FEATURE_COLUMNS)].to_numpy(np.float32)
    pipeline = joblib.load(trained_model_dir / JOBLIB_FILE)
    assert export.parity_max_abs(pipeline, onnx_session, X) <= 1e-3


def test_brake_stays_in_0_1_for_any_input_in_range(onnx_session) -> None:
    rng = np.random.default_rng(0)
    rows = np.column_stack(
        [
            rng.uniform(0, 640, (5_000, 4)),
            rng.uniform(0, 250, (5_000, 2)),
            rng.uniform(0.01, 1.5, 5_000),
        ]
    ).astype(np.float32)
    brake = export.onnx_predict(onnx_session, rows)
    assert np.all((brake >= 0.0) & (brake <= 1.0))


# Minimum functionality
def test_brakes_hard_for_a_stopped_car_a_few_metres_ahead(brake) -> None:
    assert brake([3.0, 5.0, 8.0], 0.0, 100.0, 0.85).min() >= 0.9


def test_never_brakes_when_the_lead_car_pulls_away(brake) -> None:
    distance, your = np.meshgrid(np.geomspace(3, 150, 20), np.linspace(0, 140, 15))
    assert brake(distance, your + 10.0, your, 0.1).max() <= 0.05


# Directional
def test_more_closing_speed_never_brakes_less(brake) -> None:
    for distance in (10.0, 30.0, 60.0):
        sweep = brake(distance, 40.0, 40.0 + np.linspace(0, 80, 30), 0.6)
        assert np.all(np.diff(sweep) >= -1e-4), distance


def test_ice_brakes_at_least_as_hard_as_dry_asphalt(brake) -> None:
    distance = np.geomspace(5, 100, 12)
    assert np.all(brake(distance, 30.0, 90.0, 0.1) >= brake(distance, 30.0, 90.0, 0.9) - 1e-4)


# Invariance
def test_same_closing_speed_on_the_same_road_brakes_alike_at_any_cruise_speed(brake) -> None:
    slow, fast = brake(25.0, 40.0, 60.0, 0.7), brake(25.0, 80.0, 100.0, 0.7)
    assert abs(float(slow[0]) - float(fast[0])) <= 0.1


def test_validate_model_writes_gate_json_and_card(trained_model_dir, tmp_path) -> None:
    test_split = trained_model_dir.parent / "split" / "test.parquet"
    lenient = GateThresholds(
        max_rmse=1,
        max_mae=1,
        min_r2=-10,
        max_max_error=1,
        max_rmse_to_baseline=10,
        max_under_braking_rate=1,
    )
    verdict = validate_model(trained_model_dir, test_split, lenient)
    gate = json.loads((trained_model_dir / GATE_FILE).read_text())
    assert gate["passed"] is verdict.passed
    assert {c["name"] for c in gate["checks"]} >= {
        "no_phantom_braking",
        "onnx_parity",
        "openvino_parity",
    }
    assert gate["metrics"]["onnx_parity_max_abs"] <= 1e-5
    assert gate["metrics"]["openvino_parity_max_abs"] <= 1e-5
    assert gate["metrics"]["openvino_expected_error_parity_max_abs"] <= 1e-5
    assert "## Gate verdict" in (trained_model_dir / CARD_FILE).read_text()
    strict = validate_model(trained_model_dir, test_split, GateThresholds(max_rmse=1e-9))
    assert not strict.passed and any(r.startswith("rmse:") for r in strict.reasons)

"""Pairing edge cases, and the reference profile that training writes next to model.onnx."""

from __future__ import annotations

import numpy as np
import pytest

from braking_data.contract import FEATURE_COLUMNS
from braking_model.reference import COLUMNS, PROFILE_FILE, ReferenceProfile
from braking_monitoring.events import REQUEST_TYPE, RESPONSE_TYPE, InferenceEvent, Pairer

REQUEST = {"inputs": [{"name": "sensor_features", "shape": [1, 7], "datatype": "FP32",
                       "data": [294, 302, 338, 324, 50, 80, 0.85]}]}  # fmt: skip
RESPONSE = {"model_version": "2", "outputs": [{"name": "brake_amount", "shape": [1, 1],
                                               "datatype": "FP32", "data": [0.25]}]}  # fmt: skip


def _event(event_id: str, kind: str) -> InferenceEvent:
    data = REQUEST if kind == REQUEST_TYPE else RESPONSE
    return InferenceEvent(event_id, kind, "braking-distance", data)


def test_response_before_request_pairs_the_same():
    pairer = Pairer()
    assert pairer.add(_event("a", RESPONSE_TYPE)) is None
    rows = pairer.add(_event("a", REQUEST_TYPE))
    assert rows.ids == ["a"] and rows.version == "2"
    assert rows.predictions.tolist() == [0.25] and rows.features.shape == (1, 7)
    assert pairer.pending == 0


def test_unpaired_requests_expire_into_rows_without_prediction():
    pairer = Pairer(timeout_seconds=0.0)
    pairer.add(_event("b", REQUEST_TYPE))
    pairer.add(_event("c", RESPONSE_TYPE))
    (rows,) = pairer.expire()  # the lone response has nothing to observe
    assert rows.ids == ["b"] and np.isnan(rows.predictions).all()
    assert pairer.expired == 2 and pairer.pending == 0


def test_pending_halves_are_bounded():
    pairer = Pairer(max_pending=3)
    for i in range(5):
        pairer.add(_event(str(i), REQUEST_TYPE))
    assert pairer.pending == 3 and pairer.expired == 2


@pytest.mark.slow
def test_training_writes_a_calibrated_reference_profile(trained_model_dir):
    profile = ReferenceProfile.load(trained_model_dir / PROFILE_FILE)
    assert list(profile.columns) == list(COLUMNS) == [*FEATURE_COLUMNS, "prediction"]
    for column in profile.columns.values():
        assert len(column.percentiles) == 101 and column.percentiles == sorted(column.percentiles)
        assert sum(column.decile_shares) == pytest.approx(1.0, abs=1e-4)
        assert len(column.decile_shares) == len(column.decile_edges) + 1
    assert set(profile.thresholds.psi) == set(COLUMNS)
    assert all(value >= 0.05 for value in profile.thresholds.psi.values())
    assert 0 < profile.validation["rmse"] < profile.thresholds.max_rmse

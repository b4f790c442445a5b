"""Pairing edge cases, and the reference profile that training writes next to model.onnx."""

from __future__ import annotations

import numpy as np
import pytest

from braking_data.contract import FEATURE_COLUMNS
from braking_model.reference import COLUMNS, PROFILE_FILE, ReferenceProfile
from braking_monitoring.events import (
    REQUEST_TYPE,
    RESPONSE_TYPE,
    InferenceEvent,
    Pairer,
    rows_of,
)

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


BRAKE = {"name": "brake_amount", "shape": [1, 1], "datatype": "FP32", "data": [0.25]}
ERROR = {"name": "expected_error", "shape": [1, 1], "datatype": "FP32", "data": [0.125]}


@pytest.mark.parametrize(
    ("outputs", "prediction", "expected"),
    [
        ([BRAKE, ERROR], 0.25, 0.125),  # what the served graph answers by default
        ([ERROR, BRAKE], 0.25, 0.125),  # found by name, not by position
        ([BRAKE], 0.25, None),  # a model without the estimate, or the brake asked for alone
        ([ERROR], None, 0.125),  # the estimate alone is never read as the brake
        (
            [{**BRAKE, "name": "variable"}, ERROR],
            0.25,
            0.125,
        ),  # a server naming the brake otherwise
    ],
)
def test_rows_take_the_brake_and_the_expected_error_by_name(outputs, prediction, expected):
    rows = rows_of(REQUEST, {"outputs": outputs}, "e", "braking-distance")
    for values, wanted in ((rows.predictions, prediction), (rows.expected(), expected)):
        assert np.isnan(values).all() if wanted is None else values.tolist() == [wanted]


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

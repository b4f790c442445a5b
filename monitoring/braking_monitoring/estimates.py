"""Label-free error signals of a window of served rows (issue 13, docs/adr/0019).

- The model's own estimate: the mean of its `expected_error` output, the estimated MAE.
- The disagreement with the closed-form physics estimate (the gate's baseline): mean
  |served brake - physics brake|. It needs no labels either and rises when the inputs stop
  agreeing with each other (a recalibrated camera), which the model's estimate cannot see.
- The fault-aware estimate: the model's own estimate, unless the window shows a sensor
  fault's fingerprint (`sensor_faults`); then the larger of it and the disagreement between
  the served brake and the physics estimate of the corrected readings.

Once labels arrive, the labelled window sets the estimate next to the true MAE.
"""

from __future__ import annotations

import numpy as np

from braking_data.physics import physics_baseline
from braking_model.reference import ReferenceProfile
from braking_monitoring.sensor_faults import detect_sensor_faults, fault_error


def _mean(values: np.ndarray) -> float | None:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None


def window_estimates(
    features: np.ndarray,
    predictions: np.ndarray,
    expected_errors: np.ndarray,
    profile: ReferenceProfile | None = None,
) -> dict:
    """Label-free error signals of one window: `estimated_mae` (None when no response
    carried `expected_error`), `physics_disagreement`, the sensor-fault fingerprints
    (`box_scale`, `stuck_features`, `sensor_faults` reasons; stuck needs the profile) and
    `fault_aware_mae`."""
    features = np.asarray(features, dtype=np.float64)
    physics = np.clip(physics_baseline(*features.T), 0.0, 1.0)
    estimated = _mean(expected_errors)
    faults = detect_sensor_faults(features, profile)
    fault_aware = estimated
    if faults.present:
        # The fault's estimate already holds the model's own error (served - label is part
        # of served - physics), so it is not added to the per-row estimate, only floored by it.
        under_fault = fault_error(features, predictions, faults, profile)
        candidates = [v for v in (estimated, under_fault) if v is not None]
        fault_aware = max(candidates) if candidates else None
    return {
        "estimated_mae": estimated,
        "physics_disagreement": _mean(np.abs(np.asarray(predictions) - physics)),
        "box_scale": faults.box_scale,
        "stuck_features": faults.stuck_features,
        "sensor_faults": faults.reasons(),
        "fault_aware_mae": fault_aware,
    }


def labelled_estimates(expected_errors: np.ndarray, true_mae: float) -> dict[str, float | None]:
    """The estimated MAE of a labelled window's rows, and its ratio to the true MAE there."""
    estimated = _mean(expected_errors)
    ratio = estimated / true_mae if estimated is not None and true_mae > 0 else None
    return {"estimated_mae": estimated, "estimated_to_true_mae": ratio}
